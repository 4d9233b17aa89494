/* verify/acks.c — names of methods and workloads, ack lines and ack lists. */
#include "acks.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "utils/vec.h"

static const char *const method_names[PM_SYNC_COUNT] = {
    [PM_SYNC_NONE] = "none",
    [PM_SYNC_FSYNC] = "fsync",
    [PM_SYNC_FDATASYNC] = "fdatasync",
    [PM_SYNC_MSYNC] = "msync",
    [PM_SYNC_ODSYNC] = "odsync",
    [PM_SYNC_MAP_SYNC] = "map-sync",
    [PM_SYNC_PREALLOC_FLUSH] = "prealloc-flush",
    [PM_SYNC_PREWRITE_FLUSH] = "prewrite-flush",
};

static const char *const workload_names[PM_WL_COUNT] = {
    [PM_WL_APPEND] = "append",
    [PM_WL_OVERWRITE] = "overwrite",
    [PM_WL_CREATE] = "create",
    [PM_WL_MMAP] = "mmap",
};

const char *pm_method_name(enum pm_method m)
{
    return m < PM_SYNC_COUNT ? method_names[m] : "?";
}

/* The index of s in names[0..n), or -1. */
static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int pm_method_parse(const char *s)
{
    return lookup(method_names, PM_SYNC_COUNT, s);
}

const char *pm_workload_name(enum pm_workload w)
{
    return w < PM_WL_COUNT ? workload_names[w] : "?";
}

int pm_workload_parse(const char *s)
{
    return lookup(workload_names, PM_WL_COUNT, s);
}

int pm_method_maps(enum pm_method m)
{
    return m == PM_SYNC_MSYNC || m == PM_SYNC_MAP_SYNC || m == PM_SYNC_PREALLOC_FLUSH ||
           m == PM_SYNC_PREWRITE_FLUSH;
}

int pm_ack_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n >= PM_ACK_FILE_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = name[i];
        if (c == '/' || c <= ' ' || c == 0x7f)
            return -1;
    }
    return 0;
}

int pm_ack_format_cycle(char *buf, size_t len, const char *file, uint64_t seq, enum pm_method m,
                        uint32_t cycle)
{
    if (cycle == 0)
        return snprintf(buf, len, "ack %s %llu %s\n", file, (unsigned long long)seq,
                        pm_method_name(m));
    return snprintf(buf, len, "ack %s %llu %s cycle=%lu\n", file, (unsigned long long)seq,
                    pm_method_name(m), (unsigned long)cycle);
}

int pm_ack_format(char *buf, size_t len, const char *file, uint64_t seq, enum pm_method m)
{
    return pm_ack_format_cycle(buf, len, file, seq, m, 0);
}

int pm_cycle_parse(const char *s, uint32_t *cycle)
{
    /* one spelling per number: a mark and a line of the same cycle compare
     * equal as numbers, and nothing the host never writes gets in */
    size_t n = strspn(s, "0123456789");
    if (n == 0 || s[n] || s[0] == '0' || n > 10)
        return -1;
    unsigned long long v = strtoull(s, NULL, 10);
    if (v > PM_CYCLE_MAX)
        return -1;
    *cycle = (uint32_t)v;
    return 0;
}

#define CYCLE_RULE "N a decimal number from 1 to 2147483647, no leading zero"

/* Split line into at most max words (in place).  Returns the word count,
 * max + 1 when there are more. */
static int split_words(char *line, char **w, int max)
{
    int n = 0;
    char *p = line;

    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            return n;
        if (n == max)
            return max + 1;
        w[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
}

int pm_cycle_mark_parse(const char *text, uint32_t *cycle, char *err, size_t errlen)
{
    char buf[64];
    char *w[2];
    size_t n = strlen(text);
    if (strncmp(text, "cycle", 5) != 0 || (text[5] && text[5] != ' ' && text[5] != '\t'))
        return 0;
    int nw = 0;
    if (n < sizeof buf) { /* longer, it cannot be one number */
        memcpy(buf, text, n + 1);
        nw = split_words(buf, w, 2);
    }
    if (nw != 2 || pm_cycle_parse(w[1], cycle) == -1) {
        snprintf(err, errlen, "expected 'cycle N', " CYCLE_RULE);
        return -1;
    }
    return 1;
}

int pm_ack_parse(const char *line, struct pm_ack *ack, char *err, size_t errlen)
{
    char buf[512];
    char *w[5];
    size_t n = strlen(line);

    /* What else the agent sends on the channel, fed back in a raw capture:
     * skipped before the length check (these lines can be long). */
    static const char *const other[] = {"result ", "verdict ", "extents ", "prepared "};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (strncmp(line, other[i], strlen(other[i])) == 0)
            return 2;

    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (n >= sizeof buf) {
        snprintf(err, errlen, "line too long (%zu bytes)", n);
        return -1;
    }
    memcpy(buf, line, n);
    buf[n] = '\0';

    int nw = split_words(buf, w, 5);
    if (nw == 0)
        return 2;
    if (strcmp(w[0], "result") == 0 || strcmp(w[0], "verdict") == 0)
        return 2;
    if (strcmp(w[0], "end") == 0 && nw == 1)
        return 1;
    if (strcmp(w[0], "ack") != 0 || nw < 4 || nw > 5) {
        snprintf(err, errlen, "expected 'ack FILE SEQ METHOD [cycle=N]' or 'end'");
        return -1;
    }
    if (pm_ack_name_ok(w[1]) < 0) {
        snprintf(err, errlen, "bad file name '%.*s'", PM_ACK_FILE_MAX, w[1]);
        return -1;
    }
    char *end;
    errno = 0;
    unsigned long long seq = strtoull(w[2], &end, 10);
    if (!isdigit((unsigned char)w[2][0]) || *end || errno || seq == 0) {
        snprintf(err, errlen, "bad sequence number '%.32s'", w[2]);
        return -1;
    }
    int m = pm_method_parse(w[3]);
    if (m < 0) {
        snprintf(err, errlen, "unknown method '%.32s'", w[3]);
        return -1;
    }
    uint32_t cycle = 0;
    if (nw == 5 && strncmp(w[4], "cycle=", 6) != 0) {
        snprintf(err, errlen, "unexpected '%.32s' after the method: only cycle=N may follow", w[4]);
        return -1;
    }
    if (nw == 5 && pm_cycle_parse(w[4] + 6, &cycle) == -1) {
        snprintf(err, errlen, "bad cycle '%.32s': expected cycle=N, " CYCLE_RULE, w[4]);
        return -1;
    }
    snprintf(ack->file, sizeof ack->file, "%s", w[1]);
    ack->seq = seq;
    ack->method = m;
    ack->cycle = cycle;
    return 0;
}

int pm_acks_add(struct pm_ack_list *l, const struct pm_ack *a)
{
    if (l->len >= PM_ACKS_MAX)
        return -1;
    return PM_VEC_PUSH(l, *a);
}

int pm_acks_read(struct pm_ack_list *l, FILE *f, int need_end, char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    unsigned long lineno = 0;
    int rc = -1;

    for (;;) {
        errno = 0;
        if (getline(&line, &cap, f) < 0) {
            if (errno)
                snprintf(err, errlen, "read error after line %lu: %s", lineno, strerror(errno));
            else if (need_end)
                snprintf(err, errlen, "end of input after line %lu without 'end'", lineno);
            else
                rc = 0;
            break;
        }
        lineno++;
        struct pm_ack a;
        char why[200];
        int r = pm_ack_parse(line, &a, why, sizeof why);
        if (r == 1) {
            rc = 0;
            break;
        }
        if (r == 2)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "line %lu: %s", lineno, why);
            break;
        }
        if (pm_acks_add(l, &a) < 0) {
            snprintf(err, errlen, "line %lu: too many acknowledgements", lineno);
            break;
        }
    }
    free(line);
    return rc;
}

static int ack_cmp(const void *pa, const void *pb)
{
    const struct pm_ack *a = pa, *b = pb;
    int c = strcmp(a->file, b->file);
    if (c)
        return c;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return a->cycle < b->cycle ? -1 : a->cycle > b->cycle;
}

void pm_acks_sort(struct pm_ack_list *l)
{
    size_t out = 0;

    if (l->len == 0)
        return;
    qsort(l->v, l->len, sizeof *l->v, ack_cmp);
    for (size_t i = 1; i < l->len; i++)
        if (ack_cmp(&l->v[out], &l->v[i]) != 0)
            l->v[++out] = l->v[i];
    l->len = out + 1;
}

void pm_acks_free(struct pm_ack_list *l)
{
    PM_VEC_FREE(l);
}

int pm_user_ack_ok(const char *text, char *why, size_t whylen)
{
    size_t n = strlen(text);
    if (n == 0 || n > PM_USER_ACK_MAX) {
        snprintf(why, whylen, "a promise is 1..%d bytes, not %zu", PM_USER_ACK_MAX, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(why, whylen, "a promise is one line of text: byte %zu is a control character",
                     i);
            return -1;
        }
    }
    return 0;
}
