/* verify/verdict.h — what verify found, and the verdict it implies.
 *
 * Every acknowledged record ends in exactly one bucket: present, missing
 * (nothing there: zero-filled, past the end of the file, no file, an older
 * ring lap), corrupt (something there, but not that record intact) or
 * superseded (a later record legitimately took its place in the ring).
 * The verdict is FAIL when the filesystem check failed, or when a record
 * was lost (missing or corrupt) and the method was expected to be durable.
 */
#ifndef PMEMCUT_VERIFY_VERDICT_H
#define PMEMCUT_VERIFY_VERDICT_H

#include <stdint.h>
#include <stdio.h>

#include "acks.h"

enum pm_expect { PM_EXPECT_DURABLE, PM_EXPECT_NONE };

/* "durable" / "none"; parse returns -1 for anything else. */
int pm_expect_parse(const char *s);

struct pm_loss {
    char file[PM_ACK_FILE_MAX];
    uint64_t seq;
    enum pm_method method;
    char what[128];
};

struct pm_loss_list {
    struct pm_loss *v;
    size_t n, cap;
};

struct pm_fsck {
    int ran;           /* 0: no device given, nothing checked */
    char tool[32];     /* "e2fsck -fn" or "xfs_repair -n" */
    int exit_code;     /* of the tool; -1 if it could not run */
    int clean;         /* exit code 0 */
    char note[256];    /* e.g. why the recovery mount failed */
    int mounted;       /* 0: the filesystem did not mount (verify --dev) */
    char kernel[512];  /* then what the kernel said of it: "JBD2: ...; EXT4-fs ..." */
    char output[1024]; /* the end of the tool's output, when not clean */
};

struct pm_verdict {
    enum pm_expect expect;
    uint64_t acked, present, superseded, unacked_present;
    struct pm_loss_list missing, corrupt;
    struct pm_fsck fsck;
    int oom; /* a loss could not be recorded: the verdict is FAIL */
};

#define PM_VERDICT_LIST_MAX 1000 /* entries printed per list; counts are exact */

void pm_verdict_init(struct pm_verdict *v, enum pm_expect expect);
void pm_verdict_free(struct pm_verdict *v);

/* Record the fate of one acknowledged record. */
void pm_verdict_present(struct pm_verdict *v);
void pm_verdict_superseded(struct pm_verdict *v);
void pm_verdict_missing(struct pm_verdict *v, const struct pm_ack *a, const char *what);
void pm_verdict_corrupt(struct pm_verdict *v, const struct pm_ack *a, const char *what);

/* 1 for PASS, 0 for FAIL. */
int pm_verdict_pass(const struct pm_verdict *v);

/* The check as a JSON object ({"tool",...,"mounted","kernel"}), or null
 * when it did not run; no newline. */
void pm_fsck_json(const struct pm_fsck *c, FILE *f);

/* The verdict as one JSON object, no newline. */
void pm_verdict_json(const struct pm_verdict *v, FILE *f);

#endif
