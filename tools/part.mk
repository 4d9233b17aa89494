# tools/part.mk — command-line tools.

PROGRAMS += tools/pmemcutctl

tools/pmemcutctl: tools/pmemcutctl.c plugin/jbuf.c plugin/jbuf.h
	$(CC) $(CFLAGS_ALL) -Iplugin -o $@ tools/pmemcutctl.c plugin/jbuf.c
include tools/audit.mk
