#!/bin/sh
# guest/mkimage.sh — build the pmemcut guest initramfs from the installed
# Debian kernel's modules, busybox-static, the real e2fsprogs, xfsprogs and
# ndctl binaries (with their shared libraries), the agent and /init.
#
#   mkimage.sh --inputs KVER                   print the identity of every
#                                              system file the image takes
#                                              (make keeps it as a stamp)
#   mkimage.sh --build KVER AGENT INIT OUT     write OUT (a gzip'ed newc cpio),
#                                              next to it the same cpio
#                                              uncompressed (OUT without .gz),
#                                              guest-vmlinux (the kernel
#                                              unpacked, when it can boot
#                                              as is) and guest-kernel: the
#                                              path of the kernel to boot
set -eu

# Loaded by /init in this order (a subset per mode and filesystem); see
# guest/init.  Only these go into the image: the boot stays small and fast.
MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
virtio_console libnvdimm nd_btt nd_pmem nfit nd_virtio virtio_pmem
crc16 mbcache jbd2 crc32c_generic ext4 libcrc32c xfs"
# Real tools: busybox's applets of the same names are not the same programs.
TOOLS="mke2fs e2fsck mkfs.xfs xfs_repair ndctl"

die() {
    echo "mkimage: $*" >&2
    exit 1
}

tool_path() {
    PATH="/usr/sbin:/sbin:/usr/bin:/bin:$PATH" command -v "$1" || die "$1 not found (make deps)"
}

busybox_path() {
    for b in /bin/busybox /usr/bin/busybox; do
        if [ -x "$b" ] && ldd "$b" 2>&1 | grep -q 'not a dynamic executable'; then
            echo "$b"
            return
        fi
    done
    die "no static busybox (package busybox-static)"
}

# module_files KVER: the file of every module in MODULES (absolute), or
# nothing for one built into the kernel.
module_files() {
    dir=/lib/modules/$1
    [ -f "$dir/modules.dep" ] || die "$dir/modules.dep missing"
    for m in $MODULES; do
        f=$(sed -n "s@^\([^:]*/$m\.ko\(\.xz\|\.zst\|\.gz\)\?\):.*@\1@p" "$dir/modules.dep" | head -n 1)
        if [ -n "$f" ]; then
            echo "$dir/$f"
        elif ! grep -q "/$m\.ko\$" "$dir/modules.builtin" 2>/dev/null; then
            die "module $m is neither in $dir/modules.dep nor built in"
        fi
    done
}

# libs FILE...: the shared libraries (and loader) the files need.
libs() {
    ldd "$@" 2>/dev/null | sed -n 's@.*=> \(/[^ ]*\) .*@\1@p; s@^[[:space:]]*\(/[^ ]*\) (.*@\1@p' | sort -u
}

inputs() {
    kver=$1
    [ -n "$kver" ] || die "no kernel version (is linux-image-amd64 installed?)"
    [ -f "/boot/vmlinuz-$kver" ] || die "/boot/vmlinuz-$kver missing"
    echo "kernel $kver"
    tools=$(for t in $TOOLS; do tool_path "$t"; done)
    # shellcheck disable=SC2086
    for f in "/boot/vmlinuz-$kver" $(module_files "$kver") "$(busybox_path)" $tools $(libs $tools) \
        /etc/mke2fs.conf; do
        [ -e "$f" ] && stat -L -c '%n %s %Y' "$f"
    done
}

# extract_pvh BZIMAGE OUT: the ELF kernel inside a compressed bzImage, if it
# has a PVH entry point (the XEN_ELFNOTE_PHYS32_ENTRY note, type 0x12).
# QEMU then starts it directly: no firmware boot loader, and no unpacking
# of 8 MB of xz under TCG at every boot (about 1.5 s here).
extract_pvh() {
    command -v readelf >/dev/null || return 1
    for fmt in xz gzip zstd; do
        case $fmt in
        xz) magic='\3757zXZ\000' ;;
        gzip) magic='\037\213\010' ;;
        zstd) magic='\050\265\057\375' ;;
        esac
        command -v "$fmt" >/dev/null || continue
        pos=$(LC_ALL=C grep -abo "$(printf "$magic")" "$1" 2>/dev/null | head -n 1 | cut -d: -f1)
        [ -n "$pos" ] || continue
        tail -c +$((pos + 1)) "$1" | "$fmt" -dc >"$2" 2>/dev/null
        if readelf -n "$2" 2>/dev/null | grep -q '(0x00000012)'; then
            return 0
        fi
    done
    rm -f "$2"
    return 1
}

build() {
    kver=$1 agent=$2 init=$3 out=$4
    # A private tree and temporary file: two builds at once do not clash,
    # and the image appears whole (mv) or not at all.
    mkdir -p "$(dirname "$out")/guest"
    root=$(cd "$(mktemp -d "$(dirname "$out")/guest/root.XXXXXX")" && pwd)
    tmp=$out.tmp.$$
    trap 'rm -rf "$root" "$tmp" "$tmp.cpio"' EXIT
    cd "$root"
    mkdir -p bin usr/bin usr/sbin lib lib64 proc sys dev run tmp etc mnt/pmem "lib/modules/$kver"
    ln -s bin sbin

    # Real tools first, in /usr/sbin (first in PATH), with their libraries.
    tools=$(for t in $TOOLS; do tool_path "$t"; done)
    for t in $tools; do cp -L "$t" usr/sbin/; done
    # shellcheck disable=SC2086
    for l in $(libs $tools); do
        mkdir -p ".$(dirname "$l")"
        cp -L "$l" ".$l"
    done
    [ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf etc/
    ln -s /proc/self/mounts etc/mtab

    bb=$(busybox_path)
    cp "$bb" bin/busybox
    for a in $("$bb" --list); do
        [ -e "bin/$a" ] || [ -e "usr/sbin/$a" ] || ln -s busybox "bin/$a"
    done

    src=/lib/modules/$kver
    for f in $(module_files "$kver"); do
        rel=${f#"$src"/}
        mkdir -p "lib/modules/$kver/$(dirname "$rel")"
        case "$f" in
        *.xz) xz -dc "$f" >"lib/modules/$kver/${rel%.xz}" ;;
        *.zst) zstd -qdc "$f" >"lib/modules/$kver/${rel%.zst}" ;;
        *.gz) gzip -dc "$f" >"lib/modules/$kver/${rel%.gz}" ;;
        *) cp "$f" "lib/modules/$kver/$rel" ;;
        esac
    done
    for f in modules.builtin modules.builtin.modinfo modules.order; do
        [ -f "$src/$f" ] && cp "$src/$f" "lib/modules/$kver/"
    done
    depmod -b . "$kver" 2>/dev/null || die "depmod failed"

    cd - >/dev/null
    strip -o "$root/usr/bin/pmemcut-agent" "$agent" 2>/dev/null || cp "$agent" "$root/usr/bin/pmemcut-agent"
    cp "$init" "$root/init"
    chmod 755 "$root/init" "$root/usr/bin/pmemcut-agent"

    # The host boots the uncompressed cpio: unpacking 22 MB of gzip takes
    # the guest kernel about 1.5 s under TCG, copying it a fraction of that.
    # The gzip'ed one is for copying elsewhere.
    (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$tmp.cpio"
    gzip -6 -c "$tmp.cpio" >"$tmp"
    mv "$tmp.cpio" "${out%.gz}"
    mv "$tmp" "$out"
    dir=$(cd "$(dirname "$out")" && pwd)
    kernel=/boot/vmlinuz-$kver
    if extract_pvh "$kernel" "$tmp"; then
        mv "$tmp" "$dir/guest-vmlinux"
        kernel=$dir/guest-vmlinux
    else
        rm -f "$dir/guest-vmlinux"
    fi
    echo "$kernel" >"$tmp"
    mv "$tmp" "$dir/guest-kernel"
    echo "mkimage: $out ($(du -k "$out" | cut -f1) KiB, ${out%.gz} $(du -k "${out%.gz}" | cut -f1) KiB) for kernel $kver, booting $kernel"
}

case "${1:-}" in
--inputs)
    [ $# -eq 2 ] || die "usage: $0 --inputs KVER"
    inputs "$2"
    ;;
--build)
    [ $# -eq 5 ] || die "usage: $0 --build KVER AGENT INIT OUT"
    build "$2" "$3" "$4" "$5"
    ;;
*)
    die "usage: $0 --inputs KVER | --build KVER AGENT INIT OUT"
    ;;
esac
