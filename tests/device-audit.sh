#!/bin/bash
# The audit log of a history with plain, FUA and lying writes, a mark, cuts
# and a restart: every line is JSON, seq runs 1..N without a gap across the
# restart, the records' counts are right and add up to the dirty lines now.
set -u
. "$(dirname "$0")/lib.sh"
t_device
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

t_no_sanitizer_report
t_done
