/* guestadd.h — a user's own workload in the guest (run --exec/--check
 * [--guest-add PATH]...): the files it needs, with their shared libraries,
 * and the two commands as /pmemcut/exec and /pmemcut/check, in a newc cpio
 * archive appended to the base guest image (the kernel unpacks
 * concatenated archives, later files over earlier ones).  The result is
 * cached by content: the same files and commands on the same base image
 * boot the same file, made once. */
#ifndef PH_GUESTADD_H
#define PH_GUESTADD_H

#include <stddef.h>

#define PH_GUEST_ADD_MAX 64 /* --guest-add files per run */

struct ph_guest_add {
    char *paths[PH_GUEST_ADD_MAX]; /* absolute, as given (made absolute) */
    size_t n;
    const char *exec_cmd, *check_cmd; /* shell command lines */
};

/* Every file is a readable regular file, and every shared library its ELF
 * needs (ldd) resolves on this host.  0, or -1 with one line in
 * pm_set_error naming the file (and the library). */
int ph_guest_add_check(const struct ph_guest_add *g);

/* The image to boot: base followed by the archive of g, as
 * cache_dir/initrd-HASH.cpio (made unless it is there).  Returns its path
 * (caller frees), or NULL with pm_set_error. */
char *ph_guest_add_initrd(const char *base, const struct ph_guest_add *g, const char *cache_dir);

#endif
