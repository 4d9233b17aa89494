#!/bin/bash
# One exit-code table for the five programs (README): 0 success / PASS,
# 1 a violation found (FAIL), 2 usage, environment or input error (a damaged
# log included), 3 refused by the system.  One error of each kind each
# program can give without a VM, and its message: one line on stderr that
# starts with `PROGRAM: ` (the agent also prints its JSON error object on
# stdout, its output contract).
set -u
. "$(dirname "$0")/lib.sh"
AGENT=$TOP/guest/pmemcut-agent
HOST=$TOP/build/san/host/pmemcut-host
t_require nbdkit jq "$PLUGIN" "$CTL" "$AUDIT" "$REPLAY" "$AGENT" "$HOST"
t_tmpdir

# exits NAME WANT PROGRAM CMD...: CMD exits WANT; for an error (WANT 2 or
# 3), its stderr is one line starting with "PROGRAM: ".
exits() {
    local name=$1 want=$2 prog=$3 rc
    shift 3
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" = "$want" ]; then
        t_ok "$name: exit $want"
    else
        t_fail "$name: exit $want" "exit $rc, stderr: $(head -n 1 "$T/err")"
    fi
    if [ "$want" -ge 2 ]; then
        if [ "$(wc -l <"$T/err")" = 1 ] && grep -q "^$prog: ." "$T/err"; then
            t_ok "$name: one line '$(cat "$T/err")'"
        else
            t_fail "$name: one line starting with '$prog: '" \
                "$(wc -l <"$T/err") lines, the first: $(head -n 1 "$T/err")"
        fi
    fi
}

# pmemcutctl, also against a device that refuses a command
exits "pmemcutctl with an unknown option" 2 pmemcutctl "$CTL" --bogus
exits "pmemcutctl without a device to connect to" 2 pmemcutctl "$CTL" -s "$T/nowhere.ctl" status
start_dev dev file="$T/img" size=1M || t_done
exits "pmemcutctl status" 0 pmemcutctl ctl status
exits "pmemcutctl: a command the device refuses" 3 pmemcutctl ctl power-on
stop_dev dev

# pmemcut-audit: a good log, a damaged one, a missing one, a bad command line.
printf '%s\n' \
    '{"seq":1,"ns":1000,"ev":"open","file":"img","size":1048576,"line":64,"created":true,"policy":"lose-all","seed":0}' \
    '{"seq":2,"ns":2000,"ev":"flush","persisted":{"meta":0,"data":0,"unknown":0}}' >"$T/good.jsonl"
head -c 150 "$T/good.jsonl" >"$T/damaged.jsonl"
exits "pmemcut-audit summary of a whole log" 0 pmemcut-audit "$AUDIT" summary "$T/good.jsonl"
exits "pmemcut-audit summary of a damaged log" 2 pmemcut-audit "$AUDIT" summary "$T/damaged.jsonl"
exits "pmemcut-audit summary of a missing log" 2 pmemcut-audit "$AUDIT" summary "$T/nonexistent"
exits "pmemcut-audit with an unknown option" 2 pmemcut-audit "$AUDIT" --bogus

# pmemcut-replay
exits "pmemcut-replay with an unknown command" 2 pmemcut-replay "$REPLAY" --bogus
exits "pmemcut-replay replay with an unknown option" 2 pmemcut-replay "$REPLAY" replay --bogus

# pmemcut-agent, on a host directory (as tests/guest-host.sh runs it)
mkdir "$T/d"
exits "pmemcut-agent run with an unknown option" 2 pmemcut-agent "$AGENT" run --bogus
t_check "pmemcut-agent: and its JSON error object on stdout" jq -e '.error | length > 0' "$T/out"
"$AGENT" run --dir "$T/d" --workload create --sync fsync --records 3 --ack-to "$T/acks" >/dev/null
rm "$T/d/rec-00000002"
exits "pmemcut-agent verify of a lost acknowledged record" 1 pmemcut-agent \
    "$AGENT" verify --dir "$T/d" --acks "$T/acks"
t_check "pmemcut-agent: the FAIL verdict on stdout" jq -e '.verdict == "FAIL"' "$T/out"
exits "pmemcut-agent verify of the records there are" 0 pmemcut-agent \
    "$AGENT" verify --dir "$T/d" --acks <(grep -v rec-00000002 "$T/acks")
rm -rf "$T/d"/*
exits "pmemcut-agent map-sync without DAX is refused" 3 pmemcut-agent \
    "$AGENT" run --dir "$T/d" --workload mmap --sync map-sync --records 1 --ack-to "$T/acks"

# pmemcut-host
exits "pmemcut-host with an unknown command" 2 pmemcut-host "$HOST" --bogus
exits "pmemcut-host run with an unknown option" 2 pmemcut-host "$HOST" run --bogus
exits "pmemcut-host paths of the built tree" 0 pmemcut-host "$HOST" paths
exits "pmemcut-host paths with a part missing" 2 pmemcut-host env PMEMCUT_AGENT="$T/no-agent" "$HOST" paths
t_done
