#!/bin/bash
# tests/host-nvdimm.sh — pmemcut-host run end to end on an nvdimm (fsdax
# namespace, eADR cache model: at the cut the host suspends the VM, fsyncs
# the FUSE view and flushes, so what is lost is what the guest held in RAM).
#   - ext4 and xfs, mmap/map-sync: PASS
#   - ext4 mmap/none on a new file: the records are lost, and that is allowed
. "$(dirname "$0")/lib.sh"
t_tmpdir
H=$TOP/host/pmemcut-host
t_require "$H" "$TOP/plugin/nbdkit-pmemcut-plugin.so" "$TOP/build/guest-initramfs.cpio.gz" \
    nbdkit nbdfuse fusermount3 qemu-system-x86_64 jq
export TMPDIR=$T

run() {
    local name=$1
    shift
    local t0=$SECONDS
    "$H" run "$@" --out "$T/$name" >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
    echo "     ($name: exit $RC in $((SECONDS - t0)) s)"
}
jqr() { jq -r "$2" "$T/$1/results.jsonl"; }
show() { echo "--- $1:"; cat "$T/$1.err" "$T/$1.out"; }

for fs in ext4 xfs; do
    run $fs-mapsync --mode nvdimm --fs $fs --workload mmap --sync map-sync --records 16 --seed 21
    if [ $RC -eq 0 ] && [ "$(jqr $fs-mapsync .verdict)" = PASS ] &&
        [ "$(jqr $fs-mapsync .acked)" -gt 0 ] && [ "$(jqr $fs-mapsync .cache_model)" = eadr ]; then
        t_ok "nvdimm $fs mmap/map-sync: PASS ($(jqr $fs-mapsync .acked) acked, cache_model eadr)"
    else
        t_fail "nvdimm $fs mmap/map-sync" "$(show $fs-mapsync)"
    fi
done

run none --mode nvdimm --fs ext4 --workload mmap --sync none --records 16 --seed 22
if [ $RC -eq 0 ] && [ "$(jqr none .verdict)" = allowed-loss ] && [ "$(jqr none '.missing | length')" -gt 0 ] &&
    [ "$(jqr none .expected)" = none ]; then
    t_ok "nvdimm ext4 mmap/none on a new file: $(jqr none '.missing | length') records lost, allowed"
else
    t_fail "nvdimm ext4 mmap/none" "$(show none)"
fi
grep -q '^nvdimm .*allowed-loss' "$T/none.out" && t_ok "summary: allowed-loss" ||
    t_fail "summary" "$(cat "$T/none.out")"
grep -q " $T/" /proc/mounts && t_fail "cleanup" "a mount is left" || t_ok "cleanup: no FUSE view left mounted"
t_done
