/* guest.c — see guest.h. The parameters are those documented by the guest
 * image (guest/README-section.md). */
#include "guest.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ph_guest_cmdline(const struct ph_guest_job *j)
{
    char *base = ph_strf("console=ttyS0 panic=-1 loglevel=4 pmemcut.mode=%s pmemcut.fs=%s "
                         "pmemcut.dir=/mnt/pmem/c%d",
                         ph_mode_name(j->mode), j->fs, j->cycle);
    char *s;
    if (j->verify)
        s = ph_strf("%s pmemcut.cmd=verify pmemcut.expect=%s", base, j->expect);
    else
        s = ph_strf("%s pmemcut.cmd=run%s pmemcut.workload=%s pmemcut.sync=%s "
                    "pmemcut.records=%d",
                    base, j->mkfs ? " pmemcut.mkfs=1" : "", j->workload, j->sync, j->records);
    free(base);
    return s;
}

enum ph_guest_msg ph_guest_parse(const char *line, json_t **json)
{
    if (strncmp(line, "ack ", 4) == 0) {
        char file[4096], method[64];
        unsigned long long seq;
        if (sscanf(line, "ack %4095s %llu %63s", file, &seq, method) == 3)
            return PH_MSG_ACK;
        return PH_MSG_OTHER;
    }
    /* The agent tags its JSON on the channel: "result {...}", "verdict {...}". */
    const char *p = line;
    if (strncmp(p, "result ", 7) == 0)
        p += 7;
    else if (strncmp(p, "verdict ", 8) == 0)
        p += 8;
    while (*p == ' ')
        p++;
    if (*p == '{') {
        json_error_t err;
        json_t *o = json_loads(p, 0, &err);
        if (json_is_object(o)) {
            *json = o;
            return PH_MSG_RESULT;
        }
        json_decref(o);
    }
    return PH_MSG_OTHER;
}
