#!/bin/bash
# tests/run-checks.sh RUNNER... — make check's runners, CHECK_JOBS at a time
# (default: the CPUs this process may use).  Most of make check's time is
# VM runners, each busy on one core (one TCG vCPU), so on two cores two
# lanes take about half as long.  Every runner keeps its own private temp
# dir and stops its own processes by PID, so they can run side by side.
#
# A runner's output is printed whole when it ends, under
# `=== RUNNER (rc N, S s)`, so that two runners never interleave.  The
# runners are started in the order given, longest first when they are
# known to be long (LONG below), so that the lanes end together.  A
# failing runner does not stop the others; the last line says which
# failed.  Ctrl-C stops the runners started (by PID; each one's trap
# stops its own daemons) and fails.

jobs=${CHECK_JOBS:-$(nproc)}
case $jobs in
'' | *[!0-9]*)
    echo "run-checks: CHECK_JOBS must be a number from 1 to 16, not '$jobs'" >&2
    exit 2
    ;;
esac
if [ "$jobs" -lt 1 ] || [ "$jobs" -gt 16 ]; then
    echo "run-checks: CHECK_JOBS must be a number from 1 to 16, not '$jobs'" >&2
    exit 2
fi
[ $# -gt 0 ] || {
    echo "usage: run-checks.sh RUNNER..." >&2
    exit 2
}

# Runners known to take minutes (VM cycles): started first.
LONG="host-examples host-plan explore-kernel host-inject host-methods host-virtio host-nvdimm
      host-exec host-adr-run replay-cycles host-attach host-verify host-options host-kill
      host-shard host-jobs host-saved host-system guest-vm host-adr replay-adr"
queue=()
for t in $LONG; do
    for r in "$@"; do
        [ "$(basename "$r" .sh)" = "$t" ] && queue+=("$r")
    done
done
for r in "$@"; do
    case " $(echo $LONG) " in
    *" $(basename "$r" .sh) "*) ;;
    *) queue+=("$r") ;;
    esac
done

logs=$(mktemp -d "${TMPDIR:-/tmp}/pmemcut-checks.XXXXXX") || exit 2
declare -A name start log
failed=""
npass=0
nfail=0

stop_all() {
    for p in "${!name[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${!name[@]}"; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$logs"
    echo "run-checks: interrupted" >&2
    exit 130
}
trap stop_all INT TERM

# Reap one finished runner: print its output, count it.
reap() {
    local p rc
    while :; do
        for p in "${!name[@]}"; do
            if ! kill -0 "$p" 2>/dev/null; then
                wait "$p"
                rc=$?
                echo "=== ${name[$p]} (rc $rc, $((SECONDS - ${start[$p]})) s)"
                cat "${log[$p]}"
                rm -f "${log[$p]}"
                if [ $rc = 0 ]; then
                    npass=$((npass + 1))
                else
                    nfail=$((nfail + 1))
                    failed="$failed ${name[$p]}"
                fi
                unset "name[$p]" "start[$p]" "log[$p]"
                return
            fi
        done
        sleep 0.2
    done
}

i=0
for r in "${queue[@]}"; do
    while [ ${#name[@]} -ge "$jobs" ]; do
        reap
    done
    i=$((i + 1))
    "$r" >"$logs/$i.log" 2>&1 &
    p=$!
    log[$p]=$logs/$i.log
    name[$p]=$r
    start[$p]=$SECONDS
done
while [ ${#name[@]} -gt 0 ]; do
    reap
done
rm -rf "$logs"
echo "$npass passed, $nfail failed"
if [ -n "$failed" ]; then
    echo "FAILED runners:$failed"
    exit 1
fi
echo "all test runners passed"
