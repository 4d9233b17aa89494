#!/usr/bin/env bash
# tests/fuzz-run.sh NAME... — `make fuzz`: fuzz each harness for
# FUZZ_SECONDS (default 60) with its dictionary, starting from its seed
# corpus.  New inputs go to build/fuzz/corpus/NAME (the repository's corpus
# is only read); a crash leaves build/fuzz/crash-NAME-* and fails the run.
# Prints, per harness, executions, executions per second and coverage.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
secs=${FUZZ_SECONDS:-60}
case $secs in '' | *[!0-9]*) echo "fuzz-run: FUZZ_SECONDS must be a whole number" >&2; exit 2 ;; esac
failed=0
printf '%-10s %12s %10s %8s %8s  %s\n' harness execs exec/s cov ft result
for n in "$@"; do
    bin=$TOP/build/fuzz/tests/fuzz-$n
    work=$TOP/build/fuzz/corpus/$n
    mkdir -p "$work"
    dict=()
    [ -f "$TOP/tests/fuzz/$n.dict" ] && dict=(-dict="$TOP/tests/fuzz/$n.dict")
    log=$TOP/build/fuzz/$n.log
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "${dict[@]}" -artifact_prefix="$TOP/build/fuzz/crash-$n-" "$work" "$TOP/tests/fuzz/corpus/$n" \
        >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    if [ $rc -eq 0 ]; then res=ok; else res="CRASH (see $log)"; failed=1; fi
    printf '%-10s %12s %10s %8s %8s  %s\n' "$n" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$res"
done
exit $failed
