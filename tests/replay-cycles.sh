#!/bin/bash
# tests/replay-cycles.sh — explore --acks over a real history of several
# cycles: acks belong to their cycle (issue 13, 2).
#
# pmemcut-host runs 3 cycles of ext4 append/fsync on virtio-pmem (the real
# guest under libvirt/QEMU, nbdkit with the plugin), each cut keeping every
# line, the device lying from each cycle's first ack to its cut.  Every
# cycle's workload truncates append.log and writes records 1, 2, ... again;
# the host marks `cycle N` at the start of cycle N and every ack
# `ack FILE SEQ METHOD cycle=N`, as its lines of acks-N.txt.  explore then
# checks every write, flush and mark of the whole history:
#   - no state that lost nothing (keep-all, or nothing dirty) fails verify,
#     with --acks audit and with each acks-N.txt;
#   - at every point exactly the acks of its own cycle apply, those marked
#     since the cycle's mark (acks-N.txt: none outside cycle N);
#   - in each cycle a lose-all state that lost an acked record (the lie)
#     still fails: the check can fail;
#   - control: the same history with the cycles taken out of its marks (a
#     log from before the host marked them) does give false FAILs at states
#     that lost nothing — what the marks are for.
. "$(dirname "$0")/host-lib.sh"
t_require e2fsck "$REPLAY"

run h --mode virtio-pmem --fs ext4 --workload append --sync fsync --records 6 --cycles 3 --jobs 1 \
    --policy keep-all --seed 5 --lying-device
D=$T/h
LOG=$D/audit.jsonl
if [ $RC -eq 0 ] && [ "$(jqr h .verdict | sort -u)" = PASS ] && [ "$(jqr h .cycle | wc -l)" -eq 3 ]; then
    t_ok "the host run: 3 cycles of ext4 append/fsync, keep-all cuts, each PASS"
else
    t_fail "the host run" "$(show h)"
    t_done
fi

# The contract: `cycle N` at the start of cycle N, every ack of cycle N
# marked with cycle=N, acks-N.txt the same lines.
marks() { jq -r 'select(.ev == "mark") | .text' "$LOG"; }
t_check "the host marks cycle 1, 2 and 3, in order" \
    test "$(marks | grep '^cycle ' | tr '\n' ' ')" = "cycle 1 cycle 2 cycle 3 "
for n in 1 2 3; do
    lines=$(wc -l <"$D/acks-$n.txt")
    t_check "acks-$n.txt: the $lines ack marks of cycle $n, each with cycle=$n, line for line" \
        sh -c "test $lines -gt 0 && test \"\$(grep -c ' cycle=$n\$' '$D/acks-$n.txt')\" = $lines &&
            test \"\$(jq -r 'select(.ev == \"mark\") | .text' '$LOG' |
                awk -v n=$n '/^cycle /{c = \$2} /^ack / && c == n')\" = \"\$(cat '$D/acks-$n.txt')\""
done
t_check "every cycle acks record 1 of a truncated append.log again" \
    test "$(head -qn1 "$D"/acks-[123].txt | sed 's/ cycle=.*//' | sort -u)" = "ack append.log 1 fsync"

seq_of() { jq -r --arg t "$1" 'select(.ev == "mark" and .text == $t) | .seq' "$LOG"; }
c1=$(seq_of "cycle 1")
c2=$(seq_of "cycle 2")
c3=$(seq_of "cycle 3")
MARKS=$(jq -s -c '[.[] | select(.ev == "mark") | {seq, text}]' "$LOG")
NOTHING_LOST='(.lost.meta + .lost.data + .lost.unknown + .torn.meta + .torn.data + .torn.unknown) == 0'
# wrong_acked STATES [N]: the states whose acked count is not the number of
# acks marked since the last `cycle` mark at or before the state (with N:
# and that mark is `cycle N`; 0 anywhere else).
wrong_acked() {
    jq -s --argjson m "$MARKS" --arg only "${2:-}" '[.[] | .replay_to as $at
        | ([$m[] | select(.seq <= $at and (.text | startswith("cycle ")))] | last) as $c
        | (if $c == null or ($only != "" and $c.text != "cycle " + $only) then 0
           else [$m[] | select(.seq > $c.seq and .seq <= $at and (.text | startswith("ack ")))]
                | length end) as $want
        | select(.acked != $want)] | length' "$1"
}
ex() { "$REPLAY" explore --data "$D/pmem.dlog" --fs ext4 --jobs 2 "$@"; }

ex --audit "$LOG" --points write,flush,mark --policies keep-all,lose-all --acks audit \
    --out "$T/xa" >"$T/xa.out" 2>&1
S=$T/xa/states.jsonl
n0=$(jq -s "[.[] | select($NOTHING_LOST)] | length" "$S")
t_check "--acks audit: every state of the 3 cycles judged ($(jq -s length "$S") states)" \
    test "$(jq -s '[.[] | select(.verify != "PASS" and .verify != "FAIL")] | length' "$S")" = 0
t_check "--acks audit: no state that lost nothing fails verify, at any write, flush or mark ($n0 states)" \
    sh -c "test $n0 -gt 50 && test \"\$(jq -s '[.[] | select($NOTHING_LOST and .verify != \"PASS\")] | length' '$S')\" = 0"
t_check "--acks audit: at every point the acks of its own cycle apply, no other" \
    test "$(wrong_acked "$S")" = 0
bounds=("$c1" "$c2" "$c3" 999999999)
for n in 1 2 3; do
    lo=${bounds[$((n - 1))]} hi=${bounds[$n]}
    f=$(jq -s "[.[] | select(.point > $lo and .point < $hi and .policy == \"lose-all\" and .verify == \"FAIL\" and .missing > 0)] | length" "$S")
    t_check "cycle $n: lose-all states that lost an acked record on the lying device fail verify ($f)" \
        test "$f" -gt 0
done
t_check "every verify FAIL names a missing record of append.log" \
    test "$(jq -r 'select(.verify == "FAIL") | .verify_signature' "$S" | sort -u | grep -cv '^verify: missing append.log: ')" = 0

for n in 1 2 3; do
    ex --audit "$LOG" --points write,flush,mark --policies keep-all --acks "$D/acks-$n.txt" \
        --out "$T/x$n" >"$T/x$n.out" 2>&1
    S=$T/x$n/states.jsonl
    n0=$(jq -s "[.[] | select($NOTHING_LOST)] | length" "$S")
    t_check "--acks acks-$n.txt: every line has its mark" sh -c "! grep -q 'have no mark' '$T/x$n.out'"
    t_check "--acks acks-$n.txt: no state that lost nothing fails verify ($n0 states, every point)" \
        sh -c "test $n0 -gt 50 && test \"\$(jq -s '[.[] | select(.verify != \"PASS\")] | length' '$S')\" = 0"
    t_check "--acks acks-$n.txt: its acks apply in cycle $n only, each from its mark" \
        test "$(wrong_acked "$S" $n)" = 0
done

# Control: the marks without their cycles, as a host wrote them before.
sed -e 's/\("text":"ack [^"]*\) cycle=[0-9]*"/\1"/' -e 's/"text":"cycle \([0-9]*\)"/"text":"start \1"/' \
    "$LOG" >"$T/old.jsonl"
ex --audit "$T/old.jsonl" --points flush,mark --policies keep-all --acks audit --out "$T/xo" \
    >"$T/xo.out" 2>&1
fo=$(jq -s "[.[] | select($NOTHING_LOST and .verify == \"FAIL\")] | length" "$T/xo/states.jsonl")
t_check "control: without cycles, $fo states that lost nothing fail ('beyond end of file'), and explore says why" \
    sh -c "test $fo -gt 0 && grep -q 'without a cycle repeat a record' '$T/xo.out'"
t_done
