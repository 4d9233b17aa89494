# tools/audit.mk — pmemcut-audit and pmemcut-replay (audit tools).
AUDIT_CORE   := plugin/model.c plugin/jbuf.c plugin/crc32c.c tools/jsonr.c tools/auditlog.c
AUDIT_HDR    := $(wildcard plugin/*.h) tools/jsonr.h tools/auditlog.h tools/replay.h \
                tools/dmlog.h tools/explore.h
REPLAY_SRC   := tools/pmemcut-replay.c tools/replay.c tools/dmlog.c tools/explore.c $(AUDIT_CORE)
PROGRAMS += tools/pmemcut-replay
tools/pmemcut-replay: $(REPLAY_SRC) $(AUDIT_HDR)
	$(CC) $(CFLAGS_ALL) -Iplugin -Itools -o $@ $(REPLAY_SRC) -lm
CLEAN   += tools/pmemcut-replay
