#!/bin/bash
# dm-log-writes export: a history from a real nbdkit is exported, and an
# independent reader (tests/replay-dmlog-read.c, written from the format's
# documentation) rebuilds from it the same image as `pmemcut-replay replay`,
# at the end and at a named mark.
set -u
. "$(dirname "$0")/lib.sh"
READER=$TOP/build/san/tests/replay-dmlog-read
t_require nbdkit cmp "$PLUGIN" "$CTL" "$CLIENT" "$REPLAY" "$READER"
t_tmpdir

start_dev dev file="$T/img" size=2M data-log="$T/img.dlog" || t_done
C=$T/img.ctl
ctl() { "$CTL" -s "$C" "$@" >/dev/null; }
ctl classify meta 0 65536
nbd write 0 65536 1 flush write 100 1000 2 write 131072 4096 3 fua modify 0 8192 4 zero 16384 4096 trim 20480 8192 trim 30001 999
ctl mark "before the cut"
nbd write 4096 100000 5 write 777 3 6
ctl cut policy=torn seed=3
ctl power-on
nbd write 1000000 70000 7 flush write 1500000 512 8
ctl mark "the end"
stop_dev dev
LOG=$T/img.audit.jsonl

if "$REPLAY" export --format dm-log-writes --audit "$LOG" --data "$T/img.dlog" -o "$T/x.log" \
    >"$T/export.out" 2>&1; then
    t_ok "export succeeds"
else
    t_fail "export succeeds" "$(cat "$T/export.out")"
fi
"$REPLAY" replay --audit "$LOG" --data "$T/img.dlog" -o "$T/end.img"
"$READER" "$T/x.log" 2097152 "$T/dm-end.img" >"$T/read.out" 2>&1
t_check "the independent reader parses the export" grep -q '^entries ' "$T/read.out"
t_check "replaying the whole export gives replay's final image" cmp "$T/dm-end.img" "$T/end.img"
t_check "marks are named entries" grep -qx 'mark before the cut' "$T/read.out"
t_check "the cut is a named entry" grep -q '^mark pmemcut-cut:' "$T/read.out"
t_check "FUA, flush, discard and metadata flags are used" \
    grep -Eq 'flushes [1-9].* fua [1-9].* discards [1-9].* meta [1-9]' "$T/read.out"
mark_seq=$(grep '"text":"before the cut"' "$LOG" | grep -o '"seq":[0-9]*' | cut -d: -f2)
"$REPLAY" replay --audit "$LOG" --data "$T/img.dlog" --to "$mark_seq" -o "$T/mark.img"
"$READER" "$T/x.log" 2097152 "$T/dm-mark.img" --until-mark "before the cut" >/dev/null
t_check "replaying the export up to a mark gives replay --to that mark" \
    cmp "$T/dm-mark.img" "$T/mark.img"
cut_seq=$(grep '"ev":"cut"' "$LOG" | grep -o '"seq":[0-9]*' | cut -d: -f2)
"$REPLAY" replay --audit "$LOG" --data "$T/img.dlog" --to "$cut_seq" -o "$T/cut.img"
"$READER" "$T/x.log" 2097152 "$T/dm-cut.img" --until-mark "the end" >/dev/null
"$READER" "$T/x.log" 2097152 "$T/dm-cut2.img" --until-mark "pmemcut-cut:$cut_seq" >/dev/null
t_check "the export holds the torn cut's outcome" \
    sh -c "! cmp -s '$T/dm-cut2.img' '$T/cut.img' && cmp -s '$T/dm-cut.img' '$T/end.img'"
t_done
