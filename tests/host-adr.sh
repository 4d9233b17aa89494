#!/bin/bash
# tests/host-adr.sh — ground truth for the ADR tracer (host/tcg/pmemcut-tracer.so).
#
# A VM of this test's own (libvirt's embedded driver; the tracer passed as
# <qemu:commandline> -plugin) boots on the real device (nbdkit + the plugin,
# the FUSE view as the nvdimm's backing file), makes an fsdax namespace and
# ext4 -o dax, and runs tests/adr-guest.c: known patterns made persistent by
# clwb/clflushopt/clflush in every addressing form the decoder handles, by
# mfence and a locked instruction, by movnti and movntdq, and one line
# stored and never written back. Then:
#   - every line the guest made persistent is attributed by the tracer to its
#     device offset (FIEMAP + the namespace's data offset give the truth);
#   - the view's page cache reaches the device as plain writes (no flush);
#     a lose-all cut; in the persisted image every such line holds its
#     pattern, the unflushed line does not, and the cut's lost ranges name it;
#   - the audit log holds the tracer's runs as "src":"cpu" writes of their
#     kind, in its fence batches; pmemcut-audit lost names the unflushed
#     line in the guest's file.
. "$(dirname "$0")/lib.sh"
t_tmpdir
TRACER=$TOP/host/tcg/pmemcut-tracer.so
AUDIT_TOOL=$TOP/tools/pmemcut-audit
GUEST=$TOP/build/tests/adr-guest
BASE_IMG=$TOP/build/guest-initramfs.cpio
t_require "$TRACER" "$AUDIT_TOOL" "$GUEST" "$BASE_IMG" "$PLUGIN" "$CTL" virsh nbdkit nbdfuse fusermount3 \
    qemu-system-x86_64 cpio jq python3 xfs_io
KERNEL=$(cat "$TOP/build/guest-kernel" 2>/dev/null)
[ -r "$KERNEL" ] || { t_fail prerequisite "no guest kernel (make image)"; t_done; }

DATA=$((256 << 20))
SIZE=$((DATA + (2 << 20))) # + the 2 MiB label area (host/virt.h PH_NVDIMM_LABEL)

# --- the device and its FUSE view ------------------------------------------------
start_dev dev file="$T/img" size=$SIZE || t_done
fuse_up

# --- the guest: the base image plus our program and an init of our own ----------
mkdir -p "$T/ov/usr/bin"
cp "$GUEST" "$T/ov/usr/bin/adr-guest"
cat >"$T/ov/adrinit" <<'INIT'
#!/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
modprobe -a libnvdimm nd_btt nd_pmem nfit crc16 mbcache jbd2 crc32c_generic ext4 2>/dev/console
i=0
while [ ! -b /dev/pmem0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "ADR PREPARE $(pmemcut-agent prepare --dev /dev/pmem0 --fs ext4 --mnt /mnt/pmem --mkfs --namespace)" >/dev/console
adr-guest /mnt/pmem >/dev/console 2>&1
# The host cuts the power now (destroys the VM): no umount, sync or ACPI
# poweroff, whose writebacks (clwb of dirty DAX pages, wbinvd) a power cut
# does not do.
echo "ADR END" >/dev/console
sleep 1000
INIT
chmod +x "$T/ov/adrinit"
(cd "$T/ov" && find . | cpio -o -H newc --quiet) >"$T/ov.cpio"
cat "$BASE_IMG" "$T/ov.cpio" >"$T/initrd.cpio"

mkdir -p "$T/lv/etc"
printf 'stdio_handler = "file"\nuser = "root"\ngroup = "root"\n' >"$T/lv/etc/qemu.conf"
URI="qemu:///embed?root=$T/lv"
PLUG="$TRACER,arg=nvfile=$T/mnt/nbd,arg=nbd=$T/dev.sock,arg=counts=$T/counts.json,arg=log=$T/trace.log"
# ADR_PLUGIN=0: the same guest without the tracer, for the slowdown figure only.
QEMU_ARGS="  <qemu:commandline><qemu:arg value='-plugin'/><qemu:arg value='$PLUG'/></qemu:commandline>"
[ "${ADR_PLUGIN:-1}" = 0 ] && QEMU_ARGS=""
cat >"$T/dom.xml" <<EOF2
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>pmemcut-adr-test</name>
  <maxMemory slots='2' unit='MiB'>$((512 + (SIZE >> 20) + 1024))</maxMemory>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$KERNEL</kernel>
    <initrd>$T/initrd.cpio</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 rdinit=/adrinit</cmdline>
  </os>
  <features><acpi/></features>
  <cpu mode='maximum' check='none'>
    <numa><cell id='0' cpus='0' memory='512' unit='MiB'/></numa>
  </cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'><source path='$T/console.log'/><target port='0'/></serial>
    <memory model='nvdimm' access='shared'>
      <source><path>$T/mnt/nbd</path></source>
      <target><size unit='KiB'>$((SIZE >> 10))</size><node>0</node>
        <label><size unit='KiB'>2048</size></label></target>
    </memory>
    <memballoon model='none'/>
    <controller type='usb' model='none'/>
  </devices>
  <seclabel type='none' model='dac'/>
$QEMU_ARGS
</domain>
EOF2

t0=$(date +%s.%N)
# One virsh session (the embedded driver's domain lives as long as it):
# start; once the guest says ADR END, destroy (the power cut).
mkfifo "$T/virsh.in"
virsh -q -c "$URI" <"$T/virsh.in" >"$T/virsh.out" 2>&1 &
VIRSH_PID=$!
T_PIDS="$T_PIDS $VIRSH_PID"
exec 9>"$T/virsh.in"
echo "create $T/dom.xml" >&9
for i in $(seq $((${ADR_TIMEOUT:-300} * 5))); do
    grep -qs '^ADR END' "$T/console.log" && break
    sleep 0.2
done
echo "destroy pmemcut-adr-test" >&9
echo "quit" >&9
exec 9>&-
wait "$VIRSH_PID"
t_forget "$VIRSH_PID"
t1=$(date +%s.%N)
echo "guest run: $(echo "$t1 - $t0" | bc) s (boot, namespace, mkfs, adr-guest, destroy)"
if grep -q '^ADR DONE' "$T/console.log" && grep -q '^ADR END' "$T/console.log"; then
    t_ok "guest: adr-guest ran to its end"
else
    t_fail "guest run" "$(cat "$T/virsh.out"; tail -20 "$T/console.log"; cat "$T"/lv/log/qemu/*.log 2>/dev/null | tail -5)"
    t_done
fi
[ "${ADR_PLUGIN:-1}" = 0 ] && t_done
# Stores are traced from the first user-mode instruction (tb_flush), and
# still every one the guest made to the nvdimm is seen (attribution below).
jq -e '.final and .lines_persisted > 0 and .unpersisted == 1 and .stores_traced_from == "user"' \
    "$T/counts.json" >/dev/null &&
    t_ok "tracer counts: $(jq -c '{stores,nt_stores,writebacks,fences,lines_persisted,persisted_at_kernel_fence,persisted_at_user_fence,unpersisted,fua_writes,stores_traced_from,tbs_untraced}' "$T/counts.json")" ||
    t_fail "tracer counts" "$(cat "$T/counts.json")"

# --- attribution: every persisted line of the guest at its device offset ---------
python3 - "$T/console.log" "$T/trace.log" >"$T/attr.out" <<'PY'
import sys
cases, lost, ext, dataoff = [], [], [], None
for l in open(sys.argv[1], errors="replace"):
    w = l.split()
    if len(w) < 2 or w[0] != "ADR": continue
    if w[1] in ("CASE", "LOST"): (cases if w[1] == "CASE" else lost).append((w[2], w[3], int(w[4], 16), int(w[5])))
    elif w[1] == "EXTENT": ext.append(tuple(int(v, 16) for v in w[2:5]))
    elif w[1] == "DATAOFF": dataoff = int(w[2], 16)
def dev(off):
    for lg, ph, ln in ext:
        if lg <= off < lg + ln: return dataoff + ph + off - lg
    return None
flushed = {}
persisted = []
for l in open(sys.argv[2]):
    w = l.split()
    if w[0] == "F":
        kv = dict(x.split("=", 1) for x in w[2:])
        if kv["cpl"] == "3": flushed.setdefault(int(kv["off"], 16), []).append(w[1])
    elif w[0] == "P":
        kv = dict(x.split("=", 1) for x in w[2:])
        persisted.append((int(kv["off"], 16), int(kv["len"])))
def was_persisted(o): return any(a <= o < a + n for a, n in persisted)
ok = 0
for name, kind, off, seed in cases:
    d = dev(off)
    if d is None: print("NOEXTENT", name); continue
    if kind != "nt" and kind not in flushed.get(d, []):
        print("UNATTRIBUTED", name, kind, hex(d)); continue
    if not was_persisted(d): print("NOTPERSISTED", name, hex(d)); continue
    ok += 1
    print("LINE", d, seed, name)
for name, kind, off, seed in lost:
    d = dev(off)
    print("LOSTLINE", d, seed, name)
    if d in flushed: print("WRONGLYFLUSHED", name, hex(d))  # (the kernel's zeroing of its page persisted it before the store)
print("ATTRIBUTED", ok, len(cases))
PY
read -r _ ok n < <(grep '^ATTRIBUTED' "$T/attr.out")
if [ -n "$n" ] && [ "$ok" = "$n" ] && [ "$n" -ge 20 ] && ! grep -qE '^(NO|UN|WRONG)' "$T/attr.out"; then
    t_ok "attribution: $ok/$n persisted lines of the guest at their device offsets, the unflushed one not persisted"
else
    t_fail "attribution" "$(grep -vE '^(LINE|LOSTLINE)' "$T/attr.out")"
fi

# --- the cut: what the guest never persisted is lost, and only that --------------
# The view's dirty pages go to the device as plain writes: no fsync, so no
# NBD flush, so nothing is persisted that the tracer did not persist.
flushes_before=$(grep -c '"ev":"flush"' "$T/img.audit.jsonl")
xfs_io -c "sync_range -w -a 0 0" "$T/mnt/nbd" 2>"$T/xfs_io.err"
flushes_after=$(grep -c '"ev":"flush"' "$T/img.audit.jsonl")
ctl cut policy=lose-all >"$T/cut.out" 2>&1 || t_fail "cut" "$(cat "$T/cut.out")"
fuse_down
stop_dev dev
[ "$flushes_before" = "$flushes_after" ] && [ "$flushes_before" = 0 ] &&
    t_ok "no NBD flush reached the device (what persisted came as the tracer's FUA writes)" ||
    t_fail "flushes" "before=$flushes_before after=$flushes_after"
python3 - "$T/img" "$T/attr.out" "$T/img.audit.jsonl" >"$T/image.out" <<'PY'
import sys, json, struct
img = open(sys.argv[1], "rb")
def pattern(seed): return b"".join(struct.pack("<Q", (seed * 0x9E3779B97F4A7C15 + i) & (2**64 - 1)) for i in range(8))
cut = [json.loads(l) for l in open(sys.argv[3]) if '"ev":"cut"' in l][-1]
# QEMU writes the label area (the last 2 MiB) itself, for the guest's
# label _DSM calls: no CPU store, so no tracer persist; only the data area
# is the guest's.
DATA = 256 << 20
lost_ranges = [r for r in cut["lost_ranges"] if r[0] < DATA]
def in_lost(o): return any(a <= o < a + n for a, n in lost_ranges)
good = bad = 0
for l in open(sys.argv[2]):
    w = l.split()
    if w[0] not in ("LINE", "LOSTLINE"): continue
    off, seed = int(w[1]), int(w[2]); img.seek(off); b = img.read(64)
    if w[0] == "LINE":
        if b == pattern(seed) and not in_lost(off): good += 1
        else: bad += 1; print("BAD persisted line", w[3], hex(off), "in lost" if in_lost(off) else "")
    else:
        if b != pattern(seed) and in_lost(off): print("LOST ok", w[3], hex(off))
        else: bad += 1; print("BAD unflushed line", w[3], hex(off), b == pattern(seed), in_lost(off))
print("IMAGE %d persisted intact, %d wrong, lost_bytes=%d" % (good, bad, sum(n for a, n in lost_ranges)))
PY
if grep -q '^LOST ok' "$T/image.out" && ! grep -q '^BAD' "$T/image.out" &&
    grep -q 'lost_bytes=64$' "$T/image.out"; then
    t_ok "lose-all cut: $(tail -1 "$T/image.out" | cut -d' ' -f2-) — the unflushed line is the one line of the data area lost"
else
    t_fail "cut" "$(cat "$T/image.out")"
fi
echo "device lost at the cut: $(jq -c 'select(.ev=="cut") | {lost, lost_ranges: (.lost_ranges|length)}' "$T/img.audit.jsonl")"

# --- the audit log: the tracer's writes, as the CPU's, batch by batch -------------
# Every persisted run of the tracer's log (P KIND off= len=) is one write
# record "src":"cpu" with that kind, in the same order; the batches (runs
# of one "fence") are as many as the tracer ended.
python3 - "$T/trace.log" "$T/img.audit.jsonl" "$T/counts.json" >"$T/cpu.out" <<'PY'
import sys, json
runs = []
for l in open(sys.argv[1]):
    w = l.split()
    if w[0] == "P":
        kv = dict(x.split("=", 1) for x in w[2:])
        runs.append((w[1], int(kv["off"], 16), int(kv["len"])))
recs = [json.loads(l) for l in open(sys.argv[2])]
cpu = [(r["insn"], r["off"], r["len"]) for r in recs if r["ev"] == "write" and r.get("src") == "cpu"]
fences = [r["fence"] for r in recs if r["ev"] == "write" and r.get("src") == "cpu"]
batches = sum(1 for i, f in enumerate(fences) if i == 0 or f != fences[i - 1])
counts = json.load(open(sys.argv[3]))
bad = [r for r in recs if r["ev"] == "write" and r.get("src") == "cpu" and not r["fua"]]
print("RUNS", len(runs), "CPU", len(cpu), "SAME", runs == cpu, "BATCHES", batches,
      "TRACER_BATCHES", counts.get("batches"), "NONFUA", len(bad),
      "KINDS", ",".join("%s=%d" % (k, sum(1 for c in cpu if c[0] == k))
                        for k in ("clflush", "clwb+fence", "nt+fence", "wbinvd")))
PY
read -r _ runs _ cpu _ same _ batches _ tbatches _ nonfua _ kinds <"$T/cpu.out"
if [ "$same" = True ] && [ "$runs" -gt 0 ] && [ "$nonfua" = 0 ] && [ "$batches" = "$tbatches" ]; then
    t_ok "audit log: the tracer's $runs runs are its $cpu \"src\":\"cpu\" writes, in order ($kinds), in $batches fence batches"
else
    t_fail "audit log: cpu writes" "$(cat "$T/cpu.out")"
fi
"$AUDIT_TOOL" summary "$T/img.audit.jsonl" >"$T/summary.out" 2>&1
t_check "pmemcut-audit summary counts the CPU's persists by kind" \
    grep -qE '^  (clwb\+fence|nt\+fence) +[0-9]+ lines' "$T/summary.out"
sed -n '/persisted by the CPU/,/^cuts/p' "$T/summary.out"
"$AUDIT_TOOL" timeline "$T/img.audit.jsonl" -o "$T/timeline.svg" >"$T/timeline.out" 2>&1
t_check "the timeline draws the CPU's fence batches in a colour of their own" \
    grep -q 'class="fence"><title>[0-9]* CPU fence' "$T/timeline.svg"
# pmemcut-audit lost at the lose-all cut: the one line of the data area is
# the one the guest stored and never wrote back, in adr.dat's data: its
# inode and extents are only in ext4's journal at this cut, so lost reads
# the layout after replaying it, as a mount would.
dataoff=$(awk '$1 == "ADR" && $2 == "DATAOFF" { print $3 }' "$T/console.log" | tr -d '\r')
lostline=$(awk '$1 == "LOSTLINE" { print $2 }' "$T/attr.out")
"$AUDIT_TOOL" lost "$T/img.audit.jsonl" --image "$T/img" --fs ext4 --offset $((dataoff)) \
    >"$T/lost.out" 2>&1
ino=$(awk '$1 == "ADR" && $2 == "INODE" { print $3 }' "$T/console.log" | tr -d '\r')
if [ "$(grep -cE '^ +lost .*(block [0-9]+|inode [0-9]+)' "$T/lost.out")" = 1 ] &&
    grep -q "after replaying ext4's journal" "$T/lost.out" &&
    grep -qE "^ +lost +64 bytes from offset $lostline +data of inode ${ino:-[0-9]+} " "$T/lost.out"; then
    t_ok "pmemcut-audit lost: $(grep -E "offset $lostline " "$T/lost.out" | sed 's/^ *//')"
else
    t_fail "pmemcut-audit lost (the unflushed line at $lostline)" "$(head -20 "$T/lost.out")"
fi
t_done
