#!/bin/bash
# tests/host-saved.sh — pmemcut-host run --boot saved: one base boot, saved
# without the device, and a restore (the device hot-plugged) for every boot.
# - The same seeds cold and saved give the same cut records (plan, the
#   requests it landed after, trigger), the same acks and the same verdicts.
# - Restore safety: every restored guest's read of the device's first MiB
#   (crc32c) is what the device held just before the restore, and at the
#   first verify boot it is the filesystem made after the save, not the blank
#   device the save saw (an old copy brought back would read blank).
# - saved is the default on virtio-pmem (the saved run gives no --boot).
# - Phases: the save once, a restore for each boot; the saved state and the
#   run's private directory are gone after the run.
# - Refused with one line, exit 2, before anything starts: an unknown --boot,
#   --boot saved with nvdimm.
. "$(dirname "$0")/host-lib.sh"

# One chain (--jobs 1): one saved state for the run, and its acks-N.txt at the top.
ARGS=(--mode virtio-pmem --fs ext4 --workload append --sync fsync --records 4 --cycles 2 --jobs 1
    --policy lose-all --seed 41)

refused() {
    local name=$1
    shift
    "$H" run "$@" --out "$T/$name" >/dev/null 2>"$T/$name.err"
    local rc=$?
    [ $rc = 2 ] && [ "$(wc -l <"$T/$name.err")" = 1 ] && grep -q -- "--boot" "$T/$name.err" &&
        [ ! -e "$T/$name" ] && t_ok "$name: refused (exit 2, one line, nothing made)" ||
        t_fail "$name" "exit $rc: $(cat "$T/$name.err")"
}
refused boot-unknown "${ARGS[@]}" --boot warm
refused boot-nvdimm --mode nvdimm --fs ext4 --workload append --sync fsync --boot saved

run cold "${ARGS[@]}" --boot cold
run saved "${ARGS[@]}" # saved is the default on virtio-pmem
[ "$(jqr cold .verdict | sort -u)" = PASS ] && [ "$(jqr saved .verdict | sort -u)" = PASS ] &&
    [ "$(jqr saved .cycle | wc -l)" = 2 ] && t_ok "cold and saved: 2 cycles each, PASS" ||
    t_fail "runs" "$(show cold; show saved)"

row='[.cycle, .seed, .cut.plan, .cut.landed.requests, .cut.trigger, .cut.fired, .acked,
      .missing, .corrupt, .fsck.clean, .verdict] | tostring'
a=$(jqr cold "$row")
b=$(jqr saved "$row")
[ -n "$a" ] && [ "$a" = "$b" ] && cmp -s "$T/cold/acks-1.txt" "$T/saved/acks-1.txt" &&
    cmp -s "$T/cold/acks-2.txt" "$T/saved/acks-2.txt" &&
    t_ok "the same seeds cold and saved: the same cut plans, landings, acks and verdicts" ||
    t_fail "cold = saved" "cold: $a; saved: $b"

[ "$(jqr cold .boot | sort -u)" = cold ] && [ "$(jqr saved .boot | sort -u)" = saved ] &&
    [ "$(jqr saved '[.restore_check.workload, .restore_check.verify]
         | map(.guest == .device) | all' | sort -u)" = true ] &&
    t_ok "the default on virtio-pmem is saved; every restored guest read what the device held just before its restore" ||
    t_fail "restore check" "$(jq -c .restore_check "$T/saved/results.jsonl")"
# At the save the device was blank; cycle 1 made the filesystem after it.
blank=$(jqr saved 'select(.cycle == 1) | .restore_check.workload.guest')
made=$(jqr saved 'select(.cycle == 1) | .restore_check.verify.guest')
[ -n "$blank" ] && [ -n "$made" ] && [ "$blank" != "$made" ] &&
    t_ok "the first verify restore read the filesystem made after the save, not the blank device" ||
    t_fail "old copy" "workload $blank, verify $made"

[ "$(jqr saved 'select(.cycle == 1) | .phases.save > 0')" = true ] &&
    [ "$(jqr saved 'select(.cycle == 2) | .phases.save')" = 0 ] &&
    [ "$(jqr saved '.phases.restore > 0 and .phases.restore_verify > 0' | sort -u)" = true ] &&
    [ "$(jqr cold '.phases | has("restore")' | sort -u)" = false ] &&
    t_ok "phases: the save in cycle 1 only, a restore for each boot (none cold)" ||
    t_fail "phases" "$(jq -c .phases "$T/saved/results.jsonl")"
echo "     (seconds per cycle: cold $(jqr cold .seconds | paste -sd' '), saved $(jqr saved .seconds |
    paste -sd' '); restores $(jqr saved '[.phases.restore, .phases.restore_verify] | tostring' |
    paste -sd' '))"

left=$(find "$T" -maxdepth 2 -name 'pmemcut-host.*' -o -maxdepth 3 -name saved.state)
[ -z "$left" ] && t_ok "the saved state and the private directory are gone after the run" ||
    t_fail "teardown" "$left"
grep -q " $T/" /proc/mounts && t_fail "cleanup" "a mount is left" || t_ok "cleanup: no FUSE view left mounted"
t_done
