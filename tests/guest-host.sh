#!/bin/bash
# tests/guest-host.sh — the real pmemcut-agent on an ordinary directory (no
# DAX needed): run + verify pass for every workload, a removed or damaged
# acknowledged record makes verify fail and names it, map-sync is refused
# with exit 3, bad input is a usage error (exit 2).
#
# Runs the static agent and, when built, the sanitizer build too.
. "$(dirname "$0")/lib.sh"
t_tmpdir
t_require jq

t_require "$TOP/guest/pmemcut-agent"
# Private copies: a rebuild in the working tree cannot change them mid-run.
mkdir -p "$T/static" "$T/san"
cp "$TOP/guest/pmemcut-agent" "$T/static/"
AGENTS="$T/static/pmemcut-agent"
if [ -x "$TOP/build/san/guest/pmemcut-agent" ]; then
    cp "$TOP/build/san/guest/pmemcut-agent" "$T/san/"
    AGENTS="$AGENTS $T/san/pmemcut-agent"
fi

# fresh DIR: an empty workload directory
fresh() {
    rm -rf "$T/d" "$T/acks"
    mkdir "$T/d"
}

# jqt NAME FILE FILTER: passes when the jq filter is true on FILE.
jqt() {
    if [ -s "$2" ] && jq -e "$3" "$2" >/dev/null 2>&1; then t_ok "$1"; else t_fail "$1" "$3 on $(cat "$2")"; fi
}

# rc_is NAME WANT GOT
rc_is() {
    if [ "$2" = "$3" ]; then t_ok "$1"; else t_fail "$1" "exit $3, expected $2"; fi
}

for A in $AGENTS; do
    tag=$(basename "$(dirname "$A")") # static or san
    for w in append overwrite create mmap; do
        fresh
        "$A" run --dir "$T/d" --workload $w --sync fsync --records 30 --slots 8 \
            --ack-to "$T/acks" >"$T/run.json"
        rc_is "$tag: run $w/fsync exits 0" 0 $?
        jqt "$tag: run $w/fsync acked 30" "$T/run.json" '.acked == 30 and .refused == false'
        n=$(grep -c '^ack ' "$T/acks")
        [ "$n" = 30 ] && t_ok "$tag: $w: 30 ack lines" || t_fail "$tag: $w: 30 ack lines" "got $n"
        "$A" verify --dir "$T/d" --acks "$T/acks" >"$T/v.json"
        rc_is "$tag: verify $w/fsync exits 0" 0 $?
        if [ $w = overwrite ]; then
            jqt "$tag: verify $w PASS" "$T/v.json" \
                '.verdict == "PASS" and .acked == 30 and .present == 8 and .superseded == 22'
        else
            jqt "$tag: verify $w PASS" "$T/v.json" \
                '.verdict == "PASS" and .acked == 30 and .present == 30 and .lost == 0'
        fi
    done
done

A="$T/static/pmemcut-agent"

# Every method that needs nothing special works on a plain directory.
for s in none fdatasync msync odsync prealloc-flush prewrite-flush; do
    fresh
    "$A" run --dir "$T/d" --workload append --sync $s --records 10 --ack-to "$T/acks" >/dev/null &&
        "$A" verify --dir "$T/d" --acks "$T/acks" >"$T/v.json"
    rc_is "append/$s run + verify" 0 $?
done

# An acknowledged record zeroed: missing, named.
fresh
"$A" run --dir "$T/d" --workload append --sync fsync --records 10 --record-size 512 \
    --ack-to "$T/acks" >/dev/null
dd if=/dev/zero of="$T/d/append.log" bs=512 seek=4 count=1 conv=notrunc status=none
"$A" verify --dir "$T/d" --acks "$T/acks" --record-size 512 >"$T/v.json"
rc_is "zeroed record: verify exits 1" 1 $?
jqt "zeroed record: FAIL naming seq 5" "$T/v.json" \
    '.verdict == "FAIL" and .missing == [{"file":"append.log","seq":5,"method":"fsync","what":"zero-filled"}] and .present == 9'

# One byte flipped in an acknowledged record: corrupt, named, with what.
printf '\x55' | dd of="$T/d/append.log" bs=1 seek=$((512 * 7 + 100)) conv=notrunc status=none
"$A" verify --dir "$T/d" --acks "$T/acks" --record-size 512 >"$T/v.json"
jqt "flipped byte: corrupt names seq 8" "$T/v.json" \
    '.verdict == "FAIL" and (.corrupt | length) == 1 and .corrupt[0].seq == 8 and (.corrupt[0].what | test("checksum mismatch: 1 of 64"))'

# The file cut short: the records past the end are missing.
truncate -s $((512 * 6)) "$T/d/append.log"
"$A" verify --dir "$T/d" --acks "$T/acks" --record-size 512 >"$T/v.json"
jqt "truncated file: 7..10 missing" "$T/v.json" \
    '[.missing[].seq] == [5,7,8,9,10] and (.missing[1].what | test("beyond end of file"))'

# The same losses with --expect none: reported, allowed, PASS.
"$A" verify --dir "$T/d" --acks "$T/acks" --record-size 512 --expect none >"$T/v.json"
rc_is "expect none: exits 0" 0 $?
jqt "expect none: lost 5, allowed" "$T/v.json" '.verdict == "PASS" and .lost == 5 and .lost_allowed'

# create: a removed file is missing; an unacknowledged extra file is counted.
fresh
"$A" run --dir "$T/d" --workload create --sync fsync --records 6 --ack-to "$T/acks" >/dev/null
rm "$T/d/rec-00000004"
head -n 5 "$T/acks" >"$T/acks5"
"$A" verify --dir "$T/d" --acks "$T/acks5" >"$T/v.json"
jqt "create: removed file missing, unacked counted" "$T/v.json" \
    '.verdict == "FAIL" and .missing[0].file == "rec-00000004" and .missing[0].what == "no such file" and .unacked_present == 1'

# The ack list on stdin, with `end` and a trailing line after it.
fresh
"$A" run --dir "$T/d" --workload mmap --sync msync --records 5 --ack-to - >"$T/out"
rc_is "ack-to stdout: exit 0" 0 $?
n=$(grep -c '^ack mmap.dat [1-5] msync$' "$T/out")
[ "$n" = 5 ] && t_ok "ack-to stdout: 5 acks" || t_fail "ack-to stdout: 5 acks" "got $n"
tail -n 1 "$T/out" >"$T/run.json"
jqt "ack-to stdout: JSON result last" "$T/run.json" '.command == "run" and .acked == 5'
{ grep '^ack' "$T/out"; echo end; echo "ack mmap.dat 99 msync"; } |
    "$A" verify --dir "$T/d" --acks - >"$T/v.json"
jqt "acks on stdin, stop at end" "$T/v.json" '.verdict == "PASS" and .acked == 5'

# map-sync on a filesystem without DAX: refused, exit 3, errno reported.
fresh
"$A" run --dir "$T/d" --workload mmap --sync map-sync --records 5 --ack-to "$T/acks" >"$T/run.json" 2>>"$T/stderr"
rc_is "map-sync without DAX: exit 3" 3 $?
jqt "map-sync refused with EOPNOTSUPP" "$T/run.json" \
    '.refused and .errno_name == "EOPNOTSUPP" and .acked == 0'
[ ! -s "$T/acks" ] && t_ok "map-sync refused: no ack" || t_fail "map-sync refused: no ack" "$(cat "$T/acks")"
"$A" caps --dir "$T/d" >"$T/caps.json"
jqt "caps: no DAX, MAP_SYNC refused" "$T/caps.json" \
    '.dax == false and .map_sync.accepted == false and .map_sync.errno_name == "EOPNOTSUPP" and (.cpu | has("clwb"))'

# Seeded bugs (--inject).  An unknown one is a usage error.
fresh
"$A" run --dir "$T/d" --workload append --sync fsync --inject lazy >"$T/e.json" 2>>"$T/stderr"
rc_is "unknown --inject: exit 2" 2 $?
jqt "unknown --inject: error JSON" "$T/e.json" '.error | test("--inject")'
[ ! -e "$T/d/append.log" ] && t_ok "unknown --inject: nothing written" ||
    t_fail "unknown --inject: nothing written" "append.log exists"

# no-sync: no durability call at all (strace sees every fsync, fdatasync and
# msync of the agent), every record acked all the same; the honest run next
# to it shows that strace does see them.
t_require strace
for wm in append/fsync create/fsync overwrite/fdatasync mmap/msync append/odsync; do
    w=${wm%/*} m=${wm#*/}
    for bug in "" no-sync; do
        fresh
        strace -f -qq -e trace=fsync,fdatasync,msync,openat -o "$T/strace" \
            "$A" run --dir "$T/d" --workload $w --sync $m --records 6 ${bug:+--inject $bug} \
            --ack-to "$T/acks" >"$T/run.json"
        rc=$?
        n=$(grep -cE '^[0-9]+ +(fsync|fdatasync|msync)\(|O_DSYNC' "$T/strace")
        if [ -z "$bug" ]; then
            # odsync: one O_DSYNC open (and the directory's fsync), not a call per record.
            min=6
            [ $m = odsync ] && min=2
            [ $rc = 0 ] && [ "$n" -ge $min ] && t_ok "$w/$m honest: $n durability calls seen" ||
                t_fail "$w/$m honest: durability calls seen" "exit $rc, $n calls"
        else
            [ $rc = 0 ] && [ "$n" = 0 ] && t_ok "$w/$m no-sync: no fsync, fdatasync, msync or O_DSYNC" ||
                t_fail "$w/$m no-sync: no durability call" "exit $rc, $n calls: $(grep -E 'sync\(|O_DSYNC' "$T/strace")"
            jqt "$w/$m no-sync: 6 acked, inject recorded" "$T/run.json" '.acked == 6 and .inject == "no-sync"'
        fi
    done
done
fresh
"$A" run --dir "$T/d" --workload append --sync fsync --records 3 --ack-to "$T/acks" >"$T/run.json"
jqt "honest run: inject null" "$T/run.json" '.inject == null'

# ack-early: the ack of record k is written before record k.  Seen twice:
# in the order of the agent's system calls (the ack's write(2) comes before
# the record's pwrite64 at its offset), and by a reader of the acks on a
# FIFO, who finds the file still without the record when ack 1 arrives (the
# agent sleeps --pause-ms after each ack; the honest run has it already).
for bug in "" ack-early; do
    fresh
    strace -f -qq -e trace=write,pwrite64 -e signal=none -o "$T/strace" \
        "$A" run --dir "$T/d" --workload append --sync fsync --records 3 ${bug:+--inject $bug} \
        --ack-to "$T/acks" >/dev/null
    order=$(sed -nE 's/.* write\([0-9]+, "ack append\.log ([0-9]+) .*/A\1/p
                     s/.* pwrite64\([0-9]+, .*, 256, ([0-9]+)\) = 256$/W\1/p' "$T/strace" | tr '\n' ' ')
    want="W0 A1 W256 A2 W512 A3 "
    [ -n "$bug" ] && want="A1 W0 A2 W256 A3 W512 "
    [ "$order" = "$want" ] && t_ok "append/fsync ${bug:-honest}: order $order" ||
        t_fail "append/fsync ${bug:-honest}: order" "got '$order', expected '$want'"
done
for bug in "" ack-early; do
    for w in append mmap; do
        fresh
        rm -f "$T/fifo"
        mkfifo "$T/fifo"
        "$A" run --dir "$T/d" --workload $w --sync fsync --records 2 --pause-ms 1500 \
            ${bug:+--inject $bug} --ack-to "$T/fifo" >"$T/run.json" &
        pid=$!
        exec 3<"$T/fifo"
        read -r line <&3
        f="$T/d/append.log"
        [ $w = mmap ] && f="$T/d/mmap.dat"
        # A record starts with its magic: zeroes (or nothing) until it is stored.
        have=$(head -c 8 "$f" 2>/dev/null | tr -d '\0' | wc -c)
        cat <&3 >/dev/null
        exec 3<&-
        wait $pid
        rc=$?
        if [ -n "$bug" ]; then
            [ "$line" = "ack $(basename "$f") 1 fsync" ] && [ "$have" = 0 ] && [ $rc = 0 ] &&
                t_ok "$w/fsync ack-early: ack 1 read while record 1 is not in the file" ||
                t_fail "$w/fsync ack-early: ack before the record" "line '$line', $have bytes, exit $rc"
        else
            [ "$line" = "ack $(basename "$f") 1 fsync" ] && [ "$have" -gt 0 ] && [ $rc = 0 ] &&
                t_ok "$w/fsync honest: record 1 in the file when ack 1 is read" ||
                t_fail "$w/fsync honest: record before the ack" "line '$line', $have bytes, exit $rc"
        fi
    done
done
jqt "ack-early: inject recorded" "$T/run.json" '.inject == "ack-early" and .acked == 2'

# Usage and input errors: exit 2 with a JSON error.
"$A" run --dir "$T/d" --workload mmap --sync odsync >"$T/e.json" 2>>"$T/stderr"
rc_is "mmap/odsync: exit 2" 2 $?
jqt "mmap/odsync: error JSON" "$T/e.json" '.error | test("odsync")'
"$A" run --dir "$T/d" --workload spin --sync fsync >"$T/e.json" 2>>"$T/stderr"
rc_is "unknown workload: exit 2" 2 $?
"$A" run --dir "$T/d" --workload append --sync fsync --record-size 100 >"$T/e.json" 2>>"$T/stderr"
rc_is "bad record size: exit 2" 2 $?
printf 'ack append.log 1 fsync\nack append.log x fsync\n' >"$T/bad"
"$A" verify --dir "$T/d" --acks "$T/bad" >"$T/e.json" 2>>"$T/stderr"
rc_is "malformed ack list: exit 2" 2 $?
jqt "malformed ack list: says which line" "$T/e.json" '.error | test("line 2")'
printf 'ack ../../etc/passwd 1 fsync\n' >"$T/bad"
"$A" verify --dir "$T/d" --acks "$T/bad" >/dev/null 2>>"$T/stderr"
rc_is "ack naming a path: exit 2" 2 $?
"$A" extents --dir "$T/d" >"$T/x.json"
jqt "extents JSON" "$T/x.json" '.command == "extents" and (.files | type) == "array"'
"$A" verify --dir "$T/d" --acks channel >"$T/e.json" 2>/dev/null
rc_is "no channel here: exit 2" 2 $?

t_done
