#!/usr/bin/env bash
# tests/soak.sh — `make soak`: honest power-cut cycles, not part of `make check`.
#
# Each run takes a seed from the clock (below 2^53) and from it a mode,
# filesystem, workload, a method that promises durability there, and a cut
# policy; pmemcut-host runs SOAK_CYCLES_PER_RUN cycles of it. The soak goes
# on until SOAK_CYCLES cycles (default 100) have run, and stops at the first
# honest FAIL, leaving its run directory (image, audit log, acks, consoles)
# and the command that runs it again. One FAIL is known and is not a failure
# of the soak: on virtio-pmem a cut that keeps some dirty lines (random,
# torn, prefix) between the journal write and its flush can leave a journal
# commit over damaged blocks, because the 6.1 kernel does not order the
# commit's preflush before its write; the kernel then refuses the journal
# (README: "What pmemcut found"). A cycle whose results say exactly that
# (mount_failure "journal recovery failed", the cut landed after a write) is
# counted as that finding, and the soak goes on (the run makes a new
# filesystem for its next cycle).
#
# nvdimm runs under its default cache model, adr. After the honest cycles,
# the long form of the seeded-bug matrix under both cache models
# (tests/host-adr-run.sh with ADR_MATRIX=long: ext4 and xfs, 2 cycles each,
# about 12 min), and tests/host-attach.sh with ATTACH_BOOT=1 (a real boot
# of an attached domain under adr); SOAK_ADR_MATRIX=0 leaves both out.
#
# Results: build/soak/soak.jsonl (one object per cycle), a summary table.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
H=$TOP/host/pmemcut-host
OUT=${SOAK_OUT:-$TOP/build/soak}
total=${SOAK_CYCLES:-100}
per=${SOAK_CYCLES_PER_RUN:-2}
for v in total per; do
    case ${!v} in '' | *[!0-9]* | 0) echo "soak: SOAK_CYCLES and SOAK_CYCLES_PER_RUN must be positive whole numbers" >&2; exit 2 ;; esac
done
for f in "$H" "$TOP/plugin/nbdkit-pmemcut-plugin.so" "$TOP/build/guest-initramfs.cpio.gz"; do
    [ -e "$f" ] || { echo "soak: $f is missing (make all image)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "soak: jq is missing (make deps)" >&2; exit 2; }
mkdir -p "$OUT"
: >"$OUT/soak.jsonl"

# pick SEED N: sets R to a number in 0..N-1, the next splitmix64 draw from
# the seed (bash arithmetic wraps like uint64_t; shifts are masked to be
# logical). Not called in $(...): the draw count must persist.
pick() {
    draw=$((draw + 1))
    local z=$(($1 + draw * 0x9e3779b97f4a7c15))
    z=$(((z ^ ((z >> 30) & 0x3ffffffff)) * 0xbf58476d1ce4e5b9))
    z=$(((z ^ ((z >> 27) & 0x1fffffffff)) * 0x94d049bb133111eb))
    z=$((z ^ ((z >> 31) & 0x1ffffffff)))
    R=$((((z >> 1) & 0x7fffffffffffffff) % $2))
}
modes=(virtio-pmem nvdimm)
fss=(ext4 xfs)
workloads=(append overwrite create mmap)
policies=(lose-all keep-all random torn prefix)

done_cycles=0 runs=0 finding=0 stop=0
while [ "$done_cycles" -lt "$total" ] && [ "$stop" -eq 0 ]; do
    runs=$((runs + 1))
    seed=$(( $(date +%s%N) % (1 << 53) ))
    draw=0
    pick "$seed" 2
    mode=${modes[R]}
    pick "$seed" 2
    fs=${fss[R]}
    pick "$seed" 4
    wl=${workloads[R]}
    if [ "$mode" = nvdimm ]; then syncs=(fsync fdatasync msync odsync map-sync prewrite-flush); else syncs=(fsync fdatasync msync odsync); fi
    pick "$seed" ${#syncs[@]}
    sync=${syncs[R]}
    [ "$wl" = mmap ] && [ "$sync" = odsync ] && sync=msync # mmap refuses odsync
    pick "$seed" 5
    policy=${policies[R]}
    dir=$OUT/run-$runs
    rm -rf "$dir"
    cmd=("$H" run --mode "$mode" --fs "$fs" --workload "$wl" --sync "$sync" --policy "$policy"
        --records 24 --cycles "$per" --jobs 1 --seed "$seed" --out "$dir")
    t0=$SECONDS
    "${cmd[@]}" >"$dir.out" 2>"$dir.err"
    rc=$?
    if [ ! -s "$dir/results.jsonl" ]; then
        echo "soak: run $runs did not finish (exit $rc): $(tail -n 1 "$dir.err")" >&2
        echo "again: ${cmd[*]}" >&2
        exit 2
    fi
    while IFS= read -r line; do
        verdict=$(jq -r .verdict <<<"$line")
        kind=$verdict
        if [ "$verdict" = FAIL ]; then
            # the finding exactly: the journal (or log) refused, after a cut
            # that came between a write and the flush after it
            known=$(jq -r '.mount_failure == "journal recovery failed" and
                ((.cut.landed.requests // "") | endswith("W"))' <<<"$line")
            if [ "$mode" = virtio-pmem ] && [ "$policy" != lose-all ] && [ "$policy" != keep-all ] &&
                [ "$known" = true ]; then
                kind=finding-virtio-pmem-flush-order
                finding=$((finding + 1))
            else
                stop=1
            fi
        fi
        jq -c --arg run "$runs" --arg kind "$kind" '{run: ($run | tonumber), kind: $kind} + .' <<<"$line" >>"$OUT/soak.jsonl"
        done_cycles=$((done_cycles + 1))
    done <"$dir/results.jsonl"
    printf 'soak: run %d (%s %s %s %s %s, seed %d): exit %d in %d s; %d/%d cycles, %d findings\n' \
        "$runs" "$mode" "$fs" "$wl" "$sync" "$policy" "$seed" "$rc" $((SECONDS - t0)) \
        "$done_cycles" "$total" "$finding" >&2
    if [ "$stop" -eq 1 ]; then
        echo "soak: honest FAIL in run $runs: everything is in $dir" >&2
        echo "again: ${cmd[*]}" >&2
    fi
done

echo
jq -rs 'group_by(.mode + " " + .fs + " " + .cut.policy) | .[] |
  [(.[0].mode), (.[0].fs), (.[0].cut.policy), (length),
   (map(select(.kind == "PASS")) | length), (map(select(.kind == "allowed-loss" or .kind == "refused")) | length),
   (map(select(.kind == "finding-virtio-pmem-flush-order")) | length), (map(select(.kind == "FAIL")) | length)] | @tsv' \
    "$OUT/soak.jsonl" | { printf 'mode\tfs\tpolicy\tcycles\tPASS\tother\tfinding\tFAIL\n'; cat; } | column -t
echo "$done_cycles cycles in $runs runs: $(jq -s 'map(select(.kind == "FAIL")) | length' "$OUT/soak.jsonl") honest FAIL, $finding of the known virtio-pmem finding"
matrix=0
if [ "$stop" -eq 0 ] && [ "${SOAK_ADR_MATRIX:-1}" != 0 ]; then
    # the runner uses the sanitizer build of pmemcut-host, as in make check
    make -s -C "$TOP" --no-print-directory build/san/host/pmemcut-host >/dev/null || exit 2
    echo "soak: the seeded-bug matrix under adr and eadr (tests/host-adr-run.sh, ADR_MATRIX=long)" >&2
    ADR_MATRIX=long "$TOP/tests/host-adr-run.sh" || matrix=1
    # and a real boot of a domain of the user's kind, attached under adr
    ATTACH_BOOT=1 "$TOP/tests/host-attach.sh" || matrix=1
fi
[ "$stop" -eq 0 ] && [ "$matrix" -eq 0 ] && exit 0 || exit 1
