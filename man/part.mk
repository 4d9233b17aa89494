# man/part.mk — the programs' man pages, POD like the plugin's own
# (plugin/nbdkit-pmemcut-plugin.pod): man/PROGRAM.pod -> man/PROGRAM.1.
# The agent's is section 1 too: workloads in the guest call it.  `make`
# builds them (`man -l man/pmemcut-host.1`), `make install` installs them
# with the plugin's; tests/install.sh checks that each renders and names
# every option its program's --help lists.

MAN_PAGES := $(patsubst %.pod,%.1,$(wildcard man/*.pod))
PROGRAMS  += $(MAN_PAGES)
CLEAN     += $(MAN_PAGES)

man/%.1: man/%.pod
	pod2man --section=1 --center=pmemcut --release=pmemcut \
	    --name=$$(echo '$*' | tr a-z A-Z) $< $@
