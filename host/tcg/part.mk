# host/tcg/part.mk — pmemcut-tracer.so, the ADR cache model of nvdimm mode:
# a QEMU 7.2 TCG plugin (API v1) that traces the guest's stores, write-backs
# and fences to the nvdimm and FUA-writes what persists to the device.
#
# adr.c is pure (decoder, ADR rule; unit-tested in tests/unit/test-tracer.c);
# tracer.c is the QEMU side. The plugin resolves qemu_plugin_* against the
# QEMU binary when QEMU loads it, so it links with no -z defs. Not a part of
# pmemcut-host: host/part.mk globs host/*.c only.

TCG_SRCS := host/tcg/adr.c host/tcg/tracer.c
ALL_SRCS += $(TCG_SRCS)

PROGRAMS += host/tcg/pmemcut-tracer.so

host/tcg/pmemcut-tracer.so: $(call objs,normal,$(TCG_SRCS))
	$(CC) $(CFLAGS_normal) -shared -o $@ $^ $$(pkg-config --libs libnbd) -ldl

CLEAN += host/tcg/pmemcut-tracer.so
