#!/bin/bash
# tests/host-inject.sh — seeded bugs, to show that the verifier is not tuned
# to the honest methods: `pmemcut-host run --inject no-sync` (the agent
# makes no durability call and acks anyway) and `--inject ack-early` (it
# acks record k before storing it) on virtio-pmem ext4 append/fsync, two
# lose-all cycles each. Under --inject the cut is at-mark at the k-th ack:
# it lands between the ack and the record's durability point, so every
# cycle must be caught: exit 1, verdict FAIL, missing > 0, and the results
# say which bug was seeded.
. "$(dirname "$0")/host-lib.sh"

# An unknown bug is a usage error, before anything starts.
"$H" run --mode virtio-pmem --fs ext4 --workload append --sync fsync --inject lazy \
    --out "$T/lazy" >"$T/lazy.out" 2>"$T/lazy.err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$T/lazy.err")" = 1 ] && grep -q -- '--inject' "$T/lazy.err" &&
    t_ok "unknown --inject: exit 2, one line" || t_fail "unknown --inject" "exit $rc: $(cat "$T/lazy.err")"

for bug in no-sync ack-early; do
    run $bug --mode virtio-pmem --fs ext4 --workload append --sync fsync --records 16 --cycles 2 --jobs 1 \
        --policy lose-all --seed 1301 --inject $bug
    [ $RC -eq 1 ] && t_ok "$bug: exit 1" || t_fail "$bug: exit 1" "$(show $bug)"
    n=$(jqr $bug 'select(.verdict == "FAIL" and (.missing | length) > 0 and .expected == "durable")' |
        jq -s length)
    [ "$n" = 2 ] && t_ok "$bug: caught in 2 of 2 cycles ($(jqr $bug '.missing | length' | tr '\n' ' ')missing)" ||
        t_fail "$bug: caught in every cycle" "$n of 2; $(show $bug)"
    [ "$(jqr $bug .inject | sort -u)" = $bug ] && t_ok "$bug: results.jsonl records inject" ||
        t_fail "$bug: inject recorded" "$(jqr $bug .inject)"
    [ "$(jqr $bug .cut.fired | sort -u)" = true ] && t_ok "$bug: the cut fired at an ack" ||
        t_fail "$bug: the cut fired" "$(jqr $bug .cut.trigger)"
done
# ack-early loses exactly the record acked last: it was acked, then the cut.
[ "$(jqr ack-early '[.missing[].seq] == [.acked]' | sort -u)" = true ] &&
    t_ok "ack-early: the one record missing is the last one acked" ||
    t_fail "ack-early: the last acked record missing" "$(jqr ack-early '{acked, missing} | tojson')"
grep -q " $T/" /proc/mounts && t_fail "cleanup" "a mount is left" || t_ok "cleanup: no FUSE view left mounted"
t_done
