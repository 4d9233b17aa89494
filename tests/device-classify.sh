#!/bin/bash
# Classification: ranges labelled meta through the control socket; dirty
# lines are counted by class.
set -u
. "$(dirname "$0")/lib.sh"
t_device

start_dev dev file="$T/img" size=1M || t_done

ctl classify meta 0 4096 >/dev/null
nbd fill 0 128 0x12 fill 8192 64 0x13
t_check "dirty meta lines counted" test "$(status_of dirty_meta_lines)" = 2
t_check "dirty lines by class" test "$(ctl status | jq -c .dirty)" = '{"meta":2,"data":0,"unknown":1}'
nbd flush

t_no_sanitizer_report
t_done
