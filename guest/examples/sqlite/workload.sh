#!/bin/sh
# SQLite under power cuts: rows inserted one transaction at a time into a
# WAL-mode database in the DAX filesystem, a promise after each COMMIT.
#   workload.sh [SYNC [ROWS]]   SYNC: PRAGMA synchronous (FULL, the default;
#                               OFF breaks the promise), ROWS (default 20)
# Run by pmemcut-host run --exec in the guest; PMEMCUT_DIR is the mount.
set -eu
db=${PMEMCUT_DIR:-.}/rows.db
sync=${1:-FULL}
rows=${2:-20}
# each cycle starts a new database: the last cycle's promises end here
rm -f "$db" "$db-wal" "$db-shm"
sync
sqlite3 "$db" "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT NOT NULL);" >/dev/null
i=1
while [ "$i" -le "$rows" ]; do
    # one process, one transaction: COMMIT returns after the WAL is synced
    # (synchronous=FULL), and only then is the row promised
    sqlite3 "$db" "PRAGMA synchronous=$sync; BEGIN; INSERT INTO t VALUES($i, 'row $i'); COMMIT;"
    pmemcut-agent ack "row $i"
    i=$((i + 1))
done
