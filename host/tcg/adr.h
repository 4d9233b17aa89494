/* adr.h — the pure parts of the ADR tracer (host/tcg/tracer.c), with no
 * QEMU in them so that tests/unit/test-tracer.c can test them alone:
 *
 *   the decoder   x86-64 instruction bytes -> what the instruction means for
 *                 persistence (flush kind, fence, non-temporal store, may it
 *                 store at all) and the memory operand of a flush;
 *   the model     the ADR rule, per 64-byte line of the nvdimm, per vCPU.
 *
 * Only 64-bit code is decoded (REX, RIP-relative, VEX as in long mode); the
 * tracer does not attribute flushes executed outside 64-bit mode. */
#ifndef PH_TCG_ADR_H
#define PH_TCG_ADR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- decoder */

enum ph_adr_kind {
    PH_ADR_OTHER = 0,
    PH_ADR_CLWB,
    PH_ADR_CLFLUSHOPT,
    PH_ADR_CLFLUSH,
    PH_ADR_SFENCE,
    PH_ADR_MFENCE,
    PH_ADR_LOCKED, /* LOCK prefix or xchg with memory: a fence that also stores */
    PH_ADR_NT,     /* movnti, movntps/pd/ss/sd, movntq/dq, maskmov, VEX forms */
    PH_ADR_WBINVD, /* wbinvd/wbnoinvd: every dirty line of every cache */
};

/* The memory operand of a flush: seg:[base + index << scale + disp], or
 * [rip + disp] (next_pc + disp). Registers are numbered as in ModRM with
 * REX (0 rax .. 15 r15); -1 means none. */
struct ph_adr_operand {
    int8_t base, index;
    uint8_t scale;
    bool rip;
    bool addr32; /* 0x67: the address is computed in 32 bits */
    uint8_t seg; /* 0 none (or ignored in 64-bit mode), 4 FS, 5 GS */
    int64_t disp;
};

struct ph_adr_insn {
    enum ph_adr_kind kind;
    bool may_store;           /* false only when the instruction surely writes no memory */
    struct ph_adr_operand op; /* flushes only */
};

/* Decode the instruction in p[0..n). Never reads beyond n; bytes it does not
 * understand give PH_ADR_OTHER with may_store true (the safe answer). */
void ph_adr_decode(const uint8_t *p, size_t n, struct ph_adr_insn *out);

/* The linear address the operand names: regs are the 16 GPRs, next_pc the
 * address of the next instruction, seg_base the FS or GS base when op->seg
 * asks for one. */
uint64_t ph_adr_operand_addr(const struct ph_adr_operand *op, const uint64_t regs[16],
                             uint64_t next_pc, uint64_t seg_base);

const char *ph_adr_kind_name(enum ph_adr_kind k);

/* ------------------------------------------------------------------ model */

#define PH_ADR_LINE 64

/* Where a persisted line came from: the audit log's "insn" of a
 * "src":"cpu" write, and the tracer's export, "pmemcut-cpu/" + the name
 * (common/audit/cpu.h, in the same order). */
enum ph_adr_src {
    PH_ADR_SRC_CLFLUSH,
    PH_ADR_SRC_WB_FENCE,
    PH_ADR_SRC_NT_FENCE,
    PH_ADR_SRC_WBINVD,
    PH_ADR_NSRC
};
const char *ph_adr_src_name(enum ph_adr_src s);

struct ph_adr_counts {
    uint64_t stores, nt_stores;                /* accesses to the nvdimm */
    uint64_t clwb, clflushopt, clflush;        /* write-backs of nvdimm lines */
    uint64_t sfence, mfence, locked, wbinvd;   /* fences (all of them) */
    uint64_t lines_persisted;                  /* line persists, all sources */
    uint64_t persisted_by[PH_ADR_NSRC];        /* by enum ph_adr_src */
    uint64_t persisted_user, persisted_kernel; /* by the mode of the persisting insn */
    uint64_t flush_clean;                      /* write-backs of clean lines (no effect) */
    uint64_t nt_on_dirty;                      /* NT stores to a dirty line (kept dirty) */
};

/* Receives each persisted run: [off, off + len) of the device, all of one
 * source, in ascending order within one call of ph_adr_fence. */
typedef void ph_adr_sink(void *ctx, uint64_t off, uint64_t len, enum ph_adr_src src);

struct ph_adr_pending {
    uint64_t *v; /* line numbers awaiting this vCPU's next fence */
    size_t n, cap;
};

struct ph_adr_model {
    uint8_t *line; /* enum ph_adr_line_state per line */
    uint64_t nlines;
    struct ph_adr_pending *pend;
    unsigned ncpu;
    ph_adr_sink *sink;
    void *sink_ctx;
    struct ph_adr_counts c;
};

/* Line states. A line leaves CLEAN by a store; it reaches persistence (and
 * CLEAN again) by the rules of issue 14:
 *
 *   CLEAN --store--> DIRTY --clwb/clflushopt--> WB --fence--> CLEAN (persisted)
 *     |                |  \--clflush-----------------------> CLEAN (persisted)
 *     |                 <--store-- WB, NT (a store after a write-back re-dirties)
 *     \--nt store--> NT --fence--> CLEAN (persisted)
 *
 * A fence persists only the WB and NT lines that its own vCPU queued (the
 * pending list). An NT store to a DIRTY line leaves it DIRTY: the cached
 * bytes still need their write-back (conservative: real CPUs may evict). */
enum ph_adr_line_state { PH_LINE_CLEAN = 0, PH_LINE_DIRTY, PH_LINE_WB, PH_LINE_NT };

/* size: bytes of the device (rounded up to whole lines); ncpu >= 1. 0 or -1
 * (out of memory). */
int ph_adr_model_init(struct ph_adr_model *m, uint64_t size, unsigned ncpu, ph_adr_sink *sink,
                      void *ctx);
void ph_adr_model_free(struct ph_adr_model *m);

/* A store of len bytes at device offset off (clipped to the device). */
void ph_adr_store(struct ph_adr_model *m, unsigned cpu, uint64_t off, uint64_t len, bool nt);
/* clwb, clflushopt or clflush of the line holding off. */
void ph_adr_writeback(struct ph_adr_model *m, unsigned cpu, uint64_t off, enum ph_adr_kind kind,
                      bool user);
/* sfence, mfence, a locked instruction or wbinvd on cpu: persists what the
 * rule says, through the sink, coalesced into runs. Returns lines persisted. */
uint64_t ph_adr_fence(struct ph_adr_model *m, unsigned cpu, enum ph_adr_kind kind, bool user);

static inline enum ph_adr_line_state ph_adr_state(const struct ph_adr_model *m, uint64_t off)
{
    return off / PH_ADR_LINE < m->nlines ? (enum ph_adr_line_state)m->line[off / PH_ADR_LINE]
                                         : PH_LINE_CLEAN;
}
/* Lines not persisted (DIRTY, WB or NT): what a cut could lose. */
uint64_t ph_adr_unpersisted(const struct ph_adr_model *m);

#endif
