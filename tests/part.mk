# tests/part.mk — every test program and runner.  Unit tests (CUnit, in
# tests/unit/) and test clients are built only in the sanitizer flavour, from
# tests/ sources and the libraries of the code they test.  The shell runners
# are one file per feature (tests/device-<feature>.sh, replay-*, audit-*,
# guest-*, host-*) over one library of helpers, tests/lib.sh; each starts
# its own processes in a private temp dir and stops them by PID.  tests/ may
# depend on every part; no part depends on tests/.

TEST_SRCS := $(wildcard tests/unit/*.c) tests/nbd-client.c tests/replay-dmlog-read.c
ALL_SRCS += $(TEST_SRCS)

$(SAN)/tests/test-model: $(BUILD)/san/tests/unit/test-model.o $(call pm_libs,san,model utils)
	$(CC) $(CFLAGS_san) -o $@ $^ -lcunit -lm
$(SAN)/tests/test-pool: $(BUILD)/san/tests/unit/test-pool.o $(call pm_libs,san,model utils)
	$(CC) $(CFLAGS_san) -o $@ $^ -lcunit
$(SAN)/tests/test-audit: $(BUILD)/san/tests/unit/test-audit.o $(BUILD)/san/libpm-engines.a \
                         $(call pm_libs,san,$(TOOL_LIBS))
	$(CC) $(CFLAGS_san) -o $@ $^ $(EXT2FS_LIBS) -lcunit -lm
# explore's kernel mount rules, on mke2fs images (libext2fs).
$(SAN)/tests/test-ext4mount: $(BUILD)/san/tests/unit/test-ext4mount.o $(BUILD)/san/libpm-engines.a \
                             $(call pm_libs,san,$(TOOL_LIBS))
	$(CC) $(CFLAGS_san) -o $@ $^ $(EXT2FS_LIBS) -lcunit
SAN_PROGRAMS += $(SAN)/tests/test-ext4mount
$(SAN)/tests/test-schema: $(BUILD)/san/tests/unit/test-schema.o $(call pm_libs,san,audit model utils)
	$(CC) $(CFLAGS_san) -o $@ $^ -lcunit
SAN_PROGRAMS += $(SAN)/tests/test-schema
$(SAN)/tests/test-verify: $(BUILD)/san/tests/unit/test-verify.o $(call pm_libs,san,verify utils)
	$(CC) $(CFLAGS_san) -o $@ $^ -lcunit
$(SAN)/tests/test-utils: $(BUILD)/san/tests/unit/test-utils.o $(call pm_libs,san,utils)
	$(CC) $(CFLAGS_san) -o $@ $^ -lcunit
# The host's pure parts, from its own objects (and jansson).
TEST_HOST_OBJS := $(call objs,san,host/report.c host/channel.c host/util.c host/plan.c)
$(BUILD)/san/tests/unit/test-host.o: XFLAGS += -Ihost $(shell pkg-config --cflags jansson)
$(SAN)/tests/test-host: $(BUILD)/san/tests/unit/test-host.o $(TEST_HOST_OBJS) \
                        $(call pm_libs,san,verify audit model utils)
	$(CC) $(CFLAGS_san) -o $@ $^ -lcunit $$(pkg-config --libs jansson)
# run --jobs without a VM: the chains' shards, their merge and the exit
# status of the whole (host/jobs.c, with host/util.c for its helpers).
$(BUILD)/san/tests/unit/test-jobs.o: XFLAGS += -Ihost $(shell pkg-config --cflags jansson)
$(SAN)/tests/test-jobs: $(BUILD)/san/tests/unit/test-jobs.o $(call objs,san,host/jobs.c host/util.c) \
                        $(call pm_libs,san,utils)
	$(CC) $(CFLAGS_san) -o $@ $^ -lcunit $$(pkg-config --libs jansson)
SAN_PROGRAMS += $(SAN)/tests/test-jobs
# The ADR tracer's pure parts (decoder, rule), from host/tcg/adr.c.
$(SAN)/tests/test-tracer: $(BUILD)/san/tests/unit/test-tracer.o $(call objs,san,host/tcg/adr.c)
	$(CC) $(CFLAGS_san) -o $@ $^ -lcunit
# The ground-truth guest program of tests/host-adr.sh: static (it runs in
# the bare initramfs), its window at a fixed address for RIP-relative flushes.
$(BUILD)/tests/adr-guest: tests/adr-guest.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -O1 -g -static -Wl,--defsym=adr_win=0x10000000 -o $@ $<
SAN_PROGRAMS += $(SAN)/tests/test-tracer $(BUILD)/tests/adr-guest
# Test clients: the one NBD client (requests from a script, for every
# runner), and a dm-log-writes reader written from the format's documentation
# alone.
$(SAN)/tests/nbd-client: $(BUILD)/san/tests/nbd-client.o
	$(CC) $(CFLAGS_san) -o $@ $^ -lnbd
$(SAN)/tests/replay-dmlog-read: $(BUILD)/san/tests/replay-dmlog-read.o
	$(CC) $(CFLAGS_san) -o $@ $^

SAN_PROGRAMS += $(SAN)/tests/test-model $(SAN)/tests/test-pool $(SAN)/tests/test-audit \
                $(SAN)/tests/test-verify $(SAN)/tests/test-utils $(SAN)/tests/test-host $(SAN)/tests/nbd-client \
                $(SAN)/tests/replay-dmlog-read

# Runners, in the order `make check` runs them: unit tests, the device by
# feature, requests in parallel, the audit tools, the guest agent, the host
# orchestrator, explore over a history the orchestrator made, make install
# into a private DESTDIR and the installed programs, and last the exit-code
# table across all five programs.  tests/man-pages.sh: every man page
# against its program's --help.
DEVICE_CHECKS := model triggers policies lying classify control control-hardening clients restart \
                 audit disk-full params manpage
CHECKS += $(SAN)/tests/test-utils $(SAN)/tests/test-host $(SAN)/tests/test-jobs $(SAN)/tests/test-tracer \
          $(SAN)/tests/test-model $(SAN)/tests/test-pool $(SAN)/tests/test-verify \
          $(SAN)/tests/test-audit $(SAN)/tests/test-schema $(SAN)/tests/test-ext4mount \
          $(patsubst %,tests/device-%.sh,$(DEVICE_CHECKS)) tests/device-parallel.sh tests/man-pages.sh \
          tests/audit-damaged.sh tests/replay-reality.sh tests/replay-dmlog.sh \
          tests/audit-timeline.sh tests/replay-explore.sh tests/replay-acks.sh tests/replay-xfs.sh \
          tests/guest-host.sh tests/guest-vm.sh \
          tests/host-attach.sh tests/host-kill.sh tests/host-virtio.sh tests/host-nvdimm.sh \
          tests/host-system.sh tests/host-methods.sh tests/host-options.sh tests/host-inject.sh \
          tests/host-plan.sh tests/host-exec.sh tests/host-examples.sh tests/host-shard.sh tests/host-jobs.sh \
          tests/replay-cycles.sh tests/host-verify.sh tests/explore-kernel.sh tests/host-adr.sh tests/replay-adr.sh tests/host-adr-run.sh tests/install.sh \
          tests/exit-codes.sh
BENCHES += tests/bench-device.sh tests/bench-audit.sh tests/host-bench.sh

# Fuzzing harnesses (tests/fuzz/fuzz-NAME.c, clang's libFuzzer): one per
# parser, each with its seed corpus tests/fuzz/corpus/NAME/ (from real runs)
# and dictionary tests/fuzz/NAME.dict.  `make check` runs every harness
# over its corpus (tests/fuzz-regress.sh), so a crash once found stays found;
# `make fuzz` fuzzes each for FUZZ_SECONDS (tests/fuzz-run.sh).
FUZZERS    := json verify dlog extents channel control audit
FUZZ_BINS  := $(FUZZERS:%=$(BUILD)/fuzz/tests/fuzz-%)
ALL_SRCS   += $(FUZZERS:%=tests/fuzz/fuzz-%.c)
FUZZ_LIBS  := engines verify audit model utils
$(BUILD)/fuzz/tests/fuzz-%: $(BUILD)/fuzz/tests/fuzz/fuzz-%.o $(BUILD)/fuzz/libpm-engines.a \
                            $(call pm_libs,fuzz,verify audit model utils)
	$(FUZZ_CC) $(CFLAGS_fuzz) -fsanitize=fuzzer -o $@ $^ $(EXT2FS_LIBS) -lm
# The host's channel parser: host/ objects (channel.c, and util.c for its
# helpers) with jansson, not the tools' libraries.
FUZZ_HOST_OBJS := $(call objs,fuzz,host/channel.c host/util.c)
$(FUZZ_HOST_OBJS) $(BUILD)/fuzz/tests/fuzz/fuzz-channel.o: XFLAGS += -Ihost $(shell pkg-config --cflags jansson)
$(BUILD)/fuzz/tests/fuzz-channel: $(BUILD)/fuzz/tests/fuzz/fuzz-channel.o $(FUZZ_HOST_OBJS) \
                                  $(call pm_libs,fuzz,verify utils)
	$(FUZZ_CC) $(CFLAGS_fuzz) -fsanitize=fuzzer -o $@ $^ $$(pkg-config --libs jansson)
# The control harness runs the plugin's device and commands (not pmemcut.c,
# the only file that needs nbdkit).
$(BUILD)/fuzz/tests/fuzz-control: $(BUILD)/fuzz/tests/fuzz/fuzz-control.o \
                                  $(call objs,fuzz,plugin/device.c plugin/commands.c) \
                                  $(call pm_libs,fuzz,audit model utils)
	$(FUZZ_CC) $(CFLAGS_fuzz) -fsanitize=fuzzer -o $@ $^ -lm
SAN_PROGRAMS += $(FUZZ_BINS)
CHECKS += tests/fuzz-regress.sh

FUZZ_SECONDS ?= 60
fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz-run.sh $(FUZZERS)

# `make soak`: honest cycles with seeds from the clock across modes,
# filesystems, workloads and cut policies until SOAK_CYCLES (default 100)
# or the first honest FAIL (tests/soak.sh).  Not part of `make check`.
soak: deps
	@$(MAKE) --no-print-directory all image
	@tests/soak.sh
