# guest/part.mk — the guest agent (static), its sanitizer build, and the
# guest image (`make image`).
#
# guest/ holds pmemcut-agent, which runs inside the VM: prepare (mkfs, mount
# with DAX), the durability workloads (run), verify after the cut, caps and
# extents (agent.c dispatches to fs.c, run.c, verify.c; sys.c and cpu.c talk
# to the system and the CPU), and the image's /init and mkimage.sh.
# It may depend on common/ only: the records, acks and verdicts it shares
# with explore are common/verify (libpm-verify), the helpers libpm-utils.

GUEST_SRCS := $(wildcard guest/*.c)
GUEST_LIBS := verify utils
ALL_SRCS += $(GUEST_SRCS)

PROGRAMS += guest/pmemcut-agent
SAN_PROGRAMS += $(SAN)/guest/pmemcut-agent

# Static: it runs in a bare initramfs and can be copied into any guest.
guest/pmemcut-agent: $(call objs,normal,$(GUEST_SRCS)) $(call pm_libs,normal,$(GUEST_LIBS))
	$(CC) $(CFLAGS_normal) -static -o $@ $^

$(SAN)/guest/pmemcut-agent: $(call objs,san,$(GUEST_SRCS)) $(call pm_libs,san,$(GUEST_LIBS))
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_san) -o $@ $^

# --- example workloads (guest/examples/, run with pmemcut-host run --exec) --
# The PMDK example is a program of ours on Debian's libpmemobj (make deps
# installs it); make check builds it for its test, `make examples` alone.
EXAMPLES := guest/examples/pmdk/pmdk-counter
guest/examples/pmdk/pmdk-counter: guest/examples/pmdk/pmdk-counter.c
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -g -o $@ $< -lpmemobj
.PHONY: examples
examples: $(EXAMPLES)
SAN_PROGRAMS += $(EXAMPLES)
CLEAN += $(EXAMPLES)

# --- the guest image -------------------------------------------------------
# Built for the newest installed Debian kernel unless GUEST_KVER says which.
GUEST_KVER ?= $(shell ls /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -n 1)
GUEST_IMAGE := $(BUILD)/guest-initramfs.cpio.gz
GUEST_STAMP := $(BUILD)/guest/inputs.stamp

# The stamp holds the kernel version and the identity (size, mtime) of every
# file taken from the system; it is rewritten only when that changes, so the
# image is rebuilt only when an input really changed.
$(GUEST_STAMP): FORCE_GUEST_STAMP
	@mkdir -p $(@D)
	@guest/mkimage.sh --inputs "$(GUEST_KVER)" > $@.$$$$ && \
	if cmp -s $@.$$$$ $@; then rm -f $@.$$$$; else mv $@.$$$$ $@; fi

.PHONY: FORCE_GUEST_STAMP
FORCE_GUEST_STAMP:

$(GUEST_IMAGE): guest/pmemcut-agent guest/init guest/mkimage.sh $(GUEST_STAMP)
	guest/mkimage.sh --build "$(GUEST_KVER)" guest/pmemcut-agent guest/init $@

image: $(GUEST_IMAGE)

CLEAN += $(GUEST_IMAGE) $(GUEST_IMAGE:.gz=) $(BUILD)/guest-kernel $(BUILD)/guest-vmlinux

