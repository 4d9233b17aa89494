/* pmemcut — a device history exported in dm-log-writes format (the mapping
 * of events onto entries is in dmlog.h), so that tools built for the
 * kernel's target (xfstests' replay-log) replay pmemcut histories. */
#ifndef PMEMCUT_EXPORT_H
#define PMEMCUT_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

struct pt_export_result {
    uint64_t entries; /* written to the file */
    uint64_t applied; /* seq of the last record exported */
    bool damaged;     /* the logs were damaged after seq applied */
};

/* Replays audit (with its data log dlog, from base when the history did
 * not create its image) and writes every event to out.  0, or -1 with the
 * message for pm_get_error: with res->damaged, everything before the
 * damage was exported and out is a complete file; otherwise out is not
 * usable. */
int pt_export_dmlog(const char *audit, const char *dlog, const char *base, const char *out,
                    struct pt_export_result *res);

#endif
