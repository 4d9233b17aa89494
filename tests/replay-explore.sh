#!/bin/bash
# Exploration finds a real break: ext4 is made on the device from the host
# through the FUSE view (nbdfuse), with a before-flush trigger cutting the
# power in the middle of mke2fs; after power-on it is made again to the end.
# `explore` must report crash states where e2fsck -fn fails, the states at
# the final flush must pass, and a second run must resume.  Also: classify
# labels the filesystem's metadata from the image, and `lost` names the
# ext4 structures a cut destroyed, also with the filesystem at an offset
# into the device (--offset, as on an nvdimm).
set -u
. "$(dirname "$0")/lib.sh"
t_require nbdkit nbdfuse fusermount3 mke2fs e2fsck jq "$PLUGIN" "$CTL" "$CLIENT" "$REPLAY" "$AUDIT"
t_tmpdir

start_dev dev file="$T/img" size=64M data-log="$T/img.dlog" || t_done
C=$T/img.ctl
fuse_up
ctl arm before-flush=3 policy=lose-all >/dev/null
if mke2fs -q -F -t ext4 -b 4096 "$T/mnt/nbd" >"$T/mkfs1.out" 2>&1; then
    t_fail "mke2fs is cut at its third flush" "mke2fs succeeded"
else
    t_ok "mke2fs is cut at its third flush"
fi
fuse_down
ctl power-on >/dev/null
fuse_up
t_check "mke2fs again, to the end" mke2fs -q -F -t ext4 -b 4096 "$T/mnt/nbd"
fuse_down
t_check "the device's image is a clean ext4" sh -c "e2fsck -fn '$T/img' >/dev/null 2>&1"

# classify from the image; then damage the superblock and group descriptors
# without a flush, and cut.
if "$AUDIT" classify --image "$T/img" --socket "$C" >"$T/cls.out" 2>&1; then
    t_ok "classify labels the image"
else
    t_fail "classify labels the image" "$(cat "$T/cls.out")"
fi
t_check "classify sends metadata ranges" grep -Eq 'classified [1-9][0-9]* bytes as meta' "$T/cls.out"
nbd write 0 8192 99
ctl cut >"$T/cut.json"
t_check "the cut counts the lost lines as metadata" test "$(jq '.lost.meta' "$T/cut.json")" = 128
"$AUDIT" lost "$T/img.audit.jsonl" --image "$T/img" >"$T/lost.out" 2>&1
"$AUDIT" lost "$T/img.audit.jsonl" --data "$T/img.dlog" >"$T/lost2.out" 2>&1
t_check "lost --data reads the layout from before each cut" grep -q "lost .* group descriptors" "$T/lost2.out"
t_check "lost names the superblock" grep -q 'lost .* superblock (group 0)' "$T/lost.out"
t_check "lost names the group descriptors" grep -q 'lost .* group descriptors' "$T/lost.out"
ctl power-on >/dev/null
stop_dev dev

# On an nvdimm the filesystem starts at the namespace's data offset (2 MiB
# with the agent's ndctl settings): classify and lost take --offset and
# still speak device offsets.
OFF=$((2 << 20))
truncate -s 34M "$T/nv.img"
t_check "mke2fs at a 2 MiB offset into the device" \
    mke2fs -q -F -t ext4 -b 4096 -E offset=$OFF "$T/nv.img" 32M
start_dev nv file="$T/nv.img" size=34M || t_done
NC=$T/nv.img.ctl
if "$AUDIT" classify --image "$T/nv.img" --socket "$NC" --offset $OFF >"$T/nvcls.out" 2>&1; then
    t_ok "classify --offset labels the image"
else
    t_fail "classify --offset labels the image" "$(cat "$T/nvcls.out")"
fi
t_check "classify --offset: the lowest label is the superblock's block, at the offset" \
    test "$(grep '"ev":"classify"' "$T/nv.img.audit.jsonl" | jq -s 'map(.off) | min')" = $OFF
t_check "classify without --offset finds no ext4 at 0 and says so" \
    sh -c "! '$AUDIT' classify --image '$T/nv.img' --socket '$NC' 2>&1 | grep -q classified"
"$CLIENT" "$T/nv.sock" write 0 4096 7 write $OFF 4096 99
"$CTL" -s "$NC" cut >"$T/nvcut.json"
t_check "the cut counts the superblock's lines as meta, the label area's as unknown" \
    test "$(jq -c '[.lost.meta, .lost.unknown]' "$T/nvcut.json")" = "[64,64]"
"$AUDIT" lost "$T/nv.img.audit.jsonl" --image "$T/nv.img" --offset $OFF >"$T/nvlost.out" 2>&1
t_check "lost --offset names the superblock at its device offset" \
    grep -q "lost .* 4096 bytes from offset $OFF .*superblock (group 0)" "$T/nvlost.out"
t_check "lost --offset names what lies before the filesystem" \
    grep -q "lost .* 4096 bytes from offset 0 .*before the filesystem" "$T/nvlost.out"
stop_dev nv

LOG=$T/img.audit.jsonl
"$REPLAY" explore --audit "$LOG" --data "$T/img.dlog" --fs ext4 --states-per-point 3 \
    --out "$T/ex" >"$T/ex.out" 2>&1
rc=$?
t_check "explore exits 1: failing states found" test "$rc" = 1
S=$T/ex/states.jsonl
t_check "states.jsonl has a line per state, all JSON" jq -e . "$S" >/dev/null
# Seeds as written (not through jq, which would round them): below 2^53.
big_seeds=$(grep -o '"seed":[0-9]*' "$S" | cut -d: -f2 |
    awk 'length($0) > 16 || (length($0) == 16 && $0 > "9007199254740991")' | head -3 | tr '\n' ' ')
t_check "every seed in states.jsonl is below 2^53 (too big: ${big_seeds:-none})" test -z "$big_seeds"
t_check "some states fail e2fsck -fn" test "$(jq -s '[.[] | select(.fsck == "fail")] | length' "$S")" -gt 0
# The last flush of the log is mke2fs's final one.
last_flush=$(grep '"ev":"flush"' "$LOG" | tail -1 | jq .seq)
t_check "the states at the final flush pass (keep-all: the flush completed)" \
    test "$(jq -s "[.[] | select(.point == $last_flush and .policy == \"keep-all\" and .fsck == \"pass\")] | length" "$S")" = 1
# (a state whose superblock does not open is one the kernel would not mount)
t_check "the cut before mke2fs's third flush is explored and fails" \
    test "$(jq -s '[.[] | select(.ev == "cut" and (.fsck == "fail" or .fsck == "did not mount"))] | length' "$S")" -gt 0
t_check "the summary lists distinct failures with the smallest state" \
    grep -q 'smallest: point seq' "$T/ex/summary.txt"
# Rebuild the smallest failing state and check it fails e2fsck the same way.
cmd=$(grep -m1 'rebuild:' "$T/ex/summary.txt" | sed 's/.*rebuild: *//; s/^pmemcut-replay //; s/-o state.img//')
# shellcheck disable=SC2086
"$REPLAY" $cmd -o "$T/state.img"
t_check "the summary's rebuild command gives a state e2fsck rejects" \
    sh -c "! e2fsck -fn '$T/state.img' >/dev/null 2>&1"

# Patched state images and skipped duplicates give what whole images give.
"$REPLAY" explore --audit "$LOG" --data "$T/img.dlog" --fs ext4 --states-per-point 3 \
    --fresh-images --out "$T/exf" >"$T/exf.out" 2>&1
t_check "patched images and skipped duplicates: the same results as whole images" \
    test "$(jq -c '[.point, .policy, .seed, .fsck, .fsck_rc, .signature]' "$S" | sort | md5sum)" = \
    "$(jq -c '[.point, .policy, .seed, .fsck, .fsck_rc, .signature]' "$T/exf/states.jsonl" | sort | md5sum)"
t_check "some states were skipped as the same image" \
    test "$(jq -s '[.[] | select(.dup == true)] | length' "$S")" -gt 0
# Resume: a second run checks nothing; after losing the last 3 lines and
# leaving a torn one, exactly those 3 are redone.
total=$(wc -l <"$S")
"$REPLAY" explore --audit "$LOG" --data "$T/img.dlog" --fs ext4 --states-per-point 3 \
    --out "$T/ex" >"$T/ex2.out" 2>&1
t_check "a second run resumes with nothing left to do" grep -q '^explore: 0 states checked' "$T/ex2.out"
head -n $((total - 3)) "$S" >"$T/s.tmp"
printf '{"point":1,"ev":"fl' >>"$T/s.tmp"
cp "$T/s.tmp" "$S"
"$REPLAY" explore --audit "$LOG" --data "$T/img.dlog" --fs ext4 --states-per-point 3 \
    --out "$T/ex" >"$T/ex3.out" 2>&1
t_check "an interrupted run redoes exactly the missing states" grep -q '^explore: 3 states checked' "$T/ex3.out"
t_check "and states.jsonl is whole again" test "$(jq -c . "$S" | wc -l)" = "$total"
# A checker that never answers (issue 12, 11): e2fsck 1.47.0 loops on some
# crash states writing "Error writing block ... Ignore error? no" without
# end.  An e2fsck first in PATH runs the real one for every state, except
# that a marker file makes one -fn run write 20 MB of that and then sleep
# for good, or kill itself.  explore knows nothing of it: the run ends
# (default time limit), the state is "fsck":"timeout", counted and listed.
real_e2fsck=$(command -v e2fsck)
mkdir -p "$T/bin"
cat >"$T/bin/e2fsck" <<EOF2
#!/bin/bash
if [ "\$1" = -fn ]; then
    if mv "$T/hang" "$T/hang.taken" 2>/dev/null; then
        echo \$\$ >"$T/hang.pid"
        yes 'Error writing block 33793 (Bad file descriptor).  Ignore error? no' | head -c 20000000
        exec sleep 100000
    fi
    if mv "$T/die" "$T/die.taken" 2>/dev/null; then
        kill -KILL \$\$
    fi
fi
exec "$real_e2fsck" "\$@"
EOF2
chmod +x "$T/bin/e2fsck"
small=(--audit "$LOG" --data "$T/img.dlog" --fs ext4 --policies lose-all --jobs 1)
touch "$T/hang"
start=$(date +%s)
PATH=$T/bin:$PATH timeout 120 "$REPLAY" explore "${small[@]}" --out "$T/exh" >"$T/exh.out" 2>"$T/exh.err"
rc=$?
took=$(($(date +%s) - start))
t_check "a checker that hangs on one state: explore ends (exit $rc, 1: a finding; in $took s)" \
    test "$rc" = 1
t_check "the hung checker was run, and killed at the limit" \
    sh -c "test -e '$T/hang.taken' && ! kill -0 \$(cat '$T/hang.pid') 2>/dev/null"
# (states with the same image share its outcome: "dup":true)
t_check "that state is \"fsck\":\"timeout\" (checked once), the others checked" \
    test "$(jq -s -c '[(map(select(.fsck == "timeout" and .dup != true)) | length), (map(select(.fsck | IN("pass", "fail", "did not mount"))) | length > 0)]' "$T/exh/states.jsonl")" = "[1,true]"
nt=$(jq -s 'map(select(.fsck == "timeout")) | length' "$T/exh/states.jsonl")
t_check "the summary counts the $nt timed-out states and lists each with its rebuild command" \
    sh -c "grep -q '^states: .* $nt timeout' '$T/exh/summary.txt' &&
           test \$(grep -A$((2 * nt)) '^checker timed out: $nt states' '$T/exh/summary.txt' | grep -c 'e2fsck -fn gave no answer in 10 s') = $nt &&
           test \$(grep -A$((2 * nt)) '^checker timed out: $nt states' '$T/exh/summary.txt' | grep -c 'rebuild:  pmemcut-replay replay') = $nt"
t_check "and says so on stdout" grep -q "^explore: $nt states whose checker gave no answer in 10 s" "$T/exh.out"
touch "$T/die"
PATH=$T/bin:$PATH timeout 120 "$REPLAY" explore "${small[@]}" --check-timeout 2 --out "$T/exd" \
    >"$T/exd.out" 2>"$T/exd.err"
t_check "a checker killed by a signal: the state is named on stderr" \
    grep -Eq '^explore: the state at point seq [0-9]+ \(replay to [0-9]+\), lose-all seed 0: e2fsck -fn was killed by a signal' "$T/exd.err"
t_check "and the count says where to look" \
    grep -q '^explore: 1 states could not be checked (each named on stderr)' "$T/exd.out"
for bad in 0 -1 1e300 nan 5s; do
    "$REPLAY" explore "${small[@]}" --check-timeout "$bad" --out "$T/exb" >/dev/null 2>"$T/exb.err"
    rc=$?
    t_check "--check-timeout $bad: refused, exit 2, one line" \
        sh -c "test $rc = 2 && test \$(wc -l <'$T/exb.err') = 1 && grep -q -- --check-timeout '$T/exb.err'"
done
# On a terminal: progress with the states done, the rate and the failures.
script -qec "'$REPLAY' explore ${small[*]} --out '$T/ext'" /dev/null >"$T/ext.tty" 2>&1
t_check "on a terminal, a progress line: states checked, failing, timed out, states/s" \
    grep -Eq 'explore: point [0-9]+/[0-9]+, [0-9]+ states checked \([0-9]+ failing, 0 timed out\), [0-9.]+ states/s' "$T/ext.tty"

# Shards (--shard K/N, here 3 of them through GNU parallel, as a cluster's
# scheduler would run them) check between them exactly the states one run
# checks, with the same seeds and results; --merge gives the same summary
# (but for how many states were the same image as another: a shard does
# not see the others').
t_require parallel
ESC=(--audit "$LOG" --data "$T/img.dlog" --fs ext4 --states-per-point 3 --jobs 1)
parallel --will-cite -j 2 "'$REPLAY' explore ${ESC[*]} --shard {}/3 --out '$T/shard{}' >'$T/shard{}.out' 2>&1" ::: 1 2 3
"$REPLAY" explore --merge --audit "$LOG" --data "$T/img.dlog" --out "$T/merged" \
    "$T/shard1" "$T/shard2" "$T/shard3" >"$T/merged.out" 2>&1
rc=$?
key='[.point, .policy, .seed, .fsck, .signature, .verify] | tostring'
one=$(jq -r "$key" "$T/ex/states.jsonl" | sort | md5sum)
merged=$(jq -r "$key" "$T/merged/states.jsonl" | sort | md5sum)
each=$(for k in 1 2 3; do wc -l <"$T/shard$k/states.jsonl"; done | tr '\n' ' ')
t_check "3 shards: the states ($each) of one run, each once, the same results" \
    test "$one" = "$merged" -a "$(jq -r "$key" "$T/merged/states.jsonl" | sort | uniq -d | wc -l)" = 0
sed -n '/^states:/,$p' "$T/ex.out" | grep -v 'the same image' >"$T/sum-one"
sed -n '/^states:/,$p' "$T/merged.out" | grep -v 'the same image' >"$T/sum-merged"
t_check "--merge: exit 1 as one run, the same summary" \
    sh -c "test $rc = 1 && test -s '$T/sum-one' && diff '$T/sum-one' '$T/sum-merged' >&2"
for bad in 0/2 3/2 x 1/0 1/20000; do
    "$REPLAY" explore "${small[@]}" --shard "$bad" --out "$T/exs" >/dev/null 2>"$T/exs.err"
    rc=$?
    t_check "--shard $bad: refused, exit 2, one line" \
        sh -c "test $rc = 2 && test \$(wc -l <'$T/exs.err') = 1 && grep -q -- --shard '$T/exs.err'"
done
t_done
