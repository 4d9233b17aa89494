# pmemcut — top-level build.  Plain `make` builds everything; each part adds
# its programs and tests through its own fragment (*/part.mk).
#
#   make            build the plugin, tools, agent and host orchestrator
#   make check      install what is missing, build, run every test
#   make bench      benchmarks (speed and memory targets live here only)
#   make demo       install, build, boot a VM on the emulated device, cut, verdicts
#   make soak       honest power-cut cycles from clock seeds until SOAK_CYCLES or a FAIL
#   make fuzz       every fuzzing harness for FUZZ_SECONDS (default 60) each
#   make image      the guest initramfs (build/guest-initramfs.cpio.gz)
#   make install    PREFIX (/usr/local), DESTDIR; make uninstall (install.mk)
#   make format     clang-format every C file in place
#
# Two flavours of every object: `normal` (CFLAGS, default -O2 -g) and `san`
# (the same plus the sanitizers, used by the tests).  Each source file is
# compiled once per flavour, to build/<flavour>/<its path>.o; the folders of
# common/ become one static library each, build/<flavour>/libpm-<name>.a,
# which every program of that flavour links.  Header dependencies come from
# the compiler (-MMD).

CC       ?= gcc
AR       ?= ar
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Werror
SANFLAGS  = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=float-cast-overflow \
            -fno-sanitize-recover=undefined
BUILD    := build
SAN      := $(BUILD)/san

# Everything is position-independent (common/ is linked into the plugin's
# shared object) and hidden unless marked (only the plugin exports a symbol).
BASEFLAGS = -std=gnu11 $(WARN) -D_GNU_SOURCE -pthread -fPIC -fvisibility=hidden -Icommon -Itools \
            -MMD -MP
CFLAGS_normal = $(BASEFLAGS) $(CFLAGS)
CFLAGS_san    = $(BASEFLAGS) $(CFLAGS) $(SANFLAGS)
# Kept for the fragments' link lines.
CFLAGS_ALL    = $(CFLAGS_normal)

# Object files of sources $(2) in flavour $(1).
objs = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(2))

# Each fragment appends to these.
PROGRAMS :=
SAN_PROGRAMS :=
CHECKS   :=      # test runners, run in this order by `make check`
BENCHES  :=
CLEAN    :=
ALL_SRCS :=      # every compiled source, for the dependency files

.PHONY: all check check-run bench demo image deps clean format format-check fuzz soak
all:

$(BUILD)/normal/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_normal) $(XFLAGS) -c -o $@ $<

$(BUILD)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_san) $(XFLAGS) -c -o $@ $<

# The fuzzing flavour (`make fuzz`, and the corpus regression in `make
# check`): clang's libFuzzer with ASan and UBSan, float-cast-overflow
# included (gcc's -fsanitize=undefined leaves it out).
FUZZ_CC      ?= clang
FUZZ_SAN      = -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all
CFLAGS_fuzz   = $(BASEFLAGS) -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) -fsanitize=fuzzer-no-link
$(BUILD)/fuzz/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CFLAGS_fuzz) $(XFLAGS) -c -o $@ $<

include common/part.mk
include plugin/part.mk
include tools/part.mk
include guest/part.mk
include host/part.mk
include man/part.mk
include host/tcg/part.mk
include tests/part.mk
include install.mk

-include $(patsubst %.o,%.d,$(foreach f,normal san fuzz,$(call objs,$(f),$(ALL_SRCS))))

all: $(PROGRAMS)

deps:
	@tools/install-deps.sh

# `make check`: dependencies first, then a full build (normal + sanitizer),
# then every runner, CHECK_JOBS at a time (tests/run-checks.sh; default the
# CPUs we may use); a failing runner does not stop the others, and the target
# fails if any did.
check: deps
	@$(MAKE) --no-print-directory all $(SAN_PROGRAMS)
	@$(MAKE) --no-print-directory check-run

check-run:
	@failed=""; \
	echo "=== format-check"; \
	$(MAKE) --no-print-directory format-check || failed=" format-check"; \
	tests/run-checks.sh $(CHECKS) || failed="$$failed runners"; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi

bench: deps
	@$(MAKE) --no-print-directory all
	@for b in $(BENCHES); do echo "=== $$b"; $$b || exit 1; done

C_SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(C_SOURCES)
format-check:
	@out=$$(for f in $(C_SOURCES); do clang-format --dry-run -Werror $$f 2>&1 >/dev/null || echo $$f; done); \
	if [ -n "$$out" ]; then echo "not clang-formatted (run make format):"; echo "$$out"; exit 1; fi; \
	echo "format: ok"

clean:
	rm -rf $(BUILD) $(PROGRAMS) $(CLEAN)
