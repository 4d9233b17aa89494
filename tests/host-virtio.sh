#!/bin/bash
# tests/host-virtio.sh — pmemcut-host run end to end on virtio-pmem: real
# libvirt (embedded driver), QEMU TCG, nbdkit with the plugin, nbdfuse, and
# the guest image. Each run is one or a few cut/reboot/verify cycles.
#   - ext4 append/fsync, 3 cycles, lose-all: PASS, and some cut lost lines,
#     counted as meta or data (the labels from classify and the agent's extents)
#   - xfs create/fsync: PASS
#   - ext4 fsync on a lying device: FAIL naming the missing records, exit 1;
#     the records lost at the cut are really gone after the reboot (the
#     remounted FUSE view shows the persisted image, not the old page cache)
#   - map-sync: refused (EOPNOTSUPP), neither PASS nor FAIL
. "$(dirname "$0")/host-lib.sh"
t_require "$REPLAY" e2fsck

# 1. ext4, append, fsync, three cycles, lose-all.
run ext4-append --mode virtio-pmem --fs ext4 --workload append --sync fsync --records 24 \
    --cycles 3 --jobs 1 --policy lose-all --seed 11
if [ $RC -eq 0 ] && [ "$(jqr ext4-append .verdict | sort -u)" = PASS ] &&
    [ "$(jqr ext4-append .cycle | wc -l)" -eq 3 ]; then
    t_ok "virtio-pmem ext4 append/fsync: 3 cycles PASS"
else
    t_fail "virtio-pmem ext4 append/fsync" "$(show ext4-append)"
fi
lost=$(jq -s '[.[].cut.lost | .meta + .data + .unknown] | add' "$T/ext4-append/results.jsonl")
[ "${lost:-0}" -gt 0 ] && t_ok "virtio-pmem ext4 append/fsync: the cuts lost $lost lines" ||
    t_fail "lost lines" "no cut lost anything"
# Labels: cycle 1 labelled the ext4 metadata (pmemcut-audit classify after
# prepare), every cycle labelled its file's extents as data, so the lines
# lost at the cuts are counted by class: an fsync'ed append in flight at a
# cut has its record's lines (data) or its journal blocks (meta) unpersisted.
classed=$(jq -s '[.[].cut.lost | .meta + .data] | add' "$T/ext4-append/results.jsonl")
if [ "$(jqr ext4-append 'select(.cycle == 1) | .labels.meta')" = true ] &&
    [ "$(jqr ext4-append '.labels.data_extents > 0' | sort -u)" = true ] &&
    [ "${classed:-0}" -gt 0 ]; then
    t_ok "labels: ext4 metadata and file extents labelled; $classed of $lost lost lines are meta or data"
else
    t_fail "labels" "$(jq -c '[.cycle, .labels, .cut.lost]' "$T/ext4-append/results.jsonl")"
fi
grep -q '"ev":"classify","class":"meta"' "$T/ext4-append/audit.jsonl" &&
    t_ok "labels: the audit log has the meta classify records" ||
    t_fail "labels" "no classify meta record in the audit log"
acked=$(jq -s '[.[].acked] | add' "$T/ext4-append/results.jsonl")
[ "${acked:-0}" -gt 0 ] && [ "$(cat "$T"/ext4-append/acks-*.txt | wc -l)" -eq "$acked" ] &&
    t_ok "acks: $acked acks, each a line of acks-N.txt" || t_fail "acks" "acked=$acked"
# Every ack became a device mark, in order.
marks=$(grep -c '"ev":"mark","text":"ack ' "$T/ext4-append/audit.jsonl")
[ "$marks" -eq "$acked" ] && t_ok "acks: each is a device mark ($marks)" ||
    t_fail "marks" "$marks marks for $acked acks"
# Nothing written after a cut reached the device: between each cut and the
# next power-on the audit log has no write or flush, only rejected requests.
cuts=$(grep -c '"ev":"cut"' "$T/ext4-append/audit.jsonl")
after=$(jq -s 'reduce .[] as $e ({off: false, n: 0};
    if $e.ev == "cut" then .off = true
    elif $e.ev == "power-on" then .off = false
    elif .off and ($e.ev | test("^(write|zero|trim|flush)$")) then .n += 1
    else . end) | .n' "$T/ext4-append/audit.jsonl")
rejected=$(grep -c '"ev":"rejected"' "$T/ext4-append/audit.jsonl")
[ "$cuts" -eq 3 ] && [ "$after" = 0 ] &&
    t_ok "audit: 3 cuts; nothing reached the device while off ($rejected requests rejected)" ||
    t_fail "audit" "cuts=$cuts requests applied while off=$after"
grep -q '"stale_view_bytes":0' "$T/ext4-append/results.jsonl" &&
    t_ok "page cache: the remounted view equals the persisted image at the lost lines" ||
    t_fail "stale view" "$(jqr ext4-append .stale_view_bytes)"

# The data log is kept by default: replaying the whole audit log gives the
# run's final image byte for byte, and explore runs on it as it is.
D=$T/ext4-append
if "$REPLAY" replay --audit "$D/audit.jsonl" --data "$D/pmem.dlog" -o "$T/final.img" \
    >"$T/replay.out" 2>&1 && cmp -s "$T/final.img" "$D/pmem.img"; then
    t_ok "data log: replaying the run's log to its end gives its pmem.img byte for byte"
else
    t_fail "data log: replay to the end" "$(cat "$T/replay.out"; ls -la "$D")"
fi
rm -f "$T/final.img"
"$REPLAY" explore --audit "$D/audit.jsonl" --data "$D/pmem.dlog" --fs ext4 --points mark \
    --policies keep-all --jobs 2 --out "$T/explore" >"$T/explore.out" 2>&1
rc=$?
# Every point after the first ack (the filesystem made) passes fsck; the
# mark "cycle 1" comes before mkfs, on an empty device.
first=$(jq -s 'map(select(.ev == "mark" and (.text | startswith("ack ")))) | .[0].seq' "$D/audit.jsonl")
n=$(jq -s --argjson f "${first:-0}" 'map(select(.point >= $f)) | length' "$T/explore/states.jsonl" 2>/dev/null)
bad=$(jq -s --argjson f "${first:-0}" 'map(select(.point >= $f and .fsck != "pass")) | length' \
    "$T/explore/states.jsonl" 2>/dev/null)
[ $rc -le 1 ] && [ "${n:-0}" -gt 0 ] && [ "$bad" = 0 ] &&
    t_ok "data log: explore runs on the run's log ($n states from the first ack on, every one fsck pass)" ||
    t_fail "data log: explore" "exit $rc, $n states, $bad not pass: $(tail -3 "$T/explore.out")"
grep -q 'acked-lost' "$T/ext4-append.out" && grep -q '^virtio-pmem .*PASS' "$T/ext4-append.out" &&
    t_ok "summary table printed" || t_fail "summary" "$(cat "$T/ext4-append.out")"

# 2. xfs, create, fsync (metadata heavy).
run xfs-create --mode virtio-pmem --fs xfs --workload create --sync fsync --records 16 --seed 12
[ $RC -eq 0 ] && [ "$(jqr xfs-create .verdict)" = PASS ] &&
    t_ok "virtio-pmem xfs create/fsync: PASS" || t_fail "virtio-pmem xfs create/fsync" "$(show xfs-create)"

# 3. The lying device: flushes acknowledged, not persisted. The acked
# records must be missing after the reboot; were the old FUSE view (its page
# cache) still in use, the guest would read them back and PASS.
run lying --mode virtio-pmem --fs ext4 --workload append --sync fsync --records 16 --seed 13 \
    --lying-device
missing=$(jqr lying '.missing | length')
if [ $RC -eq 1 ] && [ "$(jqr lying .verdict)" = FAIL ] && [ "${missing:-0}" -gt 0 ] &&
    jqr lying '.missing[0].file' | grep -q append.log; then
    t_ok "lying device: FAIL, exit 1, $missing acked records named missing"
else
    t_fail "lying device" "$(show lying)"
fi
grep -q '"flush":"ignore"' "$T/lying/audit.jsonl" && t_ok "lying device: the fault is in the audit log" ||
    t_fail "lying audit" "no fault record"

# 4. MAP_SYNC on virtio-pmem: refused by the kernel, and that is what the table expects.
run mapsync --mode virtio-pmem --fs ext4 --workload mmap --sync map-sync --records 8 --seed 14
if [ $RC -eq 0 ] && [ "$(jqr mapsync .verdict)" = refused ] &&
    [ "$(jqr mapsync .refusal.errno_name)" = EOPNOTSUPP ]; then
    t_ok "virtio-pmem map-sync: refused (EOPNOTSUPP), exit 0"
else
    t_fail "virtio-pmem map-sync" "$(show mapsync)"
fi

# Nothing of ours is left: no FUSE mount under our temp dir, no nbdkit child.
grep -q " $T/" /proc/mounts && t_fail "cleanup" "a mount is left: $(grep " $T/" /proc/mounts)" ||
    t_ok "cleanup: no FUSE view left mounted"
t_done
