#!/usr/bin/env bash
# Restore drill: proves that a backup of the configured database can be restored.
#
# Dumps DATABASE_URL with `pg_dump -Fc` (the format of the nightly backup), restores the dump
# into a fresh scratch database with `pg_restore`, and compares the row count of every table,
# the main ones (petitions, signatures, donations, the outbox, the audit trail) required,
# between the source and the restore. The source is counted in the very snapshot the dump is
# taken from (pg_export_snapshot), so a live service writing meanwhile causes no difference.
# The scratch database and the dump are removed at the end, whatever happened.
#
#   DATABASE_URL=postgres://user:password@host:5432/campaign scripts/restore_drill.sh
#
# RESTORE_DRILL_PG_DUMP_OPTIONS: more pg_dump options, those of your backup job, so that the
# drill restores the kind of dump you actually keep (e.g. an --exclude-table-data that would
# lose rows shows up as a difference).
#
# Exit status: 0 when every count matches, 1 on any difference, 2 when a step failed (no
# connection, no right to create a database, pg_dump or pg_restore errors, a main table
# missing). Needs psql, pg_dump and pg_restore of the server's major version (or newer), and a
# database user that may create databases.
set -euo pipefail

MAIN_TABLES=(petitions_petition petitions_signature donations_donation campaign_outgoingemail campaign_auditentry)

fail() {
    echo "restore drill: $*" >&2
    exit 2
}

source_url="${DATABASE_URL:-}"
[[ -n "$source_url" ]] || fail "set DATABASE_URL to the database to drill"
[[ "$source_url" =~ ^(postgres(ql)?://[^/?]*)/([^/?]+)(\?.*)?$ ]] ||
    fail "DATABASE_URL must be postgres://[user[:password]@]host[:port]/database[?options]"
server_url="${BASH_REMATCH[1]}"
source_db="${BASH_REMATCH[3]}"
url_options="${BASH_REMATCH[4]}"
for tool in psql pg_dump pg_restore; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (postgresql-client)"
done
read -r -a dump_options <<<"${RESTORE_DRILL_PG_DUMP_OPTIONS:-}"

scratch_db="restore_drill_$(date +%Y%m%d%H%M%S)_$$"
scratch_url="$server_url/$scratch_db$url_options"
work_dir="$(mktemp -d "${TMPDIR:-/tmp}/restore-drill.XXXXXX")"
dump_file="$work_dir/$source_db.dump"
scratch_created=""

cleanup() {
    local status=$?
    if [[ -n "$scratch_created" ]]; then
        psql "$source_url" -X -q -v ON_ERROR_STOP=1 \
            -c "DROP DATABASE IF EXISTS \"$scratch_db\" WITH (FORCE)" >/dev/null ||
            echo "restore drill: could not drop the scratch database $scratch_db" >&2
    fi
    rm -rf "$work_dir"
    exit "$status"
}
trap cleanup EXIT

# "schema.table|rows" for every table, one line each, in a stable order.
COUNT_ROWS="
SELECT format('%s.%s|%s', table_schema, table_name,
       (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', table_schema, table_name), false, true, '')))[1]::text)
FROM information_schema.tables
WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY table_schema, table_name;"

# 1. Open a snapshot, count the source in it, and dump exactly that snapshot.
coproc SNAPSHOT { psql "$source_url" -X -q -A -t -v ON_ERROR_STOP=1; }
snapshot_pid="$SNAPSHOT_PID"
snapshot_in="${SNAPSHOT[1]}"
snapshot_out="${SNAPSHOT[0]}"
echo "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT pg_export_snapshot();" >&"$snapshot_in"
read -r -t 60 snapshot <&"$snapshot_out" || fail "cannot open a snapshot of $source_db (connection refused?)"
echo "$COUNT_ROWS SELECT '--end--';" >&"$snapshot_in"
source_counts=()
while read -r -t 600 line <&"$snapshot_out"; do
    [[ "$line" == "--end--" ]] && break
    source_counts+=("$line")
done
[[ "$line" == "--end--" ]] || fail "counting the rows of $source_db failed"

listed=" ${source_counts[*]%|*} "
for table in "${MAIN_TABLES[@]}"; do
    [[ "$listed" == *" public.$table "* ]] ||
        fail "the table $table is missing in $source_db: is DATABASE_URL the service's database, migrated?"
done

started=$(date +%s)
pg_dump --format=custom --snapshot="$snapshot" "${dump_options[@]}" --file="$dump_file" "$source_url" ||
    fail "pg_dump failed"
dumped=$(date +%s)
echo "COMMIT;" >&"$snapshot_in"
exec {snapshot_in}>&-
wait "$snapshot_pid" || true

# 2. Restore into a fresh database, all or nothing.
psql "$source_url" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$scratch_db\"" >/dev/null ||
    fail "cannot create the scratch database (the user needs CREATEDB)"
scratch_created=1
echo "restoring into the scratch database $scratch_db"
pg_restore --no-owner --no-privileges --single-transaction --dbname="$scratch_url" "$dump_file" ||
    fail "pg_restore failed"
restored=$(date +%s)

# 3. Compare every table's rows.
mapfile -t restored_counts < <(psql "$scratch_url" -X -q -A -t -v ON_ERROR_STOP=1 -c "$COUNT_ROWS")
declare -A restored_rows=()
for line in "${restored_counts[@]}"; do
    restored_rows["${line%|*}"]="${line##*|}"
done

differences=0
printf '%-48s %12s %12s\n' "table" "source" "restored"
for line in "${source_counts[@]}"; do
    table="${line%|*}"
    rows="${line##*|}"
    got="${restored_rows[$table]:-missing}"
    mark=""
    if [[ "$got" != "$rows" ]]; then
        mark="  DIFFERENT"
        differences=$((differences + 1))
    fi
    printf '%-48s %12s %12s%s\n' "$table" "$rows" "$got" "$mark"
done

dump_bytes=$(stat -c %s "$dump_file")
echo "dump: $dump_bytes bytes in $((dumped - started)) s; restore: $((restored - dumped)) s; tables: ${#source_counts[@]}"
if ((differences > 0)); then
    echo "restore drill FAILED: $differences table(s) differ between $source_db and its restore" >&2
    exit 1
fi
echo "restore drill passed: every table of $source_db has the same rows in its restore"
