/* common/utils/parse.c — see parse.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "parse.h"
#include "error.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The text in quotes, on one line and not too long for a message:
 * non-printable bytes as \xNN, more than 64 bytes cut with "...". */
static const char *quote(const char *s, char *buf, size_t size)
{
    size_t o = 0, i = 0;
    buf[o++] = '"';
    for (; s[i] && i < 64 && o + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    if (s[i])
        o += (size_t)snprintf(buf + o, size - o, "...");
    snprintf(buf + o, size - o, "\"");
    return buf;
}

/* Digits from s into *v; *end after them.  false on overflow of 64 bits. */
static bool digits(const char *s, const char **end, uint64_t *v)
{
    uint64_t x = 0;
    bool ok = true;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, d, &x))
            ok = false;
    }
    *end = s;
    *v = x;
    return ok;
}

int pm_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char q[300];
    const char *end;
    uint64_t v;
    if (!s) {
        pm_set_error("no number given (wanted 0 to %" PRIu64 ")", max);
        return -1;
    }
    bool fits = digits(s, &end, &v);
    if (end == s || *end) {
        pm_set_error("%s: not a number of 0 to %" PRIu64 "%s", quote(s, q, sizeof q), max,
                     *s ? "" : " (empty)");
        return -1;
    }
    if (!fits || v > max) {
        pm_set_error("%s: more than %" PRIu64, quote(s, q, sizeof q), max);
        return -1;
    }
    *out = v;
    return 0;
}

int pm_parse_size(const char *s, uint64_t max, uint64_t *out)
{
    char q[300];
    const char *end;
    uint64_t v;
    if (!s) {
        pm_set_error("no size given (wanted 0 to %" PRIu64 " bytes)", max);
        return -1;
    }
    bool fits = digits(s, &end, &v);
    int shift = 0;
    bool bad = end == s;
    if (!bad) {
        switch (*end) {
        case 'k':
        case 'K':
            shift = 10;
            break;
        case 'm':
        case 'M':
            shift = 20;
            break;
        case 'g':
        case 'G':
            shift = 30;
            break;
        }
        if (shift)
            end++;
        if (shift && end[0] == 'i' && end[1] == 'B')
            end += 2;
        else if (*end == 'B')
            end++;
        bad = *end != '\0';
    }
    if (bad) {
        pm_set_error("%s: not a size (digits, then optionally K, M or G, and B or iB) "
                     "of 0 to %" PRIu64 " bytes",
                     quote(s, q, sizeof q), max);
        return -1;
    }
    if (!fits || v > (UINT64_MAX >> shift) || (v << shift) > max) {
        pm_set_error("%s: more than %" PRIu64 " bytes", quote(s, q, sizeof q), max);
        return -1;
    }
    *out = v << shift;
    return 0;
}

int pm_parse_double(const char *s, double min, double max, double *out)
{
    char q[300];
    if (!s) {
        pm_set_error("no number given (wanted %g to %g)", min, max);
        return -1;
    }
    /* strtod skips leading whitespace and reads "nan", "inf", "infinity" */
    if (!*s || !(s[0] == '-' || s[0] == '+' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) {
        pm_set_error("%s: not a number of %g to %g", quote(s, q, sizeof q), min, max);
        return -1;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    int e = errno;
    if (end == s || *end) {
        pm_set_error("%s: not a number of %g to %g", quote(s, q, sizeof q), min, max);
        return -1;
    }
    if (e == ERANGE) {
        pm_set_error("%s: %s a double's range (wanted %g to %g)", quote(s, q, sizeof q),
                     fabs(v) > 1 ? "beyond" : "too small for", min, max);
        return -1;
    }
    if (!isfinite(v)) {
        pm_set_error("%s: not a finite number of %g to %g", quote(s, q, sizeof q), min, max);
        return -1;
    }
    if (!(v >= min && v <= max)) {
        pm_set_error("%s: not within %g to %g", quote(s, q, sizeof q), min, max);
        return -1;
    }
    *out = v;
    return 0;
}
