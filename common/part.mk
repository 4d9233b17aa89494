# common/part.mk — the libraries that two or more parts share, one static
# library per folder and flavour: build/<flavour>/libpm-<folder>.a.
#
#   utils   CRC-32C, JSON writer and reader, errors, numbers, processes, sockets
#   model   the persistence model and its chunk pool           (uses utils)
#   audit   the audit-log schema, its writer and reader, the data log (uses model, utils)
#   verify  records, acks, judging, verdicts                   (uses utils)
#
# common/ depends on nothing of the parts.  Link order: verify audit model utils.

PM_UTILS_SRCS  := $(wildcard common/utils/*.c)
PM_MODEL_SRCS  := $(wildcard common/model/*.c)
PM_AUDIT_SRCS  := $(wildcard common/audit/*.c)
PM_VERIFY_SRCS := $(wildcard common/verify/*.c)
ALL_SRCS += $(PM_UTILS_SRCS) $(PM_MODEL_SRCS) $(PM_AUDIT_SRCS) $(PM_VERIFY_SRCS)

# $(call pm_lib,flavour,name,sources)
define pm_lib
$(BUILD)/$(1)/libpm-$(2).a: $(call objs,$(1),$(3))
	@rm -f $$@
	$(AR) rcs $$@ $$^
endef
$(foreach f,normal san fuzz,$(eval $(call pm_lib,$(f),utils,$(PM_UTILS_SRCS))))
$(foreach f,normal san fuzz,$(eval $(call pm_lib,$(f),model,$(PM_MODEL_SRCS))))
$(foreach f,normal san fuzz,$(eval $(call pm_lib,$(f),audit,$(PM_AUDIT_SRCS))))
$(foreach f,normal san fuzz,$(eval $(call pm_lib,$(f),verify,$(PM_VERIFY_SRCS))))

# The libraries a program links, in link order: $(call pm_libs,flavour,names).
pm_libs = $(foreach n,$(2),$(BUILD)/$(1)/libpm-$(n).a)
