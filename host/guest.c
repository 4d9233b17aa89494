/* guest.c — see guest.h. The parameters are those documented by the guest
 * image (README.md, "The guest agent and the guest image"). */
#include "guest.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

char *ph_guest_cmdline(const struct ph_guest_job *j)
{
    /* Kernel messages only at error level: the console log stays readable
     * and the boot is quicker over the emulated serial line. */
    char *base = ph_strf("console=ttyS0 panic=-1 quiet loglevel=3 pmemcut.mode=%s pmemcut.fs=%s",
                         ph_mode_name(j->mode), j->fs);
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
    return s;
}
