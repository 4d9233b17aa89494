#!/bin/bash
# The lying device (fault flush=ignore) acknowledges flushes and FUA writes
# and persists nothing; the audit log marks those flushes as ignored.
set -u
. "$(dirname "$0")/lib.sh"
t_device
LOG=$T/img.audit.jsonl

start_dev dev file="$T/img" size=1M || t_done

nbd fill 0 8192 0 flush
ctl fault flush=ignore >/dev/null
t_check "status shows flush_mode ignore" test "$(status_of flush_mode)" = ignore
nbd fill 0 4096 0x99 flush fill 4096 64 0x98 fua
ctl cut >/dev/null && ctl power-on >/dev/null
t_check "lying device lost flushed data" nbd expect 0 4096 0
t_check "lying device lost FUA data" nbd expect 4096 64 0
ctl fault flush=honor >/dev/null
t_check "lying flush record is marked ignored" \
    jq -s -e 'any(.[]; .ev=="flush" and .ignored == true)' "$LOG"

t_no_sanitizer_report
t_done
