/* common/utils/parse.h — strict numbers from outside (command lines,
 * control commands, environment): the whole text must be the number, with
 * nothing around it, and it must be within the caller's bounds.
 *
 * Each returns 0 with *out set, or -1 with pm_get_error() saying, on one
 * line, what text was refused and what was wanted, e.g.
 *     "-1": not a number of 0 to 18446744073709551615
 * (the caller adds which option it was).  *out is unchanged on -1.
 */
#ifndef PM_UTILS_PARSE_H
#define PM_UTILS_PARSE_H

#include <stdint.h>

/* Decimal digits only: no sign, no whitespace, no 0x, not empty; leading
 * zeros are decimal ("010" is 10).  The value must be <= max. */
int pm_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* A byte count: decimal digits, then optionally one of k K m M g G (2^10,
 * 2^20, 2^30), then optionally "B", or "iB" after a multiplier — the
 * suffixes host/util.c ph_parse_size took: "4096", "4096B", "256M", "1G",
 * "4KiB", "4kB".  The product must be <= max (overflow is refused, not
 * wrapped). */
int pm_parse_size(const char *s, uint64_t max, uint64_t *out);

/* A finite real number as strtod reads it (decimal, exponent, hex float),
 * with no leading or trailing whitespace, the whole text consumed, not
 * nan/inf, not out of double's range (overflow or underflow), and within
 * [min, max]. */
int pm_parse_double(const char *s, double min, double max, double *out);

#endif
