#!/bin/sh
# tools/install.sh — `make install` and `make uninstall` (install.mk gives
# PREFIX, DESTDIR, NBDKIT_PLUGINDIR and BUILD; run from the top of a built
# tree).
#
#   install.sh install     the plugin into nbdkit's plugin directory (so that
#                          `nbdkit pmemcut ...` finds it), the programs into
#                          PREFIX/bin, the agent, the guest image and a link
#                          to the plugin into PREFIX/lib/pmemcut (where an
#                          installed pmemcut-host looks: host/paths.c), the
#                          man pages into PREFIX/share/man/man1
#   install.sh uninstall   removes exactly what install put there
#
# Every file installed is listed, before it is copied, in
# PREFIX/lib/pmemcut/install-manifest (paths without DESTDIR), and
# uninstall removes what that list names, then the list and the folder.
# An install first uninstalls the one before it, so that a file the new one
# no longer has does not stay behind unlisted.
set -eu

PREFIX=${PREFIX:-/usr/local}
D=${DESTDIR:-}
BUILD=${BUILD:-build}
bindir=$PREFIX/bin
libdir=$PREFIX/lib/pmemcut
mandir=$PREFIX/share/man/man1
manifest=$libdir/install-manifest

die() {
    echo "install: $*" >&2
    exit 2
}

case $PREFIX in /*) ;; *) die "PREFIX must be an absolute path, not '$PREFIX'" ;; esac

# put MODE SRC DEST: install SRC as DESTDIR/DEST, listed first.
put() {
    [ -f "$2" ] || die "$2 is missing (run make and make image first)"
    echo "$3" >>"$D$manifest"
    install -D -m "$1" "$2" "$D$3"
}

# uninstall [quiet]: quiet when there is nothing to remove (before an install).
uninstall() {
    m=$D$manifest
    if [ ! -f "$m" ]; then
        [ "${1:-}" = quiet ] && return 0
        die "nothing to uninstall: $m is missing (the same PREFIX and DESTDIR as at install?)"
    fi
    while IFS= read -r f; do
        case $f in
        /*) rm -f -- "$D$f" ;;
        *) die "$m: not an absolute path: '$f'" ;;
        esac
    done <"$m"
    rm -f -- "$m"
    rmdir -- "$D$libdir" 2>/dev/null || true
}

install_all() {
    [ -n "${NBDKIT_PLUGINDIR:-}" ] ||
        die "nbdkit's plugin directory is unknown (pkg-config --variable=plugindir nbdkit; install nbdkit-plugin-dev, or give NBDKIT_PLUGINDIR=)"
    uninstall quiet
    mkdir -p "$D$libdir"
    : >"$D$manifest"

    plugin=$NBDKIT_PLUGINDIR/nbdkit-pmemcut-plugin.so
    put 755 plugin/nbdkit-pmemcut-plugin.so "$plugin"
    # pmemcut-host finds the plugin through this link; relative, so that it
    # also holds under DESTDIR and wherever the tree is moved as a whole.
    echo "$libdir/nbdkit-pmemcut-plugin.so" >>"$D$manifest"
    ln -sfr "$D$plugin" "$D$libdir/nbdkit-pmemcut-plugin.so"

    for p in host/pmemcut-host tools/pmemcutctl tools/pmemcut-audit tools/pmemcut-replay; do
        put 755 "$p" "$bindir/${p##*/}"
    done
    put 755 guest/pmemcut-agent "$libdir/pmemcut-agent"
    put 755 host/tcg/pmemcut-tracer.so "$libdir/pmemcut-tracer.so"
    put 644 "$BUILD/guest-initramfs.cpio" "$libdir/guest-initramfs.cpio"
    put 644 "$BUILD/guest-initramfs.cpio.gz" "$libdir/guest-initramfs.cpio.gz"

    # guest-kernel names the kernel to boot: make image's unpacked copy in
    # the build tree (installed with the image, and named relative to it)
    # or a /boot/vmlinuz-* (named as it is).
    kernel=$(cat "$BUILD/guest-kernel") || die "$BUILD/guest-kernel is missing (run make image)"
    tmp=$(mktemp)
    if [ "$kernel" = "$(cd "$BUILD" && pwd)/guest-vmlinux" ]; then
        put 644 "$BUILD/guest-vmlinux" "$libdir/guest-vmlinux"
        echo guest-vmlinux >"$tmp"
    else
        echo "$kernel" >"$tmp"
    fi
    put 644 "$tmp" "$libdir/guest-kernel"
    rm -f "$tmp"

    for m in plugin/nbdkit-pmemcut-plugin.1 man/*.1; do
        put 644 "$m" "$mandir/${m##*/}"
    done
    echo "install: $(wc -l <"$D$manifest") files under ${D:-/} (listed in $D$manifest);" \
        "the plugin is $D$plugin"
}

case ${1:-} in
install) install_all ;;
uninstall)
    uninstall
    echo "uninstall: done"
    ;;
*) die "usage: $0 install|uninstall" ;;
esac
