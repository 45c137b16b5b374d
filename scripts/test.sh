#!/usr/bin/env bash
# The test command (`make test`): uses PostgreSQL and Redis where they run on 127.0.0.1, and
# otherwise starts throwaway ones from the installed server binaries, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

PG_HOST=${TEST_PG_HOST:-127.0.0.1}
PG_PORT=${TEST_PG_PORT:-5432}
REDIS_PORT=${TEST_REDIS_PORT:-6379}
cleanup_cmds=()
cleanup() { for c in "${cleanup_cmds[@]}"; do eval "$c" || true; done; }
trap cleanup EXIT

pg_up() { pg_isready -q -h "$PG_HOST" -p "$1" 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]; }
# Where initdb is looked for besides the PATH (TEST_PG_BIN_DIRS overrides the list).
PG_BIN_DIRS=${TEST_PG_BIN_DIRS-/usr/lib/postgresql/*/bin /usr/local/pgsql/bin /usr/local/bin /usr/bin}
pg_bin() {
  local dir
  for dir in $PG_BIN_DIRS; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  command -v initdb >/dev/null && dirname "$(command -v initdb)"
}
# The browser tests' rule (tests/fixtures/browser.py): CHROMIUM_PATH, else `chromium` on the PATH.
chromium_found() {
  if [ -n "${CHROMIUM_PATH:-}" ]; then [ -e "$CHROMIUM_PATH" ]; else command -v chromium >/dev/null; fi
}

# Check every prerequisite first and name all that are missing at once, before anything slow.
missing=() packages=()
if [ -z "${TEST_DATABASE_URL:-}" ] && ! pg_up "$PG_PORT" && ! pg_bin >/dev/null; then
  missing+=("PostgreSQL (not running on $PG_HOST:$PG_PORT, no initdb found): package 'postgresql'")
  packages+=(postgresql)
fi
if [ -z "${TEST_REDIS_URL:-}" ] && ! redis_up "$REDIS_PORT" && ! command -v redis-server >/dev/null; then
  missing+=("Redis (not running on 127.0.0.1:$REDIS_PORT, no redis-server found): package 'redis-server'")
  packages+=(redis-server)
fi
if ! chromium_found; then
  missing+=("Chromium (no 'chromium' on the PATH and no CHROMIUM_PATH): package 'chromium'")
  packages+=(chromium)
fi
# The docs' curl snippets run as written (tests/integration/test_doc_snippets.py).
if ! command -v curl >/dev/null; then
  missing+=("curl (not on the PATH): package 'curl'")
  packages+=(curl)
fi
# The restore drill test runs the real pg_dump and pg_restore (tests/integration/test_restore_drill.py).
if ! command -v pg_dump >/dev/null || ! command -v pg_restore >/dev/null; then
  missing+=("pg_dump and pg_restore (not on the PATH): package 'postgresql-client'")
  [[ " ${packages[*]} " == *" postgresql "* ]] || packages+=(postgresql-client)
fi
# The proxy test runs deploy/Caddyfile with the real Caddy (tests/integration/test_proxy.py).
if ! command -v caddy >/dev/null; then
  missing+=("Caddy (no 'caddy' on the PATH): package 'caddy'")
  packages+=(caddy)
fi
if [ ${#missing[@]} -gt 0 ]; then
  {
    echo "make test needs what is missing here:"
    printf '  - %s\n' "${missing[@]}"
    echo "On Debian/Ubuntu: sudo apt-get install ${packages[*]}"
  } >&2
  exit 1
fi

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  if pg_up "$PG_PORT"; then
    export TEST_DATABASE_URL="postgres://postgres@$PG_HOST:$PG_PORT/postgres"
  else
    bin=$(pg_bin) || { echo "PostgreSQL is not running and no initdb was found: install the 'postgresql' package" >&2; exit 1; }
    tmp=$(mktemp -d)
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    run_as=()
    if [ "$(id -u)" = 0 ]; then chown postgres "$tmp" 2>/dev/null && run_as=(runuser -u postgres --); fi
    echo "Starting a throwaway PostgreSQL on port $port"
    "${run_as[@]}" "$bin/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 >/dev/null
    "${run_as[@]}" "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/log" -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off" -w start >/dev/null
    cleanup_cmds+=("${run_as[*]} $bin/pg_ctl -D $tmp/data -m immediate stop >/dev/null; rm -rf $tmp")
    export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  fi
fi

if [ -z "${TEST_REDIS_URL:-}" ]; then
  if redis_up "$REDIS_PORT"; then
    export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  else
    command -v redis-server >/dev/null || { echo "Redis is not running and redis-server is not installed: install the 'redis-server' package" >&2; exit 1; }
    tmp_redis=$(mktemp -d)
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    echo "Starting a throwaway Redis on port $port"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$tmp_redis" --pidfile "$tmp_redis/redis.pid" --logfile "$tmp_redis/redis.log"
    for _ in $(seq 50); do redis_up "$port" && break; sleep 0.1; done
    cleanup_cmds+=("kill \$(cat $tmp_redis/redis.pid); rm -rf $tmp_redis")
    export TEST_REDIS_URL="redis://127.0.0.1:$port/0"
  fi
fi

export DJANGO_SETTINGS_MODULE=campaign.settings_test
unset DATABASE_URL REDIS_URL
mkdir -p test-output
"$PY" -m pytest "$@"
