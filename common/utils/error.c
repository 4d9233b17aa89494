/* common/utils/error.c — see error.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static __thread char last_error[PM_ERROR_MAX];

/* Marks a message that did not fit. */
static void mark_cut(char *buf, size_t size, int wanted)
{
    if (wanted >= 0 && (size_t)wanted < size)
        return;
    memcpy(buf + size - 4, "...", 4);
}

void pm_set_verror(const char *fmt, va_list ap)
{
    int saved = errno;
    char tmp[PM_ERROR_MAX]; /* the arguments may point into last_error */
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    if (n < 0)
        snprintf(tmp, sizeof tmp, "(cannot format error message: %s)", fmt);
    else
        mark_cut(tmp, sizeof tmp, n);
    memcpy(last_error, tmp, sizeof tmp);
    errno = saved;
}

void pm_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pm_set_verror(fmt, ap);
    va_end(ap);
}

void pm_set_error_errno(int errnum, const char *fmt, ...)
{
    int saved = errno;
    char tmp[PM_ERROR_MAX], ebuf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        snprintf(tmp, sizeof tmp, "(cannot format error message: %s)", fmt);
        n = (int)strlen(tmp);
    }
    if (errnum != 0 && (size_t)n < sizeof tmp) {
        const char *why = strerror_r(errnum, ebuf, sizeof ebuf); /* GNU: returns the text */
        n += snprintf(tmp + n, sizeof tmp - (size_t)n, ": %s", why);
    }
    mark_cut(tmp, sizeof tmp, n);
    memcpy(last_error, tmp, sizeof tmp);
    errno = saved;
}

const char *pm_get_error(void)
{
    return last_error;
}

void pm_clear_error(void)
{
    last_error[0] = '\0';
}
