#!/bin/bash
# Requests in parallel.  fio drives the (sanitizer-built) plugin from two
# connections, 8 requests in flight on each: unaligned writes of 512 B to
# 20 KiB that overlap each other, reads, and a flush every 64 writes, on a
# 1 MiB device, while a control client asks for status and sends marks.
# The audit log must then be an order in which the requests could have run
# one at a time: pmemcut-replay, applying it record by record, gives the
# device's bytes, and the same prefix, torn and random cuts.
set -u
. "$(dirname "$0")/lib.sh"

t_device fio cmp "$REPLAY"

start_dev dev file="$T/img" size=1M data-log="$T/img.dlog"
t_check "nbdkit serves" test -s "$T/dev.pid"
[ -s "$T/dev.pid" ] || t_done

seq_now() { ctl status | jq .audit_seq; }
LOG=$T/img.audit.jsonl

# run_fio SECONDS: two jobs (two connections) on the same 1 MiB.
run_fio() {
    fio --name=par --ioengine=nbd --uri="nbd+unix:///?socket=$T/dev.sock" --rw=randrw \
        --rwmixread=30 --bsrange=512-20k --bs_unaligned=1 --iodepth=8 --numjobs=2 \
        --size=1M --fsync=64 --refill_buffers=1 --norandommap=1 --randrepeat=0 \
        --runtime="$1" --time_based --output-format=json --output="$T/fio.json" \
        >"$T/fio.out" 2>&1
}

# Phase 1: fio and a control client at the same time.
(
    for i in $(seq 40); do
        ctl status >/dev/null || exit 1
        ctl mark "phase one $i" >/dev/null || exit 1
    done
) &
ctl_pid=$!
T_PIDS="$T_PIDS $ctl_pid"
t_check "fio ran two connections against the device" run_fio 3
t_check "control commands answered while fio ran" wait "$ctl_pid"
t_forget "$ctl_pid"
t_check "fio saw no I/O error" test "$(jq '[.jobs[].error] | add' "$T/fio.json")" = 0

writes=$(grep -c '"ev":"write"' "$LOG")
flushes=$(grep -c '"ev":"flush"' "$LOG")
echo "# $writes write and $flushes flush records"
t_check "the log has thousands of writes ($writes)" test "$writes" -ge 2000
t_check "and flushes ($flushes)" test "$flushes" -ge 10
t_check "seq runs 1..N without a gap" \
    test "$(jq -s '[.[].seq] == [range(1; length + 1)]' "$LOG")" = true
t_check "ns never goes back" \
    test "$(jq -s '[.[].ns] as $n | [range(1; $n | length) | select($n[.] < $n[. - 1])] | length' "$LOG")" = 0

# same_as NAME SEQ [ARGS]: replay to SEQ (with ARGS) equals the device as read at NAME.
same_as() {
    local name=$1 to=$2
    shift 2
    if "$REPLAY" replay --audit "$LOG" --data "$T/img.dlog" --to "$to" "$@" \
        -o "$T/replay-$name.img" 2>"$T/replay-$name.err" &&
        cmp -s "$T/replay-$name.img" "$T/real-$name.img"; then
        t_ok "replay to $to $* equals the device ($name)"
    else
        t_fail "replay to $to $* equals the device ($name)" "$(head -c 300 "$T/replay-$name.err")"
    fi
}
read_dev() { nbd readall "$T/real-$1.img"; }
last_cut_seq() { grep '"ev":"cut"' "$LOG" | tail -1 | jq .seq; }

read_dev a
same_as a "$(seq_now)"

# cut_case NAME POLICY SEED: fio for a second, a cut, then the image must be
# replay's at the seq before the cut with the same policy and seed.
cut_case() {
    local name=$1 policy=$2 seed=$3 p=()
    [ "$policy" = random ] && p=(p=0.5)
    run_fio 1 || t_fail "fio before the $policy cut" "$(tail -3 "$T/fio.out")"
    ctl cut policy="$policy" seed="$seed" "${p[@]}" >"$T/cut-$name.json"
    local kept lost
    kept=$(jq '.kept | add' "$T/cut-$name.json")
    lost=$(jq '.lost | add' "$T/cut-$name.json")
    echo "# $policy cut: $kept lines kept, $lost lost, $(jq '.torn | add' "$T/cut-$name.json") torn"
    ctl power-on >/dev/null
    read_dev "$name"
    local at
    at=$(last_cut_seq)
    same_as "$name" "$((at - 1))" --policy "$policy" --seed "$seed" ${p:+--p 0.5}
    same_as "$name" "$at"
}
cut_case b prefix 11
t_check "the prefix cut split the dirty lines (some kept, some lost)" \
    test "$(jq '(.kept | add) > 0 and (.lost | add) > 0' "$T/cut-b.json")" = true
cut_case c torn 12
cut_case d random 13

t_no_sanitizer_report
t_done
