#!/bin/sh
# The checker of workload.sh, after the cut and the reboot: the database is
# intact (PRAGMA integrity_check says ok) and every promised row is there.
# The promises are the lines of $PMEMCUT_ACKS ("row N"). Exit 0 kept, 1 lost
# or damaged, 2 the checker itself failed; the last line is JSON.
set -u
db=${PMEMCUT_DIR:-.}/rows.db
acks=${PMEMCUT_ACKS:?}
promised=$(grep -c '^row [0-9]*$' "$acks")
if [ ! -e "$db" ]; then
    echo "{\"db\":false,\"promised\":$promised}"
    [ "$promised" -eq 0 ]
    exit $?
fi
integrity=$(sqlite3 "$db" "PRAGMA integrity_check;" 2>&1 | head -n 1)
ids=/tmp/sqlite-ids.$$
sqlite3 "$db" "SELECT id FROM t;" >"$ids" 2>/dev/null || : >"$ids"
lost=0 first=0
while IFS= read -r a; do
    n=${a#row }
    grep -qx "$n" "$ids" && continue
    lost=$((lost + 1))
    [ "$first" -eq 0 ] && first=$n
done <"$acks"
rows=$(wc -l <"$ids")
rm -f "$ids"
echo "{\"db\":true,\"integrity\":\"$integrity\",\"rows\":$rows,\"promised\":$promised,\"lost\":$lost,\"first_lost\":$first}"
[ "$integrity" = ok ] && [ "$lost" -eq 0 ]
