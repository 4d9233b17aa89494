/* adr.c — decoder and ADR model of the tracer (see adr.h). No QEMU here. */
#include "adr.h"
#include "audit/cpu.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- decoder */

const char *ph_adr_kind_name(enum ph_adr_kind k)
{
    static const char *n[] = {"other",  "clwb",   "clflushopt", "clflush", "sfence",
                              "mfence", "locked", "nt",         "wbinvd"};
    return (unsigned)k < sizeof n / sizeof n[0] ? n[k] : "?";
}

/* Prefixes seen before the opcode. */
struct prefixes {
    bool lock, opsz, adsz;
    uint8_t rep; /* 0, 0xf2 or 0xf3 */
    uint8_t seg; /* 4 FS, 5 GS; other overrides are ignored in 64-bit mode */
    uint8_t rex;
};

/* Legacy prefixes, then an optional REX. Returns the index of the opcode. */
static size_t read_prefixes(const uint8_t *p, size_t n, struct prefixes *px)
{
    size_t i = 0;
    memset(px, 0, sizeof *px);
    for (; i < n; i++) {
        uint8_t b = p[i];
        if (b == 0xf0)
            px->lock = true;
        else if (b == 0xf2 || b == 0xf3)
            px->rep = b;
        else if (b == 0x66)
            px->opsz = true;
        else if (b == 0x67)
            px->adsz = true;
        else if (b == 0x64)
            px->seg = 4;
        else if (b == 0x65)
            px->seg = 5;
        else if (b != 0x2e && b != 0x36 && b != 0x3e && b != 0x26)
            break;
    }
    if (i < n && (p[i] & 0xf0) == 0x40)
        px->rex = p[i++];
    return i;
}

/* One-byte opcodes (after prefixes), i at the byte after the opcode: may the
 * instruction write memory? Only forms known to write nothing say false. */
static bool may_store_1(uint8_t op, const uint8_t *p, size_t i, size_t n)
{
    int mod = i < n ? p[i] >> 6 : 0, reg = i < n ? (p[i] >> 3) & 7 : 0;
    switch (op) {
    /* no memory operand, nothing written */
    case 0x04:
    case 0x05:
    case 0x0c:
    case 0x0d:
    case 0x14:
    case 0x15:
    case 0x1c:
    case 0x1d:
    case 0x24:
    case 0x25:
    case 0x2c:
    case 0x2d:
    case 0x34:
    case 0x35:
    case 0x3c:
    case 0x3d:
    case 0x58 ... 0x5f:
    case 0x70 ... 0x7f:
    case 0x90 ... 0x99:
    case 0x9d:
    case 0x9e:
    case 0x9f:
    case 0xa0:
    case 0xa1:
    case 0xa6:
    case 0xa7:
    case 0xa8:
    case 0xa9:
    case 0xac:
    case 0xad:
    case 0xae:
    case 0xaf:
    case 0xb0 ... 0xbf:
    case 0xc2:
    case 0xc3:
    case 0xc9:
    case 0xd7:
    case 0xe0 ... 0xe5:
    case 0xe9:
    case 0xeb:
    case 0xec:
    case 0xed:
    case 0xf4:
    case 0xf5:
    case 0xf8 ... 0xfd:
        return false;
    /* ModRM, but only read (or register destination) */
    case 0x02:
    case 0x03:
    case 0x0a:
    case 0x0b:
    case 0x12:
    case 0x13:
    case 0x1a:
    case 0x1b:
    case 0x22:
    case 0x23:
    case 0x2a:
    case 0x2b:
    case 0x32:
    case 0x33:
    case 0x38 ... 0x3b:
    case 0x63:
    case 0x69:
    case 0x6b:
    case 0x84:
    case 0x85:
    case 0x8a:
    case 0x8b:
    case 0x8d:
        return false;
    case 0x80 ... 0x83: /* group 1: /7 is cmp */
        return mod != 3 && reg != 7;
    case 0xf6:
    case 0xf7: /* group 3: not, neg write; test, mul, div do not */
        return mod != 3 && (reg == 2 || reg == 3);
    case 0xff: /* inc, dec of memory; call and push store on the stack */
        return reg == 2 || reg == 3 || reg == 6 || (mod != 3 && reg <= 1);
    /* r/m destination: a store when it is memory */
    case 0x00:
    case 0x01:
    case 0x08:
    case 0x09:
    case 0x10:
    case 0x11:
    case 0x18:
    case 0x19:
    case 0x20:
    case 0x21:
    case 0x28:
    case 0x29:
    case 0x30:
    case 0x31:
    case 0x86:
    case 0x87:
    case 0x88:
    case 0x89:
    case 0x8c:
    case 0x8f:
    case 0xc0:
    case 0xc1:
    case 0xc6:
    case 0xc7:
    case 0xd0 ... 0xd3:
    case 0xfe:
        return mod != 3;
    default: /* push, call, string stores, enter, int, x87, EVEX, ... */
        return true;
    }
}

/* Two-byte opcodes 0F xx, i at the byte after xx. */
static bool may_store_0f(uint8_t op2, const uint8_t *p, size_t i, size_t n)
{
    int mod = i < n ? p[i] >> 6 : 0, reg = i < n ? (p[i] >> 3) & 7 : 0;
    switch (op2) {
    case 0x05:
    case 0x0b:
    case 0x31:
    case 0x80 ... 0x8f:
    case 0xa2:
    case 0xc8 ... 0xcf:
        return false;
    /* loads, or register destinations */
    case 0x0d:
    case 0x10:
    case 0x12:
    case 0x14:
    case 0x15:
    case 0x16:
    case 0x18:
    case 0x19:
    case 0x1c ... 0x1f:
    case 0x28:
    case 0x2a:
    case 0x2c ... 0x2f:
    case 0x40 ... 0x77:
    case 0x7c:
    case 0x7d:
    case 0xa3:
    case 0xaf:
    case 0xb6:
    case 0xb7:
    case 0xb8:
    case 0xbc ... 0xbf:
    case 0xc2:
    case 0xc4:
    case 0xc5:
    case 0xc6:
    case 0xd0 ... 0xd5:
    case 0xd7 ... 0xe6:
    case 0xe8 ... 0xf6:
    case 0xf8 ... 0xfe:
        return false;
    case 0xba: /* group 8: bt reads; bts, btr, btc write */
        return mod != 3 && reg >= 5;
    case 0x38: /* 0F 38: loads, except movbe store, wrss, movdiri, movdir64b (F0..) */
        return i >= n || p[i] >= 0xf0;
    case 0x3a: /* 0F 3A 14..17: pextrb/w/d/q, extractps to memory */
        return i >= n || (p[i] >= 0x14 && p[i] <= 0x17) || p[i] >= 0xf0;
    /* r/m destination (bndmov 1A/1B included) */
    case 0x11:
    case 0x13:
    case 0x17:
    case 0x1a:
    case 0x1b:
    case 0x29:
    case 0x2b:
    case 0x7e:
    case 0x7f:
    case 0x90 ... 0x9f:
    case 0xa4:
    case 0xa5:
    case 0xab:
    case 0xac:
    case 0xad:
    case 0xb0:
    case 0xb1:
    case 0xb3:
    case 0xbb:
    case 0xc0:
    case 0xc1:
    case 0xc3:
    case 0xd6:
    case 0xe7:
        return mod != 3;
    default: /* 0F 00, 0F 01, 0F AE (fxsave...), 0F C7, push fs/gs, maskmovq, ... */
        return true;
    }
}

/* The ModRM memory operand at p[i] (mod != 3), REX from px. False when the
 * bytes end too early. */
static bool read_operand(const uint8_t *p, size_t i, size_t n, const struct prefixes *px,
                         struct ph_adr_operand *o)
{
    uint8_t modrm = p[i++];
    int mod = modrm >> 6, rm = modrm & 7;
    bool disp32 = mod == 2;
    memset(o, 0, sizeof *o);
    o->base = o->index = -1;
    o->addr32 = px->adsz;
    o->seg = px->seg;
    if (rm == 4) {
        if (i >= n)
            return false;
        uint8_t sib = p[i++];
        int idx = ((sib >> 3) & 7) | ((px->rex & 2) << 2);
        o->scale = sib >> 6;
        if (idx != 4) /* rsp cannot be an index; r12 (REX.X) can */
            o->index = (int8_t)idx;
        if ((sib & 7) == 5 && mod == 0)
            disp32 = true; /* no base, even with REX.B */
        else
            o->base = (int8_t)((sib & 7) | ((px->rex & 1) << 3));
    } else if (rm == 5 && mod == 0) {
        o->rip = true; /* RIP-relative, even with REX.B */
        disp32 = true;
    } else {
        o->base = (int8_t)(rm | ((px->rex & 1) << 3));
    }
    if (mod == 1) {
        if (i >= n)
            return false;
        o->disp = (int8_t)p[i];
    } else if (disp32) {
        int32_t d;
        if (i + 4 > n)
            return false;
        memcpy(&d, p + i, 4);
        o->disp = d;
    }
    return true;
}

static void decode_vex(const uint8_t *p, size_t i, size_t n, uint8_t op, struct ph_adr_insn *d)
{
    int map = 1, pp;
    if (op == 0xc5) {
        if (i >= n)
            return;
        pp = p[i] & 3;
        i += 1;
    } else {
        if (i + 1 >= n)
            return;
        map = p[i] & 0x1f;
        pp = p[i + 1] & 3;
        i += 2;
    }
    if (i >= n)
        return;
    uint8_t o = p[i++];
    d->may_store = i >= n || (p[i] >> 6) != 3;
    /* vmovntdq (66 0F E7), vmovntps (0F 2B), vmovntpd (66 0F 2B), vmaskmovdqu (66 0F F7) */
    if (map == 1 && ((o == 0xe7 && pp == 1) || (o == 0x2b && pp <= 1) || (o == 0xf7 && pp == 1)))
        d->kind = PH_ADR_NT, d->may_store = true;
}

void ph_adr_decode(const uint8_t *p, size_t n, struct ph_adr_insn *d)
{
    struct prefixes px;
    memset(d, 0, sizeof *d);
    d->may_store = true;
    size_t i = read_prefixes(p, n, &px);
    if (i >= n)
        return;
    uint8_t op = p[i++];
    if (op == 0xc4 || op == 0xc5) {
        decode_vex(p, i, n, op, d);
        if (px.lock)
            d->kind = PH_ADR_LOCKED;
        return;
    }
    if (op != 0x0f) {
        d->may_store = px.lock || may_store_1(op, p, i, n);
        if (px.lock || ((op == 0x86 || op == 0x87) && i < n && (p[i] >> 6) != 3))
            d->kind = PH_ADR_LOCKED; /* xchg with memory is locked without the prefix */
        return;
    }
    if (i >= n)
        return;
    uint8_t op2 = p[i++];
    d->may_store = px.lock || may_store_0f(op2, p, i, n);
    if (px.lock) {
        d->kind = PH_ADR_LOCKED;
        return;
    }
    switch (op2) {
    case 0x09: /* wbinvd; F3 0F 09 wbnoinvd */
        d->kind = PH_ADR_WBINVD;
        return;
    case 0xc3: /* movnti */
    case 0x2b: /* movntps/pd, movntss/sd */
    case 0xe7: /* movntq, movntdq */
    case 0xf7: /* maskmovq, maskmovdqu: store to [rdi] */
        d->kind = PH_ADR_NT;
        d->may_store = true;
        return;
    case 0xae:
        break;
    default:
        return;
    }
    if (i >= n)
        return;
    int mod = p[i] >> 6, reg = (p[i] >> 3) & 7;
    if (mod == 3) {
        /* sfence NP 0F AE F8+, mfence NP 0F AE F0+ (66/F2/F3 forms are others) */
        if (!px.opsz && !px.rep && reg == 7)
            d->kind = PH_ADR_SFENCE;
        else if (!px.opsz && !px.rep && reg == 6)
            d->kind = PH_ADR_MFENCE;
        return;
    }
    enum ph_adr_kind k;
    if (reg == 6 && px.opsz && !px.rep)
        k = PH_ADR_CLWB;
    else if (reg == 7 && px.opsz && !px.rep)
        k = PH_ADR_CLFLUSHOPT;
    else if (reg == 7 && !px.opsz && !px.rep)
        k = PH_ADR_CLFLUSH;
    else
        return; /* fxsave, xsave, xsaveopt, stmxcsr...: may_store says true */
    if (read_operand(p, i, n, &px, &d->op)) {
        d->kind = k;
        d->may_store = false; /* a write-back changes no bytes */
    }
}

uint64_t ph_adr_operand_addr(const struct ph_adr_operand *o, const uint64_t regs[16],
                             uint64_t next_pc, uint64_t seg_base)
{
    uint64_t a = (uint64_t)o->disp;
    if (o->base >= 0)
        a += regs[o->base];
    if (o->index >= 0)
        a += regs[o->index] << o->scale;
    if (o->rip)
        a += next_pc;
    if (o->addr32)
        a &= 0xffffffffu;
    if (o->seg)
        a += seg_base; /* the segment base is added after the 32-bit truncation */
    return a;
}

/* ------------------------------------------------------------------ model */

/* The audit log's names, and the tracer's export names, are audit/cpu.h's. */
_Static_assert((int)PH_ADR_SRC_CLFLUSH == (int)PM_CPU_CLFLUSH &&
                   (int)PH_ADR_SRC_WB_FENCE == (int)PM_CPU_WB_FENCE &&
                   (int)PH_ADR_SRC_NT_FENCE == (int)PM_CPU_NT_FENCE &&
                   (int)PH_ADR_SRC_WBINVD == (int)PM_CPU_WBINVD &&
                   (int)PM_CPU_NINSNS == (int)PH_ADR_NSRC,
               "enum ph_adr_src is enum pm_cpu_insn");

const char *ph_adr_src_name(enum ph_adr_src s)
{
    return pm_cpu_insn_name((enum pm_cpu_insn)s);
}

int ph_adr_model_init(struct ph_adr_model *m, uint64_t size, unsigned ncpu, ph_adr_sink *sink,
                      void *ctx)
{
    memset(m, 0, sizeof *m);
    m->nlines = (size + PH_ADR_LINE - 1) / PH_ADR_LINE;
    m->ncpu = ncpu ? ncpu : 1;
    m->line = calloc(m->nlines ? m->nlines : 1, 1);
    m->pend = calloc(m->ncpu, sizeof *m->pend);
    m->sink = sink;
    m->sink_ctx = ctx;
    if (!m->line || !m->pend) {
        ph_adr_model_free(m);
        return -1;
    }
    return 0;
}

void ph_adr_model_free(struct ph_adr_model *m)
{
    if (m->pend)
        for (unsigned k = 0; k < m->ncpu; k++)
            free(m->pend[k].v);
    free(m->pend);
    free(m->line);
    memset(m, 0, sizeof *m);
}

static void pend_add(struct ph_adr_model *m, unsigned cpu, uint64_t li)
{
    struct ph_adr_pending *p = &m->pend[cpu % m->ncpu];
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        uint64_t *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            abort(); /* inside a QEMU callback there is no one to tell */
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = li;
}

void ph_adr_store(struct ph_adr_model *m, unsigned cpu, uint64_t off, uint64_t len, bool nt)
{
    if (!len || off / PH_ADR_LINE >= m->nlines)
        return;
    uint64_t first = off / PH_ADR_LINE, last = (off + len - 1) / PH_ADR_LINE;
    if (last >= m->nlines)
        last = m->nlines - 1;
    if (nt)
        m->c.nt_stores++;
    else
        m->c.stores++;
    for (uint64_t li = first; li <= last; li++) {
        uint8_t s = m->line[li];
        if (!nt) {
            m->line[li] = PH_LINE_DIRTY;
        } else if (s == PH_LINE_DIRTY) {
            m->c.nt_on_dirty++;
        } else if (s != PH_LINE_NT) {
            m->line[li] = PH_LINE_NT;
            pend_add(m, cpu, li);
        }
    }
}

static void persisted(struct ph_adr_model *m, enum ph_adr_src src, uint64_t nl, bool user)
{
    m->c.lines_persisted += nl;
    m->c.persisted_by[src] += nl;
    if (user)
        m->c.persisted_user += nl;
    else
        m->c.persisted_kernel += nl;
}

void ph_adr_writeback(struct ph_adr_model *m, unsigned cpu, uint64_t off, enum ph_adr_kind kind,
                      bool user)
{
    uint64_t li = off / PH_ADR_LINE;
    if (kind == PH_ADR_CLWB)
        m->c.clwb++;
    else if (kind == PH_ADR_CLFLUSHOPT)
        m->c.clflushopt++;
    else
        m->c.clflush++;
    if (li >= m->nlines)
        return;
    uint8_t s = m->line[li];
    if (s == PH_LINE_CLEAN || s == PH_LINE_NT) {
        /* clean: nothing to write; NT: its bytes are in a write-combining
         * buffer, not the cache, and still wait for the fence */
        m->c.flush_clean += s == PH_LINE_CLEAN;
        return;
    }
    if (kind == PH_ADR_CLFLUSH) {
        /* clflush is ordered with stores and itself: persistent when it
         * retires, whether the line was DIRTY or already WB */
        m->line[li] = PH_LINE_CLEAN;
        persisted(m, PH_ADR_SRC_CLFLUSH, 1, user);
        if (m->sink)
            m->sink(m->sink_ctx, li * PH_ADR_LINE, PH_ADR_LINE, PH_ADR_SRC_CLFLUSH);
        return;
    }
    if (s == PH_LINE_DIRTY) {
        m->line[li] = PH_LINE_WB;
        pend_add(m, cpu, li);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static enum ph_adr_src src_of(uint8_t s)
{
    return s == PH_LINE_NT ? PH_ADR_SRC_NT_FENCE : PH_ADR_SRC_WB_FENCE;
}

uint64_t ph_adr_fence(struct ph_adr_model *m, unsigned cpu, enum ph_adr_kind kind, bool user)
{
    if (kind == PH_ADR_SFENCE)
        m->c.sfence++;
    else if (kind == PH_ADR_MFENCE)
        m->c.mfence++;
    else if (kind == PH_ADR_WBINVD)
        m->c.wbinvd++;
    else
        m->c.locked++;
    uint64_t total = 0;
    if (kind == PH_ADR_WBINVD) {
        /* every dirty or pending line of every CPU, as runs */
        for (uint64_t li = 0; li < m->nlines; li++) {
            if (m->line[li] == PH_LINE_CLEAN)
                continue;
            uint64_t e = li;
            while (e < m->nlines && m->line[e] != PH_LINE_CLEAN)
                m->line[e++] = PH_LINE_CLEAN;
            persisted(m, PH_ADR_SRC_WBINVD, e - li, user);
            if (m->sink)
                m->sink(m->sink_ctx, li * PH_ADR_LINE, (e - li) * PH_ADR_LINE, PH_ADR_SRC_WBINVD);
            total += e - li;
            li = e;
        }
        for (unsigned k = 0; k < m->ncpu; k++)
            m->pend[k].n = 0;
        return total;
    }
    struct ph_adr_pending *p = &m->pend[cpu % m->ncpu];
    if (!p->n)
        return 0;
    /* Sorted, so that runs of adjacent lines become one write; a line queued
     * twice, or re-dirtied since, is skipped by its state. */
    qsort(p->v, p->n, sizeof *p->v, cmp_u64);
    for (size_t k = 0; k < p->n;) {
        uint64_t li = p->v[k];
        uint8_t s = m->line[li];
        if (s != PH_LINE_WB && s != PH_LINE_NT) {
            k++;
            continue;
        }
        enum ph_adr_src src = src_of(s);
        uint64_t e = li; /* the run is [li, e] */
        m->line[li] = PH_LINE_CLEAN;
        for (k++; k < p->n; k++) {
            uint64_t nx = p->v[k];
            if (nx == e)
                continue; /* duplicate */
            if (nx != e + 1 || src_of(m->line[nx]) != src ||
                (m->line[nx] != PH_LINE_WB && m->line[nx] != PH_LINE_NT))
                break;
            m->line[nx] = PH_LINE_CLEAN;
            e = nx;
        }
        persisted(m, src, e - li + 1, user);
        if (m->sink)
            m->sink(m->sink_ctx, li * PH_ADR_LINE, (e - li + 1) * PH_ADR_LINE, src);
        total += e - li + 1;
    }
    p->n = 0;
    return total;
}

uint64_t ph_adr_unpersisted(const struct ph_adr_model *m)
{
    uint64_t n = 0;
    for (uint64_t li = 0; li < m->nlines; li++)
        n += m->line[li] != PH_LINE_CLEAN;
    return n;
}
