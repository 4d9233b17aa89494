/* nbdkit-pmemcut-plugin — an emulated NVDIMM with a cache-line persistence
 * model, power-cut injection, a control socket and an audit log.
 *
 * This file is the nbdkit shell: parameters, and callbacks that delegate to
 * device.c.  See nbdkit-pmemcut-plugin.pod for the parameters.
 */
#include <assert.h>
#include <inttypes.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include "audit/cpu.h"
#include "control.h"
#include "device.h"
#include "utils/error.h"

static char *file;                                                      /* set by file= */
static int64_t size = -1;                                               /* set by size= */
static char *control_path;                                              /* set by control= */
static char *audit_path;                                                /* set by audit= */
static char *data_log_path;                                             /* set by data-log= */
static unsigned line = 64;                                              /* set by line= */
static struct pm_cut_params defcut = {.policy = PM_LOSE_ALL, .p = 0.5}; /* policy=, p=, seed= */
static int have_p;                                                      /* p= given */
static int opened; /* the device is open (unload must close it) */

static void pmemcut_unload(void)
{
    pd_control_stop();
    if (opened)
        pd_dev_close();
    free(file);
    free(control_path);
    free(audit_path);
    free(data_log_path);
}

/* nbdkit_absolute_path keeps paths valid after nbdkit changes directory. */
static int set_path(char **dst, const char *key, const char *value)
{
    if (!*value) {
        nbdkit_error("%s: empty path", key);
        return -1;
    }
    free(*dst);
    *dst = nbdkit_absolute_path(value);
    return *dst ? 0 : -1;
}

static int pmemcut_config(const char *key, const char *value)
{
    if (strcmp(key, "file") == 0)
        return set_path(&file, key, value);
    if (strcmp(key, "control") == 0)
        return set_path(&control_path, key, value);
    if (strcmp(key, "audit") == 0)
        return set_path(&audit_path, key, value);
    if (strcmp(key, "data-log") == 0)
        return set_path(&data_log_path, key, value);
    if (strcmp(key, "size") == 0) {
        size = nbdkit_parse_size(value);
        if (size == -1)
            return -1;
        if (size == 0) {
            nbdkit_error("size: must be greater than 0");
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "line") == 0) {
        if (nbdkit_parse_unsigned(key, value, &line) == -1)
            return -1;
        if (line < 8 || line > 4096 || (line & (line - 1))) {
            nbdkit_error("line: %u is not a power of two from 8 to 4096", line);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "policy") == 0) {
        if (pm_policy_parse(value, &defcut.policy) == -1) {
            nbdkit_error("policy: unknown policy '%s' (lose-all, keep-all, random, torn, prefix)",
                         value);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "p") == 0) {
        char *end;
        errno = 0;
        defcut.p = strtod(value, &end);
        if (errno || *end || end == value || !(defcut.p >= 0 && defcut.p <= 1)) {
            nbdkit_error("p: '%s' is not a probability between 0 and 1", value);
            return -1;
        }
        have_p = 1;
        return 0;
    }
    if (strcmp(key, "seed") == 0) {
        if (nbdkit_parse_uint64_t(key, value, &defcut.seed) == -1)
            return -1;
        if (defcut.seed > PM_SEED_MAX) {
            nbdkit_error("seed: %s is above 2^53-1", value);
            return -1;
        }
        return 0;
    }
    nbdkit_error("unknown parameter '%s'", key);
    return -1;
}

static char *with_suffix(const char *base, const char *suffix)
{
    char *s;
    if (asprintf(&s, "%s%s", base, suffix) == -1) {
        nbdkit_error("asprintf: %m");
        return NULL;
    }
    return s;
}

static int pmemcut_config_complete(void)
{
    if (!file) {
        nbdkit_error("file: the parameter file=PATH is required");
        return -1;
    }
    if (have_p && defcut.policy != PM_RANDOM) {
        nbdkit_error("p: only policy=random takes p=");
        return -1;
    }
    if (!control_path && !(control_path = with_suffix(file, ".ctl")))
        return -1;
    if (!audit_path && !(audit_path = with_suffix(file, ".audit.jsonl")))
        return -1;
    if (size > 0 && size % line) {
        nbdkit_error("size: %" PRIi64 " is not a multiple of line=%u", size, line);
        return -1;
    }
    return 0;
}

/* Start-up work that can fail is done here, before nbdkit forks or serves,
 * so that a bad parameter stops nbdkit with one line. */
static int pmemcut_get_ready(void)
{
    struct pd_config cfg = {
        .file = file,
        .size = size > 0 ? (uint64_t)size : 0,
        .control = control_path,
        .audit = audit_path,
        .dlog = data_log_path,
        .line = line,
        .cut = defcut,
    };
    /* The socket first: a control= that cannot be bound must fail before
     * the device creates its image and writes its open record. */
    if (pd_control_listen(control_path) == -1) {
        nbdkit_error("%s", pm_get_error());
        return -1;
    }
    if (pd_dev_open(&cfg) == -1) {
        nbdkit_error("%s", pm_get_error());
        pd_control_stop(); /* and its socket file */
        return -1;
    }
    opened = 1;
    return 0;
}

static int pmemcut_after_fork(void)
{
    if (pd_control_start() == -1) {
        nbdkit_error("%s", pm_get_error());
        return -1;
    }
    return 0;
}

/* A connection: a block client on the default export "", or the ADR
 * tracer on one of its exports "pmemcut-cpu/KIND" (audit/cpu.h), whose
 * writes the audit log marks as the CPU's.  Any other name is refused, so
 * that a misspelt tracer export cannot pass as a block client. */
struct conn {
    int cpu; /* 1 + enum pm_cpu_insn, 0 for a block client */
};

static void *pmemcut_open(int readonly)
{
    (void)readonly;
    const char *name = nbdkit_export_name();
    int k = pm_cpu_export_parse(name);
    if (k == -2) {
        nbdkit_error("export '%s' is unknown: the device serves \"\" to block clients and "
                     "%sclflush, %sclwb+fence, %snt+fence, %swbinvd to the ADR tracer",
                     name, PM_CPU_EXPORT_PREFIX, PM_CPU_EXPORT_PREFIX, PM_CPU_EXPORT_PREFIX,
                     PM_CPU_EXPORT_PREFIX);
        return NULL;
    }
    struct conn *c = malloc(sizeof *c);
    if (!c) {
        nbdkit_error("open: out of memory");
        return NULL;
    }
    c->cpu = k + 1;
    return c;
}

/* A tracer that goes (QEMU ends, or is killed at a cut) may leave a batch
 * unended: the next connection's writes must not join it. */
static void pmemcut_close(void *h)
{
    const struct conn *c = h;
    if (c->cpu)
        pd_dev_end_fence();
    free(h);
}

static int pmemcut_list_exports(int readonly, int is_tls, struct nbdkit_exports *exports)
{
    (void)readonly;
    (void)is_tls;
    if (nbdkit_add_export(exports, "", "the device") == -1)
        return -1;
    for (int k = 0; k < PM_CPU_NINSNS; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s%s", PM_CPU_EXPORT_PREFIX,
                 pm_cpu_insn_name((enum pm_cpu_insn)k));
        if (nbdkit_add_export(exports, name, "the ADR tracer's writes") == -1)
            return -1;
    }
    return 0;
}

/* What only a block client may ask: the tracer's exports take FUA writes
 * of what the CPU made persistent, and the cache requests that end its
 * batches; a flush or a plain write there would persist or dirty lines
 * that no instruction did. */
static int block_only(void *h, const char *op)
{
    const struct conn *c = h;
    if (!c->cpu)
        return 0;
    nbdkit_error("%s: not on export %s%s (FUA writes and cache requests only)", op,
                 PM_CPU_EXPORT_PREFIX, pm_cpu_insn_name((enum pm_cpu_insn)(c->cpu - 1)));
    errno = EINVAL;
    return -1;
}

static int64_t pmemcut_get_size(void *h)
{
    (void)h;
    return (int64_t)pd_dev_size();
}

static int pmemcut_block_size(void *h, uint32_t *minimum, uint32_t *preferred, uint32_t *maximum)
{
    (void)h;
    *minimum = 1; /* the model is byte-granular */
    *preferred = 4096;
    *maximum = 0xffffffff;
    return 0;
}

static int yes(void *h)
{
    (void)h;
    return 1;
}

/* A flush on any connection persists every line of the device. */
static int pmemcut_can_multi_conn(void *h)
{
    return yes(h);
}

static int pmemcut_can_fua(void *h)
{
    (void)h;
    return NBDKIT_FUA_NATIVE;
}

static int fail(int err, const char *op, const char *why)
{
    nbdkit_error("%s: %s", op, why);
    errno = err;
    return -1;
}

static int pmemcut_pread(void *h, void *buf, uint32_t count, uint64_t off, uint32_t flags)
{
    (void)h;
    assert(!flags);
    const char *why;
    int e = pd_dev_read(buf, count, off, &why);
    return e ? fail(e, "pread", why) : 0;
}

static int pmemcut_pwrite(void *h, const void *buf, uint32_t count, uint64_t off, uint32_t flags)
{
    const struct conn *c = h;
    assert(!(flags & ~NBDKIT_FLAG_FUA));
    if (!(flags & NBDKIT_FLAG_FUA) && block_only(h, "write without FUA") == -1)
        return -1;
    const char *why;
    int e = pd_dev_write_cpu(buf, count, off, flags & NBDKIT_FLAG_FUA, c->cpu - 1, &why);
    return e ? fail(e, "pwrite", why) : 0;
}

static int pmemcut_zero(void *h, uint32_t count, uint64_t off, uint32_t flags)
{
    if (block_only(h, "zero") == -1)
        return -1;
    assert(!(flags & ~(NBDKIT_FLAG_FUA | NBDKIT_FLAG_MAY_TRIM)));
    const char *why;
    int e = pd_dev_zero(PM_OP_ZERO, count, off, flags & NBDKIT_FLAG_FUA, &why);
    return e ? fail(e, "zero", why) : 0;
}

static int pmemcut_trim(void *h, uint32_t count, uint64_t off, uint32_t flags)
{
    if (block_only(h, "trim") == -1)
        return -1;
    assert(!(flags & ~NBDKIT_FLAG_FUA));
    const char *why;
    int e = pd_dev_zero(PM_OP_TRIM, count, off, flags & NBDKIT_FLAG_FUA, &why);
    return e ? fail(e, "trim", why) : 0;
}

static int pmemcut_flush(void *h, uint32_t flags)
{
    if (block_only(h, "flush") == -1)
        return -1;
    assert(!flags);
    const char *why;
    int e = pd_dev_flush(&why);
    return e ? fail(e, "flush", why) : 0;
}

/* A cache request: nothing to cache for a block client; on a cpu export
 * the end of a fence's batch (audit/cpu.h). */
static int pmemcut_can_cache(void *h)
{
    (void)h;
    return NBDKIT_CACHE_NATIVE;
}

static int pmemcut_cache(void *h, uint32_t count, uint64_t off, uint32_t flags)
{
    const struct conn *c = h;
    (void)count;
    (void)off;
    (void)flags;
    if (c->cpu)
        pd_dev_end_fence();
    return 0;
}

#define pmemcut_config_help                                                                        \
    "file=PATH          (required) persisted image; created at size= if missing\n"                 \
    "size=SIZE          image size (1G, 256M ...); must match an existing file\n"                  \
    "control=SOCKET     control socket (default FILE.ctl), mode 0600\n"                            \
    "audit=PATH         JSON Lines audit log (default FILE.audit.jsonl), appended\n"               \
    "data-log=PATH      binary log of every accepted write's payload (for replay)\n"               \
    "line=64            cache-line size: power of two, 8..4096\n"                                  \
    "policy=lose-all    default cut policy: lose-all keep-all random torn prefix\n"                \
    "p=0.5              random: probability that a dirty line is kept\n"                           \
    "seed=N             base seed for cuts that name no seed"

static struct nbdkit_plugin plugin = {
    .name = "pmemcut",
    .longname = "pmemcut emulated persistent memory",
    .version = "1.0",
    .description = "Emulated NVDIMM with a cache-line persistence model and power cuts",
    .unload = pmemcut_unload,
    .config = pmemcut_config,
    .config_complete = pmemcut_config_complete,
    .config_help = pmemcut_config_help,
    .magic_config_key = "file",
    .get_ready = pmemcut_get_ready,
    .after_fork = pmemcut_after_fork,
    .open = pmemcut_open,
    .close = pmemcut_close,
    .list_exports = pmemcut_list_exports,
    .get_size = pmemcut_get_size,
    .block_size = pmemcut_block_size,
    .can_write = yes,
    .can_flush = yes,
    .can_trim = yes,
    .can_zero = yes,
    .can_fua = pmemcut_can_fua,
    .can_multi_conn = pmemcut_can_multi_conn,
    .pread = pmemcut_pread,
    .pwrite = pmemcut_pwrite,
    .zero = pmemcut_zero,
    .trim = pmemcut_trim,
    .flush = pmemcut_flush,
    .can_cache = pmemcut_can_cache,
    .cache = pmemcut_cache,
    .errno_is_preserved = 1,
};

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL
NBDKIT_REGISTER_PLUGIN(plugin)
