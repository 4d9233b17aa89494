#!/bin/sh
# Install the Debian packages pmemcut needs, and only those that are missing.
# Called by `make deps` (and so by `make demo` and `make check`); run as root.
set -eu

PACKAGES="
build-essential pkg-config
nbdkit nbdkit-plugin-dev libnbd-bin libnbd-dev python3-libnbd
qemu-system-x86 qemu-utils
libvirt-daemon-system libvirt-dev libvirt-clients
libcunit1-dev libext2fs-dev
linux-image-amd64 busybox-static e2fsprogs xfsprogs ndctl
fuse3 fio cpio gzip kmod libxml2-utils jq perl man-db
libjansson-dev libxml2-dev
clang libclang-rt-14-dev
sqlite3 libpmemobj-dev pmdk-tools parallel
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing (run as root to install them)" >&2
    exit 2
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || echo "install-deps: apt-get update failed; trying with the cached lists" >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
