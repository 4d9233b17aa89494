#!/bin/bash
# tests/host-jobs.sh — pmemcut-host run --jobs N: N chains of cycles at once.
#   - bad --jobs values: refused with one line before anything starts; an
#     earlier run's chain directories: refused without --force, removed with
#     it; a chain that cannot start its device: exit 2, one line naming it
#   - 4 cycles with --jobs 2: chain 1 does cycles 1 and 3, chain 2 cycles 2
#     and 4, each a complete run in --out/chain-K; one results.jsonl at the
#     top in cycle order, one table (the report of the chains'); progress
#     lines say their chain
#   - chain 2 re-run alone (--shard 2/2) does the same cycles: seeds, cut
#     plans, triggers and verdicts
#   - a lying device in 2 chains: FAIL, exit 1, as one run
#   - SIGINT to the run alone, while both VMs write: it passes the stop on;
#     exit 130, every QEMU, nbdkit and nbdfuse it started gone, no mount left
. "$(dirname "$0")/host-lib.sh"

ARGS=(--mode virtio-pmem --fs ext4 --workload append --sync fsync --records 4 --cycles 4
    --policy lose-all --seed 43)

# 1. Bad values, before any boot.
max=$((4 * $(nproc)))
for j in 0 x 1.5 -2 "$((max + 1))"; do
    "$H" run "${ARGS[@]}" --jobs "$j" --out "$T/bad" >/dev/null 2>"$T/bad.err"
    rc=$?
    if [ $rc = 2 ] && [ "$(wc -l <"$T/bad.err")" = 1 ] && grep -q -- "--jobs must be 1..$max" "$T/bad.err" &&
        [ ! -e "$T/bad" ]; then
        t_ok "--jobs $j: refused, one line, nothing made"
    else
        t_fail "--jobs $j" "rc=$rc $(cat "$T/bad.err"; ls "$T/bad" 2>&1)"
    fi
done

# An earlier run's chains in --out: refused without --force, and with a
# file of someone else's in one; with --force they go. Here the run that
# replaces them has a device that cannot start (a plugin that is not one):
# each chain stops at once, the run says so in one line naming the chain.
mkdir -p "$T/old/chain-1" "$T/old/chain-3"
touch "$T/old/results.jsonl" "$T/old/chain-1/pmem.img" "$T/old/chain-3/acks-3.txt"
"$H" run "${ARGS[@]}" --jobs 2 --out "$T/old" >/dev/null 2>"$T/old.err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$T/old.err")" = 1 ] && grep -q 'holds an earlier run (3 files)' "$T/old.err" &&
    t_ok "an earlier run's chain directories: refused without --force" || t_fail "earlier chains" "rc=$rc $(cat "$T/old.err")"
touch "$T/old/chain-3/notes.txt"
"$H" run "${ARGS[@]}" --jobs 2 --out "$T/old" --force >/dev/null 2>"$T/old.err"
rc=$?
[ $rc = 2 ] && grep -q "not an earlier pmemcut run ('chain-3'" "$T/old.err" && [ -e "$T/old/chain-3/notes.txt" ] &&
    t_ok "a chain directory holding a file not a run's: refused, even with --force" ||
    t_fail "foreign file in a chain" "rc=$rc $(cat "$T/old.err")"
rm "$T/old/chain-3/notes.txt"
echo "not a plugin" >"$T/not-a-plugin.so"
PMEMCUT_PLUGIN=$T/not-a-plugin.so "$H" run "${ARGS[@]}" --jobs 2 --out "$T/old" --force >/dev/null 2>"$T/old.err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$T/old.err")" = 1 ] && grep -q '^pmemcut-host: chain [12]: nbdkit' "$T/old.err" &&
    [ ! -e "$T/old/chain-3" ] && [ ! -e "$T/old/chain-1/pmem.img" ] && [ -s "$T/old/chain-1/nbdkit.log" ] &&
    t_ok "--force: the earlier chains removed; a device that cannot start: exit 2, one line: $(cat "$T/old.err")" ||
    t_fail "--force over earlier chains" "rc=$rc $(cat "$T/old.err"; ls -R "$T/old")"

# 2. Four cycles in two chains.
PMEMCUT_PROGRESS=1 run jobs "${ARGS[@]}" --jobs 2
cycles() { jq -r "$2" "$1" 2>/dev/null | tr '\n' ' '; }
[ $RC = 0 ] && [ "$(cycles "$T/jobs/results.jsonl" '"\(.cycle):\(.shard):\(.verdict)"')" = \
    "1:1/2:PASS 2:2/2:PASS 3:1/2:PASS 4:2/2:PASS " ] &&
    t_ok "--jobs 2: exit 0, one results.jsonl, cycles 1-4 in order, each PASS, each naming its chain" ||
    t_fail "--jobs 2" "$(show jobs; cat "$T/jobs/results.jsonl")"
[ "$(cycles "$T/jobs/chain-1/results.jsonl" .cycle)" = "1 3 " ] &&
    [ "$(cycles "$T/jobs/chain-2/results.jsonl" .cycle)" = "2 4 " ] &&
    [ -s "$T/jobs/chain-1/pmem.img" ] && [ -s "$T/jobs/chain-2/audit.jsonl" ] &&
    [ -s "$T/jobs/chain-2/console-4-verify.log" ] && [ ! -e "$T/jobs/pmem.img" ] &&
    t_ok "chain-1 did cycles 1 and 3, chain-2 2 and 4, each with its own image, audit log, consoles" ||
    t_fail "chain directories" "$(ls -R "$T/jobs")"
"$H" report "$T/jobs/chain-1" "$T/jobs/chain-2" >"$T/chains.txt" 2>&1
[ -s "$T/chains.txt" ] && [ "$(grep -c . "$T/jobs.out")" = 2 ] && cmp -s "$T/chains.txt" "$T/jobs.out" &&
    t_ok "one summary table: the report of the two chains" ||
    t_fail "summary" "$(cat "$T/jobs.out" "$T/chains.txt")"
n1=$(grep -c '^pmemcut-host: chain 1: cycle [13]: ' "$T/jobs.err")
n2=$(grep -c '^pmemcut-host: chain 2: cycle [24]: ' "$T/jobs.err")
[ "$n1" -ge 8 ] && [ "$n2" -ge 8 ] && ! grep -q '^pmemcut-host: cycle' "$T/jobs.err" &&
    t_ok "progress: every cycle's lines name its chain ($n1 and $n2 lines)" ||
    t_fail "progress" "$(cat "$T/jobs.err")"

# 3. Chain 2 alone.
run alone "${ARGS[@]}" --shard 2/2
row='[.cycle, .seed, .shard, .cut.plan, .cut.trigger, .cut.seed, .cut.fired, .verdict] | tostring'
a=$(jq -r "$row" "$T/jobs/chain-2/results.jsonl")
b=$(jq -r "$row" "$T/alone/results.jsonl" 2>/dev/null)
[ $RC = 0 ] && [ -n "$a" ] && [ "$a" = "$b" ] && [ ! -e "$T/alone/chain-1" ] &&
    t_ok "--shard 2/2 alone: chain 2's cycles, seeds, cut plans, triggers and verdicts" ||
    t_fail "chain 2 re-run" "$(show alone); jobs: $a; alone: $b"

# 4. Violations in chains: the exit status and the table of one run.
run lying "${ARGS[@]}" --cycles 2 --jobs 2 --lying-device
[ $RC = 1 ] && [ "$(cycles "$T/lying/results.jsonl" '"\(.cycle):\(.verdict)"')" = "1:FAIL 2:FAIL " ] &&
    grep -q ' FAIL$' "$T/lying.out" &&
    t_ok "a lying device in 2 chains: FAIL in both, exit 1, the table says FAIL" || t_fail "lying" "$(show lying)"

# 5. SIGINT to the run's own PID, both chains' VMs up and writing.
t_spawn stop "$H" run --mode virtio-pmem --fs ext4 --workload append --sync fsync \
    --records 400 --cycles 2 --jobs 2 --seed 31 --out "$T/stop" >"$T/stop.out" 2>"$T/stop.err"
RUN=$PID_stop
# both_up: both chains have acks and the QEMU of each (its domain is named
# for the chain's PID) runs; chains and their children are read just then.
both_up() {
    local c
    chains=$(ps -o pid= --ppid "$RUN" | tr -d ' ' | tr '\n' ' ')
    qemus=0
    for c in $chains; do ps -eo args= | grep -v grep | grep -q "guest=pmemcut-$c-" && qemus=$((qemus + 1)); done
    [ -s "$T/stop/chain-1/acks-1.txt" ] && [ -s "$T/stop/chain-2/acks-2.txt" ] && [ $qemus = 2 ]
}
for i in $(seq 600); do
    both_up && break
    kill -0 "$RUN" 2>/dev/null || break
    sleep 0.2
done
started=""
for c in $chains; do started="$started $(ps -o pid= --ppid "$c" | tr '\n' ' ')"; done
if [ "$(echo $chains | wc -w)" != 2 ] || [ $qemus != 2 ]; then
    t_fail "SIGINT" "the run did not get going: chains '$chains', $qemus QEMU $(cat "$T/stop.err")"
else
    kill -INT "$RUN"
    for i in $(seq 600); do kill -0 "$RUN" 2>/dev/null || break; sleep 0.1; done
    wait "$RUN"
    rc=$?
    t_forget "$RUN"
    [ $rc = 130 ] && [ "$(cat "$T/stop.err")" = "pmemcut-host: interrupted" ] &&
        t_ok "SIGINT: exit 130, one line: interrupted" || t_fail "SIGINT" "rc=$rc $(cat "$T/stop.err")"
    left=""
    for p in $chains $started; do kill -0 "$p" 2>/dev/null && left="$left $p($(ps -o comm= -p "$p"))"; done
    for c in $chains; do
        ps -eo args= | grep -v grep | grep -q "guest=pmemcut-$c-" && left="$left qemu-of-$c"
    done
    grep -q " $T/" /proc/mounts && left="$left mount"
    [ -z "$left" ] &&
        t_ok "SIGINT: both chains, their nbdkit, nbdfuse and 2 QEMU gone (pids $chains$started), nothing mounted" ||
        t_fail "leftovers" "$left"
fi
t_done
