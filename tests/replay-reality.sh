#!/bin/bash
# Replay equals reality: a real nbdkit with the plugin is driven by a real
# libnbd client; the whole device is read at chosen points, and
# `pmemcut-replay replay --to SEQ` must give the same bytes at each; a real
# cut with a policy and seed must leave the same image as
# `replay --policy P --seed N` at the seq before it.
set -u
. "$(dirname "$0")/lib.sh"
t_require nbdkit cmp "$PLUGIN" "$CTL" "$CLIENT" "$REPLAY"
t_tmpdir

start_dev dev file="$T/img" size=4M data-log="$T/img.dlog" || t_done
C=$T/img.ctl
ctl() { "$CTL" -s "$C" "$@" >/dev/null; }
# point NAME: read the device now, remember the seq it corresponds to.
point() {
    nbd readall "$T/real-$1.img" || t_fail "read $1" "client failed"
    eval "SEQ_$1=$(audit_seq "$C")"
}
# same_as NAME ARGS...: replay with ARGS must equal real-NAME.img.
same_as() {
    local name=$1
    shift
    if "$REPLAY" replay --audit "$T/img.audit.jsonl" --data "$T/img.dlog" "$@" \
        -o "$T/replay-$name.img" 2>"$T/replay-$name.err" &&
        cmp -s "$T/replay-$name.img" "$T/real-$name.img"; then
        t_ok "replay $* equals the device at $name"
    else
        t_fail "replay $* equals the device at $name" "$(head -c 300 "$T/replay-$name.err")"
    fi
}

# Writes of every shape: unaligned, FUA, partial rewrites, zero, trim.
nbd write 0 65536 1 flush write 100 1000 2 write 131072 4096 3 fua modify 0 8192 4 zero 16384 4096 trim 20480 8192 write 7 1 5
point a
ctl mark "ack one"
nbd write 1048576 262144 6 modify 1048576 4096 7 write 4000 200 8
point b
# A random cut with a logged seed, then power-on: the image after it.
ctl cut policy=random p=0.3 seed=77
ctl power-on
point c
cut_seq=$(grep '"ev":"cut"' "$T/img.audit.jsonl" | tail -1 | grep -o '"seq":[0-9]*' | cut -d: -f2)
same_as a --to "$SEQ_a"
same_as b --to "$SEQ_b"
same_as c --to "$((cut_seq - 1))" --policy random --p 0.3 --seed 77
same_as c --to "$SEQ_c"
"$REPLAY" replay --audit "$T/img.audit.jsonl" --data "$T/img.dlog" --to "$((cut_seq - 1))" \
    --policy random --p 0.3 --seed 78 -o "$T/other.img"
t_check "another seed gives another image" sh -c "! cmp -s '$T/other.img' '$T/real-c.img'"

# Torn and prefix cuts fired by triggers, and a lying device.
nbd write 0 32768 9 write 200000 50000 10 modify 0 4096 11
ctl arm after-writes=2 policy=torn seed=5
nbd write 300000 4096 12 may-fail write 400000 8192 13 may-fail write 500000 10 14
ctl power-on
point d
torn_seq=$(grep '"ev":"cut"' "$T/img.audit.jsonl" | tail -1 | grep -o '"seq":[0-9]*' | cut -d: -f2)
same_as d --to "$((torn_seq - 1))" --policy torn --seed 5
nbd write 0 65536 15 flush write 65536 65536 16 modify 0 4096 17
ctl arm before-flush=1 policy=prefix seed=11
nbd may-fail flush
ctl power-on
point e
same_as e --to "$SEQ_e"
ctl fault flush=ignore
nbd write 0 4096 18 flush write 8192 4096 19 fua
ctl fault flush=honor
nbd write 12288 100 20
point f
same_as f --to "$SEQ_f"

# A restart of nbdkit is a power cut with lose-all.
nbd write 3000000 4096 21
stop_dev dev
start_dev dev file="$T/img" data-log="$T/img.dlog" || t_done
nbd write 3100000 4096 22
point g
same_as g --to "$SEQ_g"
t_done
