#!/bin/bash
# tests/host-bench.sh — seconds per pmemcut-host cycle, per phase, and
# cycles per hour (make bench). Not a test: it prints figures. Phases: boot
# (VM start to the first ack), workload (to the cut), cut (remount the view,
# power-on), reboot_verify (VM start to verdict), shutdown (stopping the VM).
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
bench virtio-pmem --mode virtio-pmem --fs ext4 --workload append --sync fsync --records 32 --cycles 3 --jobs 1 --seed 51
bench nvdimm --mode nvdimm --fs ext4 --workload mmap --sync map-sync --records 32 --cycles 2 --jobs 1 --seed 52

# throughput NAME ARGS...: one whole run (set-up, every cycle, teardown) by
# the wall clock, and the cycles it verified (a verdict came back from the
# verify boot: PASS, FAIL or allowed-loss), as cycles per hour. To compare
# another way of running cycles, add a line below with its options.
throughput() {
    local name=$1
    shift
    local t0 t1
    t0=$(date +%s.%N)
    if ! "$H" run "$@" --out "$T/$name" >/dev/null 2>"$T/$name.err"; then
        t_fail "$name" "$(cat "$T/$name.err")"
        return
    fi
    t1=$(date +%s.%N)
    jq -rs --arg name "$name" --arg args "$*" --argjson t0 "$t0" --argjson t1 "$t1" '
        ($t1 - $t0) as $wall | (map(select(.verdict == "PASS" or .verdict == "FAIL" or .verdict == "allowed-loss")) | length) as $n |
        "\($name): \($n) verified cycles in \($wall * 10 | round / 10) s wall: " +
        "\($n * 3600 / $wall | round) cycles/hour; a cycle took \(map(.seconds) | add / length * 10 | round / 10) s " +
        "(\($args))"' "$T/$name/results.jsonl"
    t_ok "$name"
}
# virtio-pmem ext4 append/fsync, one chain against two at once.
THRU=(--mode virtio-pmem --fs ext4 --workload append --sync fsync --records 32
    --cycles "${THRU_CYCLES:-6}" --seed 53)
throughput jobs-1 "${THRU[@]}" --jobs 1
throughput jobs-2 "${THRU[@]}" --jobs 2
t_done
