# host/part.mk — pmemcut-host, the orchestrator on libvirt (see host/README-section.md).

HOST_SRCS := host/main.c host/run.c host/serve.c host/attach.c host/report.c host/guest.c \
             host/virt.c host/proc.c host/ctl.c host/sock.c host/util.c host/paths.c
HOST_OBJS := $(patsubst host/%.c,$(BUILD)/host/%.o,$(HOST_SRCS))
HOST_PKGS := libvirt libxml-2.0 jansson

PROGRAMS += host/pmemcut-host

host/pmemcut-host: $(HOST_OBJS)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $$(pkg-config --libs $(HOST_PKGS))

$(BUILD)/host/%.o: host/%.c $(wildcard host/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $$(pkg-config --cflags $(HOST_PKGS)) -c -o $@ $<

CHECKS  += tests/host-attach.sh tests/host-kill.sh tests/host-virtio.sh tests/host-nvdimm.sh \
            tests/host-system.sh
BENCHES +=
CLEAN   += host/pmemcut-host

# make demo: install, build, image, then a short matrix that shows what the
# tool is for (see tests/host-demo.sh for the matrix itself).
demo: deps
	@$(MAKE) --no-print-directory all image
	@host/demo.sh
