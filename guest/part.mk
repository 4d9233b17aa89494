# guest/part.mk — the guest agent (static), its sanitizer build, and the
# guest image (`make image`).  Tests: tests/guest.mk.

GUEST_SRCS := agent.c acks.c cpu.c fs.c json.c judge.c record.c run.c sys.c verdict.c verify.c \
               verifyset.c
GUEST_HDRS := $(wildcard guest/*.h)
GUEST_OBJS := $(GUEST_SRCS:%.c=$(BUILD)/guest/%.o)
GUEST_SAN_OBJS := $(GUEST_SRCS:%.c=$(SAN)/guest/%.o)

PROGRAMS += guest/pmemcut-agent
SAN_PROGRAMS += $(SAN)/guest/pmemcut-agent

$(BUILD)/guest/%.o: guest/%.c $(GUEST_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(SAN)/guest/%.o: guest/%.c $(GUEST_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(SANFLAGS) -c -o $@ $<

# Static: it runs in a bare initramfs and can be copied into any guest.
guest/pmemcut-agent: $(GUEST_OBJS)
	$(CC) $(CFLAGS_ALL) -static -o $@ $^

$(SAN)/guest/pmemcut-agent: $(GUEST_SAN_OBJS)
	$(CC) $(CFLAGS_ALL) $(SANFLAGS) -o $@ $^

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

include tests/guest.mk
