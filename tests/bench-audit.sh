#!/bin/bash
# Benchmarks of the audit tools (figures only, no pass/fail targets here):
#  1. explore: crash states checked per second (build + e2fsck -fn) over the
#     history of mke2fs on a 64 MiB device, every write a point, all cores;
#     and the same with --fresh-images (no patched images, no duplicate states left out);
#  2. replay: time to replay a 1 GiB history (1 GiB of writes, 256 MiB
#     device, a flush every 64 MiB) to its end;
#  3. data-log overhead: 4 KiB random writes at iodepth 16 with fio's nbd
#     engine, 10 s, with and without data-log=.
set -u
. "$(dirname "$0")/lib.sh"
REPLAY=$TOP/tools/pmemcut-replay # the normal build: its speed is the figure
# `make bench` builds only the programs: the test client is built here
make -s -C "$TOP" build/san/tests/nbd-client >/dev/null
t_require nbdkit nbdfuse fusermount3 mke2fs e2fsck fio bc jq "$PLUGIN" "$REPLAY" "$CLIENT"
t_tmpdir

# 1. explore
start_dev dev file="$T/img" size=64M data-log="$T/img.dlog" || t_done
fuse_up
mke2fs -q -F -t ext4 -b 4096 "$T/mnt/nbd"
fuse_down
stop_dev dev
"$REPLAY" explore --audit "$T/img.audit.jsonl" --data "$T/img.dlog" --fs ext4 --points write,flush \
    --states-per-point 8 --out "$T/ex" 2>/dev/null | grep '^explore: .* states checked' | tee "$T/explore.txt"
rate=$(sed -n 's/.*(\([0-9.]*\) states\/s.*/\1/p' "$T/explore.txt")
dups=$(jq -s '[.[] | select(.dup == true)] | length' "$T/ex/states.jsonl")
echo "bench-audit: explore: $rate states/s on $(nproc) cores (target >= 20, goal >= 200)," \
    "$dups states skipped as the same image as an earlier one"
# the same without patching slot images or leaving out duplicate states
"$REPLAY" explore --audit "$T/img.audit.jsonl" --data "$T/img.dlog" --fs ext4 --points write,flush \
    --states-per-point 8 --fresh-images --out "$T/exf" 2>/dev/null | grep '^explore: .* states checked' |
    tee "$T/explore-fresh.txt"
rate=$(sed -n 's/.*(\([0-9.]*\) states\/s.*/\1/p' "$T/explore-fresh.txt")
echo "bench-audit: explore --fresh-images (every state written whole, none skipped): $rate states/s"
rm -rf "$T/ex" "$T/exf" "$T/img" "$T/img.dlog" "$T/img.audit.jsonl"

# 2. replay of a 1 GiB history
start_dev big file="$T/big" size=256M data-log="$T/big.dlog" || t_done
ops=()
for pass in 0 1 2 3; do
    for m in $(seq 0 255); do
        ops+=(write $((m * 1048576)) 1048576 $((pass * 1000 + m)))
        [ $((m % 64)) -eq 63 ] && ops+=(flush)
    done
done
"$CLIENT" "$T/big.sock" "${ops[@]}"
stop_dev big
echo "bench-audit: replay: history of $(du -m "$T/big.dlog" | cut -f1) MiB of data log," \
    "$(wc -l <"$T/big.audit.jsonl") audit records"
s=$(date +%s.%N)
"$REPLAY" replay --audit "$T/big.audit.jsonl" --data "$T/big.dlog" -o "$T/big.out"
e=$(date +%s.%N)
echo "bench-audit: replay: 1 GiB history replayed in $(echo "$e - $s" | bc) s"
t_check "replay of the 1 GiB history equals the device" cmp "$T/big.out" "$T/big"
rm -f "$T/big"*

# 3. data-log overhead
fio_iops() {
    fio --name=w --ioengine=nbd --uri="nbd+unix:///?socket=$1" --rw=randwrite --bs=4k \
        --iodepth=16 --size=256M --time_based --runtime=10 --output-format=terse 2>/dev/null |
        awk -F';' 'NF > 50 {print $49}'
}
start_dev plain file="$T/p.img" size=256M || t_done
plain=$(fio_iops "$T/plain.sock")
stop_dev plain
start_dev logged file="$T/l.img" size=256M data-log="$T/l.dlog" || t_done
logged=$(fio_iops "$T/logged.sock")
stop_dev logged
echo "bench-audit: data log: 4 KiB randwrite iodepth 16: $plain IOPS without, $logged IOPS with" \
    "data-log= (ratio $(echo "scale=2; $logged / $plain" | bc))"
t_done
