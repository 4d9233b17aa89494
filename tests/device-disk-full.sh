#!/bin/bash
# The audit log cannot be written (a file size limit on nbdkit): the write
# fails with EIO, the model is unchanged, every record written is whole,
# and nbdkit says why.
set -u
. "$(dirname "$0")/lib.sh"
t_device
nbd() { "$CLIENT" "$T/full.sock" "$@"; }
ctl() { "$CTL" -s "$T/small.ctl" "$@"; }

# (SIGXFSZ ignored, so that the write fails with EFBIG instead)
trap '' XFSZ
ulimit -S -f 80
start_dev full file="$T/small" size=64K audit="$T/full.audit" || t_done
ulimit -S -f "$(ulimit -H -f)"
trap - XFSZ
nbd fill 0 4096 0x21 flush
n=0
while [ $n -lt 2000 ] && nbd fill 4096 64 $((n % 2 + 1)) 2>/dev/null; do
    n=$((n + 1))
done
t_check "audit log full: the write failed with EIO after $n writes" test $n -lt 2000
d1=$(status_of dirty_lines)
nbd expect-error fill 8192 4096 0x5
t_check "audit log full: a refused write leaves no dirty line" test "$(status_of dirty_lines)" = "$d1"
t_check "audit log full: refused write not visible" nbd expect 8192 4096 0
t_check "audit log full: every record still whole" jq -e . "$T/full.audit"
t_check "audit log full: nbdkit says why" grep -q "audit log cannot be written" "$T/full.err"

t_no_sanitizer_report
t_done
