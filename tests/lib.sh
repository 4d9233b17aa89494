# tests/lib.sh — shared glue for the shell test runners.
#
# Source it, then:
#   t_tmpdir                 private temp dir in $T (removed at exit unless KEEP=1)
#   t_spawn NAME CMD...      start a background process, remember its PID by NAME
#   t_stop_all               stop exactly the processes t_spawn started (runs at exit)
#   t_require CMD...         missing prerequisite: failure under CI=true, else a
#                            visible "not run" that still counts as a failure
#   t_ok NAME / t_fail NAME MSG / t_check NAME CMD...  record results
#                            (t_check: CMD's exit status decides; its stdout is dropped)
#   t_done                   print "N passed, N failed" and exit accordingly
#
# Every runner ends with t_done, whose last line is the closing summary.

T_PASS=0
T_FAIL=0
T_PIDS=""
TOP=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)

t_tmpdir() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/pmemcut-test.XXXXXX")
    trap 't_cleanup' EXIT
    trap 't_cleanup; exit 130' INT TERM
}

t_spawn() {
    local name=$1
    shift
    "$@" &
    local pid=$!
    T_PIDS="$T_PIDS $pid"
    eval "PID_$name=$pid"
}

# Stop one process started by t_spawn, by PID: TERM, then KILL after 5 s.
t_stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

t_stop_all() {
    local pid
    for pid in $T_PIDS; do t_stop_pid "$pid"; done
    T_PIDS=""
}

t_cleanup() {
    t_stop_all
    if [ -n "${T:-}" ] && [ -d "$T" ] && [ "${KEEP:-0}" != 1 ]; then
        rm -rf "$T"
    fi
}

t_ok() {
    T_PASS=$((T_PASS + 1))
    echo "ok   - $1"
}

t_fail() {
    T_FAIL=$((T_FAIL + 1))
    echo "FAIL - $1: $2"
}

# t_check NAME CMD...: passes when CMD exits 0.  CMD's stdout is discarded
# (only its status counts), so the result line itself is never lost.
t_check() {
    local name=$1
    shift
    if "$@" >/dev/null; then t_ok "$name"; else t_fail "$name" "command failed: $*"; fi
}

t_require() {
    local c
    for c in "$@"; do
        if ! command -v "$c" >/dev/null 2>&1 && [ ! -e "$c" ]; then
            t_fail "prerequisite" "$c not found (run make deps)"
            t_done
        fi
    done
}

t_done() {
    echo "$T_PASS passed, $T_FAIL failed"
    [ "$T_FAIL" -eq 0 ] && exit 0 || exit 1
}
