#!/bin/bash
# tests/replay-adr.sh — explore --points fence on a real ADR history: one
# pmemcut-host run --cache-model adr (ext4 mmap/map-sync, 1 cycle), then the
# same trace offline, every batch the CPU made persistent (its "src":"cpu"
# writes of one "fence") a point, its lines written back but not yet fenced:
#   - the fence points are the log's batches, and every state is judged by
#     the kernel's mount (superblock, descriptors, journal) and the acks;
#   - in the workload boot every fence state that mounts keeps the acked
#     records, as the online verdict did: the program fences each record
#     before it acknowledges it (states the kernel refuses, a torn journal
#     commit block, are reported);
#   - with the promise of record 2 moved before its fence (an ack that
#     applies everywhere: as if acked early), the state at record 2's batch
#     that drops its lines FAILs, naming the record, and keep-all PASSes;
#   - the verify boot's own fence batches (the kernel's superblock and
#     journal superblock updates at mount) give states the kernel would not
#     mount: a second power cut there tears them (no sector atomicity on an
#     fsdax namespace), though the online verdict is PASS; the summary's
#     rebuild line of such a state (replay --unfence) gives its image.
. "$(dirname "$0")/host-lib.sh"
t_require "$TOP/host/tcg/pmemcut-tracer.so" "$REPLAY" "$AUDIT"

run adr --mode nvdimm --fs ext4 --workload mmap --sync map-sync --records 6 --cycles 1 --seed 3 \
    --cache-model adr
if [ $RC = 0 ] && [ "$(jqr adr .verdict)" = PASS ]; then
    t_ok "online: adr map-sync PASS ($(jqr adr .cut.trigger))"
else
    t_fail "online run" "$(show adr)"
    t_done
fi
A=$T/adr/audit.jsonl
D=$T/adr/pmem.dlog
OFF=$(jqr adr .labels.meta_offset)
# The workload boot: from the host's first classify at prepared (the
# filesystem is made and mounted, the view written back) to the cut; the
# verify boot: from the power-on.
FROM=$(jq -s 'map(select(.ev=="classify")) | first.seq' "$A")
CUT=$(jq -s 'map(select(.ev=="cut")) | first.seq' "$A")
ON=$(jq -s 'map(select(.ev=="power-on")) | first.seq' "$A")
# the batches: runs of cpu writes with one fence number, by their first seq
batches() { # FROM TO
    jq -s --argjson f "$1" --argjson t "$2" '[.[] | select(.ev=="write" and .src=="cpu")]
        | [foreach .[] as $w ({}; {start: ($w.fence != .fence), fence: $w.fence, seq: $w.seq};
            select(.start) | .seq)] | map(select(. >= $f and . <= $t))' "$A"
}
explore() { # NAME ARGS...
    local name=$1
    shift
    "$REPLAY" explore --audit "$A" --data "$D" --fs ext4 --offset "$OFF" --points fence \
        --states-per-point 2 --jobs 2 --out "$T/$name" "$@" >"$T/$name.out" 2>"$T/$name.err"
    XRC=$?
}

explore wlboot --acks audit --from "$FROM" --to "$CUT"
want=$(batches "$FROM" "$CUT")
got=$(jq -s '[.[].point] | unique' "$T/wlboot/states.jsonl")
if [ "$(jq -n --argjson a "$want" --argjson b "$got" '$a == $b and ($a|length) > 0')" = true ] &&
    jq -e -s 'all(.[]; .ev == "fence" and (.fsck|test("pass|fail|did not mount")) and (.verify == "PASS" or .verify == "FAIL"))' \
        "$T/wlboot/states.jsonl" >/dev/null; then
    t_ok "fence points: the $(jq -n --argjson a "$want" '$a|length') batches of the workload boot (seq $FROM..$CUT), every state mounted as the kernel would and its acks judged"
else
    t_fail "fence points" "want $want got $got; $(cat "$T/wlboot.err"; tail -5 "$T/wlboot.out")"
fi
# The program fences each record before it acks it: every state that
# mounts holds every record acked before it. States that do not mount are
# findings, not failures of this test: a torn journal commit block (no
# sector atomicity on an fsdax namespace) is refused by the kernel.
bad=$(jq -s '[.[] | select(.fsck != "did not mount" and .verify != "PASS")] | length' "$T/wlboot/states.jsonl")
mounted=$(jq -s '[.[] | select(.fsck != "did not mount")] | length' "$T/wlboot/states.jsonl")
refused=$(jq -r -s '[.[] | select(.fsck == "did not mount") | "\(.signature) at \(.point) (\(.policy))"] | unique | join("; ")' "$T/wlboot/states.jsonl")
if [ "$bad" = 0 ] && [ "$mounted" -gt 0 ]; then
    t_ok "workload boot: every fence state that mounts keeps the acked records ($mounted states)${refused:+; did not mount: $refused}"
else
    t_fail "workload boot's fence states" "$bad states lost acked records; $(cat "$T/wlboot.out")"
fi

# Record 2's batch: the first clwb+fence batch after the first ack.
ACK1=$(jq -s 'map(select(.ev=="mark" and (.text|startswith("ack ")))) | first.seq' "$A")
R2=$(jq -s --argjson a "$ACK1" 'map(select(.ev=="write" and .insn=="clwb+fence" and .seq > $a)) | first.seq' "$A")
echo "ack mmap.dat 2 map-sync" >"$T/early.txt" # no cycle: no mark matches, it applies everywhere
explore early --acks "$T/early.txt" --from "$FROM" --to "$CUT"
st() { jq -r -s --argjson p "$R2" --arg pol "$1" \
    'map(select(.point == $p and .policy == $pol)) | first | "\(.verify) \(.verify_signature // "")"' \
    "$T/early/states.jsonl"; }
if [ "$R2" != null ] && [ $XRC = 1 ] && st lose-all | grep -q '^FAIL .*mmap.dat' &&
    st keep-all | grep -q '^PASS'; then
    t_ok "record 2 acked before its fence: the state at its batch (seq $R2) that drops the batch FAILs ($(st lose-all | cut -d' ' -f2-)), keep-all PASSes"
else
    t_fail "early ack" "R2=$R2 rc=$XRC lose-all: $(st lose-all); keep-all: $(st keep-all); $(tail -8 "$T/early.out")"
fi

explore verify --acks audit --from "$ON"
nb=$(batches "$ON" 999999999 | jq length)
refused=$(jq -s '[.[] | select(.fsck == "did not mount" and .verify == "FAIL")] | length' "$T/verify/states.jsonl")
if [ "$nb" -gt 0 ] && [ "$refused" -gt 0 ] && [ $XRC = 1 ]; then
    t_ok "verify boot: $nb fence batches; $refused states the kernel would not mount ($(jq -r -s '[.[] | select(.fsck == "did not mount") | .signature] | unique | join("; ")' "$T/verify/states.jsonl")), the acked records then missing; online PASS"
else
    t_fail "verify boot's fence states" "batches=$nb refused=$refused rc=$XRC $(tail -12 "$T/verify.out")"
fi
# The summary's rebuild line of a fence state names its batch (--unfence):
# the image it rebuilds is the state explore judged, which e2fsck finds
# damaged as well.
cmd=$(grep -m1 'rebuild:.*--unfence' "$T/verify.out" | sed 's/.*rebuild: *pmemcut-replay //; s/-o state.img$//')
# shellcheck disable=SC2086 # the words of the printed command
if [ -n "$cmd" ] && "$REPLAY" $cmd -o "$T/state.img" >"$T/rebuild.out" 2>&1 &&
    dd if="$T/state.img" of="$T/state.fs" bs=4096 skip=$((OFF / 4096)) status=none &&
    ! e2fsck -fn "$T/state.fs" >"$T/state.fsck" 2>&1; then
    t_ok "rebuild of a fence state (replay $(echo "$cmd" | grep -o -- '--to [0-9]* --unfence [0-9]*')): e2fsck too finds it damaged ($(grep -m1 -vE '^e2fsck|^Pass|^Warning|^$' "$T/state.fsck"))"
else
    t_fail "rebuild of a fence state" "$cmd: $(cat "$T/rebuild.out"; head -5 "$T/state.fsck" 2>/dev/null)"
fi
t_done
