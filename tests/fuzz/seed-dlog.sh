#!/bin/bash
# tests/fuzz/seed-dlog.sh — the seed corpus of fuzz-dlog from a real device
# session with data-log= (the normal build of the plugin, tests/nbd-client):
# small writes, FUA, zero, trim, flush, a mark, a random and a torn cut,
# power-on, and a restart of nbdkit.  Each seed is an audit log, a NUL, and
# its data log.  Writes tests/fuzz/corpus/dlog/session-*.
set -u
. "$(dirname "$0")/../lib.sh"
t_require nbdkit "$PLUGIN" "$CTL" "$CLIENT"
t_tmpdir
out=$TOP/tests/fuzz/corpus/dlog
mkdir -p "$out"
start_dev dev file="$T/img" size=1M data-log="$T/img.dlog" || exit 2
nbd write 0 512 1 write 4096 1024 2 flush
ctl mark "ack a 1" >/dev/null
nbd write 65536 256 3 fua zero 8192 4096 trim 131072 4096 write 200000 100 4
ctl cut policy=random seed=5 >/dev/null
ctl power-on >/dev/null
nbd write 1024 64 5 flush write 2048 300 6
ctl cut policy=torn seed=9 >/dev/null
ctl power-on >/dev/null
nbd write 512 128 7
stop_dev dev
start_dev dev file="$T/img" size=1M data-log="$T/img.dlog" || exit 2
nbd write 4096 64 8 flush
stop_dev dev
# the file names of the session are no part of the format
sed -i "s|$T/|/run/|g" "$T/img.audit.jsonl"
seed() { { cat "$1"; printf '\0'; cat "$2"; } >"$out/$3"; }
seed "$T/img.audit.jsonl" "$T/img.dlog" session-full
# the history up to the first cut, and to the restart
head -n "$(grep -n '"ev":"cut"' "$T/img.audit.jsonl" | head -1 | cut -d: -f1)" \
    "$T/img.audit.jsonl" >"$T/cut1.jsonl"
seed "$T/cut1.jsonl" "$T/img.dlog" session-first-cut
head -n "$(grep -n '"ev":"close"' "$T/img.audit.jsonl" | head -1 | cut -d: -f1)" \
    "$T/img.audit.jsonl" >"$T/close1.jsonl"
seed "$T/close1.jsonl" "$T/img.dlog" session-before-restart
# no data log at all (replay stops at the first write)
cp "$T/cut1.jsonl" "$out/session-no-dlog"
ls -l "$out"
