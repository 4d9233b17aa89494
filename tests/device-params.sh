#!/bin/bash
# Bad parameters: nbdkit refuses to start with one line naming the
# parameter, and creates no image.
set -u
. "$(dirname "$0")/lib.sh"
NORMAL_PLUGIN=$TOP/plugin/nbdkit-pmemcut-plugin.so
t_device "$NORMAL_PLUGIN"

# An existing 1 MiB image, for a size= that disagrees with it.
start_dev dev file="$T/img" size=1M || t_done
stop_dev dev

bad() {
    local want=$1
    shift
    if nbdkit -f -U "$T/bad.sock" "$NORMAL_PLUGIN" "$@" --run true \
        >/dev/null 2>"$T/bad.err"; then
        t_fail "bad parameter $*" "nbdkit started"
    elif [ "$(grep -c . "$T/bad.err")" = 1 ] && grep -q -- "$want" "$T/bad.err"; then
        t_ok "bad parameter $* -> $(cat "$T/bad.err")"
    else
        t_fail "bad parameter $*" "expected one line with '$want', got: $(cat "$T/bad.err")"
    fi
}
bad "line: 48 is not a power of two" file="$T/b1" size=1M line=48
bad "line: 8192 is not a power of two" file="$T/b1" size=1M line=8192
bad "size: must be greater than 0" file="$T/b1" size=0
bad "size=2097152 disagrees" file="$T/img" size=2M
bad "does not exist and size= is not given" file="$T/b2"
bad "policy: unknown policy 'most'" file="$T/b1" size=1M policy=most
bad "p: only policy=random" file="$T/b1" size=1M p=0.3
bad "p: '2' is not a probability" file="$T/b1" size=1M policy=random p=2
bad "unknown parameter 'colour'" file="$T/b1" size=1M colour=red
bad "file: the parameter file=PATH is required" size=1M
bad "control=.*path longer than" file="$T/b1" size=1M control="$T/$(printf 'x%.0s' $(seq 120))"
bad "seed" file="$T/b1" size=1M seed=-5
bad "seed: 9007199254740992 is above 2^53-1" file="$T/b1" size=1M seed=9007199254740992
bad "size" file="$T/b1" size=12Q
t_check "bad parameters created no image" test ! -e "$T/b2"

t_no_sanitizer_report
t_done
