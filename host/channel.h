/* channel.h — what the host makes of what the guest sends: the lines of the
 * agent channel (README, "The host channel": `ack ...`, `result <json>`,
 * `verdict <json>`, `prepared <json>`, `extents <json>`) and the agent's
 * result on the console. Each line is classified and parsed here, and what
 * the host then takes from it is bounded here (the ranges it labels on the
 * device, where the filesystem starts, the cycle's verdict), with no I/O
 * but the console file's read: tests/fuzz/fuzz-channel.c calls it all. */
#ifndef PH_CHANNEL_H
#define PH_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum ph_guest_msg {
    PH_MSG_ACK,      /* ack FILE SEQ METHOD */
    PH_MSG_RESULT,   /* a JSON object: the agent's result (run, verify, refusal) */
    PH_MSG_PREPARED, /* prepared <json>: the filesystem is ready and synced; send `go` */
    PH_MSG_EXTENTS,  /* extents <json>: file extents (FIEMAP) to label as data */
    PH_MSG_USER_ACK, /* user-ack TEXT: a promise of the user's own workload (--exec) */
    PH_MSG_OTHER,
};

/* Classify one channel line; for the JSON kinds, *json is the parsed
 * object (the caller's), else *json is left alone. An ack is one the
 * agent's own parser (pm_ack_parse) takes, so that verify takes it back. */
enum ph_guest_msg ph_guest_parse(const char *line, json_t **json);

/* The guest's /init prints the agent's JSON on the console after markers;
 * the last PMEMCUT-RESULT's error (or the line itself), as one line, for
 * an error message when the channel said nothing. NULL if there is none. */
char *ph_guest_console_result(const char *console);

/* A range of the device, 0 <= off, 0 < len <= dev_size - off. */
struct ph_range {
    int64_t off, len;
};

/* The ranges to label as data for an `extents <json>` report on a device of
 * dev_size bytes: each placed extent of each file at dev_offset + physical,
 * cut at the device's end; extents that are not placed (FIEMAP's UNKNOWN,
 * DELALLOC, DATA_INLINE, DATA_TAIL) or not on the device are left out.
 * Returns how many (*out malloc'd, the caller frees; NULL for none); none
 * when the report has no integer dev_offset (the file is not on pmem). */
size_t ph_guest_extents(json_t *ext, int64_t dev_size, struct ph_range **out);

/* Where the filesystem starts on the device, from `prepared <json>`'s
 * dev_offset: 0 when absent, null or not inside [0, dev_size). */
int64_t ph_guest_dev_offset(json_t *prepared, int64_t dev_size);

/* Did the agent's run result say the system refused the method? */
bool ph_guest_refused(json_t *run_result);

/* The cycle's verdict (a static string: PASS, FAIL, allowed-loss, refused,
 * or error when a user's checker could not say) from what the agent said,
 * for a method expected "durable" or not: a run refused, else the verify
 * or check result's (NULL: FAIL). */
const char *ph_guest_verdict(const char *expected, json_t *run_result, json_t *verify_result);

/* Integer field of an object (a real truncated, when it fits a long long),
 * or dflt when absent or not a number that fits. */
long long ph_json_int(json_t *o, const char *key, long long dflt);
/* String field of an object, or dflt. */
const char *ph_json_str(json_t *o, const char *key, const char *dflt);
/* The length of an array field, or an integer field, else 0. */
long long ph_json_count(json_t *o, const char *key);

#endif
