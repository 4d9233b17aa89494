#!/bin/bash
# tests/host-nvdimm.sh — pmemcut-host run end to end on an nvdimm (fsdax
# namespace) under its default cache model, adr: the tracer in QEMU persists
# what the guest's own write-backs and fences make persistent; at the cut
# the host suspends the VM and writes the rest of the view back unflushed,
# so what the guest stored and never made persistent meets the policy.
#   - ext4 and xfs, mmap/map-sync: PASS over 2 cycles each, cache_model adr,
#     the tracer's counts in every row (the agent's clwb, the kernel's
#     non-temporal stores and fences, lines persisted)
#   - ext4 mmap/none on a new file (eadr): the records are lost, and that is
#     allowed
#   - labels: cycle 1 labelled the filesystem's metadata at the namespace's
#     data offset (ext4 block by block, xfs as a whole) and the device then
#     counted meta lines
. "$(dirname "$0")/host-lib.sh"

for fs in ext4 xfs; do
    run $fs-mapsync --mode nvdimm --fs $fs --workload mmap --sync map-sync --records 16 --cycles 2 --jobs 1 \
        --seed 21
    ok=$(jqr $fs-mapsync '.verdict == "PASS" and .acked > 0 and .cache_model == "adr" and
        (.tracer.workload | .clwb > 0 and .nt_stores > 0 and .fences > 0 and .lines_persisted > 0)' |
        sort -u)
    if [ $RC -eq 0 ] && [ "$ok" = true ] && [ "$(jqr $fs-mapsync .cycle | wc -l)" = 2 ] &&
        [ -s "$T/$fs-mapsync/tracer-2.json" ]; then
        t_ok "nvdimm $fs mmap/map-sync, adr: PASS in 2 of 2 ($(jqr $fs-mapsync .acked | paste -sd/) acked; cycle 1 traced $(jq -rs '.[0].tracer.workload | "\(.clwb) clwb, \(.nt_stores) nt stores, \(.fences) fences, \(.lines_persisted) lines persisted"' "$T/$fs-mapsync/results.jsonl"))"
    else
        t_fail "nvdimm $fs mmap/map-sync adr" "$(show $fs-mapsync)"
    fi
    # The filesystem starts at dev_offset (2 MiB with the agent's ndctl
    # settings): the lowest meta label is there, and after the labels the
    # device's writes and flushes counted meta lines.
    off=$(jqr $fs-mapsync .labels.meta_offset | head -1)
    low=$(grep '"ev":"classify","class":"meta"' "$T/$fs-mapsync/audit.jsonl" | jq -s 'map(.off) | min')
    meta=$(jq -s '[.[] | select(.ev == "write" or .ev == "flush") | .persisted.meta // 0] | add' \
        "$T/$fs-mapsync/audit.jsonl")
    if [ "$(jqr $fs-mapsync .labels.meta | head -1)" = true ] && [ "$off" -gt 0 ] && [ "$low" = "$off" ] &&
        [ "$(jqr $fs-mapsync .labels.meta_bytes | head -1)" -gt 0 ] && [ "${meta:-0}" -gt 0 ]; then
        t_ok "nvdimm $fs labels: $(jqr $fs-mapsync .labels.meta_bytes | head -1) bytes meta from offset $off, $meta meta lines persisted"
    else
        t_fail "nvdimm $fs labels" "labels $(jq -c .labels "$T/$fs-mapsync/results.jsonl"), lowest meta label $low, meta lines $meta; $(cat "$T/$fs-mapsync/classify.log")"
    fi
done

# What is checked here is the expectation (none promises nothing), not the
# cache model: eadr, the faster one (the ADR run is in the README's table).
run none --mode nvdimm --fs ext4 --workload mmap --sync none --records 16 --seed 22 --cache-model eadr
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
