#!/bin/bash
# Damaged logs: a truncated, bit-flipped or reordered audit log, and a data
# log with a flipped byte or a wrong magic, give one clear line naming the
# seq or byte offset and exit 2 from every tool (sanitizer builds: a crash
# fails the test), and what came before the damage is still reported.
set -u
. "$(dirname "$0")/lib.sh"
t_require nbdkit "$PLUGIN" "$CTL" "$CLIENT" "$REPLAY" "$AUDIT"
t_tmpdir

start_dev dev file="$T/img" size=1M data-log="$T/img.dlog" || t_done
nbd write 0 8192 1 flush write 4096 4096 2
"$CTL" -s "$T/img.ctl" mark "ack 1" >/dev/null
nbd write 65536 65536 3 write 200000 100 4 fua
"$CTL" -s "$T/img.ctl" cut policy=random seed=1 >/dev/null
stop_dev dev
LOG=$T/img.audit.jsonl
DLOG=$T/img.dlog

# expect_2 NAME PATTERN CMD...: exit 2, and one stderr line matching PATTERN.
expect_2() {
    local name=$1 pat=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" -eq 2 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -Eq "$pat" "$T/err"; then
        t_ok "$name"
    else
        t_fail "$name" "exit $rc, stderr: $(head -c 400 "$T/err")"
    fi
}

# Truncated in the middle of the cut record.
grep -v '"ev":"close"' "$LOG" >"$T/noclose.jsonl"
size=$(stat -c %s "$T/noclose.jsonl")
head -c $((size - 40)) "$T/noclose.jsonl" >"$T/trunc.jsonl"
last=$(($(wc -l <"$T/noclose.jsonl") - 1))
expect_2 "summary: truncated log" "line $((last + 1)) \(byte offset [0-9]+, after seq $last\): truncated" \
    "$AUDIT" summary "$T/trunc.jsonl"
t_check "summary still reports what came before" grep -q "^events: open 1 write 4 flush 1 mark 1" "$T/out"
expect_2 "summary --json: truncated log" "truncated" "$AUDIT" summary "$T/trunc.jsonl" --json
t_check "summary --json names the damage" grep -q '"damage":' "$T/out"
expect_2 "timeline: truncated log" "truncated" "$AUDIT" timeline "$T/trunc.jsonl" -o "$T/t.svg"
t_check "timeline of the part before the damage is still drawn" grep -q 'class="damage"' "$T/t.svg"
expect_2 "replay: truncated log" "after seq $last\): truncated" \
    "$REPLAY" replay --audit "$T/trunc.jsonl" --data "$DLOG" -o "$T/r.img"
expect_2 "export: truncated log" "truncated" \
    "$REPLAY" export --format dm-log-writes --audit "$T/trunc.jsonl" --data "$DLOG" -o "$T/x.log"
expect_2 "explore: truncated log" "truncated" \
    "$REPLAY" explore --audit "$T/trunc.jsonl" --data "$DLOG" --fs ext4 --out "$T/ex" --jobs 1

# Flipped bytes: a brace, and a digit of a seq.
sed '3s/^{/[/' "$LOG" >"$T/flip.jsonl"
expect_2 "summary: flipped byte" "line 3 \(byte offset [0-9]+, after seq 2\): not JSON" \
    "$AUDIT" summary "$T/flip.jsonl"
sed '4s/"seq":4/"seq":7/' "$LOG" >"$T/seq.jsonl"
expect_2 "replay: seq out of order" "seq 7 where 4 was expected" \
    "$REPLAY" replay --audit "$T/seq.jsonl" --data "$DLOG" -o "$T/r.img"
sed '2s/"len":8192/"len":8193/' "$LOG" >"$T/len.jsonl"
expect_2 "replay: a record that disagrees with its data-log frame" \
    "frame for seq 2 at byte offset 16: frame offset/length differ" \
    "$REPLAY" replay --audit "$T/len.jsonl" --data "$DLOG" -o "$T/r.img"
printf '\0\0\0\0' >"$T/garbage.jsonl"
expect_2 "summary: binary garbage" "line 1 .*NUL" "$AUDIT" summary "$T/garbage.jsonl"

# Data log: a flipped payload byte, a wrong magic, a cut-off tail.
cp "$DLOG" "$T/flip.dlog"
printf '\x5a' | dd of="$T/flip.dlog" bs=1 seek=100 conv=notrunc status=none
expect_2 "replay: flipped data-log byte" "frame for seq 2 at byte offset 16: checksum mismatch" \
    "$REPLAY" replay --audit "$LOG" --data "$T/flip.dlog" -o "$T/r.img"
cp "$DLOG" "$T/magic.dlog"
printf 'X' | dd of="$T/magic.dlog" bs=1 seek=0 conv=notrunc status=none
expect_2 "replay: wrong data-log magic" "byte offset 0: wrong magic" \
    "$REPLAY" replay --audit "$LOG" --data "$T/magic.dlog" -o "$T/r.img"
head -c 9000 "$DLOG" >"$T/short.dlog"
expect_2 "export: data log cut short" "byte offset [0-9]+: (payload truncated|past the end)" \
    "$REPLAY" export --format dm-log-writes --audit "$LOG" --data "$T/short.dlog" -o "$T/x.log"

# Offsets from a user or a file that wrap when a length is added (issue 12,
# 6): refused as input errors, never read before or past a buffer.
big=18446744073709551516
expect_2 "lost: --offset past the image" "offset $big is past the end of" \
    "$AUDIT" lost "$LOG" --image "$T/img" --offset $big
expect_2 "lost --data: --offset past the device" "offset $big is past the end of" \
    "$AUDIT" lost "$LOG" --data "$DLOG" --offset $big
printf '{"command":"extents","dev_offset":%s,"files":[{"name":"a","extents":[%s]}]}\n' $big \
    '{"logical":0,"physical":0,"length":16}' >"$T/bigoff.json"
expect_2 "lost: an extents report's dev_offset past the image" "offset $big is past the end of" \
    "$AUDIT" lost "$LOG" --image "$T/img" --extents "$T/bigoff.json"
expect_2 "classify: --offset past the image" "offset $big is past the end of" \
    "$AUDIT" classify --image "$T/img" --socket "$T/none.ctl" --offset $big
sed 's/"lost_ranges":\[\[[0-9]*,/"lost_ranges":[[18446744073709551000,/' "$LOG" >"$T/bigrange.jsonl"
expect_2 "lost: a cut range past the device is a damaged log" "seq [0-9]+: .*past the end of the device" \
    timeout 60 "$AUDIT" lost "$T/bigrange.jsonl" --image "$T/img" --fs xfs

# A filesystem far into a large sparse image: only its superblock's 4 KiB
# are read, not everything before it (60 GB into 64 GB).
truncate -s 64G "$T/sparse.img"
timeout 20 "$AUDIT" lost "$LOG" --image "$T/sparse.img" --fs xfs --offset 60000000000 \
    >"$T/out" 2>"$T/err"
rc=$?
t_check "lost --offset 60 GB into a 64 GB sparse image answers at once (exit $rc)" \
    sh -c "test $rc = 0 && grep -q 'before the block device' '$T/out'"
rm -f "$T/sparse.img"

# An extents report with no extents (issue 12, 7: qsort of nothing).
printf '{"command":"extents","dev_offset":0,"files":[]}\n' >"$T/noext.json"
"$AUDIT" lost "$LOG" --image "$T/img" --fs xfs --extents "$T/noext.json" >"$T/out" 2>"$T/err"
t_check "lost: an extents report without extents is read (exit 0, nothing on stderr)" \
    sh -c "test $? = 0 && test ! -s '$T/err'"

# A little fuzzing: random flips of the real log, every tool must exit 0 or 2.
crashes=0
for i in $(seq 40); do
    cp "$LOG" "$T/fz.jsonl"
    n=$(stat -c %s "$T/fz.jsonl")
    for k in 1 2 3; do
        off=$(( (RANDOM * 32768 + RANDOM) % n ))
        printf "\\x$(printf %02x $((RANDOM % 256)))" |
            dd of="$T/fz.jsonl" bs=1 seek=$off conv=notrunc status=none
    done
    for cmd in "$AUDIT summary $T/fz.jsonl" "$AUDIT timeline $T/fz.jsonl -o $T/fz.svg" \
        "$REPLAY replay --audit $T/fz.jsonl --data $DLOG -o $T/fz.img"; do
        $cmd >/dev/null 2>"$T/fz.err"
        rc=$?
        if [ $rc -ne 0 ] && [ $rc -ne 2 ]; then
            crashes=$((crashes + 1))
            echo "fuzz: exit $rc from $cmd: $(head -c 300 "$T/fz.err")"
            cp "$T/fz.jsonl" "$T/crash-$crashes.jsonl"
        fi
    done
done
t_check "fuzzed logs: no tool crashes (exit 0 or 2 only)" test "$crashes" -eq 0
t_done
