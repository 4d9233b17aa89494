/* paths.c — where pmemcut-host finds the plugin, the guest image and the
 * kernel, and its private runtime directory. */
#include "host.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "utils/parse.h"

/* The top of the source tree: the parent of the folder holding us, or for
 * the sanitizer build (build/san/host/pmemcut-host) the folder holding
 * build/: it uses the same plugin, image and tools as the normal build. */
static char *top_dir(void)
{
    static const char san[] = "/build/san/host";
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return ph_strf(".");
    exe[n] = '\0';
    char *d = dirname(exe); /* .../host */
    size_t len = strlen(d);
    if (len > sizeof san - 1 && strcmp(d + len - (sizeof san - 1), san) == 0)
        return ph_strf("%.*s", (int)(len - (sizeof san - 1)), d);
    return ph_strf("%s/..", d);
}

static char *from_env_or_top(const char *env, const char *rel)
{
    const char *e = getenv(env);
    if (e && *e)
        return ph_abspath(e);
    char *top = top_dir();
    char *p = ph_strf("%s/%s", top, rel);
    free(top);
    char *real = realpath(p, NULL);
    if (real) {
        free(p);
        return real;
    }
    return p;
}

char *ph_find_plugin(void)
{
    return from_env_or_top("PMEMCUT_PLUGIN", "plugin/nbdkit-pmemcut-plugin.so");
}

char *ph_find_audit_tool(void)
{
    return from_env_or_top("PMEMCUT_AUDIT", "tools/pmemcut-audit");
}

/* make image writes the cpio twice: uncompressed (quicker to boot under
 * TCG: the guest does not unpack gzip) and gzip'ed; the first one found. */
char *ph_find_initrd(void)
{
    const char *e = getenv("PMEMCUT_INITRD");
    if (!(e && *e)) {
        char *raw = from_env_or_top("PMEMCUT_INITRD", "build/guest-initramfs.cpio");
        if (access(raw, R_OK) == 0)
            return raw;
        free(raw);
    }
    return from_env_or_top("PMEMCUT_INITRD", "build/guest-initramfs.cpio.gz");
}

/* The installed Debian kernel the image's modules come from: named in
 * guest-kernel next to the image (make image writes it), else the newest
 * /boot/vmlinuz-* by version order. */
char *ph_find_kernel(const char *initrd)
{
    const char *e = getenv("PMEMCUT_KERNEL");
    if (e && *e)
        return ph_abspath(e);
    if (initrd) {
        char *dir = ph_strf("%s", initrd);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        char *named = ph_strf("%s/guest-kernel", slash ? dir : ".");
        char *k = ph_read_file(named, NULL);
        free(named);
        free(dir);
        if (k) {
            k[strcspn(k, "\n")] = '\0';
            if (*k && access(k, R_OK) == 0)
                return k;
            free(k);
        }
    }
    DIR *d = opendir("/boot");
    if (!d)
        return NULL;
    char *best = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "vmlinuz-", 8) != 0)
            continue;
        if (!best || strverscmp(de->d_name, best) > 0) {
            free(best);
            best = ph_strf("%s", de->d_name);
        }
    }
    closedir(d);
    if (!best)
        return NULL;
    char *p = ph_strf("/boot/%s", best);
    free(best);
    return p;
}

char *ph_make_rundir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *tmpl = ph_strf("%s/pmemcut-host.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) {
        pm_set_error("mkdtemp %s: %s", tmpl, strerror(errno));
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

int ph_parse_uint(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
    if (pm_parse_u64(s, max, out) < 0) {
        pm_set_error("%s: %s", opt, pm_get_error());
        return -1;
    }
    return 0;
}
