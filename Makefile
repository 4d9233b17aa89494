# pmemcut — top-level build.  Plain `make` builds everything; each part adds
# its programs and tests through its own fragment (*/part.mk) so that the
# parts can grow independently.
#
#   make            build the plugin, tools, agent and host orchestrator
#   make check      install what is missing, build, run every test
#   make bench      benchmarks (speed and memory targets live here only)
#   make demo       install, build, boot a VM on the emulated device, cut, verdicts
#   make image      the guest initramfs (build/guest-initramfs.cpio.gz)
#   make format     clang-format every C file in place

CC       ?= gcc
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Werror
CFLAGS_ALL = -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -pthread
# The sanitizer build: used by the unit tests and by the integration tests
# (the plugin is loaded into nbdkit with libasan preloaded).
SANFLAGS  = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
BUILD    := build
SAN      := $(BUILD)/san

# Each fragment appends to these.
PROGRAMS :=
SAN_PROGRAMS :=
CHECKS   :=      # test runners, run in this order by `make check`
BENCHES  :=
CLEAN    :=

.PHONY: all check check-run bench demo image deps clean format format-check
all:

include plugin/part.mk
include tests/part.mk
include tools/part.mk
include guest/part.mk
include host/part.mk

all: $(PROGRAMS)

deps:
	@tools/install-deps.sh

# `make check`: dependencies first, then a full build (normal + sanitizer),
# then every runner; a failing runner does not stop the others, and the
# target fails if any did.
check: deps
	@$(MAKE) --no-print-directory all $(SAN_PROGRAMS)
	@$(MAKE) --no-print-directory check-run

check-run:
	@failed=""; \
	echo "=== format-check"; \
	$(MAKE) --no-print-directory format-check || failed=" format-check"; \
	for t in $(CHECKS); do \
	  echo "=== $$t"; \
	  if ! $$t; then failed="$$failed $$t"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED runners:$$failed"; exit 1; fi; \
	echo "all test runners passed"

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
