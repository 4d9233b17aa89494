#!/bin/bash
# The plugin's documentation: the man page is well-formed POD, and
# `nbdkit PLUGIN --help` lists the parameters.
set -u
. "$(dirname "$0")/lib.sh"
NORMAL_PLUGIN=$TOP/plugin/nbdkit-pmemcut-plugin.so
t_require nbdkit podchecker "$NORMAL_PLUGIN"

t_check "the man page is well-formed POD" bash -c "podchecker '$TOP/plugin/nbdkit-pmemcut-plugin.pod' 2>/dev/null"
t_check "--help lists the parameters" \
    bash -c "nbdkit '$NORMAL_PLUGIN' --help | grep -q 'policy=lose-all'"
t_done
