#!/bin/sh
# The checker of workload.sh, after the cut and the reboot: pmempool check
# finds the pool consistent, and every promised update ("update N" lines of
# $PMEMCUT_ACKS) is in it. Exit 0 kept, 1 lost or inconsistent; the last
# line of stdout is pmdk-counter's JSON.
set -u
counter=$1
pool=${PMEMCUT_DIR:-.}/pool.obj
promised=$(grep -c '^update [0-9]*$' "${PMEMCUT_ACKS:?}")
if [ ! -e "$pool" ]; then
    echo "{\"pool\":false,\"promised\":$promised}"
    [ "$promised" -eq 0 ]
    exit $?
fi
pmempool check -v "$pool" >&2
consistent=$?
"$counter" check "$pool" "$PMEMCUT_ACKS"
kept=$?
[ "$kept" -le 1 ] || exit "$kept"
[ "$consistent" -eq 0 ] && [ "$kept" -eq 0 ]
