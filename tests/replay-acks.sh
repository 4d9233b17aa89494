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
#
# Then two cycles over one append.log, marked as the host marks them (issue
# 13, 2): `cycle N` at the start of cycle N, every ack `... cycle=N`.  Cycle
# 2 rewrites the file from scratch, shorter: cycle 1's acks must not be held
# against cycle 2's states, nor cycle 2's lines take cycle 1's marks.
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
printf 'ack rec-00000001 1 fsync cycle=0\n' >"$T/bad3.txt"
ex --acks "$T/bad3.txt" --out "$T/exb4" >"$T/exb4.out" 2>&1
rc=$?
t_check "a bad cycle in an acks file: exit 2, naming the line and the token" \
    sh -c "test $rc = 2 && grep -q \"bad3.txt: line 1: bad cycle 'cycle=0'\" '$T/exb4.out'"

# --- Two cycles over one file ---------------------------------------------
# Cycle 1 appends records 1-4 to append.log (each step the file rewritten
# whole with debugfs, one session: one flush) and is cut keeping everything;
# after the power-on, cycle 2 rewrites it from scratch (rm + write, what its
# O_TRUNC open does to the records) and appends records 1-2 again, the device
# lying from its second record on, and the history ends with a lose-all cut.
# Records are the same bytes in both cycles: only the cycle tells
# `ack append.log 1 fsync` of cycle 2 from cycle 1's.
mkdir "$T/wa"
"$AGENT" run --dir "$T/wa" --workload append --sync fsync --records 4 \
    --ack-to "$T/agent-acks-a.txt" >"$T/runa.json"
t_check "the agent wrote append.log, 4 records" test "$(stat -c %s "$T/wa/append.log")" = 1024
start_dev dev file="$T/cyc" size=64M data-log="$T/cyc.dlog" || t_done
cctl() { "$CTL" -s "$T/cyc.ctl" "$@"; }
fuse_up
mke2fs -q -F -t ext4 -b 4096 "$T/mnt/nbd"
# append_to K N: append.log holds records 1..K, then `ack append.log K fsync
# cycle=N` is marked and written to acks-N.txt, as the host does.
append_to() {
    head -c $(($1 * 256)) "$T/wa/append.log" >"$T/part"
    printf 'rm append.log\nwrite %s append.log\n' "$T/part" >"$T/dcmd"
    debugfs -w -f "$T/dcmd" "$T/mnt/nbd" >>"$T/debugfs.out" 2>&1
    cctl mark "ack append.log $1 fsync cycle=$2" >/dev/null
    echo "ack append.log $1 fsync cycle=$2" >>"$T/cyc-acks-$2.txt"
}
cctl mark "cycle 1" >/dev/null
for k in 1 2 3 4; do append_to $k 1; done
cctl cut policy=keep-all >/dev/null
fuse_down
cctl power-on >/dev/null
fuse_up
cctl mark "cycle 2" >/dev/null
append_to 1 2
cctl fault flush=ignore >/dev/null
append_to 2 2
cctl cut policy=lose-all >/dev/null
fuse_down
stop_dev dev
CL=$T/cyc.audit.jsonl
t_check "the two-cycle history: 2 cycle marks, 6 ack marks with their cycle" \
    test "$(grep -c '"text":"cycle [12]"' "$CL")/$(grep -c '"text":"ack append.log [1-4] fsync cycle=[12]"' "$CL")" = 2/6
cseq() { grep "\"text\":\"$1\"" "$CL" | jq .seq; }
c2=$(cseq "cycle 2")
a12=$(cseq "ack append.log 1 fsync cycle=2")
a22=$(cseq "ack append.log 2 fsync cycle=2")
a41=$(cseq "ack append.log 4 fsync cycle=1")
# At flushes and marks: debugfs rewrites the file in place, unjournaled, and
# the view's page cache reaches the device in whatever order the host's
# writeback takes, so a state between two of its writes (--points write) can
# lack the file outright, depending on that order: not a state a journaled
# filesystem would leave (tests/replay-cycles.sh covers every write of a
# real one).
cx() { "$REPLAY" explore --audit "$CL" --data "$T/cyc.dlog" --fs ext4 --points flush,mark \
    --policies keep-all,lose-all --jobs 2 "$@"; }
for a in audit "$T/cyc-acks-1.txt" "$T/cyc-acks-2.txt"; do
    n=${a##*/}
    cx --acks "$a" --out "$T/cx-$n" >"$T/cx-$n.out" 2>&1
    S2=$T/cx-$n/states.jsonl
    t_check "--acks $n: every state of both cycles judged" \
        test "$(jq -s '[.[] | select(.verify != "PASS" and .verify != "FAIL")] | length' "$S2")" = 0
    t_check "--acks $n: no keep-all state fails verify, at any point of either cycle ($(jq -s '[.[] | select(.policy == "keep-all")] | length' "$S2") states)" \
        test "$(jq -s '[.[] | select(.policy == "keep-all" and .verify != "PASS")] | length' "$S2")" = 0
done
S2=$T/cx-audit/states.jsonl
t_check "in cycle 2 before its first ack, no ack applies: cycle 1's four are over" \
    test "$(jq -s -c "[.[] | select(.point >= $c2 and .point < $a12) | .acked] | unique" "$S2")" = "[0]"
t_check "at cycle 1's last ack, lose-all: its 4 records acked and present" \
    test "$(jq -c "select(.point == $a41 and .policy == \"lose-all\") | [.verify, .acked, .present]" "$S2")" = '["PASS",4,4]'
# (nothing is dirty at a mark after debugfs's flush: lose-all is the only
# state there, and it loses nothing)
t_check "at cycle 2's first ack: 1 acked (cycle 2's), present, though the file is shorter than cycle 1's" \
    test "$(jq -c "select(.point == $a12 and .policy == \"lose-all\") | [.verify, .acked, .present, .lost.data + .lost.meta + .lost.unknown]" "$S2")" = '["PASS",1,1,0]'
t_check "the check can fail: lose-all after cycle 2's second ack on the lying device loses record 2" \
    test "$(jq -c "select(.point == $a22 and .policy == \"lose-all\") | [.verify, .acked, .missing]" "$S2")" = '["FAIL",2,1]'
t_check "acks-1.txt: cycle 1's lines take cycle 1's marks (4 acked at its last ack, none in cycle 2)" \
    test "$(jq -s -c "[(.[] | select(.point == $a41 and .policy == \"lose-all\") | .acked), ([.[] | select(.point >= $c2) | .acked] | add)]" "$T/cx-cyc-acks-1.txt/states.jsonl")" = '[4,0]'
t_check "acks-2.txt: cycle 2's lines take cycle 2's marks, not cycle 1's (none before cycle 2)" \
    test "$(jq -s "[.[] | select(.point < $c2) | .acked] | add" "$T/cx-cyc-acks-2.txt/states.jsonl")" = 0
t_check "acks-2.txt judges cycle 2's states as --acks audit" \
    test "$(jq -c "select(.point >= $c2) | [.point, .policy, .verify, .acked, .missing]" "$T/cx-cyc-acks-2.txt/states.jsonl" | sort | md5sum)" = \
    "$(jq -c "select(.point >= $c2) | [.point, .policy, .verify, .acked, .missing]" "$S2" | sort | md5sum)"
t_check "no line of either file is left without its mark" \
    sh -c "! grep -q 'have no mark' '$T/cx-cyc-acks-1.txt.out' '$T/cx-cyc-acks-2.txt.out'"
# The agent takes the host's acks-N.txt as it is, cycle=N and all.
"$AGENT" verify --dir "$T/wa" --acks "$T/cyc-acks-1.txt" >"$T/va.json" 2>"$T/va.err"
rc=$?
t_check "the agent verifies cycle 1's acks-N.txt as it is: PASS, 4 acked" \
    test "$rc/$(jq -c '[.verdict, .acked, .present]' "$T/va.json")" = '0/["PASS",4,4]'
printf 'ack append.log 1 fsync cycle=1\nack append.log 2 fsync cycle=01\n' >"$T/badc.txt"
"$AGENT" verify --dir "$T/wa" --acks "$T/badc.txt" >"$T/vb.json" 2>"$T/vb.err"
rc=$?
t_check "and refuses a bad cycle: exit 2, one line naming the line and the token" \
    sh -c "test $rc = 2 && test \$(wc -l <'$T/vb.err') = 1 && grep -q \"line 2: bad cycle 'cycle=01'\" '$T/vb.err'"
# A line of a cycle the log never starts: reported, and it applies everywhere.
echo "ack append.log 1 fsync cycle=3" >"$T/cyc3.txt"
cx --acks "$T/cyc3.txt" --out "$T/cx3" >"$T/cx3.out" 2>&1
t_check "a line of a cycle the log never starts is reported" \
    sh -c "grep -q '1 of 1 acks have no mark' '$T/cx3.out' && grep -q 'name a cycle the audit log never starts' '$T/cx3.out'"
t_done
