#!/bin/bash
# tests/host-system.sh — pmemcut-host run --connect qemu:///system: the same
# cycle through a libvirtd started here (virtlogd -d, libvirtd -d, pidfiles
# in our temp dir, both stopped by PID at exit), instead of the embedded
# driver. One cycle: virtio-pmem ext4 append/fsync, PASS.
. "$(dirname "$0")/lib.sh"
t_tmpdir
H=$TOP/build/san/host/pmemcut-host # the sanitizer build
t_require "$H" "$TOP/plugin/nbdkit-pmemcut-plugin.so" "$TOP/build/guest-initramfs.cpio.gz" \
    libvirtd virtlogd virsh nbdkit nbdfuse fusermount3 qemu-system-x86_64 jq
export TMPDIR=$T
# A libvirtd's QEMU must reach our files.
chmod 755 "$T"

if [ "$(id -u)" -ne 0 ]; then
    t_fail prerequisite "qemu:///system needs root to start libvirtd"
    t_done
fi
if [ -S /run/libvirt/libvirt-sock ] && virsh -c qemu:///system version >/dev/null 2>&1; then
    t_fail prerequisite "a libvirtd is already running; this test starts its own"
    t_done
fi

# daemon NAME: start NAME -d with a pidfile in $T; its PID joins those that
# lib.sh stops at exit.
daemon() {
    "$1" -d -p "$T/$1.pid" || return 1
    for i in $(seq 100); do [ -s "$T/$1.pid" ] && break; sleep 0.1; done
    [ -s "$T/$1.pid" ] || return 1
    T_PIDS="$(cat "$T/$1.pid") $T_PIDS"
}
if daemon virtlogd && daemon libvirtd; then
    t_ok "virtlogd and libvirtd started (pids $(cat "$T/virtlogd.pid") $(cat "$T/libvirtd.pid"))"
else
    t_fail "daemons" "virtlogd/libvirtd did not start"
    t_done
fi
for i in $(seq 100); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done

t0=$SECONDS
"$H" run --connect qemu:///system --mode virtio-pmem --fs ext4 --workload append --sync fsync \
    --records 16 --seed 41 --out "$T/sys" >"$T/sys.out" 2>"$T/sys.err"
rc=$?
echo "     (run: exit $rc in $((SECONDS - t0)) s)"
if [ $rc -eq 0 ] && [ "$(jq -r .verdict "$T/sys/results.jsonl")" = PASS ]; then
    t_ok "qemu:///system: virtio-pmem ext4 append/fsync PASS"
else
    t_fail "qemu:///system run" "rc=$rc $(cat "$T/sys.err" "$T/sys.out")"
fi
# The run's domains are gone from the daemon.
left=$(virsh -q -c qemu:///system list --all --name | grep -c '^pmemcut-')
[ "$left" -eq 0 ] && t_ok "qemu:///system: no domain left" || t_fail "domains left" "$left"
grep -q " $T/" /proc/mounts && t_fail "cleanup" "a mount is left" || t_ok "cleanup: no FUSE view left mounted"
t_done
