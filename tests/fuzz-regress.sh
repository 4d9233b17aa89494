#!/usr/bin/env bash
# tests/fuzz-regress.sh — every fuzzing harness over its seed corpus
# (tests/fuzz/corpus/NAME/), once per input: a crash or sanitizer report
# that fuzzing once found (and whose input was added to the corpus) fails
# `make check` until it is fixed.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_tmpdir
names=$(sed -n 's/^FUZZERS *:= *//p' "$TOP/tests/part.mk")
for n in $names; do
    bin=$TOP/build/fuzz/tests/fuzz-$n
    corpus=$TOP/tests/fuzz/corpus/$n
    t_require "$bin"
    count=$(find "$corpus" -type f | wc -l)
    if [ "$count" -eq 0 ]; then
        t_fail "fuzz-$n: corpus" "no inputs in tests/fuzz/corpus/$n"
        continue
    fi
    if "$bin" -timeout=20 -rss_limit_mb=2048 "$corpus"/* >"$T/$n.log" 2>&1; then
        t_ok "fuzz-$n: $count corpus inputs, no crash, no sanitizer report"
    else
        t_fail "fuzz-$n: corpus" "$(grep -m1 -E 'ERROR|runtime error|Running: ' "$T/$n.log")"
    fi
done
t_done
