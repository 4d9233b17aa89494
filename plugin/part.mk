# plugin/part.mk — the nbdkit plugin.  The model, JSON buffer and CRC are
# pure modules shared with the tools (libpmcore).

CORE_SRC   := plugin/model.c plugin/pool.c plugin/jbuf.c plugin/crc32c.c
PLUGIN_SRC := plugin/pmemcut.c plugin/device.c plugin/control.c plugin/audit.c $(CORE_SRC)
PLUGIN_HDR := $(wildcard plugin/*.h)

PROGRAMS += plugin/nbdkit-pmemcut-plugin.so
SAN_PROGRAMS += $(SAN)/plugin/nbdkit-pmemcut-plugin.so

plugin/nbdkit-pmemcut-plugin.so: $(PLUGIN_SRC) $(PLUGIN_HDR)
	$(CC) $(CFLAGS_ALL) -fPIC -shared -fvisibility=hidden -Iplugin -o $@ $(PLUGIN_SRC) -lm

# Sanitizer build of the plugin, loaded by the integration tests into nbdkit
# with libasan preloaded.
$(SAN)/plugin/nbdkit-pmemcut-plugin.so: $(PLUGIN_SRC) $(PLUGIN_HDR)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) $(SANFLAGS) -D_GNU_SOURCE -pthread -fPIC -shared -Iplugin -o $@ $(PLUGIN_SRC) -lm

# The man page (`man -l plugin/nbdkit-pmemcut-plugin.1`).
PROGRAMS += plugin/nbdkit-pmemcut-plugin.1
CLEAN += plugin/nbdkit-pmemcut-plugin.1
plugin/nbdkit-pmemcut-plugin.1: plugin/nbdkit-pmemcut-plugin.pod
	pod2man --section=1 --center=pmemcut --release=pmemcut --name=NBDKIT-PMEMCUT-PLUGIN $< $@
