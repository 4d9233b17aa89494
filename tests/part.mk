# tests/part.mk — every test program and runner.  Unit tests (CUnit) and test
# clients are built only in the sanitizer flavour, from tests/ sources and
# the libraries of the code they test.

TEST_SRCS := $(wildcard tests/unit/*.c) tests/nbd-client.c tests/replay-nbdops.c \
             tests/replay-dmlog-read.c
ALL_SRCS += $(TEST_SRCS)

$(SAN)/tests/test-model: $(BUILD)/san/tests/unit/test-model.o $(call pm_libs,san,model utils)
	$(CC) $(CFLAGS_san) -o $@ $^ -lcunit -lm
$(SAN)/tests/test-pool: $(BUILD)/san/tests/unit/test-pool.o $(call pm_libs,san,model utils)
	$(CC) $(CFLAGS_san) -o $@ $^ -lcunit
$(SAN)/tests/test-audit: $(BUILD)/san/tests/unit/test-audit.o $(BUILD)/san/libpm-engines.a \
                         $(call pm_libs,san,$(TOOL_LIBS))
	$(CC) $(CFLAGS_san) -o $@ $^ $(EXT2FS_LIBS) -lcunit -lm
$(SAN)/tests/test-schema: $(BUILD)/san/tests/unit/test-schema.o $(call pm_libs,san,audit model utils)
	$(CC) $(CFLAGS_san) -o $@ $^ -lcunit
SAN_PROGRAMS += $(SAN)/tests/test-schema
$(SAN)/tests/test-verify: $(BUILD)/san/tests/unit/test-verify.o $(call pm_libs,san,verify utils)
	$(CC) $(CFLAGS_san) -o $@ $^ -lcunit
# Test clients: NBD requests from a script, and a dm-log-writes reader
# written from the format's documentation alone.
$(SAN)/tests/nbd-client: $(BUILD)/san/tests/nbd-client.o
	$(CC) $(CFLAGS_san) -o $@ $^ -lnbd
$(SAN)/tools/replay-nbdops: $(BUILD)/san/tests/replay-nbdops.o
	$(CC) $(CFLAGS_san) -o $@ $^ -lnbd
$(SAN)/tools/replay-dmlog-read: $(BUILD)/san/tests/replay-dmlog-read.o
	$(CC) $(CFLAGS_san) -o $@ $^

SAN_PROGRAMS += $(SAN)/tests/test-model $(SAN)/tests/test-pool $(SAN)/tests/test-audit \
                $(SAN)/tests/test-verify $(SAN)/tests/nbd-client $(SAN)/tools/replay-nbdops \
                $(SAN)/tools/replay-dmlog-read

# Runners, in the order `make check` runs them.
CHECKS += $(SAN)/tests/test-model $(SAN)/tests/test-pool $(SAN)/tests/test-verify \
          $(SAN)/tests/test-audit $(SAN)/tests/test-schema \
          tests/device.sh tests/device-parallel.sh \
          tests/audit-damaged.sh tests/replay-reality.sh tests/replay-dmlog.sh \
          tests/audit-timeline.sh tests/replay-explore.sh tests/replay-acks.sh tests/replay-xfs.sh \
          tests/guest-host.sh tests/guest-vm.sh \
          tests/host-attach.sh tests/host-kill.sh tests/host-virtio.sh tests/host-nvdimm.sh \
          tests/host-system.sh tests/host-methods.sh
BENCHES += tests/bench-device.sh tests/bench-audit.sh tests/host-bench.sh
