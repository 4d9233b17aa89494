#!/bin/bash
# Benchmark of the device (make bench): throughput against nbdkit's own
# memory plugin, and resident memory beyond the image's page cache.
#
#   1. fio, ioengine=nbd over a Unix socket, 4 KiB random write and random
#      read at iodepth 16, BENCH_SECONDS (10) each: memory plugin vs pmemcut
#      with the audit log on, BENCH_ROUNDS (5) rounds taking turns; the
#      median ratio is the figure (one run moves by 10 % on a 2-core
#      machine).  Targets now: write ratio >= 0.7, read >= 0.9.
#   2. RssAnon of nbdkit serving a 1 GiB device: clean (after reading it all)
#      and with every line dirty (written, never flushed).  Targets: <= 64 MiB
#      clean, <= 1.3 GiB all dirty.
#
# Prints the figures, a JSON line per measure, and whether each target holds;
# exits 1 if one does not.
set -u
. "$(dirname "$0")/lib.sh"
t_require nbdkit fio nbdcopy "$PLUGIN"
t_tmpdir
SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-5} # each round: both plugins, write then read

iops() { # iops SOCKET RW
    fio --name=b --ioengine=nbd --uri="nbd+unix:///?socket=$1" --rw="$2" --bs=4k \
        --iodepth=16 --runtime="$SECS" --time_based --size=1G --randrepeat=0 \
        --output-format=json --output="$T/fio.json" >/dev/null 2>&1
    jq -r "if \"$2\" == \"randwrite\" then .jobs[0].write.iops else .jobs[0].read.iops end | floor" "$T/fio.json"
}

rss_anon_kib() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }

t_nbdkit mem memory 1G || t_done
t_nbdkit dev "$PLUGIN" file="$T/img" size=1G || t_done
# Fill both first so that reads hit written data, then flush.
head -c 1G /dev/zero | tr '\0' '\141' >"$T/fill"
nbdcopy "$T/fill" "nbd+unix:///?socket=$T/mem.sock"
nbdcopy --flush "$T/fill" "nbd+unix:///?socket=$T/dev.sock"
rm -f "$T/fill"

# The fill leaves a GiB of dirty page cache; write it back now so that the
# kernel's writeback does not land in one plugin's run and not the other's.
sync
median() { sort -n | sed -n "$((ROUNDS / 2 + 1))p"; }
printf '%-6s %-10s %10s %10s %7s\n' round "4 KiB qd16" memory pmemcut ratio
: >"$T/w" && : >"$T/r"
for round in $(seq "$ROUNDS"); do
    mw=$(iops "$T/mem.sock" randwrite)
    pw=$(iops "$T/dev.sock" randwrite)
    mr=$(iops "$T/mem.sock" randread)
    pr=$(iops "$T/dev.sock" randread)
    wr=$(echo "scale=3; $pw / $mw" | bc)
    rr=$(echo "scale=3; $pr / $mr" | bc)
    printf '%-6s %-10s %10s %10s %7s\n' "$round" randwrite "$mw" "$pw" "$wr" "$round" randread \
        "$mr" "$pr" "$rr"
    echo "$wr $mw $pw" >>"$T/w"
    echo "$rr $mr $pr" >>"$T/r"
    echo "{\"bench\":\"device-iops\",\"round\":$round,\"seconds\":$SECS,\"memory_write\":$mw,\"pmemcut_write\":$pw,\"write_ratio\":$wr,\"memory_read\":$mr,\"pmemcut_read\":$pr,\"read_ratio\":$rr}"
done
"$CTL" -s "$T/img.ctl" status >/dev/null
wr=$(median <"$T/w" | cut -d' ' -f1)
rr=$(median <"$T/r" | cut -d' ' -f1)
echo "median of $ROUNDS rounds: write ratio $wr, read ratio $rr"
echo "{\"bench\":\"device-iops-median\",\"rounds\":$ROUNDS,\"write_ratio\":$wr,\"read_ratio\":$rr}"
t_check "write ratio $wr >= 0.7" test "$(echo "$wr >= 0.7" | bc)" = 1
t_check "read ratio $rr >= 0.9" test "$(echo "$rr >= 0.9" | bc)" = 1
t_stop_pid "$PID_mem"
t_stop_pid "$PID_dev"

# Memory: a fresh 1 GiB device, read whole (clean), then written whole with
# changed bytes and no flush (every line dirty).
rm -f "$T/img" "$T/img.audit.jsonl"
t_nbdkit m2 "$PLUGIN" file="$T/img" size=1G || t_done
nbdcopy "nbd+unix:///?socket=$T/m2.sock" - | cat >/dev/null
clean=$(rss_anon_kib "$PID_m2")
head -c 1G /dev/zero | tr '\0' '\142' | nbdcopy - "nbd+unix:///?socket=$T/m2.sock"
dirty_lines=$("$CTL" -s "$T/img.ctl" status | jq .dirty_lines)
dirty=$(rss_anon_kib "$PID_m2")
mib() { echo "scale=1; $1 / 1024" | bc; }
echo "RssAnon, 1 GiB device: clean $(mib "$clean") MiB, all $dirty_lines lines dirty $(mib "$dirty") MiB"
echo "{\"bench\":\"device-memory\",\"size\":1073741824,\"rss_anon_clean_kib\":$clean,\"rss_anon_dirty_kib\":$dirty,\"dirty_lines\":$dirty_lines}"
t_check "every line dirty" test "$dirty_lines" = $((1 << 24))
t_check "clean RssAnon $(mib "$clean") MiB <= 64 MiB" test "$clean" -le $((64 * 1024))
t_check "dirty RssAnon $(mib "$dirty") MiB <= 1.3 GiB" test "$dirty" -le $((13 * 1024 * 1024 / 10))
t_done
