/* TEMPORARY: the last-error API of common/utils/error.h (branch utils),
 * until that is on main; then this file goes and the includes name
 * "utils/error.h". */
#ifndef PMEMCUT_ERROR_SHIM_H
#define PMEMCUT_ERROR_SHIM_H

__attribute__((format(printf, 1, 2))) void pm_set_error(const char *fmt, ...);
const char *pm_get_error(void);

#ifndef PM_EXIT_OK /* TEMPORARY: common/utils/exitcode.h */
#define PM_EXIT_OK      0
#define PM_EXIT_FAIL    1
#define PM_EXIT_USAGE   2
#define PM_EXIT_REFUSED 3
#endif

#endif
