# host/part.mk — pmemcut-host, the orchestrator on libvirt (see README.md).
#
# host/ holds pmemcut-host: it starts the emulated device (nbdkit with the
# plugin, nbdfuse), boots the guest image under libvirt, drives the cut over
# the control socket, collects the agent's acks and verdicts and reports
# (main.c dispatches to run.c, serve.c, attach.c, report.c).
# It may depend on common/ only (libpm-verify, libpm-model, libpm-utils) and on system
# libraries (libvirt, libvirt-qemu for QMP, libxml2, jansson, libnbd); the plugin,
# the agent and pmemcut-audit are programs it runs, never code it links.

HOST_SRCS := $(wildcard host/*.c)
HOST_PKGS := libvirt libvirt-qemu libxml-2.0 jansson libnbd
HOST_LIBS := verify audit model utils
ALL_SRCS += $(HOST_SRCS)
$(call objs,normal,$(HOST_SRCS)) $(call objs,san,$(HOST_SRCS)): XFLAGS += $(shell pkg-config --cflags $(HOST_PKGS))

PROGRAMS += host/pmemcut-host
SAN_PROGRAMS += $(SAN)/host/pmemcut-host

host/pmemcut-host: $(call objs,normal,$(HOST_SRCS)) $(call pm_libs,normal,$(HOST_LIBS))
	$(CC) $(CFLAGS_normal) -o $@ $^ $$(pkg-config --libs $(HOST_PKGS))

$(SAN)/host/pmemcut-host: $(call objs,san,$(HOST_SRCS)) $(call pm_libs,san,$(HOST_LIBS))
	$(CC) $(CFLAGS_san) -o $@ $^ $$(pkg-config --libs $(HOST_PKGS))

CLEAN   += host/pmemcut-host

# make demo: install, build, build the image, then a short matrix that shows
# what the tool is for, and its summary table:
#   virtio-pmem + ext4, append with fsync              PASS
#   the same on a lying device                         FAIL (caught: exit 1 expected)
#   nvdimm + ext4, mmap stores with MAP_SYNC           PASS
#   nvdimm + ext4, mmap stores, no sync, new file      losses, allowed
DEMO_DIR := $(BUILD)/demo
demo: deps
	@$(MAKE) --no-print-directory all image
	@rm -rf $(DEMO_DIR)
	@set -e; H=host/pmemcut-host; D=$(DEMO_DIR); export PMEMCUT_PROGRESS=1; \
	run() { name=$$1; want=$$2; shift 2; echo "== $$name: pmemcut-host run $$*"; \
	  rc=0; $$H run "$$@" --out $$D/$$name >/dev/null || rc=$$?; \
	  [ $$rc -eq $$want ] || { echo "demo: $$name exited $$rc, expected $$want"; exit 1; }; }; \
	run fsync 0 --mode virtio-pmem --fs ext4 --workload append --sync fsync --records 32 \
	  --cycles 2 --jobs 1 --seed 1; \
	run lying-device 1 --mode virtio-pmem --fs ext4 --workload append --sync fsync \
	  --records 32 --seed 2 --lying-device; \
	run map-sync 0 --mode nvdimm --fs ext4 --workload mmap --sync map-sync --records 32 --seed 3; \
	run no-sync 0 --mode nvdimm --fs ext4 --workload mmap --sync none --records 32 --seed 4; \
	echo; $$H report $$D/fsync $$D/lying-device $$D/map-sync $$D/no-sync || true; \
	echo; echo "The lying device's FAIL is the point: the verifier caught acknowledged records"; \
	echo "that a device which ignores flushes lost. Results and logs: $$D/*/"
