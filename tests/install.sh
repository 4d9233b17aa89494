#!/bin/bash
# make install into a private DESTDIR, the installed programs run from
# there, then make uninstall: nothing of it is left.  Never the real /: the
# check that `nbdkit pmemcut` finds the plugin by name binds the installed
# plugin directory over nbdkit's in a private mount namespace (unshare -m),
# which the rest of the machine never sees.
set -u
. "$(dirname "$0")/lib.sh"
t_require nbdkit jq pkg-config unshare mount man
t_tmpdir
PLUGINDIR=$(pkg-config --variable=plugindir nbdkit)
[ -n "$PLUGINDIR" ] || {
    t_fail "prerequisite" "pkg-config knows no plugindir for nbdkit (nbdkit-plugin-dev)"
    t_done
}
R=$(cd "$T" && pwd -P)/root # paths prints resolved paths
P=/usr/local
LIB=$R$P/lib/pmemcut

if make --no-print-directory -C "$TOP" install DESTDIR="$R" PREFIX="$P" >"$T/install.log" 2>&1; then
    t_ok "make install DESTDIR=... PREFIX=$P"
else
    t_fail "make install DESTDIR=... PREFIX=$P" "$(tail -n 5 "$T/install.log")"
    t_done
fi

# What is where: exactly these files, and the manifest lists them.
cat >"$T/want" <<EOF
$PLUGINDIR/nbdkit-pmemcut-plugin.so
$P/bin/pmemcut-audit
$P/bin/pmemcut-host
$P/bin/pmemcut-replay
$P/bin/pmemcutctl
$P/lib/pmemcut/guest-initramfs.cpio
$P/lib/pmemcut/guest-initramfs.cpio.gz
$P/lib/pmemcut/guest-kernel
$P/lib/pmemcut/install-manifest
$P/lib/pmemcut/nbdkit-pmemcut-plugin.so
$P/lib/pmemcut/pmemcut-agent
$P/lib/pmemcut/pmemcut-tracer.so
$P/share/man/man1/nbdkit-pmemcut-plugin.1
$P/share/man/man1/pmemcut-agent.1
$P/share/man/man1/pmemcut-audit.1
$P/share/man/man1/pmemcut-host.1
$P/share/man/man1/pmemcut-replay.1
$P/share/man/man1/pmemcutctl.1
EOF
# the unpacked kernel goes with the image when make image made one
[ "$(cat "$TOP/build/guest-kernel")" = "$TOP/build/guest-vmlinux" ] && echo "$P/lib/pmemcut/guest-vmlinux" >>"$T/want"
sort -o "$T/want" "$T/want"
(cd "$R" && find . ! -type d | sed 's|^\.||' | sort) >"$T/have"
if cmp -s "$T/want" "$T/have"; then
    t_ok "installed: $(wc -l <"$T/have") files, the ones expected"
else
    t_fail "installed: the files expected" "$(diff "$T/want" "$T/have" | grep '^[<>]' | head -n 5 | tr '\n' ' ')"
fi
grep -v install-manifest "$T/want" >"$T/want-listed"
t_check "the manifest lists every file installed" cmp -s "$T/want-listed" <(sort "$LIB/install-manifest")
t_check "the programs are executable" test -x "$R$P/bin/pmemcut-host" -a -x "$R$P/bin/pmemcutctl" \
    -a -x "$R$P/bin/pmemcut-audit" -a -x "$R$P/bin/pmemcut-replay" -a -x "$LIB/pmemcut-agent"

# The plugin, by path and by name.
if nbdkit --dump-plugin "$R$PLUGINDIR/nbdkit-pmemcut-plugin.so" >"$T/dump" 2>&1 &&
    grep -qx 'name=pmemcut' "$T/dump"; then
    t_ok "nbdkit --dump-plugin of the installed plugin: name=pmemcut"
else
    t_fail "nbdkit --dump-plugin of the installed plugin" "$(head -n 3 "$T/dump")"
fi
if unshare -m --propagation private sh -c \
    "mount --bind '$R$PLUGINDIR' '$PLUGINDIR' && nbdkit pmemcut --dump-plugin" >"$T/byname" 2>&1 &&
    grep -qx "path=$PLUGINDIR/nbdkit-pmemcut-plugin.so" "$T/byname" && grep -qx 'name=pmemcut' "$T/byname"; then
    t_ok "nbdkit pmemcut finds the plugin by name in nbdkit's plugin directory"
else
    t_fail "nbdkit pmemcut finds the plugin by name" "$(head -n 3 "$T/byname")"
fi

# Every installed program answers --help.
for p in "$R$P/bin/pmemcut-host" "$R$P/bin/pmemcutctl" "$R$P/bin/pmemcut-audit" \
    "$R$P/bin/pmemcut-replay" "$LIB/pmemcut-agent"; do
    t_check "${p#"$R"} --help exits 0" "$p" --help
done

# The installed pmemcutctl against nbdkit with the installed plugin; the
# README's example: a flushed block and an unflushed one (nbdsh, which
# flushes nothing at exit), what is dirty, a cut, power-on.
ICTL=$R$P/bin/pmemcutctl
if t_nbdkit dev "$R$PLUGINDIR/nbdkit-pmemcut-plugin.so" file="$T/img" size=1M; then
    t_check "installed pmemcutctl: status of the installed plugin's device" \
        bash -c "'$ICTL' -s '$T/img.ctl' status | jq -e '.power == \"on\" and .size == 1048576'"
    if command -v nbdsh >/dev/null; then
        # nbdsh runs `python3`: Debian's, which has the nbd module (python3-libnbd)
        PATH=/usr/bin:$PATH nbdsh -u "nbd+unix:///?socket=$T/dev.sock" \
            -c 'h.pwrite(b"a" * 4096, 0); h.flush(); h.pwrite(b"b" * 4096, 4096)' 2>"$T/nbdsh.err"
        t_check "nbdsh: one block flushed, one not: 64 dirty lines at 4096" bash -c \
            "'$ICTL' -s '$T/img.ctl' dirty | jq -e '.dirty_lines == 64 and .ranges == [[4096,4096,\"unknown\"]]'"
    else
        t_fail "nbdsh" "not found (python3-libnbd: make deps)"
    fi
    t_check "installed pmemcutctl: cut" bash -c \
        "'$ICTL' -s '$T/img.ctl' cut policy=lose-all | jq -e '.ev == \"cut\"'"
    t_check "installed pmemcutctl: power-on" "$ICTL" -s "$T/img.ctl" power-on
    stop_dev dev
    t_check "installed pmemcut-audit: summary of that device's log" bash -c \
        "'$R$P/bin/pmemcut-audit' summary '$T/img.audit.jsonl' --json | jq -e '.cuts | length == 1'"
else
    t_fail "nbdkit with the installed plugin" "did not start: $(head -n 3 "$T/dev.err")"
fi

# The built tree's pmemcut-host still finds the tree's own parts.
TREE=$(cd "$TOP" && pwd -P)
if "$TOP/host/pmemcut-host" paths >"$T/paths-tree" 2>&1 &&
    grep -qx "plugin *$TREE/plugin/nbdkit-pmemcut-plugin.so" "$T/paths-tree" &&
    grep -qx "initrd *$TREE/build/guest-initramfs.cpio" "$T/paths-tree" &&
    grep -qx "audit *$TREE/tools/pmemcut-audit" "$T/paths-tree" &&
    grep -qx "agent *$TREE/guest/pmemcut-agent" "$T/paths-tree"; then
    t_ok "the built tree's pmemcut-host paths: the tree's plugin, image, pmemcut-audit, agent"
else
    t_fail "the built tree's pmemcut-host paths" "$(tr '\n' ' ' <"$T/paths-tree")"
fi

# The installed pmemcut-host finds its parts in the installed tree.
IHOST=$R$P/bin/pmemcut-host
if "$IHOST" paths >"$T/paths" 2>"$T/paths.err"; then
    t_ok "installed pmemcut-host paths: exit 0"
else
    t_fail "installed pmemcut-host paths" "$(cat "$T/paths" "$T/paths.err")"
fi
path_is() {
    if grep -qx "$1 *$2" "$T/paths"; then t_ok "paths: $1 is ${2#"$R"}"; else t_fail "paths: $1 is ${2#"$R"}" "$(grep "^$1" "$T/paths")"; fi
}
path_is plugin "$R$PLUGINDIR/nbdkit-pmemcut-plugin.so"
path_is initrd "$LIB/guest-initramfs.cpio"
if grep -qx "$P/lib/pmemcut/guest-vmlinux" "$T/want"; then
    path_is kernel "$LIB/guest-vmlinux"
else
    path_is kernel "$(cat "$TOP/build/guest-kernel")"
fi
path_is audit "$R$P/bin/pmemcut-audit"
path_is agent "$LIB/pmemcut-agent"
path_is tracer "$LIB/pmemcut-tracer.so"
t_check "PMEMCUT_AGENT overrides the installed agent" bash -c \
    "PMEMCUT_AGENT='$TOP/guest/pmemcut-agent' '$IHOST' paths | grep -qx 'agent *$TOP/guest/pmemcut-agent'"
# As it would be installed for real, in a private mount namespace: PREFIX
# and nbdkit's plugin directory are the installed ones.
if unshare -m --propagation private sh -c "mount --bind '$R$P' '$P' && mount --bind '$R$PLUGINDIR' '$PLUGINDIR' &&
    $P/bin/pmemcut-host paths" >"$T/paths-real" 2>&1 &&
    grep -qx "plugin *$PLUGINDIR/nbdkit-pmemcut-plugin.so" "$T/paths-real" &&
    grep -qx "initrd *$P/lib/pmemcut/guest-initramfs.cpio" "$T/paths-real" &&
    grep -qx "audit *$P/bin/pmemcut-audit" "$T/paths-real"; then
    t_ok "installed at $P (a private mount namespace): paths names $P and nbdkit's plugin directory"
else
    t_fail "installed at $P (a private mount namespace): paths" "$(tr '\n' ' ' <"$T/paths-real")"
fi
# run itself takes the image from there: without it, it says so before
# anything starts.
mv "$LIB/guest-initramfs.cpio" "$T/cpio.aside" && mv "$LIB/guest-initramfs.cpio.gz" "$T/gz.aside"
"$IHOST" run --mode virtio-pmem --fs ext4 --workload append --sync fsync --out "$T/run" >/dev/null 2>"$T/run.err"
rc=$?
if [ $rc = 2 ] && [ "$(wc -l <"$T/run.err")" = 1 ] &&
    grep -q "^pmemcut-host: guest image $LIB/guest-initramfs.cpio.gz not found" "$T/run.err"; then
    t_ok "installed pmemcut-host run without the installed image: exit 2, names $P/lib/pmemcut's"
else
    t_fail "installed pmemcut-host run without the installed image" "exit $rc: $(cat "$T/run.err")"
fi
mv "$T/cpio.aside" "$LIB/guest-initramfs.cpio" && mv "$T/gz.aside" "$LIB/guest-initramfs.cpio.gz"
"$IHOST" run --mode virtio-pmem --bogus >/dev/null 2>"$T/bad.err"
rc=$?
t_check "installed pmemcut-host run with a bad option: exit 2, one line" \
    test $rc = 2 -a "$(wc -l <"$T/bad.err")" = 1

# The man pages, where man looks.
for m in pmemcut-host pmemcutctl pmemcut-audit pmemcut-replay pmemcut-agent nbdkit-pmemcut-plugin; do
    if f=$(MANPATH=$R$P/share/man man -w "$m" 2>/dev/null) && [ "$f" = "$R$P/share/man/man1/$m.1" ] &&
        MANPATH=$R$P/share/man MANWIDTH=80 man "$m" 2>/dev/null | grep -q '^NAME'; then
        t_ok "man $m: the installed page"
    else
        t_fail "man $m" "found '${f:-nothing}'"
    fi
done

# Installed again over itself: still the same files (the old ones go first).
make --no-print-directory -C "$TOP" install DESTDIR="$R" PREFIX="$P" >"$T/install2.log" 2>&1
(cd "$R" && find . ! -type d | sed 's|^\.||' | sort) >"$T/have2"
t_check "make install again: the same files" cmp -s "$T/have" "$T/have2"

# Uninstall: no file left (empty folders only), and a second one says
# there is nothing to remove.
if make --no-print-directory -C "$TOP" uninstall DESTDIR="$R" PREFIX="$P" >"$T/uninstall.log" 2>&1; then
    t_ok "make uninstall DESTDIR=..."
else
    t_fail "make uninstall DESTDIR=..." "$(tail -n 3 "$T/uninstall.log")"
fi
left=$(cd "$R" && find . ! -type d)
if [ -z "$left" ]; then
    t_ok "after uninstall: no file left ($(cd "$R" && find . -type d | wc -l) empty folders)"
else
    t_fail "after uninstall: no file left" "$(echo "$left" | head -n 5 | tr '\n' ' ')"
fi
t_check "after uninstall: $P/lib/pmemcut is gone" test ! -e "$LIB"
make --no-print-directory -C "$TOP" uninstall DESTDIR="$R" PREFIX="$P" >"$T/uninstall2.log" 2>&1
rc=$?
t_check "make uninstall with nothing installed fails, saying so" \
    bash -c "[ $rc != 0 ] && grep -q 'install: nothing to uninstall' '$T/uninstall2.log'"
t_done
