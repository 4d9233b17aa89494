/* guestadd.c — see guestadd.h. */
#include "guestadd.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "utils/error.h"
#include "utils/io.h"
#include "utils/spawn.h"
#include "utils/vec.h"

#define ADD_BYTES_MAX (512ull << 20) /* files and libraries in all */
#define LDD_TIMEOUT   20.0

/* One file of the archive: its absolute path in the guest and its bytes. */
struct entry {
    char *path;
    unsigned mode; /* permission bits */
    char *data;
    size_t len;
};

struct archive {
    PM_VEC(struct entry) v;
    uint64_t bytes;
};

static void archive_free(struct archive *a)
{
    for (size_t i = 0; i < a->v.len; i++) {
        free(a->v.v[i].path);
        free(a->v.v[i].data);
    }
    PM_VEC_FREE(&a->v);
}

static bool has(const struct archive *a, const char *path)
{
    for (size_t i = 0; i < a->v.len; i++)
        if (strcmp(a->v.v[i].path, path) == 0)
            return true;
    return false;
}

/* Reads path (following links) into the archive under the same name. */
static int add_file(struct archive *a, const char *path, const char *what)
{
    if (has(a, path))
        return 0;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        pm_set_error("%s %s: %s", what, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        pm_set_error("%s %s: not a regular file", what, path);
        close(fd);
        return -1;
    }
    if (a->bytes + (uint64_t)st.st_size > ADD_BYTES_MAX) {
        pm_set_error("%s %s: the files for the guest exceed %llu MiB", what, path,
                     (unsigned long long)(ADD_BYTES_MAX >> 20));
        close(fd);
        return -1;
    }
    char *data = malloc(st.st_size ? (size_t)st.st_size : 1);
    size_t got = 0;
    while (data && got < (size_t)st.st_size) {
        ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!data || got != (size_t)st.st_size) {
        pm_set_error("%s %s: %s", what, path, data ? "short read" : "out of memory");
        free(data);
        return -1;
    }
    char *p = ph_strf("%s", path);
    if (PM_VEC_PUSH(&a->v, ((struct entry){p, st.st_mode & 07777, data, got})) < 0)
        abort();
    a->bytes += got;
    return 0;
}

/* The libraries an ELF file needs, by ldd: appended to libs (malloc'd
 * paths).  A script or a static program needs none.  0, or -1 when one
 * cannot be resolved or ldd did not answer. */
static int needed(const char *path, char ***libs, size_t *n)
{
    char *argv[] = {"ldd", (char *)path, NULL};
    struct pm_spawn sp = {
        .argv = argv, .capture = 65536, .keep_head = true, .timeout = LDD_TIMEOUT};
    struct pm_spawn_result r;
    if (pm_spawn_run(&sp, &r) < 0) {
        pm_set_error("--guest-add %s: cannot run ldd: %s", path, pm_get_error());
        pm_spawn_result_free(&r);
        return -1;
    }
    int rc = 0;
    if (r.timed_out) {
        pm_set_error("--guest-add %s: ldd gave no answer in %.0f s", path, LDD_TIMEOUT);
        rc = -1;
    }
    for (char *l = r.output, *e; rc == 0 && l && *l; l = e) {
        e = strchr(l, '\n');
        if (e)
            *e++ = '\0';
        else
            e = l + strlen(l);
        while (*l == ' ' || *l == '\t')
            l++;
        char *arrow = strstr(l, " => ");
        char *lib = arrow ? arrow + 4 : l;
        if (arrow && strncmp(lib, "not found", 9) == 0) {
            *arrow = '\0';
            pm_set_error("--guest-add %s: its library %s cannot be resolved on this host", path, l);
            rc = -1;
            break;
        }
        if (*lib != '/')
            continue; /* linux-vdso.so.1, "not a dynamic executable", ... */
        lib[strcspn(lib, " (")] = '\0';
        *libs = realloc(*libs, (*n + 1) * sizeof **libs);
        if (!*libs)
            abort();
        (*libs)[(*n)++] = ph_strf("%s", lib);
    }
    pm_spawn_result_free(&r);
    return rc;
}

/* The files, their libraries and the two scripts. */
static int collect(const struct ph_guest_add *g, struct archive *a)
{
    for (size_t i = 0; i < g->n; i++) {
        if (add_file(a, g->paths[i], "--guest-add") < 0)
            return -1;
        char **libs = NULL;
        size_t nl = 0;
        int r = needed(g->paths[i], &libs, &nl);
        for (size_t j = 0; j < nl; j++) {
            if (r == 0)
                r = add_file(a, libs[j], "--guest-add: library");
            free(libs[j]);
        }
        free(libs);
        if (r < 0)
            return -1;
    }
    const char *cmds[2] = {g->exec_cmd, g->check_cmd};
    const char *names[2] = {"/pmemcut/exec", "/pmemcut/check"};
    for (int i = 0; i < 2; i++) {
        if (!cmds[i])
            continue;
        char *s = ph_strf("#!/bin/sh\n%s\n", cmds[i]);
        char *p = ph_strf("%s", names[i]);
        if (PM_VEC_PUSH(&a->v, ((struct entry){p, 0755, s, strlen(s)})) < 0)
            abort();
    }
    return 0;
}

int ph_guest_add_check(const struct ph_guest_add *g)
{
    struct archive a = {0};
    int r = collect(g, &a);
    archive_free(&a);
    return r;
}

/* --- the newc archive ------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

struct out {
    FILE *f;
    uint64_t off;
    unsigned ino;
};

static void pad(struct out *o)
{
    while (o->off % 4) {
        fputc(0, o->f);
        o->off++;
    }
}

static void member(struct out *o, const char *name, unsigned mode, const void *data, size_t len)
{
    size_t nlen = strlen(name) + 1;
    o->off += (uint64_t)fprintf(o->f, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
                                o->ino++, mode, 0u, 0u, (mode & 040000) ? 2u : 1u, 0u,
                                (unsigned)len, 0u, 0u, 0u, 0u, (unsigned)nlen, 0u);
    fwrite(name, 1, nlen, o->f);
    o->off += nlen;
    pad(o);
    if (len) {
        fwrite(data, 1, len, o->f);
        o->off += len;
        pad(o);
    }
}

/* Every directory above each file first (the kernel creates a file only
 * in a directory that exists), then the files; names without the leading
 * slash, as cpio writes them. */
static void write_archive(struct out *o, const struct archive *a)
{
    PM_VEC(char *) dirs = {0};
    for (size_t i = 0; i < a->v.len; i++) {
        const char *p = a->v.v[i].path + 1;
        for (const char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
            char *d = ph_strf("%.*s", (int)(s - p), p);
            bool seen = false;
            for (size_t j = 0; j < dirs.len && !seen; j++)
                seen = strcmp(dirs.v[j], d) == 0;
            if (seen) {
                free(d);
                continue;
            }
            if (PM_VEC_PUSH(&dirs, d) < 0)
                abort();
            member(o, d, 040755, NULL, 0);
        }
    }
    for (size_t i = 0; i < a->v.len; i++)
        member(o, a->v.v[i].path + 1, 0100000 | a->v.v[i].mode, a->v.v[i].data, a->v.v[i].len);
    member(o, "TRAILER!!!", 0, NULL, 0);
    for (size_t j = 0; j < dirs.len; j++)
        free(dirs.v[j]);
    PM_VEC_FREE(&dirs);
}

char *ph_guest_add_initrd(const char *base, const struct ph_guest_add *g, const char *cache_dir)
{
    struct archive a = {0};
    char *path = NULL, *tmp = NULL;
    struct stat st;
    if (collect(g, &a) < 0)
        goto out;
    if (stat(base, &st) < 0) {
        pm_set_error("guest image %s: %s", base, strerror(errno));
        goto out;
    }
    /* The key: the base image (path, size, time) and every member. */
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv(h, base, strlen(base) + 1);
    h = fnv(h, &st.st_size, sizeof st.st_size);
    h = fnv(h, &st.st_mtim, sizeof st.st_mtim);
    for (size_t i = 0; i < a.v.len; i++) {
        h = fnv(h, a.v.v[i].path, strlen(a.v.v[i].path) + 1);
        h = fnv(h, &a.v.v[i].mode, sizeof a.v.v[i].mode);
        h = fnv(h, &a.v.v[i].len, sizeof a.v.v[i].len);
        h = fnv(h, a.v.v[i].data, a.v.v[i].len);
    }
    if (ph_mkdirs(cache_dir, 0755) < 0)
        goto out;
    path = ph_strf("%s/initrd-%016" PRIx64 ".cpio", cache_dir, h);
    if (access(path, R_OK) == 0)
        goto out; /* made before */
    tmp = ph_strf("%s.%d.tmp", path, (int)getpid());
    if (ph_copy_file(base, tmp) < 0) {
        pm_set_error("cannot copy %s to %s: %s", base, tmp, strerror(errno));
        goto fail;
    }
    struct out o = {.f = fopen(tmp, "ae"), .ino = 900000};
    if (!o.f) {
        pm_set_error("%s: %s", tmp, strerror(errno));
        goto fail;
    }
    /* the base archive ends on a 4-byte boundary; ours starts on one */
    o.off = (uint64_t)st.st_size;
    pad(&o);
    write_archive(&o, &a);
    if (ferror(o.f) | (fclose(o.f) != 0)) {
        pm_set_error("%s: write failed", tmp);
        goto fail;
    }
    if (rename(tmp, path) < 0) {
        pm_set_error("%s: %s", path, strerror(errno));
        goto fail;
    }
    goto out;
fail:
    if (tmp)
        unlink(tmp);
    free(path);
    path = NULL;
out:
    free(tmp);
    archive_free(&a);
    return path;
}
