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
# and, for the runners that serve the device (paths of the programs under
# test: PLUGIN, the normal build unless the runner picks $SAN_PLUGIN; CTL; the
# sanitizer builds CLIENT, AUDIT, REPLAY):
#   t_nbdkit NAME PLUGIN ARGS...  nbdkit -f serving $T/NAME.sock, ready on return
#   start_dev NAME ARGS...   t_nbdkit NAME "$PLUGIN" ARGS...
#   stop_dev NAME            stop it by PID and wait until it is gone
#   nbd CMD...               tests/nbd-client on $T/dev.sock
#   ctl CMD...               pmemcutctl on $T/img.ctl (the device of file=$T/img)
#   status_of KEY            one key of `ctl status`
#   audit_seq CTL            the seq of the last audit record of the device at CTL
#   fuse_up / fuse_down      the FUSE view of $T/dev.sock at $T/mnt/nbd
#   t_device [PREREQ...]     set-up of a device-*.sh runner (sanitizer plugin)
#   t_no_sanitizer_report    a check that no nbdkit stderr ($T/*.err) has one
#
# Every runner ends with t_done, whose last line is the closing summary.

T_PASS=0
T_FAIL=0
T_PIDS=""
TOP=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)

t_tmpdir() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/pmemcut-test.XXXXXX")
    trap 't_cleanup' EXIT
    # the runner's own stdout, for the summary after a signal: a trap runs
    # inside whatever redirection the interrupted command had (t_check's)
    exec {T_OUT}>&1
    trap 't_cleanup; { t_fail interrupted "by a signal"; t_summary; } >&$T_OUT; exit 130' INT TERM
}

t_spawn() {
    local name=$1
    shift
    "$@" &
    local pid=$!
    T_PIDS="$T_PIDS $pid"
    eval "PID_$name=$pid"
}

# t_stop_pid PID [TENTHS]: stop one process started here, by PID: TERM,
# then KILL after TENTHS tenths of a second (default 50).
t_stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq "${2:-50}"); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# t_forget PID: a process that t_stop_all no longer needs to stop.
t_forget() { T_PIDS=${T_PIDS// $1/}; }

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

t_summary() { echo "$T_PASS passed, $T_FAIL failed"; }

t_done() {
    t_summary
    [ "$T_FAIL" -eq 0 ] && exit 0 || exit 1
}

# ---------------------------------------------------------------------------
# The device under test.

SAN_PLUGIN=$TOP/build/san/plugin/nbdkit-pmemcut-plugin.so
PLUGIN=$TOP/plugin/nbdkit-pmemcut-plugin.so
CLIENT=$TOP/build/san/tests/nbd-client
# (the normal build: the sanitizer build leaks on its no-connection path,
# tools/pmemcutctl.c:158, until the tools' error path is redone)
CTL=$TOP/build/san/tools/pmemcutctl # the sanitizer build
AUDIT=$TOP/build/san/tools/pmemcut-audit
REPLAY=$TOP/build/san/tools/pmemcut-replay
# a sanitizer report fails the program with an exit status no test expects
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:exitcode=99:detect_leaks=1}

# t_nbdkit NAME PLUGIN ARGS...: nbdkit in the foreground (its stderr, in
# $T/NAME.err, stays ours; its PID is $PID_NAME) serving $T/NAME.sock;
# returns once it serves (nbdkit writes the pid file then).  A sanitizer
# build of the plugin gets the sanitizer runtime preloaded.
t_nbdkit() {
    local name=$1 pre="" i
    shift
    case $1 in "$TOP"/build/san/*) pre=$(gcc -print-file-name=libasan.so) ;; esac
    rm -f "$T/$name.pid" "$T/$name.sock" # nbdkit leaves its socket file behind
    LD_PRELOAD=$pre nbdkit -f -P "$T/$name.pid" -U "$T/$name.sock" "$@" 2>>"$T/$name.err" &
    local pid=$!
    T_PIDS="$T_PIDS $pid"
    eval "PID_$name=$pid"
    for i in $(seq 100); do
        [ -s "$T/$name.pid" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "nbdkit $name did not start:" >&2
    cat "$T/$name.err" >&2
    return 1
}

start_dev() {
    local name=$1
    shift
    t_nbdkit "$name" "$PLUGIN" "$@"
}

# stop_dev NAME: TERM, and wait until that process is gone (nbdkit with the
# plugin may take a few seconds to unload and write its close record); KILL
# only after 30 s.
stop_dev() {
    local pid
    eval "pid=\$PID_$1"
    t_stop_pid "$pid" 300
    t_forget "$pid"
}

nbd() { "$CLIENT" "$T/dev.sock" "$@"; }
ctl() { "$CTL" -s "$T/img.ctl" "$@"; }
status_of() { ctl status | jq -r ".$1"; }
audit_seq() { "$CTL" -s "$1" status | grep -o '"audit_seq":[0-9]*' | cut -d: -f2; }

# fuse_up: the FUSE view (nbdfuse) of $T/dev.sock at $T/mnt/nbd, ready on
# return.  fuse_down: unmount it and stop nbdfuse.  The view caches what
# its side last saw: it must go before a power-on, or the next reader would
# see stale pages.
fuse_up() {
    local i
    mkdir -p "$T/mnt"
    t_spawn fuse nbdfuse "$T/mnt" --unix "$T/dev.sock" 2>>"$T/fuse.err"
    for i in $(seq 100); do
        [ -e "$T/mnt/nbd" ] && return 0
        sleep 0.05
    done
    t_fail "nbdfuse" "the FUSE view did not appear"
    t_done
}
fuse_down() {
    fusermount3 -u "$T/mnt"
    t_stop_pid "$PID_fuse"
    t_forget "$PID_fuse"
}

# t_device [PREREQUISITE...]: the set-up of a tests/device-*.sh runner: the
# sanitizer build of the plugin, prerequisites, the private temp dir.
t_device() {
    PLUGIN=$SAN_PLUGIN
    t_require nbdkit jq "$PLUGIN" "$CLIENT" "$CTL" "$@"
    t_tmpdir
}

t_no_sanitizer_report() {
    t_check "no sanitizer report in nbdkit's stderr" bash -c "! grep -l 'Sanitizer' '$T'/*.err"
}
