#!/bin/bash
# Every program's man page (man/*.pod, and the plugin's): well-formed POD,
# renders with man(1) without a warning, and names every option, command
# and parameter its program's --help lists, so that a new option without
# its documentation fails here.
set -u
. "$(dirname "$0")/lib.sh"
HOST=$TOP/host/pmemcut-host
CTLN=$TOP/tools/pmemcutctl
AUDITN=$TOP/tools/pmemcut-audit
REPLAYN=$TOP/tools/pmemcut-replay
AGENT=$TOP/guest/pmemcut-agent
NORMAL_PLUGIN=$TOP/plugin/nbdkit-pmemcut-plugin.so
t_require podchecker man nbdkit "$HOST" "$CTLN" "$AUDITN" "$REPLAYN" "$AGENT" "$NORMAL_PLUGIN"
t_tmpdir

# page NAME: its POD source and its built page.
pod_of() { [ "$1" = nbdkit-pmemcut-plugin ] && echo "$TOP/plugin/$1.pod" || echo "$TOP/man/$1.pod"; }
page_of() { [ "$1" = nbdkit-pmemcut-plugin ] && echo "$TOP/plugin/$1.1" || echo "$TOP/man/$1.1"; }

for p in pmemcut-host pmemcutctl pmemcut-audit pmemcut-replay pmemcut-agent nbdkit-pmemcut-plugin; do
    pod=$(pod_of $p) page=$(page_of $p)
    t_check "$p: well-formed POD" bash -c "podchecker '$pod' 2>/dev/null"
    if MANWIDTH=80 man -l "$page" >"$T/$p.txt" 2>"$T/$p.err" && [ ! -s "$T/$p.err" ] &&
        grep -q '^NAME' "$T/$p.txt" && grep -q '^EXIT STATUS\|^PARAMETERS' "$T/$p.txt"; then
        t_ok "$p: man -l renders it ($(wc -l <"$T/$p.txt") lines, no warning)"
    else
        t_fail "$p: man -l renders it" "$(head -n 3 "$T/$p.err")"
    fi
done

# names PAGE WHAT WORD...: each WORD is in PAGE's POD source as a word of
# its own (not a prefix of a longer option); a command (WHAT "command") in
# a =head or =item line.  Each list is printed, so
# that an extraction gone wrong shows.
names() {
    local p=$1 what=$2 w re missing=""
    shift 2
    [ $# -gt 0 ] || { t_fail "$p: $what" "none found in --help (the extraction broke)"; return; }
    for w in "$@"; do
        # a parameter (key=) is followed by its value
        case $w in *=) re="(^|[^a-zA-Z0-9-])$w" ;; *) re="(^|[^a-zA-Z0-9-])$w([^a-zA-Z0-9-]|$)" ;; esac
        # a command has a heading or an item of its own, not just a mention
        [ "$what" = command ] && re="^=(head[0-9]|item) (.*[^a-zA-Z0-9-])?$w([^a-zA-Z0-9-]|$)"
        grep -qE -- "$re" "$(pod_of "$p")" || missing="$missing $w"
    done
    if [ -z "$missing" ]; then t_ok "$p: names every $what of --help: $*"; else t_fail "$p: names every $what of --help" "missing:$missing"; fi
}
# The long options in a help text, and the short ones (" -s ", "[-o").
long_opts() { grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
short_opts() { grep -oE -- '(^|[ [])-[a-zA-Z]( |$)' | tr -d ' [' | sort -u; }

# pmemcut-host: the commands of the top-level help, then each command's options.
"$HOST" --help >"$T/host.help"
# shellcheck disable=SC2046
names pmemcut-host command $(grep -oE 'pmemcut-host [a-z]+' "$T/host.help" | cut -d' ' -f2 | sort -u)
for c in $(grep -oE 'pmemcut-host [a-z]+' "$T/host.help" | cut -d' ' -f2 | sort -u); do
    "$HOST" "$c" --help >>"$T/host.help" 2>&1 || { t_fail "pmemcut-host $c --help" "exit $?"; }
done
# shellcheck disable=SC2046
names pmemcut-host option $(long_opts <"$T/host.help")

# pmemcutctl: -s, the commands and their parameters.
"$CTLN" --help >"$T/ctl.help"
# shellcheck disable=SC2046
names pmemcutctl option $(short_opts <"$T/ctl.help")
# shellcheck disable=SC2046
names pmemcutctl command $(sed -n '/^commands:/,$p' "$T/ctl.help" | sed 's/^commands://' | tr '\n' ' ' |
    sed -E 's/ \| */\n/g' | sed -E 's/^ *([a-z-]+).*/\1/' | grep -E '^[a-z]' | sort -u)
# shellcheck disable=SC2046
names pmemcutctl parameter $(grep -oE '[a-z-]+=' "$T/ctl.help" | sort -u)

# pmemcut-audit, pmemcut-replay: commands and options (one help for all).
for p in pmemcut-audit pmemcut-replay; do
    [ $p = pmemcut-audit ] && prog=$AUDITN || prog=$REPLAYN
    "$prog" --help >"$T/$p.help"
    # shellcheck disable=SC2046
    names $p command $(grep -oE "$p [a-z]+" "$T/$p.help" | cut -d' ' -f2 | sort -u)
    # shellcheck disable=SC2046
    names $p option $(long_opts <"$T/$p.help") $(short_opts <"$T/$p.help")
done

# pmemcut-agent: the commands (indented words) and their options.
"$AGENT" --help >"$T/agent.help"
# shellcheck disable=SC2046
names pmemcut-agent command $(grep -oE '^  [a-z]+' "$T/agent.help" | tr -d ' ' | sort -u)
# shellcheck disable=SC2046
names pmemcut-agent option $(long_opts <"$T/agent.help")

# The plugin: every parameter `nbdkit PLUGIN --help` lists.
nbdkit "$NORMAL_PLUGIN" --help >"$T/plugin.help" 2>&1
# shellcheck disable=SC2046
names nbdkit-pmemcut-plugin parameter $(sed -n '/^plugin: pmemcut/,$p' "$T/plugin.help" |
    grep -oE '^[a-z-]+=' | sort -u)

# The check can fail: names, on a page that lost one option of its
# program, reports exactly that one (in a subshell: its result is not ours).
sed 's/--lying-device/--lying-d3vice/g' "$TOP/man/pmemcut-host.pod" >"$T/broken.pod"
out=$(
    pod_of() { echo "$T/broken.pod"; }
    names pmemcut-host option --force --lying-device --seed
    echo "failed=$T_FAIL"
)
if echo "$out" | grep -q 'missing: --lying-device$' && echo "$out" | grep -q "failed=$((T_FAIL + 1))"; then
    t_ok "a page without --lying-device is caught"
else
    t_fail "a page without --lying-device is caught" "$out"
fi
# ... and one whose command is only mentioned, not described
sed 's/^=head2 paths$/=head2 where/' "$TOP/man/pmemcut-host.pod" >"$T/broken2.pod"
out=$(
    pod_of() { echo "$T/broken2.pod"; }
    names pmemcut-host command run paths
    echo "failed=$T_FAIL"
)
if echo "$out" | grep -q 'missing: paths$' && echo "$out" | grep -q "failed=$((T_FAIL + 1))"; then
    t_ok "a page with no section for the command paths is caught"
else
    t_fail "a page with no section for the command paths is caught" "$out"
fi
t_done
