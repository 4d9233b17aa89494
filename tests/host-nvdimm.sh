#!/bin/bash
# tests/host-nvdimm.sh — pmemcut-host run end to end on an nvdimm (fsdax
# namespace, eADR cache model: at the cut the host suspends the VM, fsyncs
# the FUSE view and flushes, so what is lost is what the guest held in RAM).
#   - ext4 and xfs, mmap/map-sync: PASS
#   - ext4 mmap/none on a new file: the records are lost, and that is allowed
#   - labels: cycle 1 labelled the filesystem's metadata at the namespace's
#     data offset (ext4 block by block, xfs as a whole) and the device then
#     counted meta lines
. "$(dirname "$0")/host-lib.sh"

for fs in ext4 xfs; do
    run $fs-mapsync --mode nvdimm --fs $fs --workload mmap --sync map-sync --records 16 --seed 21
    if [ $RC -eq 0 ] && [ "$(jqr $fs-mapsync .verdict)" = PASS ] &&
        [ "$(jqr $fs-mapsync .acked)" -gt 0 ] && [ "$(jqr $fs-mapsync .cache_model)" = eadr ]; then
        t_ok "nvdimm $fs mmap/map-sync: PASS ($(jqr $fs-mapsync .acked) acked, cache_model eadr)"
    else
        t_fail "nvdimm $fs mmap/map-sync" "$(show $fs-mapsync)"
    fi
    # The filesystem starts at dev_offset (2 MiB with the agent's ndctl
    # settings): the lowest meta label is there, and after the labels the
    # device's writes and flushes counted meta lines.
    off=$(jqr $fs-mapsync .labels.meta_offset)
    low=$(grep '"ev":"classify","class":"meta"' "$T/$fs-mapsync/audit.jsonl" | jq -s 'map(.off) | min')
    meta=$(jq -s '[.[] | select(.ev == "write" or .ev == "flush") | .persisted.meta // 0] | add' \
        "$T/$fs-mapsync/audit.jsonl")
    if [ "$(jqr $fs-mapsync .labels.meta)" = true ] && [ "$off" -gt 0 ] && [ "$low" = "$off" ] &&
        [ "$(jqr $fs-mapsync .labels.meta_bytes)" -gt 0 ] && [ "${meta:-0}" -gt 0 ]; then
        t_ok "nvdimm $fs labels: $(jqr $fs-mapsync .labels.meta_bytes) bytes meta from offset $off, $meta meta lines persisted"
    else
        t_fail "nvdimm $fs labels" "labels $(jq -c .labels "$T/$fs-mapsync/results.jsonl"), lowest meta label $low, meta lines $meta; $(cat "$T/$fs-mapsync/classify.log")"
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
