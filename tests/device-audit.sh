#!/bin/bash
# The audit log of a history with plain, FUA and lying writes, a mark, cuts
# and a restart: every line is JSON, seq runs 1..N without a gap across the
# restart, the records' counts are right and add up to the dirty lines now;
# the ADR tracer's exports and the records of its writes.
set -u
. "$(dirname "$0")/lib.sh"
t_device "$AUDIT" "$REPLAY"
LOG=$T/img.audit.jsonl

start_dev dev file="$T/img" size=1M || t_done
nbd fill 0 4096 0x11
ctl cut >/dev/null && ctl power-on >/dev/null
nbd fill 0 4096 0x22 flush fill 8192 100 0x33 fua fill 16384 64 0x44
ctl mark ack log 7 fsync >/dev/null
ctl fault flush=ignore >/dev/null
nbd fill 0 4096 0x99 flush fill 4096 64 0x98 fua
ctl fault flush=honor >/dev/null
ctl cut policy=random p=0.5 seed=9 >/dev/null && ctl power-on >/dev/null
nbd fill 0 4096 0x42 flush fill 4096 4096 0x43
stop_dev dev
start_dev dev file="$T/img" || t_done

t_check "every audit line parses as JSON" jq -e . "$LOG"
t_check "seq is 1..N without gaps across the restart" \
    jq -s -e '[.[].seq] == [range(1; length + 1)]' "$LOG"
t_check "first write record: 64 lines dirtied" \
    jq -s -e 'map(select(.ev=="write")) | first | .dirtied.unknown == 64 and .off == 0 and .len == 4096' "$LOG"
t_check "FUA write record: persisted counts the lines" \
    jq -s -e 'map(select(.ev=="write" and .fua and (.ignored|not))) | first | .persisted.unknown == 2' "$LOG"
# For the current process: dirtied - cleaned - persisted - lost at cuts = dirty now.
nbd fill 0 8192 0x31 fill 100 10 0x42 flush fill 0 128 0x31 zero 8192 64 fill 12288 4096 7
dirty_now=$(status_of dirty_lines)
sum=$(jq -s '(map(.seq) | max) as $m | (map(select(.ev=="open")) | last | .seq) as $o
    | map(select(.seq > $o)) |
    (map(select(.ev|test("write|zero|trim")) | (.dirtied|add) - (.cleaned|add) - (.persisted|add)) | add)
    - (map(select(.ev=="flush") | .persisted|add) | add // 0)
    - (map(select(.ev=="cut") | (.lost|add) + (.kept|add) + (.torn|add)) | add // 0)' "$LOG")
t_check "audit counts add up to the dirty lines now ($dirty_now)" test "$sum" = "$dirty_now"
t_check "mark text is stored escaped and intact" \
    jq -s -e 'any(.[]; .ev=="mark" and .text == "ack log 7 fsync")' "$LOG"

# The ADR tracer's writes (common/audit/cpu.h): on an export per kind of
# persist, FUA only; a cache request ends a fence's batch; the records say
# "src":"cpu", the kind and the batch. Any other export name is refused.
if command -v nbdsh >/dev/null; then
    start_dev cpu file="$T/cpu.img" size=1M data-log="$T/cpu.dlog" || t_done
    CPU=$T/cpu.img.audit.jsonl
    u() { echo "nbd+unix:///${1:-}?socket=$T/cpu.sock"; }
    # nbdsh is Python: Debian's own, with its nbd module
    PATH=/usr/bin:$PATH nbdsh -u "$(u pmemcut-cpu/clwb+fence)" -c '
h.pwrite(b"x" * 128, 64, nbd.CMD_FLAG_FUA)
h.pwrite(b"y" * 64, 4096, nbd.CMD_FLAG_FUA)
h.cache(1, 0)
for what, f in (("plain", lambda: h.pwrite(b"w" * 64, 0)), ("flush", h.flush),
                ("zero", lambda: h.zero(64, 0))):
    try:
        f(); print(what, "accepted")
    except nbd.Error as e:
        print(what, "refused")
' >"$T/cpu.out" 2>&1
    PATH=/usr/bin:$PATH nbdsh -u "$(u pmemcut-cpu/nt+fence)" \
        -c 'h.pwrite(b"z" * 64, 8192, nbd.CMD_FLAG_FUA); h.cache(1, 0)' >>"$T/cpu.out" 2>&1
    PATH=/usr/bin:$PATH nbdsh -u "$(u)" -c 'h.pwrite(b"q" * 64, 0); h.cache(1, 0)' >>"$T/cpu.out" 2>&1
    if PATH=/usr/bin:$PATH nbdsh -u "$(u pmemcut-cpu/bogus)" -c 'h.get_size()' >"$T/bogus.out" 2>&1; then
        t_fail "an unknown export name is refused" "$(cat "$T/bogus.out")"
    else
        t_check "an unknown export name is refused, and the device's error names the exports" \
            grep -q "export 'pmemcut-cpu/bogus' is unknown: .*pmemcut-cpu/clwb+fence" "$T/cpu.err"
    fi
    t_check "a cpu export takes FUA writes only: plain writes, flushes and zeroes refused" \
        test "$(grep -c refused "$T/cpu.out")" = 3
    # the cache request ended batch 1; so did the first connection's close
    t_check "cpu writes: src, insn and the fence batch in their records" \
        jq -s -e '[.[] | select(.ev=="write") | [.off, .src, .insn, .fence]] ==
            [[64,"cpu","clwb+fence",1], [4096,"cpu","clwb+fence",1], [8192,"cpu","nt+fence",3], [0,null,null,null]]' "$CPU"
    t_check "cpu writes persist what they write (FUA)" \
        jq -s -e '[.[] | select(.src=="cpu") | .fua and (.persisted.unknown > 0)] | all' "$CPU"
    t_check "pmemcut-audit reads the cpu records back" "$AUDIT" summary "$CPU"
    stop_dev cpu
    # Offline: a fence point's state has its batch dirty (replay --unfence),
    # and explore --points fence takes each batch's first write.
    rp() { "$REPLAY" replay --audit "$CPU" --data "$T/cpu.dlog" "$@"; }
    at() { od -An -c -j "$2" -N 1 "$1" | tr -d ' '; }
    rp --unfence 2 --policy lose-all -o "$T/u-lose.img" 2>"$T/u.err" &&
        rp --unfence 2 --policy keep-all -o "$T/u-keep.img" 2>>"$T/u.err" &&
        rp --unfence 4 --policy lose-all -o "$T/u4.img" 2>>"$T/u.err"
    if [ "$(at "$T/u-lose.img" 64)$(at "$T/u-keep.img" 64)$(at "$T/u4.img" 64)$(at "$T/u4.img" 8192)" = '\0xx\0' ]; then
        t_ok "replay --unfence: the batch dirty (lose-all drops it, keep-all keeps it), earlier batches persistent"
    else
        t_fail "replay --unfence" "$(cat "$T/u.err")"
    fi
    t_check "replay --unfence refuses a write that starts no batch" \
        bash -c "! '$REPLAY' replay --audit '$CPU' --data '$T/cpu.dlog' --unfence 3 -o '$T/u3.img' 2>'$T/u3.err' && grep -q 'seq 3 is not the first write of a batch' '$T/u3.err'"
    "$REPLAY" explore --audit "$CPU" --data "$T/cpu.dlog" --fs ext4 --points fence \
        --policies lose-all,keep-all --jobs 1 --out "$T/fx" >"$T/fx.out" 2>&1
    t_check "explore --points fence: a point before each batch, the states marked fence" \
        jq -s -e '([.[].point] | unique) == [2, 4] and all(.[]; .ev == "fence")' "$T/fx/states.jsonl"
else
    t_fail "nbdsh" "not installed: the cpu exports are not tested"
fi

t_no_sanitizer_report
t_done
