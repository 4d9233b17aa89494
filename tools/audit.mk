# tools/audit.mk — pmemcut-audit and pmemcut-replay (audit tools).
#
# Both link the device's own persistence model (plugin/model.c) so that a
# replay is the device, not an imitation of it.

AUDIT_CORE   := plugin/model.c plugin/pool.c plugin/jbuf.c plugin/crc32c.c tools/jsonr.c tools/auditlog.c
AUDIT_HDR    := $(wildcard plugin/*.h) tools/jsonr.h tools/auditlog.h tools/replay.h \
                tools/dmlog.h tools/explore.h tools/svg.h tools/ext4map.h tools/auditsum.h \
                tools/ackverify.h tools/xfsmap.h $(GUEST_PURE_HDR)
# explore judges acknowledged records with the guest agent's own verification
# code, compiled in unchanged (its pure modules: no I/O, no mount).
GUEST_PURE     := guest/record.c guest/acks.c guest/judge.c guest/verdict.c guest/json.c \
                  guest/verifyset.c
GUEST_PURE_HDR := guest/record.h guest/acks.h guest/judge.h guest/verdict.h guest/json.h \
                  guest/verifyset.h
REPLAY_SRC   := tools/pmemcut-replay.c tools/replay.c tools/dmlog.c tools/explore.c \
                tools/ackverify.c $(GUEST_PURE) $(AUDIT_CORE)
AUDIT_SRC    := tools/pmemcut-audit.c tools/auditsum.c tools/svg.c tools/ext4map.c tools/xfsmap.c \
                tools/replay.c $(AUDIT_CORE)
EXT2FS_FLAGS := $(shell pkg-config --cflags --libs ext2fs com_err 2>/dev/null || echo -lext2fs -lcom_err)

PROGRAMS += tools/pmemcut-audit tools/pmemcut-replay

tools/pmemcut-replay: $(REPLAY_SRC) $(AUDIT_HDR)
	$(CC) $(CFLAGS_ALL) -Iplugin -Itools -Iguest -o $@ $(REPLAY_SRC) $(EXT2FS_FLAGS) -lm

tools/pmemcut-audit: $(AUDIT_SRC) $(AUDIT_HDR)
	$(CC) $(CFLAGS_ALL) -Iplugin -Itools -o $@ $(AUDIT_SRC) $(EXT2FS_FLAGS) -lm

# Sanitizer builds: the unit tests, and the tools themselves (the damaged-log
# tests and the fuzzing run them).
SAN_AUDIT := $(SAN)/tools
SAN_PROGRAMS += $(SAN_AUDIT)/unit-audit $(SAN_AUDIT)/pmemcut-replay $(SAN_AUDIT)/pmemcut-audit \
                $(SAN_AUDIT)/replay-nbdops $(SAN_AUDIT)/replay-dmlog-read

UNIT_AUDIT_SRC := tests/unit-audit.c tools/replay.c tools/dmlog.c tools/ackverify.c $(GUEST_PURE) \
                  $(AUDIT_CORE)
$(SAN_AUDIT)/unit-audit: $(UNIT_AUDIT_SRC) $(AUDIT_HDR)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) $(SANFLAGS) -D_GNU_SOURCE -pthread -Iplugin -Itools -Iguest -o $@ \
	  $(UNIT_AUDIT_SRC) $(EXT2FS_FLAGS) -lcunit -lm

$(SAN_AUDIT)/pmemcut-replay: $(REPLAY_SRC) $(AUDIT_HDR)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) $(SANFLAGS) -D_GNU_SOURCE -pthread -Iplugin -Itools -Iguest -o $@ \
	  $(REPLAY_SRC) $(EXT2FS_FLAGS) -lm

$(SAN_AUDIT)/pmemcut-audit: $(AUDIT_SRC) $(AUDIT_HDR)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) $(SANFLAGS) -D_GNU_SOURCE -pthread -Iplugin -Itools -o $@ $(AUDIT_SRC) \
	  $(EXT2FS_FLAGS) -lm

# Test helpers: an NBD client that runs a script of requests, and a
# dm-log-writes reader written from the format's documentation alone.
$(SAN_AUDIT)/replay-nbdops: tests/replay-nbdops.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) $(SANFLAGS) -D_GNU_SOURCE -o $@ $< -lnbd

$(SAN_AUDIT)/replay-dmlog-read: tests/replay-dmlog-read.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) $(SANFLAGS) -D_GNU_SOURCE -o $@ $<

CHECKS  += $(SAN_AUDIT)/unit-audit tests/audit-damaged.sh tests/replay-reality.sh \
           tests/replay-dmlog.sh tests/audit-timeline.sh tests/replay-explore.sh \
           tests/replay-acks.sh tests/replay-xfs.sh
BENCHES += tests/bench-audit.sh
CLEAN   += tools/pmemcut-audit tools/pmemcut-replay
