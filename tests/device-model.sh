#!/bin/bash
# The persistence model at the NBD interface: a real nbdkit with the
# (sanitizer-built) plugin, driven by a real libnbd client (tests/nbd-client.c)
# and pmemcutctl.  What it advertises; unflushed writes lost at a cut, flushed
# and FUA writes kept; requests while off; line granularity; zero and trim;
# a flush on one connection persisting another's writes (multi-conn).
set -u
. "$(dirname "$0")/lib.sh"
t_device
LOG=$T/img.audit.jsonl

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
    test "$(jq -s '[.[] | select(.ev=="rejected")] | length' "$LOG")" = 3
t_check "power-on" ctl power-on
ctl power-on 2>"$T/err" && t_fail "power-on twice" "accepted" ||
    t_check "power-on while on is an error" grep -q "already on" "$T/err"
t_check "unflushed write is gone after the cut" nbd expect 0 4096 0

# Flushed write kept; FUA write kept.
nbd fill 0 4096 0x22 flush fill 8192 100 0x33 fua fill 16384 64 0x44
ctl cut >/dev/null && ctl power-on >/dev/null
t_check "flushed write survives a cut" nbd expect 0 4096 0x22
t_check "FUA write survives a cut" nbd expect 8192 100 0x33
t_check "write after the flush is lost" nbd expect 16384 64 0

# A 4 KiB write that changes 64 bytes dirties exactly one line.
nbd readfile 0 4096 "$T/page"
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

t_no_sanitizer_report
t_done
