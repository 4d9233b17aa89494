#!/bin/bash
# tests/host-bench.sh — seconds per pmemcut-host cycle, per phase (make bench).
# Not a test: it prints figures. Phases: boot (VM start to the first ack),
# workload (to the cut), cut (remount the view, power-on), reboot_verify (VM
# start to verdict), shutdown (stopping the VM).
. "$(dirname "$0")/lib.sh"
t_tmpdir
H=$TOP/host/pmemcut-host
t_require "$H" "$TOP/build/guest-initramfs.cpio.gz" jq
export TMPDIR=$T

bench() {
    local name=$1
    shift
    local t0=$SECONDS
    if ! "$H" run "$@" --out "$T/$name" >/dev/null 2>"$T/$name.err"; then
        t_fail "$name" "$(cat "$T/$name.err")"
        return
    fi
    echo "$name: $* ($((SECONDS - t0)) s wall)"
    jq -rs '"  cycles \(length); seconds per cycle: mean \((map(.seconds) | add / length * 10 | round / 10)), " +
        "after the first \(if length > 1 then (.[1:] | map(.seconds) | add / length * 10 | round / 10) else "-" end)",
        (. as $all | "  per phase (mean s): " + ([$all[0].phases | keys_unsorted[]] |
        map(. as $k | "\($k) \($all | map(.phases[$k]) | add / length * 10 | round / 10)") |
        join(", ")))' \
        "$T/$name/results.jsonl"
    t_ok "$name"
}
bench virtio-pmem --mode virtio-pmem --fs ext4 --workload append --sync fsync --records 32 --cycles 3 --seed 51
bench nvdimm --mode nvdimm --fs ext4 --workload mmap --sync map-sync --records 32 --cycles 2 --seed 52
t_done
