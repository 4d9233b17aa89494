#!/bin/bash
# Parallel NBD clients and control commands at once: every request
# succeeds, every write lands, the audit log's records stay whole and in
# order.  (fio with requests in flight: device-parallel.sh.)
set -u
. "$(dirname "$0")/lib.sh"
t_device
LOG=$T/img.audit.jsonl

start_dev dev file="$T/img" size=1M || t_done

par=""
for k in 1 2 3 4; do
    args=()
    for j in $(seq 0 49); do args+=(fill $(((k * 64 + j) * 1000)) 1000 $((k + 16)) expect 0 4096 0x42); done
    nbd fill 0 4096 0x42 flush "${args[@]}" >/dev/null 2>&1 &
    par="$par $!"
    T_PIDS="$T_PIDS $!"
done
for j in $(seq 30); do ctl mark "parallel $j" >/dev/null; ctl status >/dev/null; done
ok=1
for p in $par; do
    wait "$p" || ok=0
    t_forget "$p"
done
t_check "4 parallel clients: every request succeeded" test $ok = 1
nbd flush
t_check "parallel writes all landed" bash -c "for k in 1 2 3 4; do for j in 0 25 49; do
    '$CLIENT' '$T/dev.sock' expect \$(((k * 64 + j) * 1000)) 1000 \$((k + 16)) || exit 1; done; done"
t_check "parallel: the log is whole, seq without gaps" \
    jq -s -e '[.[].seq] == [range(1; length + 1)]' "$LOG"

t_no_sanitizer_report
t_done
