#!/bin/bash
# tests/explore-kernel.sh — explore's verdict is the kernel's: a
# differential test against the ground truth, the real guest.
#
# A real ext4 history (pmemcut-host run on virtio-pmem, append/fsync, a
# random cut) is explored with the random, torn and prefix policies and
# the run's acks; a sample of its crash states (every kind of verdict
# explore gave: each cause of "did not mount", a failing check, passes) is
# rebuilt with `pmemcut-replay replay` and booted in the guest with
# `pmemcut-host verify`, which mounts it with the guest's own kernel (6.1)
# and judges the same acks with the agent.  On every state explore's
# verdict (PASS or FAIL, and whether the filesystem mounted) must be the
# guest's.  The sample must hold the classes where e2fsck and the kernel
# part ways, as the guest's kernel names them: a descriptor block whose
# checksum line was lost ("JBD2: Invalid checksum found in transaction"),
# journal copy blocks damaged under an intact commit ("Invalid checksum
# recovering data block"), and a torn journal superblock ("JBD2: journal
# checksum error").
#
# EXPLORE_KERNEL_STATES (default 16) is the sample's size: each state is
# one guest boot (5-10 s under TCG); a larger one (60) is a soak.
# EXPLORE_KERNEL_SEED picks the run.
. "$(dirname "$0")/host-lib.sh"
t_require "$REPLAY" e2fsck
N=${EXPLORE_KERNEL_STATES:-16}
SEED=${EXPLORE_KERNEL_SEED:-101}
case $N in '' | *[!0-9]* | 0 | 1 | 2 | 3 | 4 | 5)
    t_fail "EXPLORE_KERNEL_STATES" "'$N': a whole number of at least 6"
    t_done
    ;;
esac

# 1. The history: one cycle, its cut random (section 4's finding may make
# the cycle itself FAIL: exit 1 is a history all the same).
run hist --mode virtio-pmem --fs ext4 --workload append --sync fsync --records 8 --cycles 1 \
    --policy random --seed "$SEED"
D=$T/hist
if [ $RC -le 1 ] && [ -s "$D/audit.jsonl" ] && [ -s "$D/pmem.dlog" ] && [ -s "$D/acks-1.txt" ]; then
    t_ok "a real ext4 history: $(wc -l <"$D/acks-1.txt") acks, $(wc -l <"$D/audit.jsonl") audit records"
else
    t_fail "the history" "$(show hist)"
    t_done
fi

# 2. Explore it from where the filesystem exists (the first classify, at the
# prepare handshake: mke2fs's half-made states only time e2fsck out).
from=$(jq -r 'select(.ev == "classify") | .seq' "$D/audit.jsonl" | head -n 1)
"$REPLAY" explore --audit "$D/audit.jsonl" --data "$D/pmem.dlog" --fs ext4 --out "$T/ex" \
    --points flush,mark,write --states-per-point 8 --policies random,torn,prefix \
    --acks "$D/acks-1.txt" --from "${from:-1}" --jobs 2 >"$T/ex.out" 2>"$T/ex.err"
rc=$?
if [ $rc -le 1 ] && [ -s "$T/ex/states.jsonl" ]; then
    t_ok "explore from seq $from: $(head -n 1 "$T/ex/summary.txt")"
else
    t_fail "explore" "exit $rc: $(cat "$T/ex.err" "$T/ex.out")"
    t_done
fi

# 3. The sample, from states with something lost or torn, each image once:
# two of each cause of "did not mount" (a tenth of the sample each, for a
# larger one), one of each failing check (two at most), the rest passes
# spread over the history.
jq -c 'select((.dup | not) and (.fsck | IN("pass", "fail", "did not mount"))
              and (.lost.meta + .lost.data + .lost.unknown + .torn.meta + .torn.data
                   + .torn.unknown) > 0)' "$T/ex/states.jsonl" |
    jq -s -c 'sort_by(.point, .seed)' >"$T/cand.json"
jq -c --argjson n "$N" '
    ([($n / 10 | floor), 2] | max) as $per
    | (map(select(.fsck == "did not mount")) | group_by(.signature)
       | map(.[:$per]) | add // []) as $dnm
    | (map(select(.fsck == "fail")) | group_by(.signature) | map(.[0]) | .[:2]) as $fail
    | map(select(.fsck == "pass")) as $pass
    | ($n - ($dnm | length) - ($fail | length)) as $k
    | ($pass | length) as $np
    | ($dnm + $fail + (if $k > 0 and $np > 0
        then [range(0; [$k, $np] | min) | $pass[(. * $np / ([$k, $np] | min)) | floor]]
        else [] end))[:$n] | .[]' "$T/cand.json" >"$T/sample.jsonl"
ns=$(wc -l <"$T/sample.jsonl")
[ "$ns" -ge 6 ] && t_ok "a sample of $ns states: $(jq -r .fsck "$T/sample.jsonl" | sort | uniq -c |
    awk '{c=$1; $1=""; printf "%s%d%s", s, c, $0; s=", "}')" ||
    t_fail "the sample" "$ns states of $(jq length "$T/cand.json") candidates"

# 4. Each state in the guest.  explore: FAIL when its check failed, the
# kernel would not mount it, or the records failed; did not mount when it
# says so.  The guest: the agent's verdict; did not mount when its mount
# failed ("fsck":{"mounted":false}, its note "mount -o dax: ...").
agree=0
: >"$T/kernel.txt"
while IFS= read -r s; do
    to=$(jq -r .replay_to <<<"$s")
    pol=$(jq -r .policy <<<"$s")
    seed=$(jq -r .seed <<<"$s")
    p=$(jq -r '.p // 0.5' <<<"$s")
    acked=$(jq -r '.acked // 0' <<<"$s")
    name="point $(jq -r .point <<<"$s") $pol seed $seed"
    ppol=()
    [ "$pol" = random ] && ppol=(--p "$p")
    if ! "$REPLAY" replay --audit "$D/audit.jsonl" --data "$D/pmem.dlog" --to "$to" \
        --policy "$pol" "${ppol[@]}" --seed "$seed" -o "$T/state.img" >"$T/rebuild.err" 2>&1; then
        t_fail "$name: rebuild" "$(cat "$T/rebuild.err")"
        continue
    fi
    head -n "$acked" "$D/acks-1.txt" >"$T/acks.txt"
    "$H" verify --image "$T/state.img" --fs ext4 --acks "$T/acks.txt" --json --timeout 300 \
        >"$T/guest.json" 2>"$T/guest.err"
    grc=$?
    if [ $grc -gt 1 ] || ! jq -e .verdict "$T/guest.json" >/dev/null 2>&1; then
        t_fail "$name: the guest's verdict" "exit $grc: $(cat "$T/guest.err")"
        continue
    fi
    jq -r '.kernel[]' "$T/guest.json" >>"$T/kernel.txt"
    ex=$(jq -r '(if .fsck == "pass" and .verify != "FAIL" then "PASS" else "FAIL" end) + " "
        + (if .fsck == "did not mount" then "did-not-mount" else "mounted" end)' <<<"$s")
    gu=$(jq -r '.verdict + " "
        + (if .fsck.mounted == false or ((.fsck.note // "") | test("mount -o dax:"))
           then "did-not-mount" else "mounted" end)' \
        "$T/guest.json")
    # a state that did not mount: every acked record missing on both sides
    exm=$(jq -r '.missing // 0' <<<"$s")
    gum=$(jq -r '.missing_count' "$T/guest.json")
    why="explore: $(jq -r '.fsck + " " + .signature' <<<"$s"); guest: $(jq -r \
        '[.fsck.note // empty] + .kernel | unique | join("; ")' "$T/guest.json")"
    if [ "$ex" = "$gu" ] && { [ "${ex#* }" = mounted ] || [ "$exm" = "$gum" ]; }; then
        agree=$((agree + 1))
        t_ok "$name: $ex on both ($why)"
    else
        t_fail "$name: explore $ex ($exm missing), guest $gu ($gum missing)" "$why"
    fi
done <"$T/sample.jsonl"
[ "$agree" -eq "$ns" ] && t_ok "explore and the guest agree on $agree of $ns states" ||
    t_fail "agreement" "$agree of $ns states"

# 5. The classes where e2fsck alone would have said pass, as the guest's
# kernel named them.
for class in "Invalid checksum found in transaction|a descriptor block whose checksum line was lost" \
    "Invalid checksum recovering data block|copy blocks damaged under an intact commit" \
    "JBD2: journal checksum error|a torn journal superblock"; do
    said=${class%%|*}
    if grep -q "$said" "$T/kernel.txt"; then
        t_ok "sampled: ${class#*|} (\"$said\")"
    else
        t_fail "sampled: ${class#*|}" "the guest's kernel never said \"$said\" (try another EXPLORE_KERNEL_SEED)"
    fi
done
t_done
