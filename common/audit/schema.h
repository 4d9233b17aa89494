/* pmemcut — the audit log's schema: one table of the event kinds, with
 * their names and the keys each record carries.
 *
 * A record is one JSON object on one line:
 *
 *   {"seq":N,"ns":T,"ev":"<kind name>",<the kind's keys, in table order>}
 *
 * seq and ns are written by the log writer (audit.c); everything after them
 * is the record's body, written by record.c from this table and read back by
 * auditlog.c from this table.  So the writer and the reader cannot disagree
 * about a name, a key, its type or its place.
 *
 * Two columns say how strict each side is, because the reader has always
 * been more lenient than the writer (old logs, hand-made logs in tests):
 *   PM_AK_SOMETIMES  the writer writes the key only when it has a value (a
 *                    true bool, a string, a marker, a non-zero number);
 *                    without the flag it is
 *                    written in every record of the kind;
 *   PM_AK_NEEDED     the reader refuses a record without it (or with a value
 *                    of another type); without the flag a missing key reads
 *                    as zero / false / NULL.
 * PM_AK_IF_RANDOM keys (p) are written, and needed, only when the record's
 * policy is random.  PM_AK_APPENDED keys (dlog) are added by the log writer
 * after the body, not by record.c, and read by the reader's code for them.
 */
#ifndef PMEMCUT_AUDIT_SCHEMA_H
#define PMEMCUT_AUDIT_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

/* The event kinds, in the order of the table (and of counts by kind). */
enum pm_audit_kind {
    PM_AUDIT_OPEN,
    PM_AUDIT_WRITE,
    PM_AUDIT_ZERO,
    PM_AUDIT_TRIM,
    PM_AUDIT_FLUSH,
    PM_AUDIT_CUT,
    PM_AUDIT_POWER_ON,
    PM_AUDIT_MARK,
    PM_AUDIT_CLASSIFY,
    PM_AUDIT_FAULT,
    PM_AUDIT_ARM,
    PM_AUDIT_DISARM,
    PM_AUDIT_REJECTED,
    PM_AUDIT_CLOSE,
    PM_AUDIT_NKINDS
};

/* How a key's value is written, and read into its field of struct
 * pm_audit_rec (auditlog.h). */
enum pm_audit_type {
    PM_AT_U64,        /* uint64_t, a JSON non-negative integer */
    PM_AT_U32,        /* uint32_t, read as a u64 (the kind's check bounds it) */
    PM_AT_BOOL,       /* bool, true/false */
    PM_AT_STR,        /* const char *, a JSON string */
    PM_AT_COUNTS,     /* struct pm_counts, {"meta":N,"data":N,"unknown":N} */
    PM_AT_RANGES,     /* struct pm_rangelist, [[off,len],...] */
    PM_AT_POLICY,     /* enum pm_policy, by name */
    PM_AT_PROB,       /* double, written %.17g */
    PM_AT_CLASS,      /* enum pm_class, by name */
    PM_AT_FLUSH_MODE, /* const char *, "ignore" or "honor" */
    PM_AT_ON_OFF,     /* bool, written "on"/"off"; read: "on" is true */
    PM_AT_MARKER,     /* bool, written as the key's constant `value` when true;
                         read: true when the key is there at all */
};

enum {
    PM_AK_SOMETIMES = 1 << 0,
    PM_AK_NEEDED = 1 << 1,
    PM_AK_IF_RANDOM = 1 << 2,
    PM_AK_APPENDED = 1 << 3,
};

struct pm_audit_key {
    const char *name;
    enum pm_audit_type type;
    unsigned flags;    /* PM_AK_* */
    size_t field;      /* offsetof the value in struct pm_audit_rec */
    const char *value; /* PM_AT_MARKER: what the writer writes */
};

/* Kind-wide properties. */
enum {
    PM_AUDIT_SYNC = 1 << 0,     /* the record is fdatasynced when written */
    PM_AUDIT_SYNC_FUA = 1 << 1, /* ... when its request had FUA */
    PM_AUDIT_SPAN = 1 << 2,     /* off + len must not overflow (reader) */
};

struct pm_audit_kind_def {
    const char *name;
    unsigned flags; /* PM_AUDIT_SYNC ... */
    const struct pm_audit_key *keys;
    size_t nkeys;
};

/* One record in memory: what the writer formats and the reader fills.
 * Pointers (strings, range arrays) belong to whoever filled it: for the
 * reader they stay valid until its next record. */
struct pm_audit_rec {
    uint64_t seq, ns;
    enum pm_audit_kind ev;
    uint64_t off, len; /* write/zero/trim/classify/rejected */
    bool fua, ignored;
    bool has_dlog;
    uint64_t dlog;                              /* write: frame offset in the data log */
    const char *src, *insn;                     /* write: "cpu" and its kind (cpu.h), or NULL */
    uint64_t fence;                             /* write from a cpu: its batch (cpu.h) */
    struct pm_counts dirtied, cleaned;          /* write/zero/trim */
    struct pm_counts persisted;                 /* write/zero/trim/flush */
    struct pm_counts lost, kept, torn;          /* cut; close: lost */
    struct pm_cut_params cut;                   /* cut, arm; open: the default */
    const char *trigger;                        /* cut, arm */
    struct pm_rangelist lost_r, kept_r, torn_r; /* cut */
    const char *text;                           /* mark text; fault: "ignore"/"honor" */
    enum pm_class cls;                          /* classify */
    uint64_t lines;                             /* classify */
    const char *op;                             /* rejected */
    /* open */
    const char *file, *data_log;
    uint64_t size;
    uint32_t line;
    bool created, implied_cut;
    bool power_on; /* close: the device was on */
};

/* The table entry of kind k (k < PM_AUDIT_NKINDS). */
const struct pm_audit_kind_def *pm_audit_kind_def(enum pm_audit_kind k);
/* The kind's name ("write"), "?" for a value outside the table. */
const char *pm_audit_kind_name(enum pm_audit_kind k);
/* 0 with *out set, -1 for a name that is no kind. */
int pm_audit_kind_parse(const char *name, enum pm_audit_kind *out);
/* The kind of the record that a model operation writes. */
enum pm_audit_kind pm_audit_kind_of_op(enum pm_op op);

#endif
