#!/bin/bash
# tests/host-attach.sh — pmemcut-host serve, attach and detach on a domain
# defined by this test (libvirt's embedded QEMU driver, no daemon), and the
# one-line errors of bad arguments. One short VM start per mode proves that
# QEMU really gets the device; the round trip must restore the exact XML.
# nvdimm is attached twice: under the ADR cache model (the default; the
# tracer's -plugin in <qemu:commandline>, and its start proves QEMU loaded
# it: the tracer's counts, connected to serve's IMG.nbd) and under eadr (no
# plugin). adr is refused for virtio-pmem and for a domain that is not TCG.
# ATTACH_BOOT=1 adds a real boot of an attached domain under adr (below).
. "$(dirname "$0")/lib.sh"
t_tmpdir
H=$TOP/build/san/host/pmemcut-host # the sanitizer build (make build/san/host/pmemcut-host)
t_require "$H" "$REPLAY" "$TOP/plugin/nbdkit-pmemcut-plugin.so" "$TOP/host/tcg/pmemcut-tracer.so" virsh nbdkit \
    nbdfuse fusermount3 qemu-system-x86_64 jq

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
bad "attach with a bad --cache-model" attach --domain d --file "$T/x.img" --mode nvdimm --cache-model cold
bad "attach --cache-model adr for virtio-pmem" attach --domain d --file "$T/x.img" --mode virtio-pmem --cache-model adr
bad "serve with a bad --cache-model" serve --file "$T/x.img" --size 258M --cache-model warm
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
# Under adr (the default) the nvdimm XML has the tracer's -plugin argument,
# naming the view, the socket's stable name and the counts file.
PLUGIN_ARG="pmemcut-tracer.so,arg=nvfile=$IMG.view/nbd,arg=nbd=$IMG.nbd,arg=counts=$IMG.tracer.json"
if grep -q "^cache:   adr" "$T/serve.out" && grep -q "<qemu:arg value='-plugin'/>" "$T/serve.out" &&
    grep -q -F "$PLUGIN_ARG\"/>" "$T/serve.out" && [ -L "$IMG.nbd" ] && [ -S "$IMG.nbd" ]; then
    t_ok "serve: adr by default, prints the tracer's -plugin XML; $IMG.nbd links to the NBD socket"
else
    t_fail "serve adr XML" "$(cat "$T/serve.out"; ls -la "$IMG.nbd")"
fi

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
if grep -q '^+.*<qemu:arg value="-plugin"/>' "$T/dry.out" &&
    grep -q -F "$PLUGIN_ARG\"/>" "$T/dry.out" && grep -q '^+.*<qemu:commandline>' "$T/dry.out"; then
    t_ok "attach --dry-run nvdimm: adr by default, the tracer's -plugin in <qemu:commandline>"
else
    t_fail "attach --dry-run adr" "$(cat "$T/dry.out")"
fi
"$H" attach --connect "$URI" --domain pmemcut-attach-test --file "$IMG" --mode nvdimm \
    --cache-model eadr --dry-run >"$T/dry-eadr.out" 2>&1
grep -q '^+.*<memory model="nvdimm"' "$T/dry-eadr.out" && ! grep -q -- '-plugin' "$T/dry-eadr.out" &&
    t_ok "attach --dry-run nvdimm --cache-model eadr: no plugin" ||
    t_fail "attach --dry-run eadr" "$(cat "$T/dry-eadr.out")"
# KVM runs no TCG plugins: adr on a kvm domain is refused, one line.
sed -e "s/type='qemu'/type='kvm'/" -e 's/pmemcut-attach-test/pmemcut-attach-kvm/' "$T/dom.xml" >"$T/kvm.xml"
if V define "$T/kvm.xml" >/dev/null 2>"$T/kvm-define.err"; then
    "$H" attach --connect "$URI" --domain pmemcut-attach-kvm --file "$IMG" --mode nvdimm --dry-run \
        >/dev/null 2>"$T/kvm.err"
    rc=$?
    [ $rc = 2 ] && [ "$(wc -l <"$T/kvm.err")" = 1 ] && grep -q "type='qemu'" "$T/kvm.err" &&
        grep -q -- '--cache-model eadr' "$T/kvm.err" &&
        t_ok "attach nvdimm (adr) to a kvm domain: refused, one line ($(cat "$T/kvm.err"))" ||
        t_fail "attach adr to kvm" "exit $rc: $(cat "$T/kvm.err")"
    V undefine pmemcut-attach-kvm >/dev/null
else
    t_fail "define a kvm domain" "$(cat "$T/kvm-define.err")"
fi

for how in nvdimm nvdimm-eadr virtio-pmem; do
    mode=${how%-eadr}
    extra=()
    [ "$how" = nvdimm-eadr ] && extra=(--cache-model eadr)
    rm -f "$IMG.tracer.json"
    if ! "$H" attach --connect "$URI" --domain pmemcut-attach-test --file "$IMG" --mode $mode \
        "${extra[@]}" >"$T/att.out" 2>&1; then
        t_fail "attach $mode" "$(cat "$T/att.out")"
        continue
    fi
    V dumpxml --inactive pmemcut-attach-test >"$T/att-$how.xml"
    if grep -q "$IMG.view/nbd" "$T/att-$how.xml"; then
        t_ok "attach $how: the definition names the view"
    else
        t_fail "attach $how" "view not in the XML"
    fi
    "$H" attach --connect "$URI" --domain pmemcut-attach-test --file "$IMG" --mode $mode \
        >/dev/null 2>"$T/twice.err"
    [ $? -eq 2 ] && [ "$(wc -l <"$T/twice.err")" -eq 1 ] &&
        t_ok "attach $how twice: one-line error" || t_fail "attach twice" "$(cat "$T/twice.err")"
    # Start it for real: QEMU must accept the device and show it.
    V "start pmemcut-attach-test; qemu-monitor-command pmemcut-attach-test --hmp info memory-devices; destroy pmemcut-attach-test" \
        >"$T/start-$how.out" 2>&1
    if grep -q "^Memory device \[$mode\]" "$T/start-$how.out"; then
        t_ok "attach $how: the VM starts with the device"
    else
        t_fail "attach $how: start" "$(cat "$T/start-$how.out")"
    fi
    # Under adr QEMU ran the tracer: it passed its checks, connected to the
    # device through IMG.nbd and wrote its counts at exit.
    if [ "$how" = nvdimm ]; then
        if jq -e 'has("refused") | not' "$IMG.tracer.json" >/dev/null 2>&1 &&
            grep -q -- '-plugin' "$T/att-$how.xml"; then
            t_ok "attach nvdimm (adr): QEMU ran the tracer ($(jq -c '{stores, fences, lines_persisted}' "$IMG.tracer.json"))"
        else
            t_fail "attach nvdimm adr: tracer" "$(cat "$IMG.tracer.json" 2>&1)"
        fi
    elif [ -e "$IMG.tracer.json" ] || grep -q -- '-plugin' "$T/att-$how.xml"; then
        t_fail "attach $how: no tracer" "$(grep -- -plugin "$T/att-$how.xml")"
    fi
    "$H" detach --connect "$URI" --domain pmemcut-attach-test >"$T/det.out" 2>&1 ||
        t_fail "detach $how" "$(cat "$T/det.out")"
    V dumpxml --inactive pmemcut-attach-test >"$T/det-$how.xml"
    if cmp -s "$T/orig.xml" "$T/det-$how.xml"; then
        t_ok "detach $how: the definition is exactly the original again"
    else
        t_fail "detach $how" "$(diff "$T/orig.xml" "$T/det-$how.xml")"
    fi
done
# ATTACH_BOOT=1 (make soak sets it; about a minute, too long for make
# check): one real boot of an attached domain under adr. The guest image
# makes the fsdax namespace, mkfs.ext4 and mounts it -o dax
# (pmemcut.action=prepare), then powers off. The tracer saw the kernel's
# stores to the nvdimm and persisted lines on the device through IMG.nbd,
# which the device's audit log shows as FUA writes.
INITRD=$TOP/build/guest-initramfs.cpio.gz
if [ "${ATTACH_BOOT:-0}" = 1 ]; then
sed -e 's/pmemcut-attach-test/pmemcut-attach-boot/' -e "s|<memory unit='MiB'>256</memory>|<memory unit='MiB'>512</memory>|" \
    -e "s|<kernel>$KERNEL</kernel>|<kernel>$KERNEL</kernel><initrd>$INITRD</initrd>|" \
    -e "s|<cmdline>.*</cmdline>|<cmdline>console=ttyS0 panic=-1 pmemcut.mode=nvdimm pmemcut.fs=ext4 pmemcut.action=prepare pmemcut.mkfs=1 pmemcut.end=poweroff</cmdline>|" \
    -e "s|$T/console.log|$T/boot-console.log|" "$T/dom.xml" >"$T/boot.xml"
rm -f "$IMG.tracer.json"
fua0=$(grep -c '"fua":true' "$IMG.audit.jsonl")
if [ -r "$INITRD" ] && V define "$T/boot.xml" >/dev/null &&
    "$H" attach --connect "$URI" --domain pmemcut-attach-boot --file "$IMG" --mode nvdimm >"$T/boot-att.out" 2>&1 &&
    V start pmemcut-attach-boot >/dev/null 2>"$T/boot-start.err"; then
    t0=$SECONDS
    while [ "$(V domstate pmemcut-attach-boot 2>/dev/null)" = running ] && [ $((SECONDS - t0)) -lt 240 ]; do sleep 1; done
    [ "$(V domstate pmemcut-attach-boot 2>/dev/null)" = running ] && V destroy pmemcut-attach-boot >/dev/null
    prep=$(sed -n 's/^PMEMCUT-PREPARE //p' "$T/boot-console.log" | tr -d '\r')
    fua=$(($(grep -c '"fua":true' "$IMG.audit.jsonl") - fua0))
    if [ "$(jq -r '.dax' <<<"$prep" 2>/dev/null)" = true ] &&
        jq -e '(has("refused") | not) and .nt_stores > 0 and .lines_persisted > 0' "$IMG.tracer.json" >/dev/null 2>&1 &&
        [ "$fua" -gt 0 ]; then
        t_ok "attach nvdimm (adr), a real boot: namespace, mkfs.ext4, mount -o dax in $((SECONDS - t0)) s; the tracer: $(jq -c '{nt_stores, fences, lines_persisted}' "$IMG.tracer.json"), $fua FUA writes on the device"
    else
        t_fail "attach adr boot" "prepare: $prep; tracer: $(cat "$IMG.tracer.json" 2>&1); FUA writes: $fua; $(tail -5 "$T/boot-console.log")"
    fi
    "$H" detach --connect "$URI" --domain pmemcut-attach-boot >/dev/null 2>&1
    # What the tracer did not persist — QEMU's own writes to the label area
    # above all, no CPU stores — is only written, not persisted: persist it
    # from the host as serve's XML says, or the replayed history below (the
    # persisted state) would lack it.
    sync "$IMG.view/nbd" || t_fail "sync the view" "sync $IMG.view/nbd failed"
else
    t_fail "attach adr boot: start" "$(cat "$T/boot-att.out" "$T/boot-start.err" 2>&1)"
fi
V undefine pmemcut-attach-boot >/dev/null 2>&1
fi

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
[ -L "$IMG.nbd" ] && left="$left link $IMG.nbd"
if [ $rc -eq 0 ] && [ -z "$left" ] && [ -s "$IMG" ] && [ -s "$IMG.audit.jsonl" ]; then
    t_ok "serve: SIGINT stops nbdkit, unmounts the view and removes IMG.nbd, keeps image and audit log"
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
