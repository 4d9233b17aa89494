#!/bin/bash
# Integration tests of the device: a real nbdkit with the (sanitizer-built)
# plugin, driven by a real libnbd client (tests/nbd-client.c) and pmemcutctl.
set -u
. "$(dirname "$0")/lib.sh"

PLUGIN=$TOP/build/san/plugin/nbdkit-pmemcut-plugin.so
CLIENT=$TOP/build/san/tests/nbd-client
CTL=$TOP/tools/pmemcutctl
t_require nbdkit jq "$PLUGIN" "$CLIENT" "$CTL"
t_tmpdir
ASAN_LIB=$(gcc -print-file-name=libasan.so)
export ASAN_OPTIONS=abort_on_error=0:exitcode=99

# start_dev NAME ARGS...: nbdkit serving $T/NAME.sock in the foreground (so
# that its stderr stays ours), returns once it is ready (nbdkit writes the
# pid file when it serves).
start_dev() {
    local name=$1 i
    shift
    rm -f "$T/$name.pid" "$T/$name.sock" # nbdkit leaves its socket file behind
    LD_PRELOAD=$ASAN_LIB nbdkit -f -P "$T/$name.pid" -U "$T/$name.sock" \
        "$PLUGIN" "$@" 2>>"$T/$name.err" &
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

stop_dev() {
    local pid
    eval "pid=\$PID_$1"
    t_stop_pid "$pid"
    T_PIDS=${T_PIDS// $pid/}
}

nbd() { "$CLIENT" "$T/dev.sock" "$@"; }
ctl() { "$CTL" -s "$T/img.ctl" "$@"; }
status_of() { ctl status | jq -r ".$1"; }
AUDIT=$T/img.audit.jsonl

# ---------------------------------------------------------------------------
start_dev dev file="$T/img" size=1M || t_done

t_check "control socket is mode 0600" test "$(stat -c %a "$T/img.ctl")" = 600
t_check "advertises byte granularity, FUA, flush, zero, trim, multi-conn" \
    grep -q "size=1048576 min=1 pref=4096 .* multi_conn=1 fua=1 flush=1 zero=1 trim=1" \
    <(nbd info)

# Unflushed write lost under lose-all.
nbd fill 0 4096 0x11 expect 0 4096 0x11
t_check "unflushed 4 KiB write dirties 64 lines" test "$(status_of dirty_lines)" = 64
ctl cut >"$T/cut1.json"
t_check "cut reports 64 lines lost" test "$(jq '.lost.unknown' "$T/cut1.json")" = 64
t_check "off: read fails with EIO" nbd expect-error expect 0 1 0
t_check "off: write fails with EIO" nbd expect-error fill 0 1 1
t_check "off: flush fails with EIO" nbd expect-error flush
t_check "requests while off are logged as rejected" \
    test "$(jq -s '[.[] | select(.ev=="rejected")] | length' "$AUDIT")" = 3
t_check "power-on" ctl power-on
ctl power-on 2>"$T/err" && t_fail "power-on twice" "accepted" || \
    t_check "power-on while on is an error" grep -q "already on" "$T/err"
t_check "unflushed write is gone after the cut" nbd expect 0 4096 0

# Flushed write kept; FUA write kept.
nbd fill 0 4096 0x22 flush fill 8192 100 0x33 fua fill 16384 64 0x44
ctl cut >/dev/null && ctl power-on >/dev/null
t_check "flushed write survives a cut" nbd expect 0 4096 0x22
t_check "FUA write survives a cut" nbd expect 8192 100 0x33
t_check "write after the flush is lost" nbd expect 16384 64 0

# A 4 KiB write that changes 64 bytes dirties exactly one line.
"$CLIENT" "$T/dev.sock" readfile 0 4096 "$T/page"
printf '\xee%.0s' $(seq 64) | dd of="$T/page" bs=1 seek=640 conv=notrunc status=none
nbd writefile 0 "$T/page"
t_check "4 KiB write changing 64 bytes dirties one line" test "$(status_of dirty_lines)" = 1
t_check "dirty lists that line" test "$(ctl dirty | jq -c .ranges)" = '[[640,64,"unknown"]]'
t_check "write-back of the same bytes cleans nothing more" nbd writefile 0 "$T/page"
t_check "... still one dirty line" test "$(status_of dirty_lines)" = 1
nbd flush

# Zero and trim are volatile writes of zeroes.
nbd zero 0 4096
t_check "zero dirties the lines it changes" test "$(status_of dirty_lines)" = 64
ctl cut >/dev/null && ctl power-on >/dev/null
t_check "unflushed zero is lost" nbd expect 0 64 0x22
nbd trim 0 4096 flush
t_check "flushed trim persists zeroes" nbd expect 0 4096 0

# Multi-conn: a flush on one connection persists writes from another.
nbd fill 32768 4096 0x55 conn 2 flush
ctl cut >/dev/null && ctl power-on >/dev/null
t_check "flush on connection 2 persisted connection 1's write" nbd expect 32768 4096 0x55

# Triggers.
ctl arm after-writes=3 >/dev/null
nbd fill 0 64 1 fill 64 64 2
t_check "after-writes=3: on after two writes" test "$(status_of power)" = on
nbd fill 128 64 3
t_check "after-writes=3: off right after the third" test "$(status_of power)" = off
t_check "after-writes=3: the cut lost the three lines" \
    test "$(jq -s 'map(select(.ev=="cut")) | last | .lost.unknown' "$AUDIT")" = 3
t_check "after-writes=3: a fourth write is refused" nbd expect-error fill 192 64 4
ctl power-on >/dev/null

ctl arm before-flush=2 >/dev/null
nbd fill 0 64 7 flush fill 64 64 8
t_check "before-flush=2: the second flush fails with EIO" nbd expect-error flush
t_check "before-flush=2: device is off" test "$(status_of power)" = off
ctl power-on >/dev/null
t_check "before-flush=2: data of the first flush kept" nbd expect 0 64 7
t_check "before-flush=2: data for the second flush lost" nbd expect 64 64 0

ctl arm "at-mark=ack log 7 fsync" >/dev/null
nbd fill 0 64 9
ctl mark ack log 6 fsync >/dev/null
t_check "at-mark: another mark does not fire" test "$(status_of power)" = on
ctl mark ack log 7 fsync >"$T/mark.json"
t_check "at-mark: the mark fires the cut" test "$(status_of power)" = off
t_check "at-mark: the reply carries the cut" \
    test "$(jq -r .cut.trigger "$T/mark.json")" = "at-mark=ack log 7 fsync"
ctl power-on >/dev/null

# wait-off: blocks until a trigger fires; times out while on.
ctl wait-off timeout=0.2 2>"$T/err" && t_fail "wait-off timeout" "returned ok while on" ||
    t_check "wait-off times out while on" grep -q timeout "$T/err"
ctl arm after-writes=1 seed=77 >/dev/null
ctl wait-off timeout=30 >"$T/waited.json" &
waiter=$!
sleep 0.3
nbd fill 0 64 5
wait $waiter
t_check "wait-off returns the cut record" test "$(jq -r .trigger "$T/waited.json")" = after-writes=1
t_check "the seed given to arm is used" test "$(jq -r .seed "$T/waited.json")" = 77
t_check "every seed in the log is exact in JSON readers (< 2^53)" \
    jq -s -e 'all(.[]; (.seed // 0) < 9007199254740992)' "$AUDIT"
ctl power-on >/dev/null

# Seeded policies through the socket.
nbd fill 0 65536 0 flush fill 0 65536 0x66
ctl cut policy=random p=0.5 seed=9 >"$T/r.json"
t_check "random: kept + lost = dirty" test "$(jq '.kept.unknown + .lost.unknown' "$T/r.json")" = 1024
t_check "random: some kept, some lost" test "$(jq '.kept.unknown > 100 and .lost.unknown > 100' "$T/r.json")" = true
ctl power-on >/dev/null
nbd readfile 0 65536 "$T/after-random"
nbd fill 0 65536 0 flush fill 0 65536 0x66
ctl cut policy=random p=0.5 seed=9 >/dev/null && ctl power-on >/dev/null
nbd readfile 0 65536 "$T/after-random2"
t_check "same seed, same surviving bytes" cmp -s "$T/after-random" "$T/after-random2"
nbd fill 0 65536 0 flush fill 0 65536 0x77
ctl cut policy=torn seed=3 >"$T/t.json"
t_check "torn: torn lines reported" test "$(jq '.torn.unknown > 0' "$T/t.json")" = true
ctl power-on >/dev/null

# The lying device acknowledges flushes and persists nothing.
nbd fill 0 8192 0 flush
ctl fault flush=ignore >/dev/null
t_check "status shows flush_mode ignore" test "$(status_of flush_mode)" = ignore
nbd fill 0 4096 0x99 flush fill 4096 64 0x98 fua
ctl cut >/dev/null && ctl power-on >/dev/null
t_check "lying device lost flushed data" nbd expect 0 4096 0
t_check "lying device lost FUA data" nbd expect 4096 64 0
ctl fault flush=honor >/dev/null

# Classification.
ctl classify meta 0 4096 >/dev/null
nbd fill 0 128 0x12 fill 8192 64 0x13
t_check "dirty meta lines counted" test "$(status_of dirty_meta_lines)" = 2
t_check "dirty lines by class" test "$(ctl status | jq -c .dirty)" = '{"meta":2,"data":0,"unknown":1}'
nbd flush

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
t_check "pmemcutctl: device error exits 1" test $? = 1
"$CTL" -s "$T/nowhere.ctl" status 2>/dev/null
t_check "pmemcutctl: no connection exits 2" test $? = 2

# Several control clients at once.
ctl wait-off timeout=5 >/dev/null 2>&1 &
w1=$!
t_check "a second client is served while one waits" ctl status >/dev/null
wait $w1

par=""
# Parallel clients and control commands: records stay whole and in order,
# every write lands.
for k in 1 2 3 4; do
    args=()
    for j in $(seq 0 49); do args+=(fill $(((k * 64 + j) * 1000)) 1000 $((k + 16)) expect 0 4096 0x42); done
    "$CLIENT" "$T/dev.sock" fill 0 4096 0x42 flush "${args[@]}" >/dev/null 2>&1 &
    par="$par $!"
done
for j in $(seq 30); do ctl mark "parallel $j" >/dev/null; ctl status >/dev/null; done
ok=1
for p in $par; do wait "$p" || ok=0; done
t_check "4 parallel clients: every request succeeded" test $ok = 1
nbd flush
t_check "parallel writes all landed" bash -c "for k in 1 2 3 4; do for j in 0 25 49; do
    '$CLIENT' '$T/dev.sock' expect \$(((k * 64 + j) * 1000)) 1000 \$((k + 16)) || exit 1; done; done"
t_check "parallel: the log is whole, seq without gaps" \
    jq -s -e '[.[].seq] == [range(1; length + 1)]' "$AUDIT"

# Restart of nbdkit keeps P; unpersisted data is lost and the log says so.
nbd fill 0 4096 0x42 flush fill 4096 4096 0x43
stop_dev dev
t_check "close record counts the lines lost with the process" \
    test "$(tail -1 "$AUDIT" | jq -c '[.ev, .lost.unknown]')" = '["close",64]'
start_dev dev file="$T/img" || t_done
t_check "restart keeps persisted data" nbd expect 0 4096 0x42
t_check "restart loses unpersisted data" nbd expect 4096 4096 0
t_check "reopen is logged as an implied lose-all cut" \
    test "$(jq -s -r 'map(select(.ev=="open")) | last | .implied_cut' "$AUDIT")" = lose-all

# Audit log: every line is JSON, seq runs 1..N without a gap, counts add up.
t_check "every audit line parses as JSON" jq -e . "$AUDIT"
t_check "seq is 1..N without gaps across the restart" \
    jq -s -e '[.[].seq] == [range(1; length + 1)]' "$AUDIT"
t_check "first write record: 64 lines dirtied" \
    jq -s -e 'map(select(.ev=="write")) | first | .dirtied.unknown == 64 and .off == 0 and .len == 4096' "$AUDIT"
t_check "FUA write record: persisted counts the lines" \
    jq -s -e 'map(select(.ev=="write" and .fua and (.ignored|not))) | first | .persisted.unknown == 2' "$AUDIT"
t_check "lying flush record is marked ignored" \
    jq -s -e 'any(.[]; .ev=="flush" and .ignored == true)' "$AUDIT"
# For the current process: dirtied - cleaned - persisted - lost at cuts = dirty now.
nbd fill 0 8192 0x31 fill 100 10 0x42 flush fill 0 128 0x31 zero 8192 64 fill 12288 4096 7
dirty_now=$(status_of dirty_lines)
sum=$(jq -s '(map(.seq) | max) as $m | (map(select(.ev=="open")) | last | .seq) as $o
    | map(select(.seq > $o)) |
    (map(select(.ev|test("write|zero|trim")) | (.dirtied|add) - (.cleaned|add) - (.persisted|add)) | add)
    - (map(select(.ev=="flush") | .persisted|add) | add // 0)
    - (map(select(.ev=="cut") | (.lost|add) + (.kept|add) + (.torn|add)) | add // 0)' "$AUDIT")
t_check "audit counts add up to the dirty lines now ($dirty_now)" test "$sum" = "$dirty_now"
t_check "mark text is stored escaped and intact" \
    jq -s -e 'any(.[]; .ev=="mark" and .text == "ack log 7 fsync")' "$AUDIT"

# The audit log cannot be written (file size limit): EIO, model unchanged.
stop_dev dev
# (SIGXFSZ ignored, so that the write fails with EFBIG instead)
trap '' XFSZ
ulimit -S -f 80
start_dev full file="$T/small" size=64K audit="$T/full.audit" || t_done
ulimit -S -f "$(ulimit -H -f)"
trap - XFSZ
"$CLIENT" "$T/full.sock" fill 0 4096 0x21 flush
n=0
while [ $n -lt 2000 ] && "$CLIENT" "$T/full.sock" fill 4096 64 $((n % 2 + 1)) 2>/dev/null; do
    n=$((n + 1))
done
t_check "audit log full: the write failed with EIO after $n writes" test $n -lt 2000
d1=$("$CTL" -s "$T/small.ctl" status | jq .dirty_lines)
"$CLIENT" "$T/full.sock" expect-error fill 8192 4096 0x5
t_check "audit log full: a refused write leaves no dirty line" \
    test "$("$CTL" -s "$T/small.ctl" status | jq .dirty_lines)" = "$d1"
t_check "audit log full: refused write not visible" "$CLIENT" "$T/full.sock" expect 8192 4096 0
t_check "audit log full: every record still whole" jq -e . "$T/full.audit"
t_check "audit log full: nbdkit says why" grep -q "audit log cannot be written" "$T/full.err"

# Bad parameters: nbdkit refuses to start with one line naming the parameter.
bad() {
    local want=$1
    shift
    if nbdkit -f -U "$T/bad.sock" "$TOP/plugin/nbdkit-pmemcut-plugin.so" "$@" --run true \
        >/dev/null 2>"$T/bad.err"; then
        t_fail "bad parameter $*" "nbdkit started"
    elif [ "$(grep -c . "$T/bad.err")" = 1 ] && grep -q -- "$want" "$T/bad.err"; then
        t_ok "bad parameter $* -> $(cat "$T/bad.err")"
    else
        t_fail "bad parameter $*" "expected one line with '$want', got: $(cat "$T/bad.err")"
    fi
}
bad "line: 48 is not a power of two" file="$T/b1" size=1M line=48
bad "line: 8192 is not a power of two" file="$T/b1" size=1M line=8192
bad "size: must be greater than 0" file="$T/b1" size=0
bad "size=2097152 disagrees" file="$T/img" size=2M
bad "does not exist and size= is not given" file="$T/b2"
bad "policy: unknown policy 'most'" file="$T/b1" size=1M policy=most
bad "p: only policy=random" file="$T/b1" size=1M p=0.3
bad "p: '2' is not a probability" file="$T/b1" size=1M policy=random p=2
bad "unknown parameter 'colour'" file="$T/b1" size=1M colour=red
bad "file: the parameter file=PATH is required" size=1M
bad "control=.*path longer than" file="$T/b1" size=1M control="$T/$(printf 'x%.0s' $(seq 120))"
bad "seed" file="$T/b1" size=1M seed=-5
bad "seed: 9007199254740992 is above 2^53-1" file="$T/b1" size=1M seed=9007199254740992
bad "size" file="$T/b1" size=12Q
t_check "bad parameters created no image" test ! -e "$T/b2"
t_check "the man page is well-formed POD" bash -c "podchecker '$TOP/plugin/nbdkit-pmemcut-plugin.pod' 2>/dev/null"
t_check "--help lists the parameters" \
    bash -c "nbdkit '$TOP/plugin/nbdkit-pmemcut-plugin.so' --help | grep -q 'policy=lose-all'"

t_check "no sanitizer report in nbdkit's stderr" bash -c "! grep -l 'Sanitizer' '$T'/*.err"
t_done
