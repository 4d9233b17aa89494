#!/bin/bash
# tests/host-kill.sh — pmemcut-host run when things go wrong mid-cycle:
#   - nbdkit killed with SIGKILL: exit 2 with one clear line, nothing left
#     running (no QEMU, no nbdfuse, no FUSE mount)
#   - SIGINT (Ctrl-C) in the middle of a boot: the same clean teardown
. "$(dirname "$0")/lib.sh"
t_tmpdir
H=$TOP/build/san/host/pmemcut-host # the sanitizer build
t_require "$H" "$TOP/plugin/nbdkit-pmemcut-plugin.so" "$TOP/build/guest-initramfs.cpio.gz" \
    nbdkit nbdfuse fusermount3 qemu-system-x86_64
export TMPDIR=$T

# child PID of a process by command name (our own children only).
child() { ps -o pid=,comm= --ppid "$1" | awk -v c="$2" '$2 == c { print $1 }'; }

# Whatever the run started must be gone: QEMU of its domains, nbdkit,
# nbdfuse, the FUSE mount under $T.
left_over() {
    local run_pid=$1 left=""
    ps -eo pid=,args= | grep -v grep | grep -q "guest=pmemcut-$run_pid-" && left="$left qemu"
    [ -n "$NBDKIT" ] && kill -0 "$NBDKIT" 2>/dev/null && left="$left nbdkit"
    [ -n "$NBDFUSE" ] && kill -0 "$NBDFUSE" 2>/dev/null && left="$left nbdfuse"
    grep -q " $T/" /proc/mounts && left="$left mount"
    echo "$left"
}

# start_run NAME: a long run in the background; waits until the workload boot
# has sent its first ack (the VM is up and writing).
start_run() {
    t_spawn $1 "$H" run --mode virtio-pmem --fs ext4 --workload append --sync fsync \
        --records 400 --out "$T/$1" --seed 31 >"$T/$1.out" 2>"$T/$1.err"
    eval "RUN=\$PID_$1"
    for i in $(seq 600); do
        [ -s "$T/$1/acks-1.txt" ] && break
        kill -0 "$RUN" 2>/dev/null || break
        sleep 0.1
    done
    NBDKIT=$(child "$RUN" nbdkit)
    NBDFUSE=$(child "$RUN" nbdfuse)
}

wait_exit() {
    for i in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    wait "$1"
}

# 1. nbdkit dies.
start_run killed
if [ -z "$NBDKIT" ] || [ ! -s "$T/killed/acks-1.txt" ]; then
    t_fail "nbdkit killed" "the run did not get going: $(cat "$T/killed.err")"
else
    kill -KILL "$NBDKIT"
    wait_exit "$RUN"
    rc=$?
    err=$(cat "$T/killed.err")
    if [ $rc -eq 2 ] && [ "$(wc -l <"$T/killed.err")" -eq 1 ] && grep -q 'nbdkit exited' "$T/killed.err"; then
        t_ok "nbdkit killed: exit 2, one line: $err"
    else
        t_fail "nbdkit killed" "rc=$rc stderr=$err"
    fi
    left=$(left_over "$RUN")
    [ -z "$left" ] && t_ok "nbdkit killed: nothing left running or mounted" || t_fail "leftovers" "$left"
fi

# 2. Ctrl-C.
start_run interrupted
if [ -z "$NBDKIT" ]; then
    t_fail "SIGINT" "the run did not get going: $(cat "$T/interrupted.err")"
else
    kill -INT "$RUN"
    wait_exit "$RUN"
    rc=$?
    [ $rc -eq 130 ] && grep -q 'interrupted' "$T/interrupted.err" &&
        t_ok "SIGINT: exit 130, 'interrupted'" || t_fail "SIGINT" "rc=$rc $(cat "$T/interrupted.err")"
    left=$(left_over "$RUN")
    [ -z "$left" ] && t_ok "SIGINT: nothing left running or mounted" || t_fail "leftovers" "$left"
    [ -s "$T/interrupted/pmem.img" ] && [ -s "$T/interrupted/audit.jsonl" ] &&
        t_ok "SIGINT: image and audit log kept" || t_fail "kept files" "$(ls "$T/interrupted")"
fi
t_done
