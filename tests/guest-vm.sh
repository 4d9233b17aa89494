#!/bin/bash
# tests/guest-vm.sh — the guest image in real VMs (QEMU, TCG) with the
# installed Debian kernel, on plain backing files:
#   1. virtio-pmem + ext4: mkfs, run append/fsync, clean power-off; caps says
#      DAX on and MAP_SYNC refused (EOPNOTSUPP); a second boot verifies the
#      acks sent back over the channel: PASS, e2fsck clean.
#      An ack for a record never written makes that verify boot FAIL, naming it.
#      pmemcut.inject=ack-early reaches the agent: its result names the bug.
#   2. nvdimm (label-size=128K) + namespace made fsdax + xfs: DAX on, MAP_SYNC
#      accepted, run mmap/map-sync, power-off, verify boot: PASS, xfs_repair clean.
#   3. nvdimm + ext4, run mmap/map-sync, then QEMU killed with SIGKILL (no
#      unmount, no sync: the guest's page cache and running journal transaction
#      are lost, the stores in the device kept): verify boot PASS, e2fsck clean.
# Each boot's console and channel traffic are read back and asserted on.
. "$(dirname "$0")/lib.sh"
t_tmpdir
t_require qemu-system-x86_64 jq mkfifo

BOOT_TIMEOUT=${BOOT_TIMEOUT:-180} # seconds per boot; a boot takes ~8 s here

if ! make --no-print-directory -C "$TOP" image >"$T/make.log" 2>&1; then
    t_fail "make image" "$(tail -n 5 "$T/make.log")"
    t_done
fi
IMAGE=$TOP/build/guest-initramfs.cpio.gz
KERNEL=$(cat "$TOP/build/guest-kernel")
t_require "$KERNEL" "$IMAGE"

# boot NAME DEVICE-ARGS CMDLINE [ACKS-IN]
# Boots one VM to its power-off (or, with KILL_AT_HOLD=1, until it prints
# PMEMCUT-HOLD, when it is killed with SIGKILL).  The console goes to
# $T/NAME.console, what the guest sends on the org.pmemcut.agent port to
# $T/NAME.chan; ACKS-IN, if given, is sent to the guest on that port.
# Fails on timeout.
boot() {
    local name=$1 devargs=$2 acks_in=${4:-} t0 ms i how="boots and powers off"
    local cmdline
    cmdline=$(echo $3) # one line, single spaces
    local ch=$T/$name.ch
    mkfifo "$ch.in" "$ch.out"
    t_spawn "${name}_reader" cat "$ch.out" >"$T/$name.chan"
    # shellcheck disable=SC2086
    t_spawn "${name}_qemu" qemu-system-x86_64 -accel tcg -cpu max -smp 1 \
        -m 512M,slots=2,maxmem=2G $devargs \
        -kernel "$KERNEL" -initrd "$IMAGE" -append "console=ttyS0 quiet $cmdline" \
        -device virtio-serial-pci -chardev pipe,id=agent,path="$ch" \
        -device virtserialport,chardev=agent,name=org.pmemcut.agent \
        -net none -display none -monitor none -serial "file:$T/$name.console" -no-reboot
    if [ -n "$acks_in" ]; then
        t_spawn "${name}_writer" cp "$acks_in" "$ch.in"
    fi
    local pid_var="PID_${name}_qemu" rpid_var="PID_${name}_reader"
    t0=$(date +%s%N)
    for ((i = 0; i < BOOT_TIMEOUT * 10; i++)); do
        kill -0 "${!pid_var}" 2>/dev/null || break
        if [ "${KILL_AT_HOLD:-0}" = 1 ] && grep -q PMEMCUT-HOLD "$T/$name.console" 2>/dev/null; then
            kill -KILL "${!pid_var}"
            wait "${!pid_var}" 2>/dev/null
            how="boots, runs, is killed at PMEMCUT-HOLD"
            break
        fi
        sleep 0.1
    done
    if kill -0 "${!pid_var}" 2>/dev/null; then
        t_fail "$name: boot" "no power-off within ${BOOT_TIMEOUT}s; console: $(tail -n 5 "$T/$name.console")"
        t_stop_pid "${!pid_var}"
    else
        wait "${!pid_var}" 2>/dev/null
        ms=$((($(date +%s%N) - t0) / 1000000))
        t_ok "$name: $how in $((ms / 1000)).$((ms % 1000 / 100)) s"
    fi
    # The reader ends with QEMU (the only writer of the FIFO).
    for ((i = 0; i < 50; i++)); do
        kill -0 "${!rpid_var}" 2>/dev/null || break
        sleep 0.1
    done
    t_stop_pid "${!rpid_var}"
}

# marker NAME MARKER: the JSON that the boot NAME printed after MARKER.
marker() {
    sed -n "s/^.*$2 //p" "$T/$1.console" | tr -d '\r' | head -n 1 >"$T/$1.$2.json"
    echo "$T/$1.$2.json"
}

# jqt NAME FILE FILTER: passes when the jq filter is true on FILE.
jqt() {
    if [ -s "$2" ] && jq -e "$3" "$2" >/dev/null 2>&1; then t_ok "$1"; else t_fail "$1" "$3 on: $(cat "$2")"; fi
}

# chan_line NAME WORD: the JSON of the first `WORD {...}` line NAME's guest sent.
chan_line() {
    sed -n "s/^$2 //p" "$T/$1.chan" | head -n 1 >"$T/$1.chan.$2.json"
    echo "$T/$1.chan.$2.json"
}

# --- 1. virtio-pmem + ext4 ----------------------------------------------------
truncate -s 256M "$T/vp.img"
VP="-object memory-backend-file,id=pm,share=on,mem-path=$T/vp.img,size=256M
    -device virtio-pmem-pci,memdev=pm,id=pmem0"
boot vp_run "$VP" "pmemcut.mode=virtio-pmem pmemcut.fs=ext4 pmemcut.mkfs=1 pmemcut.action=run
    pmemcut.workload=append pmemcut.sync=fsync pmemcut.records=20"
jqt "vp_run: prepare made ext4 with DAX" "$(marker vp_run PMEMCUT-PREPARE)" \
    '.fs == "ext4" and .dax == true and .dev_offset == 0'
jqt "vp_run: caps: DAX active, MAP_SYNC refused with EOPNOTSUPP" "$(marker vp_run PMEMCUT-CAPS)" \
    '.dax == true and .dax_source == "statx" and .map_sync.accepted == false and .map_sync.errno_name == "EOPNOTSUPP"'
jqt "vp_run: append/fsync acked 20" "$(marker vp_run PMEMCUT-RESULT)" \
    '.workload == "append" and .sync == "fsync" and .acked == 20 and .error == null and .inject == null'
jqt "vp_run: extents of append.log" "$(marker vp_run PMEMCUT-EXTENTS)" \
    '.files[0].name == "append.log" and (.files[0].extents | length) >= 1'
n=$(grep -c '^ack append.log [0-9]* fsync$' "$T/vp_run.chan")
[ "$n" = 20 ] && t_ok "vp_run: 20 acks on the channel" || t_fail "vp_run: 20 acks on the channel" "got $n"
jqt "vp_run: result line on the channel" "$(chan_line vp_run result)" '.acked == 20'

{ cat "$T/vp_run.chan"; echo end; } >"$T/vp.acks"
boot vp_verify "$VP" "pmemcut.mode=virtio-pmem pmemcut.fs=ext4 pmemcut.action=verify" "$T/vp.acks"
jqt "vp_verify: PASS, 20 of 20 present, e2fsck clean" "$(marker vp_verify PMEMCUT-RESULT)" \
    '.verdict == "PASS" and .acked == 20 and .present == 20 and .lost == 0 and .fsck.tool == "e2fsck -fn" and .fsck.clean'
jqt "vp_verify: verdict line on the channel" "$(chan_line vp_verify verdict)" '.verdict == "PASS"'
grep -q 'PMEMCUT-END action=verify exit=0' "$T/vp_verify.console" &&
    t_ok "vp_verify: agent exit 0" || t_fail "vp_verify: agent exit 0" "$(grep PMEMCUT-END "$T/vp_verify.console")"

{ cat "$T/vp_run.chan"; echo "ack append.log 25 fsync"; echo end; } >"$T/vp.acks25"
boot vp_fail "$VP" "pmemcut.mode=virtio-pmem pmemcut.fs=ext4 pmemcut.action=verify" "$T/vp.acks25"
jqt "vp_fail: FAIL naming the never-written record 25" "$(marker vp_fail PMEMCUT-RESULT)" \
    '.verdict == "FAIL" and .acked == 21 and .present == 20 and .missing[0].seq == 25 and (.missing[0].what | test("beyond end of file"))'
grep -q 'PMEMCUT-END action=verify exit=1' "$T/vp_fail.console" &&
    t_ok "vp_fail: agent exit 1" || t_fail "vp_fail: agent exit 1" "$(grep PMEMCUT-END "$T/vp_fail.console")"

boot vp_inject "$VP" "pmemcut.mode=virtio-pmem pmemcut.fs=ext4 pmemcut.action=run
    pmemcut.workload=append pmemcut.sync=fsync pmemcut.records=5 pmemcut.inject=ack-early"
jqt "vp_inject: pmemcut.inject=ack-early reaches the agent" "$(marker vp_inject PMEMCUT-RESULT)" \
    '.inject == "ack-early" and .acked == 5 and .error == null'
n=$(grep -c '^ack append.log [0-9]* fsync$' "$T/vp_inject.chan")
[ "$n" = 5 ] && t_ok "vp_inject: 5 acks on the channel" || t_fail "vp_inject: 5 acks on the channel" "got $n"

# --- 2. nvdimm + fsdax namespace + xfs ---------------------------------------
NV_SIZE=$((512 * 1024 * 1024 + 128 * 1024)) # data + label area
truncate -s $NV_SIZE "$T/nv.img"
NV="-machine pc,nvdimm=on
    -object memory-backend-file,id=nv,share=on,mem-path=$T/nv.img,size=$NV_SIZE
    -device nvdimm,memdev=nv,id=nvdimm0,label-size=128K"
boot nv_run "$NV" "pmemcut.mode=nvdimm pmemcut.fs=xfs pmemcut.mkfs=1 pmemcut.action=run
    pmemcut.workload=mmap pmemcut.sync=map-sync pmemcut.records=20"
jqt "nv_run: namespace made fsdax, xfs with DAX" "$(marker nv_run PMEMCUT-PREPARE)" \
    '.namespace == "namespace0.0" and .fs == "xfs" and .dax == true and .map_sync == true and .dev_offset > 0'
jqt "nv_run: caps: DAX active, MAP_SYNC accepted" "$(marker nv_run PMEMCUT-CAPS)" \
    '.dax == true and .map_sync.accepted == true and .cpu.best != "none"'
jqt "nv_run: mmap/map-sync acked 20" "$(marker nv_run PMEMCUT-RESULT)" \
    '.workload == "mmap" and .sync == "map-sync" and .acked == 20 and .refused == false'
# The extents and the device offset locate record 1 in the backing file.
x=$(marker nv_run PMEMCUT-EXTENTS)
off=$(jq '.dev_offset + (.files[] | select(.name == "mmap.dat") | .extents[0].physical)' "$x" 2>/dev/null)
magic=$(dd if="$T/nv.img" bs=1 skip="${off:-0}" count=4 status=none 2>/dev/null)
[ "$magic" = PMRC ] && t_ok "nv_run: dev_offset + extent finds record 1 in the backing file" ||
    t_fail "nv_run: record 1 in the backing file" "offset ${off:-?} holds '$magic'"

{ cat "$T/nv_run.chan"; echo end; } >"$T/nv.acks"
boot nv_verify "$NV" "pmemcut.mode=nvdimm pmemcut.fs=xfs pmemcut.action=verify" "$T/nv.acks"
jqt "nv_verify: PASS, 20 of 20 present, xfs_repair clean" "$(marker nv_verify PMEMCUT-RESULT)" \
    '.verdict == "PASS" and .acked == 20 and .present == 20 and .fsck.tool == "xfs_repair -n" and .fsck.clean'
jqt "nv_verify: verdict line on the channel" "$(chan_line nv_verify verdict)" '.verdict == "PASS"'

# --- 3. nvdimm + ext4, killed -----------------------------------------------
NV2_SIZE=$((256 * 1024 * 1024 + 128 * 1024))
truncate -s $NV2_SIZE "$T/nv2.img"
NV2="-machine pc,nvdimm=on
    -object memory-backend-file,id=nv,share=on,mem-path=$T/nv2.img,size=$NV2_SIZE
    -device nvdimm,memdev=nv,id=nvdimm0,label-size=128K"
KILL_AT_HOLD=1 boot kill_run "$NV2" "pmemcut.mode=nvdimm pmemcut.fs=ext4 pmemcut.mkfs=1
    pmemcut.action=run pmemcut.workload=mmap pmemcut.sync=map-sync pmemcut.records=64
    pmemcut.end=hold"
jqt "kill_run: mmap/map-sync on ext4 acked 64" "$(marker kill_run PMEMCUT-RESULT)" \
    '.acked == 64 and .refused == false'
{ cat "$T/kill_run.chan"; echo end; } >"$T/nv2.acks"
boot kill_verify "$NV2" "pmemcut.mode=nvdimm pmemcut.fs=ext4 pmemcut.action=verify" "$T/nv2.acks"
jqt "kill_verify: PASS after SIGKILL, 64 of 64, e2fsck clean" "$(marker kill_verify PMEMCUT-RESULT)" \
    '.verdict == "PASS" and .acked == 64 and .present == 64 and .fsck.clean'

t_done
