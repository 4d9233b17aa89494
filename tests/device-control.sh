#!/bin/bash
# The control socket: bad commands get one `error:` line each and change
# nothing, the connection stays usable; pmemcutctl's exit status; several
# control clients at once.
set -u
. "$(dirname "$0")/lib.sh"
t_device

start_dev dev file="$T/img" size=1M || t_done

# Bad commands: error, nothing changes, the connection stays usable.
before=$(ctl status | jq -c 'del(.audit_seq)')
printf '%s\n' "bogus" "cut policy=most" "cut p=0.5" "arm after-writes=0" "arm" \
    "arm after-writes=2 before-flush=3" "classify meta 0 0" "classify meta 1048576 1" \
    "classify huge 0 1" "fault flush=maybe" "wait-off timeout=x" "status extra" "mark" \
    "dirty max=-1" "cut seed=abc" "cut seed=9007199254740992" "status" | ctl - >"$T/batch.out"
t_check "16 bad commands get error:, the 17th still works" \
    test "$(grep -c '^error: ' "$T/batch.out"):$(tail -1 "$T/batch.out" | cut -c1-3)" = "16:ok "
t_check "error lines name what was wrong" grep -q "^error: policy: unknown policy 'most'" "$T/batch.out"
t_check "bad commands changed nothing" test "$(ctl status | jq -c 'del(.audit_seq)')" = "$before"
ctl bogus 2>/dev/null
t_check "pmemcutctl: device error (refused) exits 3" test $? = 3
"$CTL" -s "$T/nowhere.ctl" status 2>/dev/null
t_check "pmemcutctl: no connection exits 2" test $? = 2

# Several control clients at once.
ctl wait-off timeout=5 >/dev/null 2>&1 &
w1=$!
T_PIDS="$T_PIDS $w1"
t_check "a second client is served while one waits" ctl status >/dev/null
wait $w1
t_forget "$w1"

t_no_sanitizer_report
t_done
