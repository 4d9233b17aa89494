#!/bin/bash
# tests/host-exec.sh — a workload of the user's own: pmemcut-host run
# --exec/--check/--guest-add on virtio-pmem ext4.
#
# Bad input is refused with one line before anything boots: --exec without
# --check, a missing --guest-add file, a program whose libraries do not
# resolve, --exec with --workload.  Then a shell workload that appends a line,
# syncs and promises it (pmemcut-agent ack), and a shell checker that looks
# for every promised line: PASS over 2 cycles, each cut planned over the
# promises as the agent's are; the acks are marks `user-ack cycle=N TEXT` and
# the lines of acks-N.txt; the checker's JSON reaches results.jsonl.  The
# same workload without the sync: FAIL (the checker is real).  A checker
# that exits 3: the verdict is "error", never PASS, and the run exits 2.
. "$(dirname "$0")/host-lib.sh"
t_require cc

refused() { # NAME WANT-TEXT ARGS...: exit 2, one line, nothing made
    local name=$1 want=$2
    shift 2
    "$H" run --mode virtio-pmem --fs ext4 "$@" --out "$T/$name" >"$T/$name.out" 2>"$T/$name.err"
    local rc=$?
    if [ $rc = 2 ] && [ "$(wc -l <"$T/$name.err")" = 1 ] && grep -q -- "$want" "$T/$name.err" &&
        [ ! -e "$T/$name" ]; then
        t_ok "refused before anything starts: $(cat "$T/$name.err")"
    else
        t_fail "$name refused" "exit $rc: $(cat "$T/$name.err")"
    fi
}
refused nocheck "--check" --exec true
refused missing "/nonexistent/prog" --exec true --check true --guest-add /nonexistent/prog
refused withwl "--workload" --exec true --check true --workload append
# A program linked with a library that is gone.
mkdir -p "$T/lib"
echo 'int f(void) { return 1; }' >"$T/lib/f.c"
echo 'int f(void); int main(void) { return f(); }' >"$T/lib/p.c"
cc -shared -fPIC -o "$T/lib/libpmemcutgone.so" "$T/lib/f.c" &&
    cc -o "$T/lib/prog" "$T/lib/p.c" -L"$T/lib" -lpmemcutgone -Wl,-rpath,"$T/lib" &&
    rm "$T/lib/libpmemcutgone.so"
refused nolib "libpmemcutgone.so" --exec "$T/lib/prog" --check true --guest-add "$T/lib/prog"

# The workload and its checker, as a user writes them.
cat >"$T/wl.sh" <<'EOF'
rm -f log.txt
sync
i=1
while [ $i -le 8 ]; do
    echo "row $i" >>log.txt
    [ "${1:-sync}" = sync ] && sync
    pmemcut-agent ack "row $i"
    i=$((i + 1))
done
EOF
cat >"$T/ck.sh" <<'EOF'
n=0
while IFS= read -r a; do
    grep -qx "$a" log.txt 2>/dev/null || { echo "{\"missing\":\"$a\",\"present\":$n}"; exit 1; }
    n=$((n + 1))
done <"$PMEMCUT_ACKS"
echo "{\"present\":$n}"
EOF
run own --mode virtio-pmem --fs ext4 --exec "sh $T/wl.sh" --check "sh $T/ck.sh" \
    --guest-add "$T/wl.sh" --guest-add "$T/ck.sh" --records 8 --cycles 2 --jobs 1 --seed 3
[ $RC = 0 ] && [ "$(jqr own .verdict | sort -u)" = PASS ] &&
    t_ok "own workload with sync: PASS in 2 of 2 cycles (acked $(jqr own .acked | tr '\n' ' '))" ||
    t_fail "own workload PASS" "$(show own)"
[ "$(jqr own '.checker.result.present == .acked' | sort -u)" = true ] &&
    [ "$(jqr own '.workload + "/" + .sync' | sort -u)" = exec/own ] &&
    t_ok "results: the checker's JSON line and exit, workload exec/own" ||
    t_fail "checker result" "$(jqr own '[.acked, .checker] | tojson')"
[ "$(jqr own '.cut.plan.record // .cut.trigger' | wc -l)" = 2 ] &&
    [ "$(grep -c '"text":"user-ack cycle=2 row 1"' "$T/own/audit.jsonl")" = 1 ] &&
    grep -qx 'row 1' "$T/own/acks-2.txt" && [ "$(grep -c . "$T/own/acks-1.txt")" = "$(jqr own 'select(.cycle == 1) | .acked')" ] &&
    t_ok "promises: marks 'user-ack cycle=N TEXT', acks-N.txt holds the texts" ||
    t_fail "promises" "$(grep '"ev":"mark"' "$T/own/audit.jsonl" | head -5)"

run nosync --mode virtio-pmem --fs ext4 --exec "sh $T/wl.sh nosync" --check "sh $T/ck.sh" \
    --guest-add "$T/wl.sh" --guest-add "$T/ck.sh" --records 8 --cycles 1 --seed 4
[ $RC = 1 ] && [ "$(jqr nosync .verdict)" = FAIL ] && [ "$(jqr nosync .checker.exit)" = 1 ] &&
    t_ok "own workload without sync: FAIL ($(jqr nosync '.checker.result | tojson'))" ||
    t_fail "own workload without sync FAIL" "$(show nosync)"

run broken --mode virtio-pmem --fs ext4 --exec "sh $T/wl.sh" --check "exit 3" \
    --guest-add "$T/wl.sh" --records 8 --cycles 1 --seed 5
[ $RC = 2 ] && [ "$(jqr broken .verdict)" = error ] && [ "$(jqr broken .checker.exit)" = 3 ] &&
    grep -q ' error$' "$T/broken.out" &&
    t_ok "a checker that exits 3: verdict error (never PASS), run exit 2, the table says error" ||
    t_fail "checker error" "$(show broken)"
grep -q " $T/" /proc/mounts && t_fail "cleanup" "a mount is left" || t_ok "cleanup: no FUSE view left mounted"
t_done
