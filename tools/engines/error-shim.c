/* TEMPORARY: see error-shim.h. */
#include "error-shim.h"

#include <stdarg.h>
#include <stdio.h>

static __thread char last[2048];

void pm_set_error(const char *fmt, ...)
{
    char tmp[sizeof last];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap); /* fmt may name pm_get_error() */
    va_end(ap);
    snprintf(last, sizeof last, "%s", tmp);
}

const char *pm_get_error(void)
{
    return last;
}
