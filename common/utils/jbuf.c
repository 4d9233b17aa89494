/* pmemcut — growable text buffer with JSON helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jbuf.h"

void jb_init(struct jbuf *b)
{
    memset(b, 0, sizeof *b);
}

void jb_free(struct jbuf *b)
{
    free(b->s);
    jb_init(b);
}

void jb_reset(struct jbuf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->s)
        b->s[0] = '\0';
}

bool jb_ok(const struct jbuf *b)
{
    return !b->failed;
}

static bool reserve(struct jbuf *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->failed = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

void jb_mem(struct jbuf *b, const void *p, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void jb_printf(struct jbuf *b, const char *fmt, ...)
{
    if (b->failed || !reserve(b, 64))
        return;
    /* Format straight into the free space; only a result that does not fit
     * is formatted a second time, after growing. */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        if (!reserve(b, (size_t)n))
            return;
        va_start(ap, fmt);
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void jb_u64(struct jbuf *b, uint64_t v)
{
    char d[20];
    int n = 0;
    do {
        d[sizeof d - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    jb_mem(b, d + sizeof d - n, (size_t)n);
}

void jb_cat(struct jbuf *b, const char *s)
{
    jb_mem(b, s, strlen(s));
}

void jb_str(struct jbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    jb_mem(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[6];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            jb_mem(b, esc, 2);
        } else if (*p == '\n' || *p == '\t' || *p == '\r') {
            /* The short forms: what the agent has always printed (a tool's
             * output in a verdict is mostly newlines). */
            esc[0] = '\\';
            esc[1] = *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r';
            jb_mem(b, esc, 2);
        } else if (*p < 0x20 || *p >= 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
            jb_mem(b, esc, 6);
        } else {
            jb_mem(b, p, 1);
        }
    }
    jb_mem(b, "\"", 1);
}

char *jb_take(struct jbuf *b)
{
    char *s = b->failed ? NULL : b->s;
    if (b->failed)
        free(b->s);
    else if (!s)
        s = calloc(1, 1);
    jb_init(b);
    return s;
}
