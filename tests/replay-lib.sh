# tests/replay-lib.sh — shared glue for the audit-tool runners (sourced after
# lib.sh): a private nbdkit with the plugin, and the tools under test.

PLUGIN=$TOP/plugin/nbdkit-pmemcut-plugin.so
CTL=$TOP/tools/pmemcutctl
NBDOPS=$TOP/build/san/tools/replay-nbdops
# the sanitizer builds of the tools: a crash on a bad log fails the test
AUDIT=$TOP/build/san/tools/pmemcut-audit
REPLAY=$TOP/build/san/tools/pmemcut-replay
export ASAN_OPTIONS=abort_on_error=0:exitcode=99:detect_leaks=1

# start_dev NAME ARGS...: nbdkit serving $T/NAME.sock, returns when ready.
start_dev() {
    local name=$1
    shift
    rm -f "$T/$name.pid" "$T/$name.sock"
    if ! nbdkit --log=stderr -P "$T/$name.pid" -U "$T/$name.sock" "$PLUGIN" "$@" \
        2>>"$T/$name.err"; then
        echo "nbdkit $name did not start:" >&2
        cat "$T/$name.err" >&2
        return 1
    fi
    # the pid file may appear just after nbdkit's parent has returned
    local pid i
    for i in $(seq 100); do
        [ -s "$T/$name.pid" ] && break
        sleep 0.05
    done
    pid=$(cat "$T/$name.pid")
    T_PIDS="$T_PIDS $pid"
    eval "PID_$name=$pid"
}

# stop_dev NAME: TERM, and wait until that process is gone (nbdkit with the
# plugin may take a few seconds to unload); KILL only after 30 s.
stop_dev() {
    local pid i
    eval "pid=\$PID_$1"
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    T_PIDS=${T_PIDS// $pid/}
}

# audit_seq CTL: the seq of the last audit record.
audit_seq() {
    "$CTL" -s "$1" status | grep -o '"audit_seq":[0-9]*' | cut -d: -f2
}
