/* common/utils/exitcode.h — the one exit-code table of every pmemcut
 * program (agent, host, plugin helpers, audit and replay tools).
 *
 * Defines, not an enum, so that an old header defining the same names with
 * the same values (guest/sys.h) can still be included next to this one.
 */
#ifndef PM_UTILS_EXITCODE_H
#define PM_UTILS_EXITCODE_H

#define PM_EXIT_OK    0 /* success; a verdict of PASS */
#define PM_EXIT_FAIL  1 /* a violation was found (verdict FAIL, failing states) */
#define PM_EXIT_USAGE 2 /* usage, environment or input error, a damaged log included */
#define PM_EXIT_REFUSED                                                                            \
    3 /* refused: a sync method the kernel refuses, a command the device refuses */

#endif
