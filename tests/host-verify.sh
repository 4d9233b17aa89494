#!/bin/bash
# tests/host-verify.sh — `pmemcut-host verify` refuses bad input before it
# boots anything: a missing or unusable image, a filesystem it does not
# know, no acks, a malformed ack line, an unknown option.  Each is one line
# on stderr, "pmemcut-host: verify: ...", nothing on stdout, exit 2.  (Its
# verdicts on real states are tests/explore-kernel.sh's.)
set -u
. "$(dirname "$0")/lib.sh"
H=$TOP/build/san/host/pmemcut-host
t_require "$H"
t_tmpdir

truncate -s 32M "$T/img"
truncate -s 5000 "$T/odd.img"
mkdir "$T/dir"
echo "ack append.log 1 fsync" >"$T/acks.txt"
printf 'ack append.log 1 fsync cycle=1\nack append.log x fsync\n' >"$T/bad-acks.txt"
echo "ack nofile 1 fsync" >"$T/unknown-acks.txt"

# refused NAME WANT ARGS...: exit 2, one line on stderr matching WANT, no stdout
refused() {
    local name=$1 want=$2
    shift 2
    "$H" verify "$@" >"$T/out" 2>"$T/err"
    local rc=$? lines
    lines=$(wc -l <"$T/err")
    if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && [ ! -s "$T/out" ] &&
        grep -q "^pmemcut-host: verify: .*$want" "$T/err"; then
        t_ok "$name: exit 2, one line: $(cat "$T/err")"
    else
        t_fail "$name" "exit $rc, $lines lines: $(cat "$T/err" "$T/out")"
    fi
}

refused "missing image" "--image $T/none.img: No such file or directory" \
    --image "$T/none.img" --fs ext4 --acks "$T/acks.txt"
refused "bad --fs" "--fs must be ext4 or xfs" --image "$T/img" --fs ext3 --acks "$T/acks.txt"
refused "no --fs" "--fs must be ext4 or xfs" --image "$T/img" --acks "$T/acks.txt"
refused "no --image" "--image IMG is required" --fs ext4 --acks "$T/acks.txt"
refused "no --acks" "--acks FILE is required" --image "$T/img" --fs ext4
refused "missing acks file" "--acks $T/none.txt: No such file" \
    --image "$T/img" --fs ext4 --acks "$T/none.txt"
refused "a malformed ack line (after one with cycle=N, which is taken)" "line 2:" \
    --image "$T/img" --fs ext4 --acks "$T/bad-acks.txt"
refused "an ack of no workload's file" "'nofile' is no workload's file" \
    --image "$T/img" --fs ext4 --acks "$T/unknown-acks.txt"
refused "an image virtio-pmem cannot map" "virtio-pmem needs a multiple of 4 KiB" \
    --image "$T/odd.img" --fs ext4 --acks "$T/acks.txt"
refused "an nvdimm image without its label area" "an nvdimm image is a multiple of 16M" \
    --image "$T/img" --fs ext4 --acks "$T/acks.txt" --mode nvdimm
refused "a directory as the image" "not a regular file" --image "$T/dir" --fs ext4 \
    --acks "$T/acks.txt"
refused "bad --mode" "--mode must be virtio-pmem or nvdimm" --image "$T/img" --fs ext4 \
    --acks "$T/acks.txt" --mode pmem
refused "bad --expect" "--expect must be durable or none" --image "$T/img" --fs ext4 \
    --acks "$T/acks.txt" --expect maybe
refused "bad --timeout" "--timeout" --image "$T/img" --fs ext4 --acks "$T/acks.txt" --timeout 0
refused "unknown option" "unknown or incomplete option '--bogus'" --image "$T/img" --fs ext4 \
    --acks "$T/acks.txt" --bogus
refused "a stray argument" "unexpected argument 'extra'" --image "$T/img" --fs ext4 \
    --acks "$T/acks.txt" extra
"$H" verify --help >"$T/help" 2>&1 && grep -q "^usage: pmemcut-host verify --image IMG" "$T/help" &&
    t_ok "verify --help: its usage, exit 0" || t_fail "verify --help" "$(cat "$T/help")"
"$H" --help | grep -q "pmemcut-host verify --image IMG" && t_ok "the top-level help names verify" ||
    t_fail "top-level help" "$("$H" --help)"
t_done
