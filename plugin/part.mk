# plugin/part.mk — the nbdkit plugin, nbdkit-pmemcut-plugin.so.
#
#   pmemcut.c   nbdkit's parameters and callbacks (the only file that knows nbdkit)
#   device.c    the device: image file, model, audit log, locks; block requests
#   commands.c  the control commands: a table of {name, handler}
#   control.c   the control socket server: accepting, one thread per client
#
# Depends on common/ (model, audit, utils) and on nbdkit's plugin header only;
# nothing else of the project depends on plugin/.  Its own functions are pd_.

PLUGIN_SRCS := $(wildcard plugin/*.c)
PLUGIN_LIBS := audit model utils
ALL_SRCS += $(PLUGIN_SRCS)

PROGRAMS += plugin/nbdkit-pmemcut-plugin.so
SAN_PROGRAMS += $(SAN)/plugin/nbdkit-pmemcut-plugin.so

plugin/nbdkit-pmemcut-plugin.so: $(call objs,normal,$(PLUGIN_SRCS)) $(call pm_libs,normal,$(PLUGIN_LIBS))
	$(CC) $(CFLAGS_normal) -shared -o $@ $^ -lm

# Loaded by the integration tests into nbdkit with libasan preloaded.
$(SAN)/plugin/nbdkit-pmemcut-plugin.so: $(call objs,san,$(PLUGIN_SRCS)) $(call pm_libs,san,$(PLUGIN_LIBS))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_san) -shared -o $@ $^ -lm

# The man page (`man -l plugin/nbdkit-pmemcut-plugin.1`).
PROGRAMS += plugin/nbdkit-pmemcut-plugin.1
CLEAN += plugin/nbdkit-pmemcut-plugin.1
plugin/nbdkit-pmemcut-plugin.1: plugin/nbdkit-pmemcut-plugin.pod
	pod2man --section=1 --center=pmemcut --release=pmemcut --name=NBDKIT-PMEMCUT-PLUGIN $< $@
