#!/bin/bash
# Hardening of the control socket (issue 12's plugin defects): every number
# and time value is checked when the command is parsed; a refused command
# leaves status and the audit log as they were; two clients never see each
# other's arguments; a mark's reply carries the mark's own seq; one rule for
# mark texts (mark and at-mark=) with a length limit that is refused, not
# truncated; the accept loop backs off when descriptors run out.
#
# PLUGIN=... runs it against another build of the plugin (to see it fail on
# the old one).  Every control call has a time limit, so a hung device fails
# the checks instead of hanging the runner.
set -u
. "$(dirname "$0")/lib.sh"
t_device timeout
[ -n "${HARDEN_PLUGIN:-}" ] && PLUGIN=$HARDEN_PLUGIN

ctl() { timeout 10 "$CTL" -s "$T/img.ctl" "$@"; }
# A fresh device for each section, so that one defect cannot spoil the next.
fresh() {
    [ -n "${PID_dev:-}" ] && stop_dev dev
    rm -f "$T/img" "$T/img.audit.jsonl"
    start_dev dev file="$T/img" size=1M "$@" || t_done
}
# refused NAME CMD...: the command gets an error, and status and the audit
# log are byte for byte what they were.
refused() {
    local name=$1 out
    shift
    ctl status >"$T/st.before" 2>&1
    cp "$T/img.audit.jsonl" "$T/audit.before"
    out=$(ctl "$@" 2>&1)
    local rc=$?
    if [ "$rc" != 3 ]; then # pmemcutctl's exit status for a refused command
        t_fail "$name" "exit status $rc, not 3 (refused): $out"
        return
    fi
    ctl status >"$T/st.after" 2>&1
    if ! cmp -s "$T/st.before" "$T/st.after"; then
        t_fail "$name" "status changed: $(cat "$T/st.after")"
    elif ! cmp -s "$T/audit.before" "$T/img.audit.jsonl"; then
        t_fail "$name" "audit log changed: $(tail -1 "$T/img.audit.jsonl")"
    else
        t_ok "$name ($out)"
    fi
}

# --- numbers: digits only, bounded (defect 3) ---------------------------------
fresh
refused "after-writes=VT-1 is refused" arm "after-writes="$'\v'"-1"
refused "before-flush=FF-5 is refused" arm "before-flush="$'\f'"-5"
refused "after-writes=+5 is refused" arm after-writes=+5
refused "after-writes=0x10 is refused" arm after-writes=0x10
refused "after-writes=2^53 is refused" arm after-writes=9007199254740992
refused "seed=VT1 is refused" cut "seed="$'\v'"1"
refused "p=VT0.5 is refused" cut policy=random "p="$'\v'"0.5"
refused "classify offset VT0 is refused" classify meta $'\v'"0" 64
refused "classify length -64 is refused" classify meta 0 -64
refused "dirty max=VT1 is refused" dirty "max="$'\v'"1"
t_check "after-writes=2^53-1 is taken" ctl arm after-writes=9007199254740991
t_check "... and disarmed" ctl disarm

# --- time values: bounded, and a timed wait always ends (defect 1) ------------
fresh
refused "wait-off timeout=1e300 is refused" wait-off timeout=1e300
refused "wait-off timeout=9.3e18 is refused" wait-off timeout=9.3e18
refused "wait-off timeout=VT1 is refused" wait-off "timeout="$'\v'"1"
refused "wait-off timeout=inf is refused" wait-off timeout=inf
t_check "the device still answers" ctl status
t_check "... and a wait-off with timeout=0 returns at once" \
    bash -c "timeout 5 '$CTL' -s '$T/img.ctl' wait-off timeout=0 2>&1 | grep -q timeout"
start=$(date +%s%N)
ctl wait-off timeout=0.3 2>"$T/wait.err"
took=$((($(date +%s%N) - start) / 1000000))
t_check "wait-off timeout=0.3 times out ($took ms)" \
    bash -c "grep -q 'timeout' '$T/wait.err' && [ $took -ge 250 ] && [ $took -lt 5000 ]"
t_check "wait-off timeout=1000000 is taken (ended by a cut)" \
    bash -c "(sleep 0.5; timeout 10 '$CTL' -s '$T/img.ctl' cut >/dev/null) & timeout 10 '$CTL' -s '$T/img.ctl' wait-off timeout=1000000 >/dev/null; r=\$?; wait; exit \$r"

# --- two clients at once never see each other's arguments (defect 2) ----------
fresh
N=20000
seq "$N" | sed 's/^/dirty max=1 aaaa/' >"$T/a.in"
seq "$N" | sed 's/^/dirty max=1 bbbb/' >"$T/b.in"
sed "s/.*max=1 \\(.*\\)/error: dirty: bad argument '\\1' (max=N)/" "$T/a.in" >"$T/a.want"
sed "s/.*max=1 \\(.*\\)/error: dirty: bad argument '\\1' (max=N)/" "$T/b.in" >"$T/b.want"
timeout 120 "$CTL" -s "$T/img.ctl" - <"$T/a.in" >"$T/a.out" 2>/dev/null &
pa=$!
timeout 120 "$CTL" -s "$T/img.ctl" - <"$T/b.in" >"$T/b.out" 2>/dev/null &
pb=$!
wait $pa $pb
for c in a b; do
    if cmp -s "$T/$c.want" "$T/$c.out"; then
        t_ok "client $c: $N replies, each about its own argument"
    else
        t_fail "client $c: $N replies, each about its own argument" \
            "$(diff "$T/$c.want" "$T/$c.out" | grep -c '^>') differ, e.g. $(diff "$T/$c.want" \
                "$T/$c.out" | grep -m1 '^>')"
    fi
done

# --- the mark's reply carries the mark's seq (defect 4) -----------------------
fresh
ctl arm "at-mark=phase 2" >/dev/null
ctl mark "phase 2" >"$T/mark.json"
mark_seq=$(jq -s '[.[] | select(.ev=="mark" and .text=="phase 2")][0].seq' "$T/img.audit.jsonl")
t_check "mark reply: seq is the mark's ($mark_seq)" test "$(jq .seq "$T/mark.json")" = "$mark_seq"
t_check "mark reply: the cut it fired is the next record" \
    test "$(jq .cut.seq "$T/mark.json")" = $((mark_seq + 1))

# --- one rule for mark texts, a limit refused not truncated (defect 5) --------
fresh
ctl arm "at-mark= phase" >"$T/arm.json"
t_check "at-mark= with a blank in front: the text starts after the blanks" \
    test "$(jq -r .armed.trigger "$T/arm.json")" = "at-mark=phase"
ctl mark "phase" >"$T/mark.json"
t_check "... and the mark with that text fires it" test "$(jq -r .cut.trigger "$T/mark.json")" = \
    "at-mark=phase"
ctl power-on >/dev/null
export LONG
LONG=$(printf 'x%.0s' $(seq 1024))
ctl arm "at-mark=$LONG" >/dev/null
ctl mark "$LONG" >"$T/mark.json"
# (the texts are compared inside bash -c, so that a failure does not print them)
t_check "a 1024-byte mark text: the cut record keeps it whole" \
    bash -c 'test "$(jq -r .cut.trigger "$0")" = "at-mark=$LONG"' "$T/mark.json"
t_check "... as the arm record does" \
    bash -c 'test "$(jq -rs "map(select(.ev==\"arm\")) | last | .trigger" "$0")" = "at-mark=$LONG"' \
    "$T/img.audit.jsonl"
ctl power-on >/dev/null
refused "a 1025-byte mark text is refused" mark "x$LONG"
refused "a 1025-byte at-mark= text is refused" arm "at-mark=x$LONG"

# --- a refused command changes nothing (every kind of refusal) ----------------
fresh
ctl arm after-writes=5 policy=torn seed=3 >/dev/null
refused "unknown command" bogus
refused "unknown argument" cut junk
refused "p= without random" cut p=0.5
refused "two triggers" arm after-writes=1 before-flush=2
refused "at-mark= and a count" arm after-writes=1 at-mark=x
refused "classify outside the device" classify meta 1048576 1
refused "power-on while on" power-on
refused "too many arguments" cut a b c d e f g h i j k l m n o p q

# --- the accept loop backs off when descriptors run out (defect 19) -----------
[ -n "${PID_dev:-}" ] && stop_dev dev
rm -f "$T/img" "$T/img.audit.jsonl"
# nbdkit under a soft limit of 40 descriptors (the shell's own limit is
# lowered for the start only, and inherited)
nofile=$(ulimit -Sn)
ulimit -Sn 40
start_dev dev file="$T/img" size=1M || t_done
ulimit -Sn "$nofile"
# Hold 60 connections open (clients reading commands from a FIFO that this
# shell keeps open): the plugin runs out of descriptors on the way.
mkfifo "$T/hold"
exec 7<>"$T/hold"
holders=""
for i in $(seq 60); do
    "$CTL" -s "$T/img.ctl" - <"$T/hold" >/dev/null 2>&1 7>&- & # (not a writer itself)
    holders="$holders $!"
    T_PIDS="$T_PIDS $!"
done
sleep 1
nfd=$(ls "/proc/$PID_dev/fd" | wc -l)
t_check "the plugin is at its descriptor limit ($nfd of 40 open)" test "$nfd" -ge 39
cpu() { awk '{print $14 + $15}' "/proc/$PID_dev/stat"; }
c0=$(cpu)
sleep 2
c1=$(cpu)
t_check "out of descriptors: the plugin does not spin ($((c1 - c0)) ticks of CPU in 2 s)" \
    test $((c1 - c0)) -lt 40
exec 7>&- # the clients see the end of their input and leave
wait $holders 2>/dev/null
for p in $holders; do t_forget "$p"; done
t_check "descriptors back: a new client is served" ctl status

t_no_sanitizer_report
t_done
