#!/bin/bash
# xfs: explore runs `xfs_repair -n -f` on real crash states of an mkfs.xfs
# history, and lost/classify tell data from metadata by an extents report in
# the agent's format (`pmemcut-agent extents`).
#
# mkfs.xfs (which needs >= 300 MB: a 512 MiB device) runs through the FUSE
# view and puts two files of records made by the real agent into the new
# filesystem (a protofile, -p).  There is no mount on the host, so the files'
# extents come from xfs_db's bmap instead of FIEMAP, written as the agent
# writes its report.  classify labels the lines; unflushed writes over one
# file's data and over AG 1's superblock are cut; lost names both.
set -u
. "$(dirname "$0")/lib.sh"
AGENT=$TOP/guest/pmemcut-agent
t_require nbdkit nbdfuse fusermount3 mkfs.xfs xfs_repair xfs_db jq "$PLUGIN" "$CTL" "$CLIENT" \
    "$REPLAY" "$AUDIT" "$AGENT"
t_tmpdir

mkdir "$T/w"
"$AGENT" run --dir "$T/w" --workload append --sync fsync --records 3 --record-size 4096 \
    --ack-to "$T/acks.txt" >/dev/null
"$AGENT" run --dir "$T/w" --workload create --sync fsync --records 1 --ack-to "$T/acks.txt" \
    >/dev/null
cat >"$T/proto" <<EOF
/dev/null
0 0
d--755 0 0
append.log ---644 0 0 $T/w/append.log
rec-00000001 ---644 0 0 $T/w/rec-00000001
\$
EOF

start_dev dev file="$T/img" size=512M data-log="$T/img.dlog" || t_done
C=$T/img.ctl
fuse_up
t_check "mkfs.xfs -p through the FUSE view" mkfs.xfs -q -f -p "$T/proto" "$T/mnt/nbd"
fuse_down
t_check "the device holds a clean xfs" sh -c "xfs_repair -n -f '$T/img' >/dev/null 2>&1"

# The extents report, in the agent's format, from xfs_db's block maps.
agblocks=$(xfs_db -r -c "sb 0" -c "p agblocks" "$T/img" | awk '{print $3}')
bsize=$(xfs_db -r -c "sb 0" -c "p blocksize" "$T/img" | awk '{print $3}')
extents_of() {
    # "data offset 0 startblock 24 (0/24) count 3 flag 0"
    xfs_db -r -c "path /$1" -c "bmap" "$T/img" |
        sed -n 's|^data offset \([0-9]*\) startblock [0-9]* (\([0-9]*\)/\([0-9]*\)) count \([0-9]*\).*|\1 \2 \3 \4|p' |
        while read -r fo ag agb cnt; do
            printf '{"logical":%d,"physical":%d,"length":%d,"flags":0}\n' \
                $((fo * bsize)) $(((ag * agblocks + agb) * bsize)) $((cnt * bsize))
        done | jq -s -c .
}
{
    printf '{"command":"extents","dir":"/mnt/pmem","dev":"/dev/pmem0","dev_offset":0,"files":['
    printf '{"name":"append.log","size":12288,"extents":%s},' "$(extents_of append.log)"
    printf '{"name":"rec-00000001","size":256,"extents":%s}]}\n' "$(extents_of rec-00000001)"
} >"$T/ext.json"
t_check "the extents report is JSON with the files' extents" \
    test "$(jq '[.files[].extents[]] | length' "$T/ext.json")" -ge 2
data_off=$(jq '.files[0].extents[0].physical' "$T/ext.json")
t_check "and the report points at the agent's records in the image" \
    sh -c "cmp -s -i $data_off:0 -n 12288 '$T/img' '$T/w/append.log'"

"$AUDIT" classify --image "$T/img" --socket "$C" --extents "$T/ext.json" >"$T/cls.out" 2>&1
t_check "classify (xfs found by its superblock): the device as meta, the extents as data" \
    grep -Eq "classified $((512 << 20)) bytes as meta \(1 ranges\), 16384 bytes as data \(2 ranges\)" "$T/cls.out"
# Unflushed: the second block of append.log and AG 1's superblock; then cut.
ag1=$((agblocks * bsize))
nbd write $((data_off + 4096)) 4096 7 write $ag1 512 8
ctl cut >"$T/cut.json"
t_check "the cut counts the file block as data and the superblock as metadata" \
    test "$(jq -c '[.lost.data, .lost.meta]' "$T/cut.json")" = "[64,8]"
"$AUDIT" lost "$T/img.audit.jsonl" --image "$T/img" --extents "$T/ext.json" >"$T/lost.out" 2>&1
t_check "lost names the file data and its offset" \
    grep -q "lost .* 4096 bytes from offset $((data_off + 4096)) .*data of append.log at file offset 4096" "$T/lost.out"
t_check "lost names AG 1's superblock" grep -q 'lost .* 512 bytes .* superblock (AG 1)' "$T/lost.out"
"$AUDIT" lost "$T/img.audit.jsonl" --data "$T/img.dlog" --extents "$T/ext.json" --fs xfs \
    >"$T/lost2.out" 2>&1
t_check "lost --data gives the same" cmp -s "$T/lost.out" "$T/lost2.out"
echo '{"command":"extents","files":[{"name":"a","extents":[{"logical":0,' >"$T/bad.json"
"$AUDIT" lost "$T/img.audit.jsonl" --image "$T/img" --extents "$T/bad.json" >"$T/bad.out" 2>&1
rc=$?
t_check "a truncated extents report: exit 2, one line with the byte offset" \
    sh -c "test $rc = 2 && test \$(wc -l <'$T/bad.out') = 1 && grep -q 'byte offset' '$T/bad.out'"
stop_dev dev

# explore, for real, on xfs: few states (each one is a 512 MiB image).
LOG=$T/img.audit.jsonl
"$REPLAY" explore --audit "$LOG" --data "$T/img.dlog" --fs xfs --points flush \
    --policies lose-all,keep-all,random --states-per-point 2 --jobs 2 --out "$T/ex" >"$T/ex.out" 2>&1
rc=$?
S=$T/ex/states.jsonl
t_check "explore --fs xfs exits 1 (failing states)" test "$rc" = 1
t_check "every state was checked by xfs_repair" \
    test "$(jq -s '[.[] | select(.fsck != "pass" and .fsck != "fail")] | length' "$S")" = 0
t_check "a cut before mkfs's first flush leaves no xfs" \
    test "$(jq -s '[.[] | select(.fsck == "fail" and (.signature | test("superblock")))] | length' "$S")" -gt 0
last_flush=$(grep '"ev":"flush"' "$LOG" | tail -1 | jq .seq)
t_check "the state at mkfs's last flush passes xfs_repair -n" \
    test "$(jq -s "[.[] | select(.point == $last_flush) | .fsck] | unique" "$S" | jq -c .)" = '["pass"]'
t_check "keeping the unflushed garbage over AG 1's superblock fails" \
    test "$(jq -s '[.[] | select(.ev == "cut" and .policy == "keep-all" and .fsck == "fail" and (.signature | test("Superblock has bad magic")))] | length' "$S")" = 1
t_check "the summary names the xfs failures" grep -q 'superblock' "$T/ex/summary.txt"
t_done
