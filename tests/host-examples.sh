#!/bin/bash
# tests/host-examples.sh — real programs under power cuts, the shipped
# examples of guest/examples/ (each folder's README says how to run it):
#   - SQLite (Debian's sqlite3): rows inserted one transaction at a time in
#     WAL mode, PRAGMA synchronous=FULL, a promise after each COMMIT; the
#     checker's PRAGMA integrity_check is ok and every promised row is
#     there: PASS over 3 lose-all cycles on virtio-pmem ext4.  The same with
#     synchronous=OFF, still promising: FAIL in at least one of 3 cycles.
#   - PMDK (Debian's libpmemobj, pmempool): pmdk-counter's updates, one
#     transaction each; pmempool check says consistent and every promised
#     update is in the pool: PASS over 2 cycles on nvdimm fsdax (libpmem
#     with MAP_SYNC and cache-line write-backs) under --cache-model eadr
#     (pinned: the contrast with adr below) and on virtio-pmem (msync); and
#     on nvdimm under adr (the default), where PMDK's own write-backs and
#     fences (traced in QEMU) are what keeps the updates: PASS.
. "$(dirname "$0")/host-lib.sh"
SQ=$TOP/guest/examples/sqlite
PM=$TOP/guest/examples/pmdk
t_require sqlite3 pmempool "$PM/pmdk-counter"

sqlite() { # NAME SYNC CYCLES
    run "$1" --mode virtio-pmem --fs ext4 --exec "sh $SQ/workload.sh $2 12" \
        --check "sh $SQ/check.sh" --guest-add "$SQ/workload.sh" --guest-add "$SQ/check.sh" \
        --guest-add "$(command -v sqlite3)" --records 12 --cycles "$3" --jobs 1 --seed 5
}
sqlite sq-full FULL 3
if [ $RC = 0 ] && [ "$(jqr sq-full .verdict | sort -u)" = PASS ] &&
    [ "$(jqr sq-full '.checker.result | .integrity == "ok" and .lost == 0' | sort -u)" = true ]; then
    t_ok "sqlite synchronous=FULL: PASS in 3 of 3 cycles (rows acked $(jqr sq-full .acked | tr '\n' ' '), integrity ok)"
else
    t_fail "sqlite FULL" "$(show sq-full)"
fi
sqlite sq-off OFF 3
n=$(jqr sq-off 'select(.verdict == "FAIL" and .checker.result.lost > 0) | .cycle' | wc -l)
if [ $RC = 1 ] && [ "$n" -ge 1 ]; then
    t_ok "sqlite synchronous=OFF, still acking: FAIL in $n of 3 cycles (lost $(jqr sq-off .checker.result.lost | tr '\n' ' '))"
else
    t_fail "sqlite OFF caught" "$(show sq-off)"
fi

pmdk() { # NAME MODE [ARGS...]
    local name=$1 mode=$2
    shift 2
    run "$name" --mode "$mode" --fs ext4 "$@" --exec "sh $PM/workload.sh $PM/pmdk-counter 12" \
        --check "sh $PM/check.sh $PM/pmdk-counter" --guest-add "$PM/workload.sh" \
        --guest-add "$PM/check.sh" --guest-add "$PM/pmdk-counter" \
        --guest-add "$(command -v pmempool)" --records 12 --cycles 2 --jobs 1 --seed 6
    if [ $RC = 0 ] && [ "$(jqr "$name" .verdict | sort -u)" = PASS ] &&
        [ "$(jqr "$name" '.checker.result | .pool and .lost == 0' | sort -u)" = true ] &&
        [ "$(jqr "$name" '.checker.stderr | test("consistent")' | sort -u)" = true ]; then
        t_ok "pmdk on $mode $*: PASS in 2 of 2 cycles (updates acked $(jqr "$name" .acked | tr '\n' ' '), pmempool: consistent)"
    else
        t_fail "pmdk on $mode $*" "$(show "$name")"
    fi
}
pmdk pm-nvdimm nvdimm --cache-model eadr
pmdk pm-virtio virtio-pmem
pmdk pm-adr nvdimm
[ "$(jqr pm-adr '.cache_model == "adr" and .tracer.workload.clwb > 0' | sort -u)" = true ] &&
    [ "$(jqr pm-nvdimm .cache_model | sort -u)" = eadr ] &&
    t_ok "pmdk under adr (the default): libpmem's own write-backs traced ($(jqr pm-adr .tracer.workload.clwb | tr '\n' ' ')clwb)" ||
    t_fail "pmdk adr traced" "$(jqr pm-adr '.tracer.workload | tojson')"
grep -q " $T/" /proc/mounts && t_fail "cleanup" "a mount is left" || t_ok "cleanup: no FUSE view left mounted"
t_done
