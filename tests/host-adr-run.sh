#!/bin/bash
# tests/host-adr-run.sh — pmemcut-host run --mode nvdimm --cache-model adr:
# the guest's own cache-line write-backs and fences decide what survives,
# traced in QEMU (host/tcg/pmemcut-tracer.so), on ext4 mmap/map-sync.
#   - adr, honest: PASS; the tracer's counts are in the results (the
#     kernel's non-temporal stores and fences, the agent's clwb);
#   - adr, --inject no-flush (the write-back left out, the fence kept): FAIL,
#     the records' lines lost at the cut;
#   - eadr, --inject no-flush: PASS — with persistent caches the write-back
#     is not needed; the contrast is the point.
. "$(dirname "$0")/host-lib.sh"
t_require "$TOP/host/tcg/pmemcut-tracer.so"

adr() { # NAME MODEL ARGS...
    local name=$1 model=$2
    shift 2
    run "$name" --mode nvdimm --fs ext4 --workload mmap --sync map-sync --records 6 --cycles 1 \
        --seed 3 --cache-model "$model" "$@"
}
adr honest adr
if [ $RC = 0 ] && [ "$(jqr honest .verdict)" = PASS ] && [ "$(jqr honest .cache_model)" = adr ] &&
    [ "$(jqr honest '.tracer.workload | .clwb > 0 and .nt_stores > 0 and .lines_persisted > 0')" = true ] &&
    [ -s "$T/honest/tracer-1.json" ]; then
    t_ok "adr map-sync: PASS; traced $(jqr honest '.tracer.workload | "\(.clwb) clwb, \(.nt_stores) nt stores, \(.fences) fences, \(.lines_persisted) lines persisted"')"
else
    t_fail "adr honest" "$(show honest)"
fi
adr noflush adr --inject no-flush
if [ $RC = 1 ] && [ "$(jqr noflush .verdict)" = FAIL ] && [ "$(jqr noflush '.missing | length')" -gt 0 ] &&
    [ "$(jqr noflush '.cut.lost.data')" -gt 0 ]; then
    t_ok "adr --inject no-flush: FAIL, $(jqr noflush '.missing | length') records missing, $(jqr noflush .cut.lost.data) data lines lost at the cut"
else
    t_fail "adr no-flush caught" "$(show noflush)"
fi
adr eadr eadr --inject no-flush
[ $RC = 0 ] && [ "$(jqr eadr .verdict)" = PASS ] && [ "$(jqr eadr .cache_model)" = eadr ] &&
    t_ok "eadr --inject no-flush: PASS (persistent caches need no write-back)" ||
    t_fail "eadr no-flush" "$(show eadr)"
"$H" run --mode virtio-pmem --fs ext4 --workload append --sync fsync --cache-model adr \
    --out "$T/vp" >/dev/null 2>"$T/vp.err"
[ $? = 2 ] && grep -q 'nvdimm' "$T/vp.err" && t_ok "--cache-model on virtio-pmem: refused, one line" ||
    t_fail "--cache-model virtio-pmem" "$(cat "$T/vp.err")"
grep -q " $T/" /proc/mounts && t_fail "cleanup" "a mount is left" || t_ok "cleanup: no FUSE view left mounted"
t_done
