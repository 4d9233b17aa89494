#!/bin/bash
# explore --acks: the acknowledged records that precede each crash point are
# read out of the state image without a mount (libext2fs) and judged by the
# guest agent's own code.
#
# A real history: mke2fs on the device through the FUSE view (nbdfuse); the
# real agent writes self-checking records (create workload, fsync) into a
# plain host directory; each record file is copied into the filesystem with
# `debugfs -w` through the FUSE view (its close fsyncs: an NBD flush), and
# then acknowledged with a device mark `ack FILE SEQ METHOD`, as the host
# orchestrator does.  From the fourth record on the device lies
# (`fault flush=ignore`), and the history ends with a lose-all cut.
# explore must pass verify where the acked data was flushed and fail it
# where an acked record was lost, from the audit log's marks and from the
# host's acks file alike.
set -u
. "$(dirname "$0")/lib.sh"
AGENT=$TOP/guest/pmemcut-agent
t_require nbdkit nbdfuse fusermount3 mke2fs e2fsck debugfs jq "$PLUGIN" "$CTL" "$REPLAY" "$AGENT"
t_tmpdir

start_dev dev file="$T/img" size=64M data-log="$T/img.dlog" || t_done
C=$T/img.ctl
mkdir "$T/w"
fuse_up
t_check "mke2fs through the FUSE view" mke2fs -q -F -t ext4 -b 4096 "$T/mnt/nbd"

# The records, made by the real agent; its own ack lines are the host file.
"$AGENT" run --dir "$T/w" --workload create --sync fsync --records 6 \
    --ack-to "$T/agent-acks.txt" >"$T/run.json"
t_check "the agent wrote and acknowledged 6 records" test "$(jq .acked "$T/run.json")" = 6
: >"$T/acks.txt"
put() {
    local k=$1 f
    f=$(printf 'rec-%08d' "$k")
    debugfs -w -R "write $T/w/$f $f" "$T/mnt/nbd" >>"$T/debugfs.out" 2>&1
    ctl mark "ack $f $k fsync" >/dev/null
    echo "ack $f $k fsync" >>"$T/acks.txt"
}
put 1
put 2
put 3
ctl fault flush=ignore >/dev/null
put 4
put 5
# a mark that is not an ack, and an ack line the host never marked
ctl mark "note between runs" >/dev/null
ctl cut >/dev/null
fuse_down
stop_dev dev
LOG=$T/img.audit.jsonl
t_check "debugfs's close reaches the device as flushes" \
    test "$(grep -c '"ev":"flush"' "$LOG")" -gt 5
t_check "the acks are marks in the audit log" test "$(grep -c '"text":"ack rec-' "$LOG")" = 5

ex() { "$REPLAY" explore --audit "$LOG" --data "$T/img.dlog" --fs ext4 --points flush,mark \
    --policies lose-all,keep-all --jobs 2 "$@"; }
ex --acks audit --out "$T/ex" >"$T/ex.out" 2>&1
rc=$?
S=$T/ex/states.jsonl
t_check "explore --acks audit exits 1 (failing states)" test "$rc" = 1
t_check "every state is judged" \
    test "$(jq -s '[.[] | select(.verify != "PASS" and .verify != "FAIL")] | length' "$S")" = 0
seq_of() { grep "\"text\":\"ack $1 " "$LOG" | jq .seq; }
m3=$(seq_of rec-00000003)
m4=$(seq_of rec-00000004)
m5=$(seq_of rec-00000005)
t_check "at the mark of ack 3, lose-all: 3 acked, 3 present, verify PASS" \
    test "$(jq -c "select(.point == $m3 and .policy == \"lose-all\") | [.verify, .acked, .present]" "$S")" = '["PASS",3,3]'
t_check "the acked records survive a cut at every point between ack 1 and ack 4" \
    test "$(jq -s "[.[] | select(.point > $(seq_of rec-00000001) and .point < $m4 and .verify != \"PASS\")] | length" "$S")" = 0
t_check "after ack 4 on the lying device, lose-all: verify FAIL, record 4 missing" \
    test "$(jq -c "select(.point == $m4 and .policy == \"lose-all\") | [.verify, .acked, .missing]" "$S")" = '["FAIL",4,1]'
t_check "and a lose-all cut after ack 5 loses records 4 and 5" \
    test "$(jq -c "select(.point == $m5 and .policy == \"lose-all\") | [.verify, .acked, .present, .missing]" "$S")" = '["FAIL",5,3,2]'
t_check "keep-all after ack 5 (the lines that reached the device) passes verify" \
    test "$(jq -c "select(.point == $m5 and .policy == \"keep-all\") | .verify" "$S")" = '"PASS"'
t_check "a failing state names the lost record" \
    test "$(jq -r "select(.point == $m4 and .policy == \"lose-all\") | .verify_signature" "$S")" = \
    "verify: missing rec-#: no such file"
t_check "the summary lists the distinct verify failures" \
    grep -q '^distinct verify failures: [1-9]' "$T/ex/summary.txt"
t_check "with the smallest state of each" \
    sh -c "sed -n '/^distinct verify failures/,\$p' '$T/ex/summary.txt' | grep -q 'smallest: point seq $m4, lose-all'"
# The summary's rebuild command gives the state; the record is not in it.
"$REPLAY" replay --audit "$LOG" --data "$T/img.dlog" --to "$m4" --policy lose-all --seed 0 \
    -o "$T/s4.img" 2>/dev/null
t_check "the rebuilt state really lacks rec-00000004 (debugfs)" \
    sh -c "debugfs -R 'stat rec-00000004' '$T/s4.img' 2>&1 | grep -q 'File not found'"
t_check "and holds rec-00000003 as the agent wrote it" \
    sh -c "debugfs -R 'dump rec-00000003 $T/r3' '$T/s4.img' >/dev/null 2>&1 && cmp -s '$T/r3' '$T/w/rec-00000003'"

ex --acks audit --fresh-images --out "$T/exf" >"$T/exf.out" 2>&1
t_check "patched images give the verdicts whole images give" \
    test "$(jq -c '[.point, .policy, .fsck, .verify, .acked, .present, .missing]' "$T/exf/states.jsonl" | sort | md5sum)" = \
    "$(jq -c '[.point, .policy, .fsck, .verify, .acked, .present, .missing]' "$S" | sort | md5sum)"
# The same from the host's acks file: each line takes its mark's seq.
ex --acks "$T/acks.txt" --out "$T/ex2" >"$T/ex2.out" 2>&1
t_check "--acks FILE judges every state as --acks audit" \
    test "$(jq -c '[.point, .policy, .verify, .acked, .missing]' "$T/ex2/states.jsonl" | sort | md5sum)" = \
    "$(jq -c '[.point, .policy, .verify, .acked, .missing]' "$S" | sort | md5sum)"
# An ack the log never marked applies everywhere: record 6 was never put in.
cp "$T/acks.txt" "$T/acks6.txt"
echo "ack rec-00000006 6 fsync" >>"$T/acks6.txt"
ex --acks "$T/acks6.txt" --out "$T/ex3" >"$T/ex3.out" 2>&1
t_check "an unmarked ack is reported" grep -q '1 of 6 acks have no mark' "$T/ex3.out"
t_check "and fails every state" \
    test "$(jq -s '[.[] | select(.verify == "PASS")] | length' "$T/ex3/states.jsonl")" = 0
# The agent's own ack file, with its result line, is accepted as it is.
ex --acks "$T/agent-acks.txt" --out "$T/ex4" >"$T/ex4.out" 2>&1
t_check "the agent's own ack file is read (result lines skipped)" \
    grep -q '1 of 6 acks have no mark' "$T/ex4.out"

# Bad ack input: one clear line, exit 2.
printf 'ack rec-00000001 1 fsync\nack ../etc 2 fsync\n' >"$T/bad.txt"
ex --acks "$T/bad.txt" --out "$T/exb" >"$T/exb.out" 2>&1
rc=$?
t_check "a bad acks file: exit 2" test "$rc" = 2
t_check "with one line naming the file and line" \
    sh -c "test \$(wc -l <'$T/exb.out') = 1 && grep -q 'bad.txt: line 2: bad file name' '$T/exb.out'"
printf 'ack unknown.bin 1 fsync\n' >"$T/bad2.txt"
ex --acks "$T/bad2.txt" --out "$T/exb2" >"$T/exb2.out" 2>&1
t_check "an ack of a file no workload writes: exit 2" test "$?" = 2
ex --acks "$T/nonexistent" --out "$T/exb3" >"$T/exb3.out" 2>&1
t_check "a missing acks file: exit 2" test "$?" = 2
t_done
