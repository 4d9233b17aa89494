#!/bin/bash
# tests/host-options.sh — what pmemcut-host decides before anything starts,
# without a VM: every refusal of `run` (its --out directory, combinations the
# agent would refuse after a boot) comes before nbdkit or QEMU is started and
# touches nothing; the top-level --help and each command's parser agree;
# `report` keys its rows by policy too and refuses an empty results file;
# attach/detach errors on a domain that is only defined (never booted) are
# one line, said once.
#
# Stand-ins for nbdkit, nbdfuse and QEMU (first in PATH) record that they
# were started, so a run that gets past its checks is seen to, and stops
# there (the stand-in nbdkit fails).
. "$(dirname "$0")/lib.sh"
t_tmpdir
H=$TOP/build/san/host/pmemcut-host # the sanitizer build
t_require "$H" jq

mkdir -p "$T/bin" "$T/fake" "$T/t" # TMPDIR: short, as QEMU sockets go under it
for p in nbdkit nbdfuse qemu-system-x86_64; do
    printf '#!/bin/sh\necho %s >>"%s/started"\nexit 1\n' "$p" "$T" >"$T/bin/$p"
    chmod +x "$T/bin/$p"
done
for f in vmlinuz initrd plugin.so audit; do echo fake >"$T/fake/$f"; done
FAKE_ENV=(PATH="$T/bin:$PATH" TMPDIR="$T/t" PMEMCUT_KERNEL="$T/fake/vmlinuz"
    PMEMCUT_INITRD="$T/fake/initrd" PMEMCUT_PLUGIN="$T/fake/plugin.so" PMEMCUT_AUDIT="$T/fake/audit")
BASE=(--mode virtio-pmem --fs ext4 --workload append --sync fsync --records 4 --seed 1)

# hcmd NAME ARGS...: pmemcut-host ARGS with the stand-ins; sets RC and MS
# (milliseconds); stdout and stderr in $T/NAME.out and $T/NAME.err.
hcmd() {
    local name=$1 t0
    shift
    rm -f "$T/started"
    t0=$(date +%s%N)
    env "${FAKE_ENV[@]}" "$H" "$@" >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
    MS=$((($(date +%s%N) - t0) / 1000000))
}
# early NAME: refused before anything started: exit 2, one line
# "pmemcut-host: ...", no stand-in started, within a second.
early() {
    [ "$RC" -eq 2 ] && [ "$(wc -l <"$T/$1.err")" -eq 1 ] && grep -q '^pmemcut-host: ' "$T/$1.err" &&
        [ ! -e "$T/started" ] && [ "$MS" -lt 1000 ]
}
why() { echo "rc=$RC ${MS}ms started=[$(cat "$T/started" 2>/dev/null)] err=$(cat "$T/$1.err")"; }
# snap DIR: names, sizes and times of everything in DIR.
snap() { (cd "$1" && find . -printf '%p %s %T@\n' | sort); }

# --- 14. --out DIR: an earlier run is never deleted silently -------------------
mkdir -p "$T/foreign"
echo "my notes" >"$T/foreign/notes.txt"
before=$(snap "$T/foreign")
hcmd foreign run "${BASE[@]}" --out "$T/foreign"
if early foreign && grep -q "notes.txt" "$T/foreign.err" && [ "$(snap "$T/foreign")" = "$before" ]; then
    t_ok "--out: a non-empty directory that is not a run is refused, untouched ($(cat "$T/foreign.err"))"
else
    t_fail "--out: a directory that is not a run" "$(why foreign)"
fi

earlier_run() {
    rm -rf "$1"
    mkdir -p "$1"
    local f
    for f in results.jsonl audit.jsonl pmem.img nbdkit.log nbdfuse.log libvirt.log classify.log \
        acks-1.txt acks-2.txt console-1.log console-1-verify.log console-2.log console-2-verify.log \
        qemu-1.log qemu-2-verify.log; do
        echo "$f" >"$1/$f"
    done
}
earlier_run "$T/earlier"
before=$(snap "$T/earlier")
hcmd earlier run "${BASE[@]}" --out "$T/earlier"
if early earlier && grep -q -- "--force" "$T/earlier.err" && [ "$(snap "$T/earlier")" = "$before" ]; then
    t_ok "--out: an earlier run is refused without --force, untouched ($(cat "$T/earlier.err"))"
else
    t_fail "--out: an earlier run without --force" "$(why earlier)"
fi

echo "mine" >"$T/earlier/notes.txt"
before=$(snap "$T/earlier")
hcmd earlier-plus run "${BASE[@]}" --out "$T/earlier" --force
if early earlier-plus && grep -q "notes.txt" "$T/earlier-plus.err" &&
    [ "$(snap "$T/earlier")" = "$before" ]; then
    t_ok "--out: an earlier run with a file of someone else's is refused even with --force"
else
    t_fail "--out: a run plus a foreign file, --force" "$(why earlier-plus)"
fi

earlier_run "$T/earlier"
hcmd force run "${BASE[@]}" --out "$T/earlier" --force
# what is left of the earlier run: a file that still holds its own name
left=$(cd "$T/earlier" && for f in *; do [ "$(cat "$f")" = "$f" ] && echo -n "$f "; done)
if [ -e "$T/started" ] && [ -z "$left" ]; then
    t_ok "--out --force: the earlier run's files are replaced and the run goes on"
else
    t_fail "--out --force" "$(why force) left: $left"
fi

hcmd new run "${BASE[@]}" --out "$T/new/sub"
started_new=$([ -e "$T/started" ] && echo yes)
mkdir -p "$T/empty"
hcmd empty run "${BASE[@]}" --out "$T/empty"
[ -e "$T/started" ] && [ "$started_new" = yes ] &&
    t_ok "--out: an empty or a new directory is taken" || t_fail "--out: empty or new" "$(why empty)"

echo x >"$T/plainfile"
hcmd plainfile run "${BASE[@]}" --out "$T/plainfile"
early plainfile && [ "$(cat "$T/plainfile")" = x ] && t_ok "--out: a file is refused ($(cat "$T/plainfile.err"))" ||
    t_fail "--out: a file" "$(why plainfile)"

# --- 15. what the agent would refuse after a boot is refused before one ---------
hcmd odsync run --mode virtio-pmem --fs ext4 --workload mmap --sync odsync --out "$T/odsync"
early odsync && grep -q odsync "$T/odsync.err" && [ ! -e "$T/odsync" ] &&
    t_ok "run --workload mmap --sync odsync: refused before anything starts ($(cat "$T/odsync.err"))" ||
    t_fail "mmap/odsync" "$(why odsync)"
hcmd create run --mode virtio-pmem --fs ext4 --workload create --sync fsync --records 100000 \
    --out "$T/create"
early create && grep -q -- "--size" "$T/create.err" && [ ! -e "$T/create" ] &&
    t_ok "run --workload create with more files than the device holds: refused ($(cat "$T/create.err"))" ||
    t_fail "create too big" "$(why create)"
hcmd serve-policy serve --file "$T/serve.img" --size 16M --policy sometimes
early serve-policy && [ ! -e "$T/serve.img" ] &&
    t_ok "serve --policy sometimes: refused before nbdkit starts ($(cat "$T/serve-policy.err"))" ||
    t_fail "serve --policy" "$(why serve-policy)"

# The top-level --help and each command: the same options, each accepted by
# the command's parser (given with a value, it is at worst "unexpected").
"$H" --help >"$T/help.out" 2>&1
for cmd in run serve attach detach report; do
    top=$(awk -v c="pmemcut-host $cmd " '/pmemcut-host [a-z]+ /{on = index($0, c) > 0} on' "$T/help.out" |
        grep -o -- '--[a-z][a-z-]*' | grep -v -- '^--help$' | sort -u)
    "$H" "$cmd" --help >"$T/help-$cmd.out" 2>&1
    own=$(sed -n '1,/^[^ u]/p' "$T/help-$cmd.out" | grep -o -- '--[a-z][a-z-]*' | grep -v -- '^--help$' | sort -u)
    bad=""
    for o in $top $(grep -o -- '--[a-z][a-z-]*' "$T/help-$cmd.out" | sort -u); do
        [ "$o" = --help ] && continue
        [ "$cmd" = report ] && break
        hcmd opt "$cmd" "$o" x
        grep -q "unknown or incomplete option '$o'" "$T/opt.err" && bad="$bad $o"
        [ -e "$T/started" ] && bad="$bad $o(started)"
    done
    if [ -z "$bad" ] && [ "$top" = "$own" ]; then
        t_ok "--help: $cmd's options are its parser's: $(echo $top)"
    else
        t_fail "--help: $cmd" "refused by the parser:[$bad] top-level:[$(echo $top)] $cmd --help:[$(echo $own)]"
    fi
done

# --- 17. report: rows by policy, an empty file is an input error ---------------
row() { # POLICY VERDICT ACKED TORN_META [no-top-policy]
    local top=",\"policy\":\"$1\""
    [ "${5:-}" = no-top-policy ] && top=""
    printf '{"cycle":1,"seed":5,"mode":"virtio-pmem","fs":"ext4","workload":"append","sync":"fsync","records":8,"lying_device":false%s,"expected":"durable","cut":{"trigger":"at-mark","fired":true,"policy":"%s","lost":{"meta":1,"data":2,"unknown":0},"kept":{},"torn":{"meta":%d,"data":0,"unknown":0}},"acked":%d,"missing":[],"corrupt":[],"fsck":null,"verdict":"%s"}\n' \
        "$top" "$1" "$4" "$3" "$2"
}
mkdir -p "$T/rep-a" "$T/rep-b"
{ row lose-all PASS 5 0; row lose-all PASS 6 0; } >"$T/rep-a/results.jsonl"
{ row torn PASS 7 34; row torn PASS 1 2 no-top-policy; } >"$T/rep-b/results.jsonl"
"$H" report "$T/rep-a" "$T/rep-b" >"$T/rep.out" 2>"$T/rep.err"
RC=$?
la=$(grep -E '^virtio-pmem +ext4 +append +fsync +lose-all ' "$T/rep.out")
tn=$(grep -E '^virtio-pmem +ext4 +append +fsync +torn ' "$T/rep.out")
if [ $RC -eq 0 ] && grep -q '^mode .* policy ' "$T/rep.out" && [ "$(wc -l <"$T/rep.out")" -eq 3 ] &&
    echo "$la" | grep -qE ' 2 +11 +0 +6 +PASS$' && echo "$tn" | grep -qE ' 2 +8 +0 +42 +PASS$'; then
    t_ok "report: one row per policy, with a policy column (torn lines counted)"
else
    t_fail "report: rows by policy" "rc=$RC $(cat "$T/rep.out" "$T/rep.err")"
fi
# refused_input NAME WHAT FILE TEXT: report FILE exits 2, prints nothing on
# stdout and one line on stderr that contains TEXT.
refused_input() {
    "$H" report "$3" >"$T/$1.out" 2>"$T/$1.err"
    RC=$?
    [ $RC -eq 2 ] && [ ! -s "$T/$1.out" ] && [ "$(wc -l <"$T/$1.err")" -eq 1 ] &&
        grep -q "^pmemcut-host: .*$4" "$T/$1.err" &&
        t_ok "report of $2: exit 2, one line ($(cat "$T/$1.err"))" ||
        t_fail "report of $2" "rc=$RC $(cat "$T/$1.out" "$T/$1.err")"
}
: >"$T/empty.jsonl"
refused_input rep-empty "an empty results.jsonl" "$T/empty.jsonl" "empty.jsonl"
{ row lose-all PASS 5 0; echo '{"cycle":2,"mode":"virtio-pmem"'; } >"$T/broken.jsonl"
refused_input rep-broken "a damaged results.jsonl (the line named)" "$T/broken.jsonl" "broken.jsonl:2"

# --- 13. attach/detach errors: one line, each part said once -------------------
# A domain that is only defined in an embedded libvirt of our own: no VM
# starts (defining it only probes QEMU's capabilities).
t_require virsh qemu-system-x86_64
mkdir -p "$T/lv/etc"
printf 'stdio_handler = "file"\nuser = "root"\ngroup = "root"\n' >"$T/lv/etc/qemu.conf"
URI="qemu:///embed?root=$T/lv"
cat >"$T/dom.xml" <<EOF
<domain type='qemu'>
  <name>pmemcut-options-test</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices/>
</domain>
EOF
virsh -q -c "$URI" define "$T/dom.xml" >/dev/null 2>"$T/define.err" ||
    t_fail "define a domain" "$(cat "$T/define.err")"
# once FILE TEXT: TEXT occurs exactly once in FILE
once() { [ "$(grep -o -F -- "$2" "$1" | wc -l)" -eq 1 ]; }
"$H" detach --connect "$URI" --domain pmemcut-options-test >"$T/det.out" 2>"$T/det.err"
RC=$?
if [ $RC -eq 2 ] && [ "$(wc -l <"$T/det.err")" -eq 1 ] &&
    once "$T/det.err" "no pmemcut device is attached to this domain" && once "$T/det.err" "detach: " &&
    once "$T/det.err" "pmemcut-options-test"; then
    t_ok "detach with nothing attached: one line, said once ($(cat "$T/det.err"))"
else
    t_fail "detach error" "rc=$RC $(cat "$T/det.err")"
fi
"$H" attach --connect "$URI" --domain pmemcut-options-test --file "$T/none.img" --mode nvdimm \
    >"$T/att.out" 2>"$T/att.err"
RC=$?
if [ $RC -eq 2 ] && [ "$(wc -l <"$T/att.err")" -eq 1 ] && once "$T/att.err" "not found or empty" &&
    once "$T/att.err" "attach: " && once "$T/att.err" "pmemcut-options-test"; then
    t_ok "attach of a missing image: one line, said once ($(cat "$T/att.err"))"
else
    t_fail "attach error" "rc=$RC $(cat "$T/att.err")"
fi
"$H" detach --connect "$URI" --domain no-such-domain >"$T/nodom.out" 2>"$T/nodom.err"
RC=$?
[ $RC -eq 2 ] && [ "$(wc -l <"$T/nodom.err")" -eq 1 ] && once "$T/nodom.err" "no-such-domain" &&
    t_ok "detach of an unknown domain: one line ($(cat "$T/nodom.err"))" ||
    t_fail "detach unknown domain" "rc=$RC $(cat "$T/nodom.err")"
virsh -q -c "$URI" undefine pmemcut-options-test >/dev/null 2>&1
# A TMPDIR so deep that QEMU's monitor socket would not fit under the run's
# directory: refused before anything starts, --out left empty.
LONGTMP=$T/$(printf 'd%.0s' $(seq 70))
mkdir -p "$LONGTMP" "$T/longout"
TMPDIR=$LONGTMP "$H" run --mode virtio-pmem --fs ext4 --workload append --sync fsync --records 2 \
    --out "$T/longout" >"$T/long.out" 2>"$T/long.err"
RC=$?
if [ $RC -eq 2 ] && [ "$(wc -l <"$T/long.err")" -eq 1 ] && grep -q "set TMPDIR to a shorter" "$T/long.err" &&
    [ -z "$(ls -A "$T/longout")" ] && [ -z "$(ls -A "$LONGTMP")" ]; then
    t_ok "run under a too deep TMPDIR: exit 2, one line, nothing made ($(cut -c1-60 "$T/long.err")...)"
else
    t_fail "run under a too deep TMPDIR" "rc=$RC $(cat "$T/long.err"); out: $(ls -A "$T/longout")"
fi
t_done
