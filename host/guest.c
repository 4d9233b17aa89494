/* guest.c — see guest.h. The parameters are those documented by the guest
 * image (README.md, "The guest agent and the guest image"). */
#include "guest.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kernel messages only at error level: the console log stays readable
 * and the boot is quicker over the emulated serial line. */
#define BASE_CMDLINE "console=ttyS0 panic=-1 quiet loglevel=3"

char *ph_guest_cmdline(const struct ph_guest_job *j)
{
    char *base =
        ph_strf(BASE_CMDLINE " pmemcut.mode=%s pmemcut.fs=%s", ph_mode_name(j->mode), j->fs);
    char *s;
    if (j->verify)
        s = ph_strf("%s pmemcut.action=%s pmemcut.expect=%s", base, j->exec ? "check" : "verify",
                    j->expect);
    else if (j->exec)
        s = ph_strf("%s pmemcut.action=exec pmemcut.mkfs=%d%s%s", base, j->mkfs ? 1 : 0,
                    j->handshake ? " pmemcut.handshake=1" : "",
                    j->ack_wait ? " pmemcut.ack_wait=1" : "");
    else
        s = ph_strf("%s pmemcut.action=run pmemcut.mkfs=%d pmemcut.workload=%s pmemcut.sync=%s "
                    "pmemcut.records=%d pmemcut.pause_ms=%d%s%s%s%s",
                    base, j->mkfs ? 1 : 0, j->workload, j->sync, j->records, j->pause_ms,
                    j->handshake ? " pmemcut.handshake=1" : "",
                    j->ack_wait ? " pmemcut.ack_wait=1" : "", j->inject ? " pmemcut.inject=" : "",
                    j->inject ? j->inject : "");
    free(base);
    if (j->cycle > 0 && !j->verify && !j->exec) {
        /* the records carry their cycle (their epoch): see verify/record.h */
        char *c = ph_strf("%s pmemcut.cycle=%d", s, j->cycle);
        free(s);
        s = c;
    }
    return s;
}

char *ph_guest_base_cmdline(enum ph_mode mode, const char *fs)
{
    return ph_strf(BASE_CMDLINE " pmemcut.mode=%s pmemcut.fs=%s pmemcut.boot=saved",
                   ph_mode_name(mode), fs);
}

char *ph_guest_job_params(const struct ph_guest_job *j)
{
    /* One source for both: the cold command line, less its kernel part. */
    char *cmdline = ph_guest_cmdline(j), *out = ph_strf("%s", ""), *save = NULL;
    for (char *t = strtok_r(cmdline, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (strncmp(t, "pmemcut.", 8) != 0)
            continue;
        char *more = ph_strf("%s%s%s", out, *out ? " " : "", t);
        free(out);
        out = more;
    }
    free(cmdline);
    return out;
}
