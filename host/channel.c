/* channel.c — see channel.h. */
#include "channel.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/acks.h"

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
    if (strncmp(line, "user-ack ", 9) == 0) {
        char why[128];
        return pm_user_ack_ok(line + 9, why, sizeof why) == 0 ? PH_MSG_USER_ACK : PH_MSG_OTHER;
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

/* FIEMAP flags whose physical offset is not a place on the device:
 * UNKNOWN, DELALLOC, DATA_INLINE, DATA_TAIL. */
#define FIEMAP_NOT_PLACED (0x2 | 0x4 | 0x200 | 0x400)

size_t ph_guest_extents(json_t *ext, int64_t dev_size, struct ph_range **out)
{
    *out = NULL;
    json_t *base = json_object_get(ext, "dev_offset");
    if (!json_is_integer(base))
        return 0; /* not on a pmem device: nowhere to put them */
    size_t n = 0, cap = 0;
    size_t i, j;
    json_t *file, *e;
    json_array_foreach(json_object_get(ext, "files"), i, file)
    {
        json_array_foreach(json_object_get(file, "extents"), j, e)
        {
            if (ph_json_int(e, "flags", 0) & FIEMAP_NOT_PLACED)
                continue;
            /* Both numbers are the guest's: a sum past 2^63 is no place. */
            long long off, len = ph_json_int(e, "length", 0);
            if (__builtin_add_overflow(json_integer_value(base), ph_json_int(e, "physical", -1),
                                       &off) ||
                off < 0 || len <= 0 || off >= dev_size)
                continue;
            if (len > dev_size - off)
                len = dev_size - off;
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                *out = realloc(*out, cap * sizeof **out);
                if (!*out)
                    abort();
            }
            (*out)[n++] = (struct ph_range){off, len};
        }
    }
    return n;
}

int64_t ph_guest_dev_offset(json_t *prepared, int64_t dev_size)
{
    long long off = ph_json_int(prepared, "dev_offset", 0);
    return off < 0 || off >= dev_size ? 0 : off;
}

bool ph_guest_refused(json_t *run_result)
{
    const char *v = ph_json_str(run_result, "verdict", NULL);
    const char *s = ph_json_str(run_result, "status", NULL);
    return (v && strcmp(v, "refused") == 0) || (s && strcmp(s, "refused") == 0) ||
           json_is_true(json_object_get(run_result, "refused"));
}

const char *ph_guest_verdict(const char *expected, json_t *run_result, json_t *verify_result)
{
    if (ph_guest_refused(run_result))
        return "refused";
    const char *v = ph_json_str(verify_result, "verdict", "FAIL");
    /* A user's checker (check) that could not say: never a PASS */
    if (strcmp(v, "ERROR") == 0)
        return "error";
    /* fsck is {"tool","exit","clean","note"}, or null when it did not run. */
    json_t *fsck = json_object_get(verify_result, "fsck");
    bool fs_ok = !json_is_object(fsck) || json_is_true(json_object_get(fsck, "clean"));
    bool lost = ph_json_count(verify_result, "missing") > 0 ||
                ph_json_count(verify_result, "corrupt") > 0 ||
                json_is_true(json_object_get(verify_result, "lost_allowed"));
    if (strcmp(expected, "durable") == 0)
        return strcmp(v, "PASS") == 0 ? "PASS" : "FAIL";
    /* No guarantee: lost acked records are allowed; a broken filesystem is not. */
    if (!fs_ok)
        return "FAIL";
    return lost ? "allowed-loss" : "PASS";
}

long long ph_json_int(json_t *o, const char *key, long long dflt)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    /* A real only where it converts: 1e300 is no integer (and its
     * conversion undefined). */
    if (json_is_real(v) && json_real_value(v) > -0x1p63 && json_real_value(v) < 0x1p63)
        return (long long)json_real_value(v);
    return dflt;
}

const char *ph_json_str(json_t *o, const char *key, const char *dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

long long ph_json_count(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_array(v))
        return (long long)json_array_size(v);
    if (json_is_integer(v))
        return json_integer_value(v);
    return 0;
}
