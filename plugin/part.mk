# plugin/part.mk — the nbdkit plugin: nbdkit's callbacks, the device, the
# control socket.  The model and the audit writer are common/ libraries.

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
