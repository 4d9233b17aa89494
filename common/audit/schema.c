/* pmemcut — the audit log's schema (see schema.h): the one table. */
#include "schema.h"

#include <string.h>

#define F(member) offsetof(struct pm_audit_rec, member)
#define N         PM_AK_NEEDED
#define S         PM_AK_SOMETIMES

/* policy, p, seed: a cut's parameters, in cut, arm and open records. */
#define CUT_PARAMS                                                                                 \
    {"policy", PM_AT_POLICY, N, F(cut.policy), NULL},                                              \
        {"p", PM_AT_PROB, PM_AK_IF_RANDOM, F(cut.p), NULL},                                        \
    {                                                                                              \
        "seed", PM_AT_U64, N, F(cut.seed), NULL                                                    \
    }

/* What a write, zero or trim did to the lines. */
#define LINE_EFFECTS                                                                               \
    {"off", PM_AT_U64, N, F(off), NULL}, {"len", PM_AT_U64, N, F(len), NULL},                      \
        {"fua", PM_AT_BOOL, N, F(fua), NULL}, {"dirtied", PM_AT_COUNTS, N, F(dirtied), NULL},      \
        {"cleaned", PM_AT_COUNTS, N, F(cleaned), NULL},                                            \
        {"persisted", PM_AT_COUNTS, N, F(persisted), NULL},                                        \
    {                                                                                              \
        "ignored", PM_AT_BOOL, S, F(ignored), NULL                                                 \
    }

static const struct pm_audit_key open_keys[] = {
    {"file", PM_AT_STR, 0, F(file), NULL},
    {"size", PM_AT_U64, N, F(size), NULL},
    {"line", PM_AT_U32, N, F(line), NULL},
    {"created", PM_AT_BOOL, 0, F(created), NULL},
    /* A restart is a power cut with lose-all (see plugin/device.c). */
    {"implied_cut", PM_AT_MARKER, S, F(implied_cut), "lose-all"},
    CUT_PARAMS,
    {"data_log", PM_AT_STR, S, F(data_log), NULL},
};
/* src, insn, fence: a write the CPU made persistent (audit/cpu.h), on an
 * ADR nvdimm; block clients' writes have none of them. */
static const struct pm_audit_key write_keys[] = {
    LINE_EFFECTS,
    {"src", PM_AT_STR, S, F(src), NULL},
    {"insn", PM_AT_STR, S, F(insn), NULL},
    {"fence", PM_AT_U64, S, F(fence), NULL},
    {"dlog", PM_AT_U64, S | PM_AK_APPENDED, F(dlog), NULL},
};
static const struct pm_audit_key zero_keys[] = {LINE_EFFECTS};
static const struct pm_audit_key flush_keys[] = {
    {"persisted", PM_AT_COUNTS, N, F(persisted), NULL},
    {"ignored", PM_AT_BOOL, S, F(ignored), NULL},
};
static const struct pm_audit_key cut_keys[] = {
    {"trigger", PM_AT_STR, N, F(trigger), NULL},
    CUT_PARAMS,
    {"lost", PM_AT_COUNTS, N, F(lost), NULL},
    {"kept", PM_AT_COUNTS, N, F(kept), NULL},
    {"torn", PM_AT_COUNTS, N, F(torn), NULL},
    {"lost_ranges", PM_AT_RANGES, N, F(lost_r), NULL},
    {"kept_ranges", PM_AT_RANGES, N, F(kept_r), NULL},
    {"torn_ranges", PM_AT_RANGES, N, F(torn_r), NULL},
};
static const struct pm_audit_key mark_keys[] = {
    {"text", PM_AT_STR, N, F(text), NULL},
};
static const struct pm_audit_key classify_keys[] = {
    {"class", PM_AT_CLASS, N, F(cls), NULL},
    {"off", PM_AT_U64, N, F(off), NULL},
    {"len", PM_AT_U64, N, F(len), NULL},
    {"lines", PM_AT_U64, 0, F(lines), NULL},
};
static const struct pm_audit_key fault_keys[] = {
    {"flush", PM_AT_FLUSH_MODE, N, F(text), NULL},
};
static const struct pm_audit_key arm_keys[] = {
    {"trigger", PM_AT_STR, N, F(trigger), NULL},
    CUT_PARAMS,
};
/* A request refused while the device is off: op is "read", "write", "zero",
 * "trim" or "flush". */
static const struct pm_audit_key rejected_keys[] = {
    {"op", PM_AT_STR, 0, F(op), NULL},
    {"off", PM_AT_U64, 0, F(off), NULL},
    {"len", PM_AT_U64, 0, F(len), NULL},
};
/* The end of a process: its unpersisted lines are lost with it. */
static const struct pm_audit_key close_keys[] = {
    {"power", PM_AT_ON_OFF, 0, F(power_on), NULL},
    {"lost", PM_AT_COUNTS, 0, F(lost), NULL},
};

#define KIND(name, flags, keys)                                                                    \
    {                                                                                              \
        name, flags, keys, sizeof keys / sizeof *keys                                              \
    }
#define BARE(name, flags)                                                                          \
    {                                                                                              \
        name, flags, NULL, 0                                                                       \
    }

static const struct pm_audit_kind_def kinds[PM_AUDIT_NKINDS] = {
    [PM_AUDIT_OPEN] = KIND("open", PM_AUDIT_SYNC, open_keys),
    [PM_AUDIT_WRITE] = KIND("write", PM_AUDIT_SYNC_FUA | PM_AUDIT_SPAN, write_keys),
    [PM_AUDIT_ZERO] = KIND("zero", PM_AUDIT_SYNC_FUA | PM_AUDIT_SPAN, zero_keys),
    [PM_AUDIT_TRIM] = KIND("trim", PM_AUDIT_SYNC_FUA | PM_AUDIT_SPAN, zero_keys),
    [PM_AUDIT_FLUSH] = KIND("flush", PM_AUDIT_SYNC, flush_keys),
    [PM_AUDIT_CUT] = KIND("cut", PM_AUDIT_SYNC, cut_keys),
    [PM_AUDIT_POWER_ON] = BARE("power-on", PM_AUDIT_SYNC),
    [PM_AUDIT_MARK] = KIND("mark", 0, mark_keys),
    [PM_AUDIT_CLASSIFY] = KIND("classify", PM_AUDIT_SPAN, classify_keys),
    [PM_AUDIT_FAULT] = KIND("fault", 0, fault_keys),
    [PM_AUDIT_ARM] = KIND("arm", 0, arm_keys),
    [PM_AUDIT_DISARM] = BARE("disarm", 0),
    [PM_AUDIT_REJECTED] = KIND("rejected", 0, rejected_keys),
    [PM_AUDIT_CLOSE] = KIND("close", PM_AUDIT_SYNC, close_keys),
};

const struct pm_audit_kind_def *pm_audit_kind_def(enum pm_audit_kind k)
{
    return &kinds[k];
}

const char *pm_audit_kind_name(enum pm_audit_kind k)
{
    return (unsigned)k < PM_AUDIT_NKINDS ? kinds[k].name : "?";
}

int pm_audit_kind_parse(const char *name, enum pm_audit_kind *out)
{
    for (int i = 0; i < PM_AUDIT_NKINDS; i++)
        if (strcmp(name, kinds[i].name) == 0) {
            *out = (enum pm_audit_kind)i;
            return 0;
        }
    return -1;
}

enum pm_audit_kind pm_audit_kind_of_op(enum pm_op op)
{
    static const enum pm_audit_kind of_op[] = {
        [PM_OP_WRITE] = PM_AUDIT_WRITE,   [PM_OP_ZERO] = PM_AUDIT_ZERO,
        [PM_OP_TRIM] = PM_AUDIT_TRIM,     [PM_OP_FLUSH] = PM_AUDIT_FLUSH,
        [PM_OP_CUT] = PM_AUDIT_CUT,       [PM_OP_POWER_ON] = PM_AUDIT_POWER_ON,
        [PM_OP_MARK] = PM_AUDIT_MARK,     [PM_OP_CLASSIFY] = PM_AUDIT_CLASSIFY,
        [PM_OP_FAULT] = PM_AUDIT_FAULT,   [PM_OP_ARM] = PM_AUDIT_ARM,
        [PM_OP_DISARM] = PM_AUDIT_DISARM,
    };
    return of_op[op];
}
