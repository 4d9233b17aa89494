#!/bin/sh
# PMDK under power cuts: N updates of a persistent structure, each one
# libpmemobj transaction, a promise after each commit (pmdk-counter.c).
#   workload.sh PMDK_COUNTER [N]     N updates (default 20)
# Run by pmemcut-host run --exec in the guest; PMEMCUT_DIR is the mount.
set -eu
counter=$1
pool=${PMEMCUT_DIR:-.}/pool.obj
# each cycle starts a new pool: the last cycle's promises end here
rm -f "$pool"
sync
exec "$counter" run "$pool" "${2:-20}"
