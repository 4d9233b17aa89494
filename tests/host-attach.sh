#!/bin/bash
# tests/host-attach.sh — pmemcut-host serve, attach and detach on a domain
# defined by this test (libvirt's embedded QEMU driver, no daemon), and the
# one-line errors of bad arguments. One short VM start per mode proves that
# QEMU really gets the device; the round trip must restore the exact XML.
. "$(dirname "$0")/lib.sh"
t_tmpdir
H=$TOP/build/san/host/pmemcut-host # the sanitizer build (make build/san/host/pmemcut-host)
t_require "$H" "$REPLAY" "$TOP/plugin/nbdkit-pmemcut-plugin.so" virsh nbdkit nbdfuse fusermount3 qemu-system-x86_64

KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[ -n "$KERNEL" ] || { t_fail prerequisite "no /boot/vmlinuz-* (make deps)"; t_done; }

# An embedded libvirt root of our own.
mkdir -p "$T/lv/etc"
printf 'stdio_handler = "file"\nuser = "root"\ngroup = "root"\n' >"$T/lv/etc/qemu.conf"
URI="qemu:///embed?root=$T/lv"
V() { virsh -q -c "$URI" "$@"; }

# --- bad arguments: one line on stderr, exit 2 ---------------------------------
bad() {
    local name=$1
    shift
    "$H" "$@" >"$T/bad.out" 2>"$T/bad.err"
    local rc=$?
    if [ "$rc" -eq 2 ] && [ "$(wc -l <"$T/bad.err")" -eq 1 ] && grep -q '^pmemcut-host: ' "$T/bad.err"; then
        t_ok "bad arguments: $name ($(cat "$T/bad.err"))"
    else
        t_fail "bad arguments: $name" "rc=$rc stderr=$(cat "$T/bad.err")"
    fi
}
bad "no command"
bad "unknown command" frobnicate
bad "run without --mode" run --fs ext4 --workload append --sync fsync --out "$T/r"
bad "run with a bad fs" run --mode nvdimm --fs btrfs --workload append --sync fsync --out "$T/r"
bad "run with a bad sync" run --mode nvdimm --fs ext4 --workload append --sync never --out "$T/r"
bad "run with a bad size" run --mode nvdimm --fs ext4 --workload append --sync fsync --size 12Q --out "$T/r"
bad "run with xfs too small" run --mode nvdimm --fs xfs --workload append --sync fsync --size 256M --out "$T/r"
bad "run without --out" run --mode nvdimm --fs ext4 --workload append --sync fsync
bad "run with an unknown option" run --mode nvdimm --frob
bad "run with a bad --records" run --mode nvdimm --fs ext4 --workload append --sync fsync --records x --out "$T/r"
bad "serve without --size" serve --file "$T/x.img"
bad "attach without --domain" attach --file "$T/x.img" --mode nvdimm
bad "attach with a bad mode" attach --domain d --file "$T/x.img" --mode dimm
bad "detach with --file" detach --domain d --file "$T/x.img"
bad "report of a missing file" report "$T/nothing.jsonl"

# --- serve ------------------------------------------------------------------------
IMG=$T/pmem.img
t_spawn serve "$H" serve --file "$IMG" --size 258M >"$T/serve.out" 2>"$T/serve.err"
for i in $(seq 100); do grep -q '^serving' "$T/serve.out" && break; sleep 0.1; done
if grep -q '^serving' "$T/serve.out" && [ -e "$IMG.view/nbd" ] && [ -S "$IMG.ctl" ]; then
    t_ok "serve: device up, view $IMG.view/nbd, control $IMG.ctl"
else
    t_fail "serve" "$(cat "$T/serve.out" "$T/serve.err")"
    t_done
fi
grep -q "<memory model='nvdimm' access='shared'>" "$T/serve.out" &&
    grep -q "virtio-pmem-pci,memdev=pmemcut-mem0" "$T/serve.out" &&
    t_ok "serve: prints the XML of both modes" || t_fail "serve XML" "$(cat "$T/serve.out")"
NBDKIT_PID=$(sed -n 's/^serving (nbdkit pid \([0-9]*\)).*/\1/p' "$T/serve.out")

# --- a domain of our own --------------------------------------------------------
cat >"$T/dom.xml" <<EOF
<domain type='qemu'>
  <name>pmemcut-attach-test</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$KERNEL</kernel>
    <cmdline>console=ttyS0 panic=-1</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <serial type='file'><source path='$T/console.log'/></serial>
  </devices>
  <seclabel type='none' model='dac'/>
</domain>
EOF
V define "$T/dom.xml" >/dev/null || { t_fail "define" "virsh define failed"; t_done; }
V dumpxml --inactive pmemcut-attach-test >"$T/orig.xml"

"$H" attach --connect "$URI" --domain pmemcut-attach-test --file "$IMG" --mode nvdimm --dry-run \
    >"$T/dry.out" 2>&1
V dumpxml --inactive pmemcut-attach-test >"$T/after-dry.xml"
if grep -q "^+.*<memory model=\"nvdimm\"" "$T/dry.out" && grep -q '^+.*<maxMemory' "$T/dry.out" &&
    cmp -s "$T/orig.xml" "$T/after-dry.xml"; then
    t_ok "attach --dry-run: prints the difference, changes nothing"
else
    t_fail "attach --dry-run" "$(cat "$T/dry.out")"
fi

for mode in nvdimm virtio-pmem; do
    if ! "$H" attach --connect "$URI" --domain pmemcut-attach-test --file "$IMG" --mode $mode \
        >"$T/att.out" 2>&1; then
        t_fail "attach $mode" "$(cat "$T/att.out")"
        continue
    fi
    V dumpxml --inactive pmemcut-attach-test >"$T/att-$mode.xml"
    if grep -q "$IMG.view/nbd" "$T/att-$mode.xml"; then
        t_ok "attach $mode: the definition names the view"
    else
        t_fail "attach $mode" "view not in the XML"
    fi
    "$H" attach --connect "$URI" --domain pmemcut-attach-test --file "$IMG" --mode $mode \
        >/dev/null 2>"$T/twice.err"
    [ $? -eq 2 ] && [ "$(wc -l <"$T/twice.err")" -eq 1 ] &&
        t_ok "attach $mode twice: one-line error" || t_fail "attach twice" "$(cat "$T/twice.err")"
    # Start it for real: QEMU must accept the device and show it.
    V "start pmemcut-attach-test; qemu-monitor-command pmemcut-attach-test --hmp info memory-devices; destroy pmemcut-attach-test" \
        >"$T/start-$mode.out" 2>&1
    if grep -q "^Memory device \[$mode\]" "$T/start-$mode.out"; then
        t_ok "attach $mode: the VM starts with the device"
    else
        t_fail "attach $mode: start" "$(cat "$T/start-$mode.out")"
    fi
    "$H" detach --connect "$URI" --domain pmemcut-attach-test >"$T/det.out" 2>&1 ||
        t_fail "detach $mode" "$(cat "$T/det.out")"
    V dumpxml --inactive pmemcut-attach-test >"$T/det-$mode.xml"
    if cmp -s "$T/orig.xml" "$T/det-$mode.xml"; then
        t_ok "detach $mode: the definition is exactly the original again"
    else
        t_fail "detach $mode" "$(diff "$T/orig.xml" "$T/det-$mode.xml")"
    fi
done
"$H" detach --connect "$URI" --domain pmemcut-attach-test >/dev/null 2>"$T/det2.err"
[ $? -eq 2 ] && [ "$(wc -l <"$T/det2.err")" -eq 1 ] &&
    t_ok "detach with nothing attached: one-line error" || t_fail "detach twice" "$(cat "$T/det2.err")"
V undefine pmemcut-attach-test >/dev/null

# --- serve stops cleanly on SIGINT, keeping image and audit log -----------------
kill -INT "$PID_serve"
for i in $(seq 100); do kill -0 "$PID_serve" 2>/dev/null || break; sleep 0.1; done
wait "$PID_serve"
rc=$?
left=""
[ -n "$NBDKIT_PID" ] && kill -0 "$NBDKIT_PID" 2>/dev/null && left="nbdkit $NBDKIT_PID"
grep -qs " $IMG.view " /proc/mounts && left="$left mount $IMG.view"
if [ $rc -eq 0 ] && [ -z "$left" ] && [ -s "$IMG" ] && [ -s "$IMG.audit.jsonl" ]; then
    t_ok "serve: SIGINT stops nbdkit and unmounts the view, keeps image and audit log"
else
    t_fail "serve stop" "rc=$rc left=[$left] $(cat "$T/serve.err")"
fi
# The data log is kept by default: the history replays to the image.
if [ -s "$IMG.dlog" ] && grep -q "^data:    $IMG.dlog" "$T/serve.out" &&
    "$REPLAY" replay --audit "$IMG.audit.jsonl" --data "$IMG.dlog" -o "$T/replayed.img" \
        >"$T/replay.out" 2>&1 && cmp -s "$T/replayed.img" "$IMG"; then
    t_ok "serve: keeps IMG.dlog; the history replays to the image byte for byte"
else
    t_fail "serve data log" "$(cat "$T/replay.out" 2>/dev/null; ls -la "$IMG"*)"
fi
rm -f "$T/replayed.img"
t_done
