#!/bin/bash
# tests/host-adr-run.sh — the seeded bugs of the cache-line methods under
# both cache models of --mode nvdimm (adr, the default: the guest's own
# write-backs and fences decide, traced in QEMU by host/tcg/pmemcut-tracer.so;
# eadr: persistent caches), on mmap/map-sync. The honest runs (adr, ext4 and
# xfs, 2 cycles each) are tests/host-nvdimm.sh's.
#   - adr, --inject no-flush (the clwb left out, the sfence kept): FAIL, and
#     the row names the lost records: each missing one was acked in its
#     cycle, and the cut lost data lines;
#   - eadr, --inject no-flush: PASS — with persistent caches the write-back
#     is not needed; the contrast is the point;
#   - --inject ack-early (the ack before the store), adr and eadr: FAIL in
#     both, in every cycle: the one record missing is the last one acked
#     (in a cycle after the first it may be the cycle before's record of
#     that seq that is there: "holds record K of cycle C", never a PASS);
#   - adr, --inject no-fence (clwb kept, sfence left out): PASS, and that is
#     the honest verdict of a cut at an ack: the system call that sends the
#     ack runs locked instructions on the same vCPU, which order the
#     write-backs before it (README, "The ADR cache model").
# ADR_MATRIX=long (make soak runs it): both filesystems, 2 cycles each.
. "$(dirname "$0")/host-lib.sh"
t_require "$TOP/host/tcg/pmemcut-tracer.so"

if [ "${ADR_MATRIX:-short}" = long ]; then FSS=(ext4 xfs) CYCLES=2; else FSS=(ext4) CYCLES=1; fi

m() { # NAME FS ARGS...
    local name=$1 fs=$2
    shift 2
    run "$name" --mode nvdimm --fs "$fs" --workload mmap --sync map-sync --records 6 \
        --cycles "$CYCLES" --jobs 1 --seed 3 "$@"
}
# every NAME FILTER: FILTER holds in every cycle's row
every() { [ "$(jqr "$1" "$2" | sort -u)" = true ]; }
# named NAME [SKIP]: every cycle (but those in the comma list SKIP) FAILed
# with missing records that were acked in it (acks-N.txt), each named by
# file and seq
named() {
    local c ok=true
    for c in $(jqr "$1" .cycle); do
        [[ ",${2:-}," == *",$c,"* ]] && continue
        jq -e --slurpfile a <(awk '{print "{\"file\":\"" $2 "\",\"seq\":" $3 "}"}' "$T/$1/acks-$c.txt") \
            --argjson c "$c" -s '.[] | select(.cycle == $c) | .verdict == "FAIL" and
                (.missing | length) > 0 and all(.missing[]; .file != null and .seq != null and
                    ({file, seq} as $m | $a | index($m) != null))' \
            "$T/$1/results.jsonl" >/dev/null || ok=false
    done
    $ok
}
lost() { jqr "$1" '[.missing[] | "\(.file):\(.seq)"] | join(",")' | paste -sd' '; }

for fs in "${FSS[@]}"; do
    m $fs-noflush $fs --inject no-flush
    if [ $RC = 1 ] && named $fs-noflush && every $fs-noflush '.cache_model == "adr" and .cut.lost.data > 0'; then
        t_ok "$fs adr --inject no-flush: FAIL in $CYCLES of $CYCLES, lost $(lost $fs-noflush) ($(jqr $fs-noflush .cut.lost.data | paste -sd/) data lines)"
    else
        t_fail "$fs adr no-flush caught and named" "$(show $fs-noflush)"
    fi
    m $fs-eadr-noflush $fs --cache-model eadr --inject no-flush
    [ $RC = 0 ] && every $fs-eadr-noflush '.verdict == "PASS" and .cache_model == "eadr" and (.missing | length) == 0' &&
        t_ok "$fs eadr --inject no-flush: PASS (persistent caches need no write-back)" ||
        t_fail "$fs eadr no-flush" "$(show $fs-eadr-noflush)"
    for model in adr eadr; do
        n=$fs-$model-ackearly
        m $n $fs --cache-model $model --inject ack-early
        if [ $RC = 1 ] && named $n &&
            every $n "[.missing[].seq] == [.acked] and .cache_model == \"$model\""; then
            t_ok "$fs $model --inject ack-early: FAIL in $CYCLES of $CYCLES, the last record acked is the one missing ($(lost $n): $(jqr $n '.missing[0].what' | paste -sd'|'))"
        else
            t_fail "$fs $model ack-early" "$(show $n)"
        fi
    done
    # ... and the tracer says why: every write-back was persisted by a fence
    # all the same, the agent having issued none after it.
    m $fs-nofence $fs --inject no-fence
    [ $RC = 0 ] && every $fs-nofence '.verdict == "PASS" and .cache_model == "adr" and .inject == "no-fence"' &&
        every $fs-nofence '.tracer.workload | .writebacks > 0 and .persisted_wb_fence == .writebacks' &&
        t_ok "$fs adr --inject no-fence: PASS, each write-back persisted by a later fence ($(jqr $fs-nofence '.tracer.workload | "\(.clwb) clwb, \(.persisted_wb_fence) persisted by a fence; \(.sfence) sfence, \(.locked) locked instructions"' | paste -sd' '))" ||
        t_fail "$fs adr no-fence" "$(show $fs-nofence; jqr $fs-nofence '.tracer.workload | tojson')"
done
"$H" run --mode virtio-pmem --fs ext4 --workload append --sync fsync --cache-model adr \
    --out "$T/vp" >/dev/null 2>"$T/vp.err"
[ $? = 2 ] && grep -q 'nvdimm' "$T/vp.err" && t_ok "--cache-model on virtio-pmem: refused, one line" ||
    t_fail "--cache-model virtio-pmem" "$(cat "$T/vp.err")"
grep -q " $T/" /proc/mounts && t_fail "cleanup" "a mount is left" || t_ok "cleanup: no FUSE view left mounted"
t_done
