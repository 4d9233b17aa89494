/* guest.c — see guest.h. The parameters are those documented by the guest
 * image (README.md, "The guest agent and the guest image"). */
#include "guest.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/acks.h"

char *ph_guest_cmdline(const struct ph_guest_job *j)
{
    /* Kernel messages only at error level: the console log stays readable
     * and the boot is quicker over the emulated serial line. */
    char *base = ph_strf("console=ttyS0 panic=-1 quiet loglevel=3 pmemcut.mode=%s pmemcut.fs=%s",
                         ph_mode_name(j->mode), j->fs);
    char *s;
    if (j->verify)
        s = ph_strf("%s pmemcut.action=verify pmemcut.expect=%s", base, j->expect);
    else
        s = ph_strf("%s pmemcut.action=run pmemcut.mkfs=%d pmemcut.workload=%s pmemcut.sync=%s "
                    "pmemcut.records=%d pmemcut.pause_ms=%d%s%s%s",
                    base, j->mkfs ? 1 : 0, j->workload, j->sync, j->records, j->pause_ms,
                    j->handshake ? " pmemcut.handshake=1" : "", j->inject ? " pmemcut.inject=" : "",
                    j->inject ? j->inject : "");
    free(base);
    return s;
}

char *ph_guest_console_result(const char *console)
{
    char *text = ph_read_file(console, NULL);
    if (!text)
        return NULL;
    char *last = NULL;
    for (char *p = text; (p = strstr(p, "PMEMCUT-RESULT ")); p++)
        last = p + strlen("PMEMCUT-RESULT ");
    char *line = NULL;
    if (last) {
        size_t n = strcspn(last, "\r\n");
        json_t *o = json_loadb(last, n, 0, NULL);
        const char *err = json_string_value(json_object_get(o, "error"));
        line = err ? ph_strf("%s", err) : ph_strf("%.*s", (int)n, last);
        json_decref(o);
        /* One line: the agent's error may carry a tool's output. */
        for (char *c = line; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
    }
    free(text);
    return line;
}

enum ph_guest_msg ph_guest_parse(const char *line, json_t **json)
{
    if (strncmp(line, "ack ", 4) == 0) {
        /* The agent's own parser: an ack the host keeps is one that verify
         * will take back. */
        struct pm_ack a;
        char why[200];
        return pm_ack_parse(line, &a, why, sizeof why) == 0 ? PH_MSG_ACK : PH_MSG_OTHER;
    }
    /* The agent tags its JSON on the channel: "result {...}", "verdict {...}",
     * "prepared {...}", "extents {...}". */
    const char *p = line;
    enum ph_guest_msg kind = PH_MSG_RESULT;
    if (strncmp(p, "result ", 7) == 0)
        p += 7;
    else if (strncmp(p, "verdict ", 8) == 0)
        p += 8;
    else if (strncmp(p, "prepared ", 9) == 0)
        p += 9, kind = PH_MSG_PREPARED;
    else if (strncmp(p, "extents ", 8) == 0)
        p += 8, kind = PH_MSG_EXTENTS;
    while (*p == ' ')
        p++;
    if (*p == '{') {
        json_error_t err;
        json_t *o = json_loads(p, 0, &err);
        if (json_is_object(o)) {
            *json = o;
            return kind;
        }
        json_decref(o);
    }
    return PH_MSG_OTHER;
}
