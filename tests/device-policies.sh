#!/bin/bash
# Cut policies with a seed, through the control socket: random keeps some
# dirty lines and loses the others, the same seed gives the same surviving
# bytes; torn leaves torn lines.
set -u
. "$(dirname "$0")/lib.sh"
t_device

start_dev dev file="$T/img" size=1M || t_done

nbd fill 0 65536 0 flush fill 0 65536 0x66
ctl cut policy=random p=0.5 seed=9 >"$T/r.json"
t_check "random: kept + lost = dirty" test "$(jq '.kept.unknown + .lost.unknown' "$T/r.json")" = 1024
t_check "random: some kept, some lost" test "$(jq '.kept.unknown > 100 and .lost.unknown > 100' "$T/r.json")" = true
ctl power-on >/dev/null
nbd readfile 0 65536 "$T/after-random"
nbd fill 0 65536 0 flush fill 0 65536 0x66
ctl cut policy=random p=0.5 seed=9 >/dev/null && ctl power-on >/dev/null
nbd readfile 0 65536 "$T/after-random2"
t_check "same seed, same surviving bytes" cmp -s "$T/after-random" "$T/after-random2"
nbd fill 0 65536 0 flush fill 0 65536 0x77
ctl cut policy=torn seed=3 >"$T/t.json"
t_check "torn: torn lines reported" test "$(jq '.torn.unknown > 0' "$T/t.json")" = true
ctl power-on >/dev/null

t_no_sanitizer_report
t_done
