#!/bin/bash
# tests/host-shard.sh — pmemcut-host run --shard K/N: 2 shards of a 2-cycle
# run, started together by GNU parallel as a cluster's scheduler would, each
# on a device of its own, do the cycles of the one run: the same cycle
# numbers, seeds and cut plans, the same verdicts; `pmemcut-host report` of
# the two shard directories gives the one run's table (but for lines-lost,
# which depends on each device's own history).
. "$(dirname "$0")/host-lib.sh"
t_require parallel

ARGS=(--mode virtio-pmem --fs ext4 --workload append --sync fsync --records 4 --cycles 2
    --policy lose-all --seed 41)
run one "${ARGS[@]}" --jobs 1 # the one chain the shards split
t0=$SECONDS
parallel --will-cite -j 2 "'$H' run ${ARGS[*]} --shard {}/2 --out '$T/shard{}' >'$T/shard{}.out' 2>'$T/shard{}.err'" ::: 1 2
prc=$?
echo "     (2 shards in parallel: exit $prc in $((SECONDS - t0)) s)"
[ $RC = 0 ] && [ $prc = 0 ] && t_ok "one run and both shards: exit 0" ||
    t_fail "runs" "$(show one; cat "$T"/shard*.err)"
row='[.cycle, .seed, .cut.plan.record, .cut.plan.boundary, .cut.trigger, .verdict] | tostring'
a=$(jq -r "$row" "$T/one/results.jsonl" | sort)
b=$(cat "$T/shard1/results.jsonl" "$T/shard2/results.jsonl" | jq -r "$row" | sort)
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$(jq -r .cycle "$T/shard2/results.jsonl")" = 2 ] &&
    t_ok "the shards did cycles 1 and 2 with the one run's seeds, plans and verdicts" ||
    t_fail "shards = one run" "one: $a; shards: $b"
cut_lost() { awk '{ $10 = ""; print }'; } # drop the lines-lost column
"$H" report "$T/shard1" "$T/shard2" >"$T/merged.txt" 2>&1
"$H" report "$T/one" >"$T/one.txt" 2>&1
[ "$(cut_lost <"$T/merged.txt")" = "$(cut_lost <"$T/one.txt")" ] &&
    t_ok "report of the shards: the one run's table" ||
    t_fail "report merge" "$(cat "$T/one.txt" "$T/merged.txt")"
"$H" run "${ARGS[@]}" --shard 3/2 --out "$T/bad" >/dev/null 2>"$T/bad.err"
[ $? = 2 ] && [ "$(wc -l <"$T/bad.err")" = 1 ] && grep -q -- --shard "$T/bad.err" &&
    t_ok "--shard 3/2: refused, one line" || t_fail "--shard 3/2" "$(cat "$T/bad.err")"
grep -q " $T/" /proc/mounts && t_fail "cleanup" "a mount is left" || t_ok "cleanup: no FUSE view left mounted"
t_done
