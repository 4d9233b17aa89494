/* paths.c — where pmemcut-host finds the plugin, the guest image, the
 * kernel, pmemcut-audit and the agent (a built tree or an installation;
 * `pmemcut-host paths` prints them), and its private runtime directory. */
#include "host.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utils/parse.h"

/* The folder holding our own executable ("." if /proc does not say). */
static char *exe_dir(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return ph_strf(".");
    exe[n] = '\0';
    return ph_strf("%s", dirname(exe));
}

/* Installed by make install: we are PREFIX/bin/pmemcut-host and the rest
 * is in PREFIX/lib/pmemcut (the image, the agent, a link to the plugin in
 * nbdkit's plugin directory) and PREFIX/bin (pmemcut-audit).  Told apart
 * from a built tree (host/pmemcut-host) by that folder, which a tree has
 * not, so that neither layout's files are ever taken for the other's. */
static bool installed(void)
{
    char *d = exe_dir();
    size_t len = strlen(d);
    bool in_bin = len >= 4 && strcmp(d + len - 4, "/bin") == 0;
    char *lib = ph_strf("%s/../lib/pmemcut", d);
    struct stat st;
    bool r = in_bin && stat(lib, &st) == 0 && S_ISDIR(st.st_mode);
    free(lib);
    free(d);
    return r;
}

/* The base of the relative names below: PREFIX when installed, else the
 * top of the source tree: the parent of the folder holding us, or for the
 * sanitizer build (build/san/host/pmemcut-host) the folder holding build/:
 * it uses the same plugin, image and tools as the normal build. */
static char *top_dir(void)
{
    static const char san[] = "/build/san/host";
    char *d = exe_dir(); /* .../host or PREFIX/bin */
    size_t len = strlen(d);
    char *top;
    if (len > sizeof san - 1 && strcmp(d + len - (sizeof san - 1), san) == 0)
        top = ph_strf("%.*s", (int)(len - (sizeof san - 1)), d);
    else
        top = ph_strf("%s/..", d);
    free(d);
    return top;
}

/* The path in ENV if set, else BUILT (in a tree) or INST (installed)
 * under top_dir(); resolved, so that what we report and copy is the file
 * itself (the plugin's link names nbdkit's copy). */
static char *from_env_or_top(const char *env, const char *built, const char *inst)
{
    const char *e = getenv(env);
    if (e && *e)
        return ph_abspath(e);
    char *top = top_dir();
    char *p = ph_strf("%s/%s", top, installed() ? inst : built);
    free(top);
    char *real = realpath(p, NULL);
    if (!real) {
        /* missing: its folder resolved, for a message that names it plainly */
        char *slash = strrchr(p, '/');
        *slash = '\0';
        char *dir = realpath(p, NULL);
        if (dir) {
            real = ph_strf("%s/%s", dir, slash + 1);
            free(dir);
        }
        *slash = '/';
    }
    if (real) {
        free(p);
        return real;
    }
    return p;
}

char *ph_find_plugin(void)
{
    return from_env_or_top("PMEMCUT_PLUGIN", "plugin/nbdkit-pmemcut-plugin.so",
                           "lib/pmemcut/nbdkit-pmemcut-plugin.so");
}

char *ph_find_tracer(void)
{
    return from_env_or_top("PMEMCUT_TRACER", "host/tcg/pmemcut-tracer.so",
                           "lib/pmemcut/pmemcut-tracer.so");
}

char *ph_find_audit_tool(void)
{
    return from_env_or_top("PMEMCUT_AUDIT", "tools/pmemcut-audit", "bin/pmemcut-audit");
}

char *ph_find_agent(void)
{
    return from_env_or_top("PMEMCUT_AGENT", "guest/pmemcut-agent", "lib/pmemcut/pmemcut-agent");
}

/* make image writes the cpio twice: uncompressed (quicker to boot under
 * TCG: the guest does not unpack gzip) and gzip'ed; the first one found. */
char *ph_find_initrd(void)
{
    const char *e = getenv("PMEMCUT_INITRD");
    if (!(e && *e)) {
        char *raw = from_env_or_top("PMEMCUT_INITRD", "build/guest-initramfs.cpio",
                                    "lib/pmemcut/guest-initramfs.cpio");
        if (access(raw, R_OK) == 0)
            return raw;
        free(raw);
    }
    return from_env_or_top("PMEMCUT_INITRD", "build/guest-initramfs.cpio.gz",
                           "lib/pmemcut/guest-initramfs.cpio.gz");
}

/* The installed Debian kernel the image's modules come from: named in
 * guest-kernel next to the image (make image writes it; a relative name,
 * as make install writes it, is next to the image too), else the newest
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
        if (k) {
            k[strcspn(k, "\n")] = '\0';
            if (*k && *k != '/') {
                char *rel = ph_strf("%s/%s", slash ? dir : ".", k);
                free(k);
                k = rel;
            }
            if (*k && access(k, R_OK) == 0) {
                free(dir);
                return k;
            }
            free(k);
        }
        free(dir);
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

/* pmemcut-host paths: what run and serve would use, one `NAME PATH` line
 * each, so that an installation (or an override) can be checked without
 * booting anything.  Exit 2 naming the first one missing. */
int ph_cmd_paths(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            printf("usage: pmemcut-host paths\n"
                   "Prints where run and serve find the device plugin, the guest image, the\n"
                   "kernel, pmemcut-audit, the guest agent and the ADR tracer (PMEMCUT_PLUGIN,\n"
                   "PMEMCUT_INITRD, PMEMCUT_KERNEL, PMEMCUT_AUDIT, PMEMCUT_AGENT and\n"
                   "PMEMCUT_TRACER override them).\n");
            return PM_EXIT_OK;
        }
        pm_set_error("paths: unexpected argument '%s' (see pmemcut-host paths --help)", argv[1]);
        return PM_EXIT_USAGE;
    }
    char *initrd = ph_find_initrd();
    struct {
        const char *name, *what;
        char *path;
    } p[] = {
        {"plugin", "device plugin", ph_find_plugin()},
        {"initrd", "guest image", initrd},
        {"kernel", "kernel", ph_find_kernel(initrd)},
        {"audit", "pmemcut-audit", ph_find_audit_tool()},
        {"agent", "guest agent", ph_find_agent()},
        {"tracer", "ADR tracer", ph_find_tracer()},
    };
    const char *missing = NULL, *missing_path = NULL;
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        bool ok = p[i].path && access(p[i].path, R_OK) == 0;
        printf("%-7s %s%s\n", p[i].name, p[i].path ? p[i].path : "-", ok ? "" : " (missing)");
        if (!ok && !missing) {
            missing = p[i].what;
            missing_path = p[i].path ? p[i].path : "";
        }
    }
    fflush(stdout);
    int r = PM_EXIT_OK;
    if (missing) {
        pm_set_error("paths: %s %s not found", missing, missing_path);
        r = PM_EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i].path);
    return r;
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
