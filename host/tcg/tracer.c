/* tracer.c — pmemcut-tracer.so, the ADR cache model of nvdimm mode: a QEMU
 * 7.2 TCG plugin (API v1) that traces what the guest's CPU does to the
 * emulated NVDIMM and hands what reaches persistence to the device.
 *
 * Design (issue 14; facts from spikes/adr-qemu72/FINDINGS.md):
 *
 * 1. What is traced. Stores and non-temporal stores (memory callbacks on
 *    instructions that may store, adr.c's decoder says which, from the
 *    first user-mode instruction on: see stores_on), clwb,
 *    clflushopt, clflush (exec callbacks: QEMU makes no memory access for
 *    them, so the operand is decoded at translation and computed from the
 *    guest registers at execution), sfence, mfence, LOCK-prefixed
 *    instructions and xchg with memory (exec callbacks), wbinvd.
 * 2. Where. A store's device offset is its host address minus QEMU's
 *    mapping of the nvdimm's backing file (nvfile=, the FUSE view): the
 *    API's phys_addr is QEMU's RAM offset, not the guest-physical address.
 *    A flush's linear address goes through QEMU's own page walk
 *    (cpu_get_phys_page_debug, exported by Debian's binary), so no
 *    file-backed guest RAM is needed; the nvdimm's guest-physical base is
 *    learned from the first stores (walk of the store's address minus its
 *    device offset) and checked on the following ones.
 * 3. Registers. TCG keeps the CPU state pointer in %rbp on an x86-64 host;
 *    a two-instruction stub passes it to the flush callback. TCG marks the
 *    plugin helper "reads no globals", so a register written earlier in the
 *    block could be stale: at load the helper's table entry is changed to
 *    "writes no globals", and TCG stores the registers before each call.
 * 4. The rule (adr.c): a line persists at clflush; at clwb/clflushopt
 *    followed by a fence on the same vCPU; when written by a non-temporal
 *    store that a fence follows; a store after a write-back re-dirties it.
 * 5. To the device. Each persisted run is written, with its current bytes
 *    read from the mapping, as one FUA write through the device's NBD
 *    socket (nbd=): a fence's lines are sorted and coalesced first. The
 *    device's model and audit log stay the single record of truth: the
 *    guest's other stores reach it only as the view's non-FUA page
 *    writebacks, dirty until a cut decides. One connection per kind of
 *    persist, export "pmemcut-cpu/KIND" (common/audit/cpu.h), so that the
 *    device's records say which ("src":"cpu","insn":KIND); after a fence's
 *    runs (or a clflush's line) an NBD cache request ends the batch, and
 *    the records of one batch carry one "fence" number. Every request
 *    waits for its reply, so the device sees them in this order.
 * 6. Checks. At load: host architecture, target, QEMU version (7.2.x, from
 *    the binary's version string), the exported internals, the helper
 *    entry (found by name, flags and type mask as QEMU 7.2 has them), the
 *    nvdimm file and the NBD export (same size, FUA). At the first
 *    instruction (the reset vector): the CPU-state layout, against the
 *    architectural reset values. On the first stores: the hwaddr layout
 *    and the nvdimm's base. Any mismatch: one line on stderr,
 *    `pmemcut-tracer: refused: WHAT`, the same in the counts file, and
 *    QEMU stops (exit status 3) before the guest runs.
 * 7. Counts (counts=FILE): JSON, rewritten twice a second by a thread of
 *    the plugin while the guest runs, after every batch sent to the device
 *    and at exit, so that pmemcut-host can read them even after a destroy,
 *    and exactly when the guest waits for it.
 *
 * Arguments: nvfile=PATH (required), nbd=SOCKET, counts=FILE, log=FILE
 * (every flush of an nvdimm line and every persisted run, as text),
 * base=GPA (check the learned base against it), export=PREFIX (of the
 * export names, "pmemcut-cpu"; the device refuses any other).
 *
 * Limits: x86-64 hosts and 64-bit guest code (flushes in compat mode are
 * counted, not attributed); one global lock orders vCPUs; evictions and
 * write-combining drains at interrupts are not modelled (the cut policies
 * cover evictions). */
#include "adr.h"
#include "qemu-plugin-v1.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libnbd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

PH_PLUGIN_EXPORT int qemu_plugin_version = 1;

/* Set by the plugin arguments. */
static const char *nv_file;  /* nvfile=: the nvdimm's mem-path */
static const char *nbd_sock; /* nbd=: the device's Unix socket; none: model only */
static const char *counts_path, *log_path;
static const char *export_prefix = "pmemcut-cpu"; /* + "/" + the kind */
static uint64_t want_base;                        /* base=, 0: not given */

/* Found at load or at the first vCPU. */
static char qemu_version[64];
static uintptr_t nv_host;                   /* QEMU's mapping of nv_file */
static uint64_t nv_size;                    /* bytes of nv_file (data and label area) */
static uint64_t nv_base = UINT64_MAX;       /* guest-physical base, learned */
static struct nbd_handle *nbd[PH_ADR_NSRC]; /* one per kind: its export */
static FILE *logf;
static void *(*get_cpu)(int index);
static uint64_t (*phys_page)(void *cpu, uint64_t vaddr);
static void (*flush_tbs)(void *cpu); /* tb_flush, if QEMU exports it */
/* Memory callbacks are registered from the first user-mode instruction on
 * (or from the start, without tb_flush): until then the kernel boots, and
 * its drivers for the nvdimm are modules that user space loads, so no store
 * reaches it; the store callbacks are most of the tracer's cost (about 40%
 * of QEMU's time in a profile). Were a store missed, its line would be
 * dirty on the device, never persisted by the tracer: lost at a lose-all
 * cut, not hidden. Atomic. */
static int stores_on;
static uint64_t stores_on_tbs; /* blocks translated before it */

/* lock guards everything below, the model, the log and the NBD handle. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct ph_adr_model model;
static struct {
    uint64_t flush_outside, flush_unmapped, flush_not64, flush_early;
    uint64_t fua_writes, fua_bytes, write_errors;
    uint64_t batches, batch_errors; /* fences (or clflushes) whose runs were sent */
    int batch_open;                 /* 1 + the kind of the last run sent, 0: none since the end */
    uint64_t base_checks, layout_checks;
    uint64_t phys_delta;
} x;
static bool counts_final; /* at_exit wrote them: no more rewrites */

/* ------------------------------------------------------------- refusing */

static void write_counts(bool final, const char *refused);

static void refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void refuse(const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fprintf(stderr, "pmemcut-tracer: refused: %s\n", what);
    write_counts(true, what);
}

/* A refusal once the guest exists: QEMU must not go on without the model. */
static void refuse_exit(const char *what)
{
    refuse("%s", what);
    fflush(NULL);
    _exit(3);
}

/* -------------------------------------------------------------- counts */

static void write_counts(bool final, const char *refused)
{
    if (!counts_path)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", counts_path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    const struct ph_adr_counts *c = &model.c;
    if (refused) {
        fprintf(f, "{\"cache_model\":\"adr\",\"refused\":\"");
        for (const char *s = refused; *s; s++)
            fprintf(f, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
        fprintf(f, "\"}\n");
    } else {
        fprintf(f,
                "{\"cache_model\":\"adr\",\"final\":%s,\"qemu\":\"%s\",\"nv_base\":%" PRIu64
                ",\"stores\":%" PRIu64 ",\"nt_stores\":%" PRIu64 ",\"writebacks\":%" PRIu64
                ",\"clwb\":%" PRIu64 ",\"clflushopt\":%" PRIu64 ",\"clflush\":%" PRIu64
                ",\"fences\":%" PRIu64 ",\"sfence\":%" PRIu64 ",\"mfence\":%" PRIu64
                ",\"locked\":%" PRIu64 ",\"wbinvd\":%" PRIu64 ",\"lines_persisted\":%" PRIu64
                ",\"persisted_clflush\":%" PRIu64 ",\"persisted_wb_fence\":%" PRIu64
                ",\"persisted_nt_fence\":%" PRIu64 ",\"persisted_at_user_fence\":%" PRIu64
                ",\"persisted_at_kernel_fence\":%" PRIu64 ",\"flush_clean\":%" PRIu64
                ",\"nt_on_dirty\":%" PRIu64 ",\"flush_outside\":%" PRIu64
                ",\"flush_unmapped\":%" PRIu64 ",\"flush_not64\":%" PRIu64
                ",\"flush_early\":%" PRIu64 ",\"fua_writes\":%" PRIu64 ",\"fua_bytes\":%" PRIu64
                ",\"write_errors\":%" PRIu64 ",\"batches\":%" PRIu64 ",\"batch_errors\":%" PRIu64
                ",\"stores_traced_from\":\"%s\",\"tbs_untraced\":%" PRIu64,
                final ? "true" : "false", qemu_version, nv_base == UINT64_MAX ? 0 : nv_base,
                c->stores, c->nt_stores, c->clwb + c->clflushopt + c->clflush, c->clwb,
                c->clflushopt, c->clflush, c->sfence + c->mfence + c->locked + c->wbinvd, c->sfence,
                c->mfence, c->locked, c->wbinvd, c->lines_persisted,
                c->persisted_by[PH_ADR_SRC_CLFLUSH], c->persisted_by[PH_ADR_SRC_WB_FENCE],
                c->persisted_by[PH_ADR_SRC_NT_FENCE], c->persisted_user, c->persisted_kernel,
                c->flush_clean, c->nt_on_dirty, x.flush_outside, x.flush_unmapped, x.flush_not64,
                x.flush_early, x.fua_writes, x.fua_bytes, x.write_errors, x.batches, x.batch_errors,
                !flush_tbs                                      ? "start"
                : __atomic_load_n(&stores_on, __ATOMIC_RELAXED) ? "user"
                                                                : "not yet",
                stores_on_tbs);
        if (final && model.line)
            fprintf(f, ",\"unpersisted\":%" PRIu64, ph_adr_unpersisted(&model));
        fprintf(f, "}\n");
    }
    if (fclose(f) == 0)
        rename(tmp, counts_path);
}

/* The counts, twice a second, while the guest runs: libvirt may end QEMU
 * with SIGKILL, and then no atexit runs. */
static void *counts_thread(void *arg)
{
    (void)arg;
    for (;;) {
        struct timespec ts = {0, 500 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&lock);
        if (!counts_final)
            write_counts(false, NULL);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

/* ------------------------------------------------------ to the device */

/* The model's sink: one FUA write of the run's current bytes. */
static void persist_run(void *ctx, uint64_t off, uint64_t len, enum ph_adr_src src)
{
    (void)ctx;
    if (off >= nv_size)
        return;
    if (len > nv_size - off)
        len = nv_size - off;
    if (logf)
        fprintf(logf, "P %s off=%#" PRIx64 " len=%" PRIu64 "\n", ph_adr_src_name(src), off, len);
    if (!nbd[src])
        return;
    x.batch_open = (int)src + 1;
    if (nbd_pwrite(nbd[src], (const void *)(nv_host + off), len, off, LIBNBD_CMD_FLAG_FUA) == -1) {
        /* the device is off after a cut, or gone: the guest goes on, the
         * failure is counted (and the device's audit log has the truth) */
        if (x.write_errors++ == 0)
            fprintf(stderr, "pmemcut-tracer: FUA write at %#" PRIx64 ": %s\n", off,
                    nbd_get_error());
        return;
    }
    x.fua_writes++;
    x.fua_bytes += len;
}

/* After a fence's runs, or a clflush's line: the device's batch ends
 * (common/audit/cpu.h). A failure is counted like a failed write. */
static void end_batch(void)
{
    if (!x.batch_open)
        return;
    struct nbd_handle *h = nbd[x.batch_open - 1];
    x.batch_open = 0;
    if (nbd_cache(h, 1, 0, 0) == -1) {
        if (x.batch_errors++ == 0)
            fprintf(stderr, "pmemcut-tracer: cache request (end of a fence): %s\n",
                    nbd_get_error());
        return;
    }
    x.batches++;
    /* the counts as of this batch, at once: the host reads them while the
     * guest waits (at prepared, at an ack), and they must hold everything
     * the CPU persisted before it stopped (the thread's are up to 0.5 s
     * old). A batch costs a round trip and a synced audit record already. */
    if (!counts_final)
        write_counts(false, NULL);
}

/* ---------------------------------------------------- QEMU 7.2 internals */

/* CPUX86State of QEMU 7.2 (target x86_64), byte offsets: regs[16], eip,
 * eflags, cc_dst, cc_src, cc_src2, cc_op, df, hflags, hflags2, segs[6]
 * (selector, base, limit, flags: 24 bytes each), ldt, tr, gdt, idt, cr[5]. */
#define ENV_HFLAGS      176
#define ENV_SEG_SEL(i)  (184 + 24 * (i))
#define ENV_SEG_BASE(i) (184 + 24 * (i) + 8)
#define ENV_CR(i)       (424 + 8 * (i))
#define SEG_CS          1
#define HF_CPL_MASK     3u
#define HF_LMA          (1u << 14)
#define HF_CS64         (1u << 15)

static uint64_t env64(const void *env, int off)
{
    uint64_t v;
    memcpy(&v, (const char *)env + off, 8);
    return v;
}
static uint32_t env32(const void *env, int off)
{
    uint32_t v;
    memcpy(&v, (const char *)env + off, 4);
    return v;
}

/* QEMU 7.2's struct qemu_plugin_hwaddr: bool is_io, bool is_store, then at
 * offset 8 a union whose RAM member is the host address of the byte. */
static uintptr_t hw_host(const struct qemu_plugin_hwaddr *h)
{
    uintptr_t v;
    memcpy(&v, (const char *)h + 8, sizeof v);
    return v;
}

/* The version string QEMU prints for --version, found in its own image. */
static int find_qemu_version(void)
{
    static const char key[] = "QEMU emulator version ";
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4600], exe[4096];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (!f || el <= 0) {
        if (f)
            fclose(f);
        return -1;
    }
    exe[el] = 0;
    while (fgets(line, sizeof line, f) && !qemu_version[0]) {
        unsigned long lo, hi;
        char perm[5], path[4096] = "";
        if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %4095s", &lo, &hi, perm, path) < 4 ||
            strcmp(path, exe) || perm[0] != 'r' || perm[2] == 'x')
            continue;
        const char *s = memmem((void *)lo, hi - lo, key, sizeof key - 1);
        if (s) {
            s += sizeof key - 1;
            size_t k = 0;
            while (k < sizeof qemu_version - 1 && (const char *)s + k < (const char *)hi && s[k] &&
                   s[k] != ' ' && s[k] != '\n')
                k++;
            memcpy(qemu_version, s, k);
            qemu_version[k] = 0;
        }
    }
    fclose(f);
    return qemu_version[0] ? 0 : -1;
}

/* Make TCG store the guest registers before every plugin exec callback.
 * The callbacks are calls shaped after the helper plugin_vcpu_udata_cb,
 * whose TCGHelperInfo {func, name, flags, typemask} says TCG_CALL_NO_RWG
 * (1: reads no globals); TCG_CALL_NO_WG (2) makes TCG sync them first.
 * Found by the name string and a pointer to it; refused unless the entry
 * is exactly what QEMU 7.2 has. */
#define HELPER_NAME        "plugin_vcpu_udata_cb"
#define HELPER_FLAGS_72    1u     /* TCG_CALL_NO_RWG */
#define HELPER_TYPEMASK_72 0x190u /* void (i32, ptr) */
static const char *patch_helper(void)
{
    static char why[256];
    char exe[4096], line[4600];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0)
        return "helper table entry: /proc/self/exe unreadable";
    exe[el] = 0;
    struct {
        uintptr_t lo, hi;
        bool w, x;
    } mp[64];
    int nm = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return "helper table entry: /proc/self/maps unreadable";
    while (fgets(line, sizeof line, f) && nm < 64) {
        unsigned long lo, hi;
        char perm[5], path[4096] = "";
        if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %4095s", &lo, &hi, perm, path) < 4 ||
            strcmp(path, exe) || perm[0] != 'r')
            continue;
        mp[nm].lo = lo, mp[nm].hi = hi, mp[nm].w = perm[1] == 'w', mp[nm].x = perm[2] == 'x';
        nm++;
    }
    fclose(f);
    const size_t hl = sizeof HELPER_NAME;
    uintptr_t str = 0, text_lo = 0, text_hi = 0;
    for (int k = 0; k < nm; k++) {
        if (mp[k].x) {
            text_lo = mp[k].lo, text_hi = mp[k].hi;
            continue;
        }
        const char *h = memmem((void *)mp[k].lo, mp[k].hi - mp[k].lo, HELPER_NAME, hl);
        while (h && (uintptr_t)h > mp[k].lo && h[-1] != 0) /* must start a string */
            h = memmem(h + 1, mp[k].hi - (uintptr_t)(h + 1), HELPER_NAME, hl);
        if (h && !str)
            str = (uintptr_t)h;
    }
    if (!str)
        return "helper table entry: no string \"" HELPER_NAME "\" in QEMU";
    int found = 0;
    uintptr_t entry = 0;
    for (int k = 0; k < nm; k++) {
        if (mp[k].x)
            continue;
        for (uintptr_t a = (mp[k].lo + 15) & ~(uintptr_t)7; a + 16 <= mp[k].hi; a += 8) {
            if (*(const uintptr_t *)a != str)
                continue;
            uintptr_t func = *(const uintptr_t *)(a - 8);
            if (func >= text_lo && func < text_hi) {
                found++;
                entry = a - 8;
            }
        }
    }
    if (found != 1) {
        snprintf(why, sizeof why, "helper table entry: %d entries name " HELPER_NAME ", want 1",
                 found);
        return why;
    }
    unsigned *flags = (unsigned *)(entry + 16), typemask = *(const unsigned *)(entry + 20);
    if (*flags != HELPER_FLAGS_72 || typemask != HELPER_TYPEMASK_72) {
        snprintf(why, sizeof why,
                 "helper table entry: " HELPER_NAME " has flags %u typemask %#x, QEMU 7.2 has %u "
                 "%#x",
                 *flags, typemask, HELPER_FLAGS_72, HELPER_TYPEMASK_72);
        return why;
    }
    uintptr_t pg = (uintptr_t)flags & ~(uintptr_t)4095;
    if (mprotect((void *)pg, 4096, PROT_READ | PROT_WRITE) < 0)
        return "helper table entry: mprotect failed";
    *flags = 2; /* TCG_CALL_NO_WG */
    mprotect((void *)pg, 4096, PROT_READ);
    return NULL;
}

/* QEMU's mapping of the nvdimm file: by inode, offset 0, the whole file. */
static int find_nv_mapping(void)
{
    struct stat st;
    char line[4600];
    if (stat(nv_file, &st) < 0)
        return -1;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, pgoff, ino;
        unsigned maj, mnr;
        if (sscanf(line, "%lx-%lx %*s %lx %x:%x %lu", &lo, &hi, &pgoff, &maj, &mnr, &ino) == 6 &&
            ino == st.st_ino && pgoff == 0 && hi - lo >= nv_size) {
            nv_host = lo;
            break;
        }
    }
    fclose(f);
    return nv_host ? 0 : -1;
}

/* ------------------------------------------------------------ callbacks */

struct flush_site {
    struct ph_adr_operand op;
    enum ph_adr_kind kind;
    uint64_t pc, next_pc;
};

/* The first instruction ever is the reset vector: the architectural reset
 * state must show at the offsets the tracer reads. */
__attribute__((used, visibility("hidden"))) void ph_reset_check(unsigned cpu, void *ud,
                                                                const uint64_t *env)
{
    (void)cpu;
    (void)ud;
    char why[256];
    uint64_t cr0 = env64(env, ENV_CR(0)), csbase = env64(env, ENV_SEG_BASE(SEG_CS));
    uint32_t cs = env32(env, ENV_SEG_SEL(SEG_CS)), hf = env32(env, ENV_HFLAGS);
    if (cr0 != 0x60000010 || cs != 0xf000 || csbase != 0xffff0000 || (hf & (HF_LMA | HF_CS64)) ||
        env64(env, ENV_CR(3)) || env64(env, ENV_CR(4)) || env[0] || env[1] || env[3]) {
        snprintf(why, sizeof why,
                 "CPU-state layout: at the reset vector cr0=%#" PRIx64 " cs=%#x base=%#" PRIx64
                 " hflags=%#x rax=%#" PRIx64 " (want cr0=0x60000010 cs=0xf000 base=0xffff0000)",
                 cr0, cs, csbase, hf, env[0]);
        refuse_exit(why);
    }
    x.layout_checks++;
}

__attribute__((used, visibility("hidden"))) void ph_flush_cb(unsigned cpu, void *ud,
                                                             const uint64_t *env)
{
    const struct flush_site *fs = ud;
    uint32_t hf = env32(env, ENV_HFLAGS);
    bool user = (hf & HF_CPL_MASK) == 3;
    pthread_mutex_lock(&lock);
    if (!(hf & HF_CS64)) {
        x.flush_not64++;
        pthread_mutex_unlock(&lock);
        return;
    }
    if (nv_base == UINT64_MAX) { /* no store reached the nvdimm yet: all lines clean */
        x.flush_early++;
        pthread_mutex_unlock(&lock);
        return;
    }
    pthread_mutex_unlock(&lock);
    uint64_t seg = fs->op.seg ? env64(env, ENV_SEG_BASE(fs->op.seg)) : 0;
    uint64_t va = ph_adr_operand_addr(&fs->op, env, fs->next_pc, seg) & ~(uint64_t)63;
    uint64_t pg = phys_page(get_cpu((int)cpu), va & ~(uint64_t)4095);
    pthread_mutex_lock(&lock);
    if (pg == UINT64_MAX) {
        x.flush_unmapped++;
    } else if (pg + (va & 4095) - nv_base >= nv_size) {
        x.flush_outside++;
    } else {
        uint64_t off = pg + (va & 4095) - nv_base;
        if (logf)
            fprintf(logf, "F %s cpl=%u pc=%#" PRIx64 " va=%#" PRIx64 " off=%#" PRIx64 " was=%d\n",
                    ph_adr_kind_name(fs->kind), hf & HF_CPL_MASK, fs->pc, va, off,
                    ph_adr_state(&model, off));
        ph_adr_writeback(&model, cpu, off, fs->kind, user);
        end_batch(); /* a clflush's line is a batch of its own */
    }
    pthread_mutex_unlock(&lock);
}

/* At the start of every block until stores are traced: the first one in
 * user mode (CPL 3: the firmware and the kernel never run there) turns them
 * on, and every block is translated again (tb_flush is safe work: it runs
 * once this vCPU leaves its loop). */
__attribute__((used, visibility("hidden"))) void ph_mode_cb(unsigned cpu, void *ud,
                                                            const uint64_t *env)
{
    (void)ud;
    uint32_t hf = env32(env, ENV_HFLAGS);
    if ((hf & HF_CPL_MASK) != 3)
        return;
    if (__atomic_exchange_n(&stores_on, 1, __ATOMIC_SEQ_CST) == 0)
        flush_tbs(get_cpu((int)cpu));
}

/* The stubs QEMU calls: %rbp (TCG_AREG0) is the CPU state; pass it on. */
void ph_flush_stub(unsigned cpu, void *ud);
void ph_reset_stub(unsigned cpu, void *ud);
void ph_mode_stub(unsigned cpu, void *ud);
#ifdef __x86_64__
__asm__(".text\n"
        ".p2align 4\n"
        ".type ph_flush_stub,@function\n"
        "ph_flush_stub:\n"
        "    mov %rbp, %rdx\n"
        "    jmp ph_flush_cb\n"
        ".size ph_flush_stub, .-ph_flush_stub\n"
        ".p2align 4\n"
        ".type ph_reset_stub,@function\n"
        "ph_reset_stub:\n"
        "    mov %rbp, %rdx\n"
        "    jmp ph_reset_check\n"
        ".size ph_reset_stub, .-ph_reset_stub\n"
        ".p2align 4\n"
        ".type ph_mode_stub,@function\n"
        "ph_mode_stub:\n"
        "    mov %rbp, %rdx\n"
        "    jmp ph_mode_cb\n"
        ".size ph_mode_stub, .-ph_mode_stub\n");
#else
void ph_flush_stub(unsigned cpu, void *ud)
{
    (void)cpu, (void)ud;
}
void ph_reset_stub(unsigned cpu, void *ud)
{
    (void)cpu, (void)ud;
}
void ph_mode_stub(unsigned cpu, void *ud)
{
    (void)cpu, (void)ud;
}
#endif

/* userdata of the fence callbacks: the kind, and the user-mode bit. */
#define UD_USER 0x100u
static void fence_cb(unsigned cpu, void *ud)
{
    uintptr_t u = (uintptr_t)ud;
    pthread_mutex_lock(&lock);
    ph_adr_fence(&model, cpu, (enum ph_adr_kind)(u & 0xff), u & UD_USER);
    end_batch();
    pthread_mutex_unlock(&lock);
}

/* First stores in the nvdimm: learn its guest-physical base and check the
 * hwaddr layout (phys_addr - device offset must not move). */
#define BASE_CHECKS 1000
static void check_store(unsigned cpu, uint64_t va, uint64_t off, const struct qemu_plugin_hwaddr *h)
{
    char why[256];
    uint64_t pg = phys_page(get_cpu((int)cpu), va & ~(uint64_t)4095);
    uint64_t base = pg + (va & 4095) - off, delta = qemu_plugin_hwaddr_phys_addr(h) - off;
    if (pg == UINT64_MAX)
        return; /* the mapping went away meanwhile: nothing to learn */
    if (nv_base == UINT64_MAX) {
        if ((base & 4095) || (want_base && base != want_base)) {
            snprintf(why, sizeof why,
                     "nvdimm base: a store's page walk gives %#" PRIx64 " (base= says %#" PRIx64
                     ")",
                     base, want_base);
            refuse_exit(why);
        }
        nv_base = base;
        x.phys_delta = delta;
    } else if (base != nv_base || delta != x.phys_delta) {
        snprintf(why, sizeof why,
                 "hwaddr layout or nvdimm base: store at device offset %#" PRIx64
                 " walks to base %#" PRIx64 " (learned %#" PRIx64 "), phys delta %#" PRIx64
                 " (learned %#" PRIx64 ")",
                 off, base, nv_base, delta, x.phys_delta);
        refuse_exit(why);
    }
    x.base_checks++;
}

static void store_at(unsigned cpu, uint64_t va, uintptr_t host, unsigned size, bool nt,
                     const struct qemu_plugin_hwaddr *h)
{
    uint64_t off = host - nv_host;
    if (off >= nv_size)
        return;
    pthread_mutex_lock(&lock);
    if (x.base_checks < BASE_CHECKS)
        check_store(cpu, va, off, h);
    ph_adr_store(&model, cpu, off, size, nt);
    pthread_mutex_unlock(&lock);
}

static void mem_cb(unsigned cpu, qemu_plugin_meminfo_t info, uint64_t va, void *ud)
{
    if (!qemu_plugin_mem_is_store(info)) /* 7.2 calls store callbacks on loads too */
        return;
    struct qemu_plugin_hwaddr *h = qemu_plugin_get_hwaddr(info, va);
    if (!h || qemu_plugin_hwaddr_is_io(h))
        return;
    unsigned size = 1u << qemu_plugin_mem_size_shift(info);
    bool nt = (uintptr_t)ud & 1;
    unsigned head = 4096 - (unsigned)(va & 4095);
    if (size <= head) {
        store_at(cpu, va, hw_host(h), size, nt, h);
        return;
    }
    /* crosses a page: the second page has its own host address */
    store_at(cpu, va, hw_host(h), head, nt, h);
    struct qemu_plugin_hwaddr *h2 = qemu_plugin_get_hwaddr(info, va + head);
    if (h2 && !qemu_plugin_hwaddr_is_io(h2))
        store_at(cpu, va + head, hw_host(h2), size - head, nt, h2);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    static int first = 1;
    size_t n = qemu_plugin_tb_n_insns(tb);
    if (n && __atomic_exchange_n(&first, 0, __ATOMIC_SEQ_CST)) {
        struct qemu_plugin_insn *i0 = qemu_plugin_tb_get_insn(tb, 0);
        if (qemu_plugin_insn_vaddr(i0) != 0xfffffff0)
            refuse_exit("CPU-state layout: the first instruction is not at the reset vector");
        qemu_plugin_register_vcpu_insn_exec_cb(i0, ph_reset_stub, QEMU_PLUGIN_CB_R_REGS, NULL);
    }
    bool stores = __atomic_load_n(&stores_on, __ATOMIC_SEQ_CST);
    if (n && !stores) {
        __atomic_add_fetch(&stores_on_tbs, 1, __ATOMIC_RELAXED);
        qemu_plugin_register_vcpu_insn_exec_cb(qemu_plugin_tb_get_insn(tb, 0), ph_mode_stub,
                                               QEMU_PLUGIN_CB_R_REGS, NULL);
    }
    for (size_t k = 0; k < n; k++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, k);
        const uint8_t *data = qemu_plugin_insn_data(insn);
        size_t len = qemu_plugin_insn_size(insn);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        struct ph_adr_insn d;
        ph_adr_decode(data, len, &d);
        uintptr_t user = (int64_t)pc >= 0 ? UD_USER : 0;
        switch (d.kind) {
        case PH_ADR_CLWB:
        case PH_ADR_CLFLUSHOPT:
        case PH_ADR_CLFLUSH: {
            /* one site per translation: flushes are rare instructions */
            struct flush_site *fs = malloc(sizeof *fs);
            if (!fs)
                abort();
            *fs = (struct flush_site){d.op, d.kind, pc, pc + len};
            qemu_plugin_register_vcpu_insn_exec_cb(insn, ph_flush_stub, QEMU_PLUGIN_CB_R_REGS, fs);
            continue;
        }
        case PH_ADR_SFENCE:
        case PH_ADR_MFENCE:
        case PH_ADR_LOCKED:
        case PH_ADR_WBINVD:
            qemu_plugin_register_vcpu_insn_exec_cb(insn, fence_cb, QEMU_PLUGIN_CB_NO_REGS,
                                                   (void *)((uintptr_t)d.kind | user));
            break;
        default:
            break;
        }
        if (d.may_store && stores)
            qemu_plugin_register_vcpu_mem_cb(insn, mem_cb, QEMU_PLUGIN_CB_NO_REGS,
                                             QEMU_PLUGIN_MEM_W,
                                             (void *)(uintptr_t)(d.kind == PH_ADR_NT));
    }
}

static void vcpu_init(qemu_plugin_id_t id, unsigned cpu)
{
    (void)id;
    (void)cpu;
    pthread_mutex_lock(&lock);
    if (!nv_host && find_nv_mapping() < 0) {
        char why[4200];
        snprintf(why, sizeof why,
                 "nvdimm: QEMU has no mapping of %s (is it the nvdimm's mem-path?)", nv_file);
        refuse_exit(why);
    }
    pthread_mutex_unlock(&lock);
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id;
    (void)p;
    pthread_mutex_lock(&lock);
    write_counts(true, NULL);
    counts_final = true;
    if (logf)
        fclose(logf);
    logf = NULL;
    for (int k = 0; k < PH_ADR_NSRC; k++) {
        if (nbd[k])
            nbd_close(nbd[k]);
        nbd[k] = NULL;
    }
    pthread_mutex_unlock(&lock);
}

/* ------------------------------------------------------------- install */

static int parse_args(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        char *v = strchr(argv[i], '=');
        if (!v) {
            refuse("argument '%s' is not KEY=VALUE", argv[i]);
            return -1;
        }
        *v++ = 0;
        if (!strcmp(argv[i], "nvfile"))
            nv_file = v;
        else if (!strcmp(argv[i], "nbd"))
            nbd_sock = v;
        else if (!strcmp(argv[i], "counts"))
            counts_path = v;
        else if (!strcmp(argv[i], "log"))
            log_path = v;
        else if (!strcmp(argv[i], "export"))
            export_prefix = v;
        else if (!strcmp(argv[i], "base"))
            want_base = strtoull(v, NULL, 0);
        else {
            refuse("unknown argument '%s'", argv[i]);
            return -1;
        }
    }
    if (!nv_file) {
        refuse("nvfile= (the nvdimm's mem-path) is required");
        return -1;
    }
    return 0;
}

/* One connection per kind of persist, to the export that names it; the
 * device refuses a name it does not know (an older device: no such
 * exports), and so does the tracer then. */
static int open_device(void)
{
    for (int k = 0; k < PH_ADR_NSRC; k++) {
        char name[256];
        snprintf(name, sizeof name, "%s/%s", export_prefix, ph_adr_src_name((enum ph_adr_src)k));
        struct nbd_handle *h = nbd[k] = nbd_create();
        if (!h || nbd_set_export_name(h, name) == -1 || nbd_connect_unix(h, nbd_sock) == -1) {
            refuse("device: connect %s, export %s: %s", nbd_sock, name, nbd_get_error());
            return -1;
        }
        int64_t sz = nbd_get_size(h);
        if (sz < 0 || (uint64_t)sz != nv_size) {
            refuse("device: %s serves %" PRId64 " bytes, %s has %" PRIu64, nbd_sock, sz, nv_file,
                   nv_size);
            return -1;
        }
        if (nbd_can_fua(h) != 1 || nbd_can_cache(h) != 1) {
            refuse("device: %s export %s has no FUA or no cache requests (a device older than "
                   "the tracer?)",
                   nbd_sock, name);
            return -1;
        }
    }
    return 0;
}

PH_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                         char **argv)
{
    struct stat st;
    if (parse_args(argc, argv) < 0)
        return -1;
#ifndef __x86_64__
    refuse("host architecture: not x86-64 (the CPU state is read from %%rbp)");
    return -1;
#endif
    if (!info->system_emulation || strcmp(info->target_name, "x86_64")) {
        refuse("target: %s%s, want x86_64 system emulation", info->target_name,
               info->system_emulation ? "" : " user mode");
        return -1;
    }
    if (find_qemu_version() < 0 || strncmp(qemu_version, "7.2.", 4)) {
        refuse("QEMU version: %s, the tracer knows 7.2 only",
               qemu_version[0] ? qemu_version : "unknown");
        return -1;
    }
    get_cpu = (void *(*)(int))dlsym(RTLD_DEFAULT, "qemu_get_cpu");
    phys_page = (uint64_t(*)(void *, uint64_t))dlsym(RTLD_DEFAULT, "cpu_get_phys_page_debug");
    /* without it, stores are traced from the start (slower, the same) */
    flush_tbs = (void (*)(void *))dlsym(RTLD_DEFAULT, "tb_flush");
    if (!flush_tbs)
        stores_on = 1;
    if (!get_cpu || !phys_page) {
        refuse("QEMU internals: qemu_get_cpu or cpu_get_phys_page_debug not exported");
        return -1;
    }
    const char *why = patch_helper();
    if (why) {
        refuse("%s", why);
        return -1;
    }
    if (stat(nv_file, &st) < 0 || st.st_size <= 0) {
        refuse("nvdimm: %s: %s", nv_file, strerror(errno ? errno : EINVAL));
        return -1;
    }
    nv_size = (uint64_t)st.st_size;
    int ncpu = info->system.max_vcpus > 0 ? info->system.max_vcpus : 1;
    if (ph_adr_model_init(&model, nv_size, (unsigned)ncpu, persist_run, NULL) < 0) {
        refuse("out of memory for %" PRIu64 " lines", nv_size / PH_ADR_LINE);
        return -1;
    }
    if (nbd_sock && open_device() < 0)
        return -1;
    if (log_path) {
        logf = fopen(log_path, "w");
        if (!logf) {
            refuse("log: %s: %s", log_path, strerror(errno));
            return -1;
        }
        setvbuf(logf, NULL, _IOFBF, 1 << 20);
    }
    write_counts(false, NULL);
    pthread_t th;
    if (counts_path && pthread_create(&th, NULL, counts_thread, NULL) == 0)
        pthread_detach(th);
    qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
