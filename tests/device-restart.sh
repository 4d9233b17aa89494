#!/bin/bash
# A restart of nbdkit keeps what was persisted; unpersisted data is lost
# with the process, and the audit log says so (close record, reopen as an
# implied lose-all cut).
set -u
. "$(dirname "$0")/lib.sh"
t_device
LOG=$T/img.audit.jsonl

start_dev dev file="$T/img" size=1M || t_done

nbd fill 0 4096 0x42 flush fill 4096 4096 0x43
stop_dev dev
t_check "close record counts the lines lost with the process" \
    test "$(tail -1 "$LOG" | jq -c '[.ev, .lost.unknown]')" = '["close",64]'
start_dev dev file="$T/img" || t_done
t_check "restart keeps persisted data" nbd expect 0 4096 0x42
t_check "restart loses unpersisted data" nbd expect 4096 4096 0
t_check "reopen is logged as an implied lose-all cut" \
    test "$(jq -s -r 'map(select(.ev=="open")) | last | .implied_cut' "$LOG")" = lose-all

t_no_sanitizer_report
t_done
