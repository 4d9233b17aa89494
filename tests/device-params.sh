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
t_check "bad parameters created no image b1" test ! -e "$T/b1"
t_check "bad parameters created no audit log" test ! -e "$T/b1.audit.jsonl"

# A start that fails late (a path that cannot be opened or bound) creates
# nothing either: no new image, no audit log, no data log, no socket.
nodir=$T/no-such-dir
late() {
    local name=$1 want=$2
    shift 2
    bad "$want" file="$T/$name" size=1M "$@"
    local left
    left=$(cd "$T" && ls -d "$name"* 2>/dev/null | tr '\n' ' ')
    t_check "failed start ($want) left nothing of $name behind${left:+ (left: $left)}" test -z "$left"
}
late n1 "audit: $nodir/a.jsonl" audit="$nodir/a.jsonl"
late n2 "data-log: $nodir/d.log" data-log="$nodir/d.log"
late n3 "control=$nodir/c.ctl" control="$nodir/c.ctl"
mkdir "$T/dir-n4"
late n4 "data-log: $T/dir-n4" data-log="$T/dir-n4" audit="$T/n4.audit"
rmdir "$T/dir-n4"

# ... and leaves an existing image and its logs as they were.
cp "$T/img" "$T/img.before"
cp "$T/img.audit.jsonl" "$T/img.audit.before"
printf 'not a data log' >"$T/img.dlog"
bad "control=$nodir/c.ctl" file="$T/img" control="$nodir/c.ctl"
bad "data-log: $T/img.dlog: not a pmemcut data log" file="$T/img" data-log="$T/img.dlog"
bad "audit: $nodir/a.jsonl" file="$T/img" audit="$nodir/a.jsonl"
t_check "failed starts left the existing image as it was" cmp -s "$T/img" "$T/img.before"
t_check "failed starts left the existing audit log as it was" \
    cmp -s "$T/img.audit.jsonl" "$T/img.audit.before"
t_check "failed start left no control socket" test ! -e "$T/img.ctl"
: >"$T/img.dlog.empty"
bad "control=$nodir/c.ctl" file="$T/img" control="$nodir/c.ctl" data-log="$T/img.dlog.empty"
t_check "failed start left an existing empty data log empty" test ! -s "$T/img.dlog.empty"

t_no_sanitizer_report
t_done
