#!/bin/bash
# tests/host-plan.sh — cuts that land where bugs are, and the virtio-pmem
# flush-ordering finding they expose (README: "What pmemcut found").
#
# 1. The plan: virtio-pmem, ext4, append/fsync, 6 records, 5 cycles,
# lose-all, seed 7.  The agent waits at each ack until the host says go; at
# ack k - 1 the host arms a trigger at one boundary of record k's requests
# (data write, journal write, flush, flush: after write 1, after write 2,
# instead of flush 1, instead of flush 2, at the ack), consecutive cycles
# taking consecutive boundaries (host/plan.h).  Asserted: each cut landed
# exactly where it was planned (the requests the audit log shows between the
# record's opening mark and the cut); the five cycles reach all five
# boundaries; the results say how many lines were dirty; every cycle passes
# (an honest method; lose-all drops the uncommitted transaction whole).
#
# 2. The finding: the same workload, every cut after write 2 (the journal
# write that holds the commit block), random fates keeping 90% of the dirty
# lines (7 of 8 such cycles showed it when measured; 3 cycles here).  The
# commit survives over a damaged journal block; the guest's kernel refuses
# the journal ("JBD2: Invalid checksum ...", "error loading journal"), every
# acked record of the cycle is lost, the results say "journal recovery
# failed", and the run goes on: the next cycle makes a new filesystem.
. "$(dirname "$0")/host-lib.sh"

run plan --mode virtio-pmem --fs ext4 --workload append --sync fsync --records 6 --cycles 5 --jobs 1 \
    --policy lose-all --seed 7
[ $RC -eq 0 ] && [ "$(jqr plan .verdict | sort | uniq -c | tr -s ' ')" = " 5 PASS" ] &&
    t_ok "plan: exit 0, 5 cycles, every one PASS" || t_fail "plan: 5 cycles PASS" "$(show plan)"

# Where each cut landed, against where it was planned.
exact=$(jqr plan '.cut as $c | $c.plan as $p | $c.landed as $l |
    ($p.boundary | capture("^(?<what>after write|before flush|at the ack) ?(?<n>[0-9]*)")) as $b |
    if $p.fallback then false
    elif $b.what == "after write" then $l.writes == ($b.n | tonumber) and $l.flushes == 0
    elif $b.what == "before flush" then $l.writes == $p.writes and $l.flushes == ($b.n | tonumber) - 1
    else $l.writes == $p.writes and $l.flushes == $p.flushes end' | sort | uniq -c | tr -s ' ')
[ "$exact" = " 5 true" ] && t_ok "plan: every cut landed where it was planned" ||
    t_fail "plan: cuts land as planned" "$exact; $(jqr plan '[.cycle, .cut.plan, .cut.landed] | tojson')"
seqs=$(jqr plan '"\(.cut.plan.writes)W\(.cut.plan.flushes)F"' | sort -u)
reached=$(jqr plan .cut.plan.boundary | sort -u | wc -l)
[ "$seqs" = 2W2F ] && [ "$reached" = 5 ] &&
    t_ok "plan: the record's sequence is 2 writes, 2 flushes; all 5 of its boundaries reached" ||
    t_fail "plan: every boundary reached" "sequences $seqs; $(jqr plan .cut.plan.boundary | sort | uniq -c)"
[ "$(jqr plan '.cut.landed.dirty | .meta + .data + .unknown' | sort -n | head -1)" = 0 ] &&
    [ "$(jqr plan '.cut.landed.dirty.meta' | sort -n | tail -1)" -gt 0 ] &&
    t_ok "plan: the results say how many lines were dirty at each cut, by class" ||
    t_fail "plan: dirty lines per cut" "$(jqr plan '.cut.landed.dirty | tojson')"
# The acks and marks carry their cycle; each cycle begins with its mark.
[ "$(grep -c '"ev":"mark","text":"cycle [0-9]*"' "$T/plan/audit.jsonl")" = 5 ] &&
    grep -qx 'ack append.log 1 fsync cycle=2' "$T/plan/acks-2.txt" &&
    grep -q '"text":"ack append.log 1 fsync cycle=2"' "$T/plan/audit.jsonl" &&
    t_ok "plan: marks 'cycle N' open the cycles; acks and their marks say cycle=N" ||
    t_fail "plan: cycle marks" "$(grep '"ev":"mark"' "$T/plan/audit.jsonl" | head -5)"

# 2. The finding.
PMEMCUT_PROGRESS=1 run finding --mode virtio-pmem --fs ext4 --workload append --sync fsync \
    --records 6 --cycles 3 --jobs 1 --policy random --p 0.9 --cut-at after-write=2 --seed 21
[ $RC -eq 1 ] && t_ok "finding: exit 1, a violation found (the kernel's)" ||
    t_fail "finding: exit 1" "$(show finding)"
[ "$(jqr finding '.cut.landed.requests' | sort -u)" = WW ] &&
    t_ok "finding: every cut landed after the journal write (requests WW)" ||
    t_fail "finding: cuts after write 2" "$(jqr finding '.cut.landed | tojson')"
bad=$(jqr finding 'select(.verdict == "FAIL") | .cycle' | tr '\n' ' ')
ok=$(jqr finding 'select(.verdict == "FAIL") |
    .mount_failure == "journal recovery failed" and .fsck.mounted == false and
    (.fsck.kernel | test("JBD2: (Invalid checksum|recovery failed)")) and
    (.missing | length) == .acked and .acked > 0 and
    .missing[0].what == "filesystem did not mount"' | sort -u)
if [ -n "$bad" ] && [ "$ok" = true ]; then
    t_ok "finding: cycles $bad: the kernel refused the journal ($(jqr finding 'select(.verdict == "FAIL") | .fsck.kernel' | head -1 | cut -c1-70)...), every acked record lost"
else
    t_fail "finding: the flush-ordering fault" "$(jqr finding '[.cycle, .verdict, .mount_failure, .fsck.kernel, .acked, (.missing|length)] | tojson')"
fi
others=$(jqr finding 'select(.verdict != "FAIL") | .verdict' | sort -u)
[ -z "$others" ] || [ "$others" = PASS ] && t_ok "finding: the cycles that kept the commit's damage out passed" ||
    t_fail "finding: other cycles" "$others"
after=$(jqr finding '.cycle' | while read -r c; do
    [ "$c" -gt 1 ] || continue
    prev=$(jqr finding "select(.cycle == $((c - 1))) | .mount_failure")
    now=$(jqr finding "select(.cycle == $c) | .new_filesystem")
    [ "$prev" = null ] && [ "$now" = false ] && continue
    [ "$prev" != null ] && [ "$now" = true ] && continue
    echo "cycle $c: previous $prev, new_filesystem $now"
done)
[ -z "$after" ] && grep -q '^pmemcut-host: cycle [0-9]*: journal recovery failed .*the next cycle makes a new filesystem' "$T/finding.err" &&
    t_ok "finding: after each refused mount the run went on with a new filesystem, and said so" ||
    t_fail "finding: the run goes on" "$after; $(show finding)"
grep -q " $T/" /proc/mounts && t_fail "cleanup" "a mount is left" || t_ok "cleanup: no FUSE view left mounted"
t_done
