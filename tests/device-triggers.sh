#!/bin/bash
# Triggers armed through the control socket cut the power by themselves:
# after-writes=N, before-flush=N, at-mark=TEXT; wait-off blocks until one
# fires (and times out while the device stays on); the seed given to arm is
# the cut's seed.
set -u
. "$(dirname "$0")/lib.sh"
t_device
LOG=$T/img.audit.jsonl

start_dev dev file="$T/img" size=1M || t_done

ctl arm after-writes=3 >/dev/null
nbd fill 0 64 1 fill 64 64 2
t_check "after-writes=3: on after two writes" test "$(status_of power)" = on
nbd fill 128 64 3
t_check "after-writes=3: off right after the third" test "$(status_of power)" = off
t_check "after-writes=3: the cut lost the three lines" \
    test "$(jq -s 'map(select(.ev=="cut")) | last | .lost.unknown' "$LOG")" = 3
t_check "after-writes=3: a fourth write is refused" nbd expect-error fill 192 64 4
ctl power-on >/dev/null

ctl arm before-flush=2 >/dev/null
nbd fill 0 64 7 flush fill 64 64 8
t_check "before-flush=2: the second flush fails with EIO" nbd expect-error flush
t_check "before-flush=2: device is off" test "$(status_of power)" = off
ctl power-on >/dev/null
t_check "before-flush=2: data of the first flush kept" nbd expect 0 64 7
t_check "before-flush=2: data for the second flush lost" nbd expect 64 64 0

ctl arm "at-mark=ack log 7 fsync" >/dev/null
nbd fill 0 64 9
ctl mark ack log 6 fsync >/dev/null
t_check "at-mark: another mark does not fire" test "$(status_of power)" = on
ctl mark ack log 7 fsync >"$T/mark.json"
t_check "at-mark: the mark fires the cut" test "$(status_of power)" = off
t_check "at-mark: the reply carries the cut" \
    test "$(jq -r .cut.trigger "$T/mark.json")" = "at-mark=ack log 7 fsync"
ctl power-on >/dev/null

# wait-off: blocks until a trigger fires; times out while on.
ctl wait-off timeout=0.2 2>"$T/err" && t_fail "wait-off timeout" "returned ok while on" ||
    t_check "wait-off times out while on" grep -q timeout "$T/err"
ctl arm after-writes=1 seed=77 >/dev/null
ctl wait-off timeout=30 >"$T/waited.json" &
waiter=$!
T_PIDS="$T_PIDS $waiter"
sleep 0.3
nbd fill 0 64 5
wait $waiter
t_forget "$waiter"
t_check "wait-off returns the cut record" test "$(jq -r .trigger "$T/waited.json")" = after-writes=1
t_check "the seed given to arm is used" test "$(jq -r .seed "$T/waited.json")" = 77
t_check "every seed in the log is exact in JSON readers (< 2^53)" \
    jq -s -e 'all(.[]; (.seed // 0) < 9007199254740992)' "$LOG"
ctl power-on >/dev/null

t_no_sanitizer_report
t_done
