# tools/part.mk — the host's command-line tools.
#
#   pmemcutctl.c pmemcut-audit.c pmemcut-replay.c
#               front ends only: each reads its command line, calls an
#               engine, prints an error as one line `program: message` and
#               exits by the one table (common/utils/exitcode.h)
#   engines/    what they run: replay, explore (explore*.c), export, lost,
#               classify and the layout both read (ext4map, xfsmap), the
#               dm-log-writes writer, the summary, the timeline, ackverify.
#               Engines return -1 (or NULL) with pm_set_error and never
#               exit (explore's children warn on stderr about a state they
#               could not check).  One static library per flavour:
#               build/<flavour>/libpm-engines.a
#   install-deps.sh, doc/   the installer, pictures
#
# tools/ may depend on common/ (verify audit model utils) and libext2fs, not
# on plugin/, guest/ or host/.  The audit tools link the device's own
# persistence model (common/model) so that a replay is the device, not an
# imitation of it, and explore judges acknowledged records with the agent's
# own verification code (common/verify).  Extern names start with pt_.

ENGINE_SRCS := $(wildcard tools/engines/*.c)
TOOL_LIBS   := verify audit model utils
ALL_SRCS    += $(ENGINE_SRCS) tools/pmemcutctl.c tools/pmemcut-audit.c tools/pmemcut-replay.c
EXT2FS_CFLAGS := $(shell pkg-config --cflags ext2fs com_err 2>/dev/null)
EXT2FS_LIBS   := $(shell pkg-config --libs ext2fs com_err 2>/dev/null || echo -lext2fs -lcom_err)
$(foreach f,normal san fuzz,$(call objs,$(f),$(ENGINE_SRCS))): XFLAGS += $(EXT2FS_CFLAGS)

$(foreach f,normal san fuzz,$(eval $(call pm_lib,$(f),engines,$(ENGINE_SRCS))))

# $(call tool_rules,program): the normal build in tools/, the sanitizer
# build in build/san/tools/.
define tool_rules
PROGRAMS += tools/$(1)
SAN_PROGRAMS += $(SAN)/tools/$(1)
tools/$(1): $(BUILD)/normal/tools/$(1).o $(BUILD)/normal/libpm-engines.a $(call pm_libs,normal,$(TOOL_LIBS))
	$$(CC) $$(CFLAGS_normal) -o $$@ $$^ $$(EXT2FS_LIBS) -lm
$(SAN)/tools/$(1): $(BUILD)/san/tools/$(1).o $(BUILD)/san/libpm-engines.a $(call pm_libs,san,$(TOOL_LIBS))
	$$(CC) $$(CFLAGS_san) -o $$@ $$^ $$(EXT2FS_LIBS) -lm
endef
$(foreach t,pmemcutctl pmemcut-audit pmemcut-replay,$(eval $(call tool_rules,$(t))))

CLEAN += tools/pmemcutctl tools/pmemcut-audit tools/pmemcut-replay
