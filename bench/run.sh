#!/usr/bin/env bash
# `make bench [ARGS="sign count export constituency mail"]`: the benchmarks of bench/README
# (docs/operations.md, "Benchmarks"). Needs PostgreSQL and Redis on 127.0.0.1 (as `make test` does) and
# wrk. Never part of the test suite or CI.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
command -v wrk >/dev/null || { echo "wrk is needed for the HTTP benchmarks: apt-get install wrk" >&2; exit 1; }
command -v psql >/dev/null || { echo "psql is needed for the COPY baseline: apt-get install postgresql-client" >&2; exit 1; }
exec "$PY" -m bench.bench "$@"
