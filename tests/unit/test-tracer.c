/* tests/unit/test-tracer.c — CUnit tests of the ADR tracer's pure parts
 * (host/tcg/adr.c): the decoder on the bytes real assemblers emit, operand
 * arithmetic, and the ADR rule with the runs it hands to the device. */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../host/tcg/adr.h"

static struct ph_adr_insn dec(const char *hex)
{
    uint8_t b[16];
    size_t n = 0;
    for (const char *s = hex; *s && n < sizeof b;) {
        unsigned v;
        if (*s == ' ') {
            s++;
            continue;
        }
        sscanf(s, "%2x", &v);
        b[n++] = (uint8_t)v;
        s += 2;
    }
    struct ph_adr_insn d;
    ph_adr_decode(b, n, &d);
    return d;
}

static void test_decode_kinds(void)
{
    CU_ASSERT_EQUAL(dec("66 0f ae 30").kind, PH_ADR_CLWB);       /* clwb (%rax) */
    CU_ASSERT_EQUAL(dec("66 0f ae 38").kind, PH_ADR_CLFLUSHOPT); /* clflushopt (%rax) */
    CU_ASSERT_EQUAL(dec("0f ae 38").kind, PH_ADR_CLFLUSH);       /* clflush (%rax) */
    CU_ASSERT_EQUAL(dec("0f ae f8").kind, PH_ADR_SFENCE);
    CU_ASSERT_EQUAL(dec("0f ae f0").kind, PH_ADR_MFENCE);
    CU_ASSERT_EQUAL(dec("0f ae e8").kind, PH_ADR_OTHER); /* lfence */
    CU_ASSERT_EQUAL(dec("0f ae 30").kind, PH_ADR_OTHER); /* xsaveopt (%rax) */
    CU_ASSERT_TRUE(dec("0f ae 30").may_store);
    CU_ASSERT_EQUAL(dec("66 0f ae f0").kind, PH_ADR_OTHER);     /* tpause %eax */
    CU_ASSERT_EQUAL(dec("f0 83 04 24 00").kind, PH_ADR_LOCKED); /* lock addl $0,(%rsp) */
    CU_ASSERT_EQUAL(dec("48 87 07").kind, PH_ADR_LOCKED);       /* xchg %rax,(%rdi) */
    CU_ASSERT_EQUAL(dec("48 87 c7").kind, PH_ADR_OTHER);        /* xchg %rax,%rdi */
    CU_ASSERT_EQUAL(dec("48 0f c3 07").kind, PH_ADR_NT);        /* movnti %rax,(%rdi) */
    CU_ASSERT_EQUAL(dec("66 0f e7 07").kind, PH_ADR_NT);        /* movntdq %xmm0,(%rdi) */
    CU_ASSERT_EQUAL(dec("0f 2b 07").kind, PH_ADR_NT);           /* movntps */
    CU_ASSERT_EQUAL(dec("c5 fd e7 07").kind, PH_ADR_NT);        /* vmovntdq %ymm0,(%rdi) */
    CU_ASSERT_EQUAL(dec("c4 e1 7d e7 07").kind, PH_ADR_NT);     /* the same, 3-byte VEX */
    CU_ASSERT_EQUAL(dec("0f 09").kind, PH_ADR_WBINVD);
}

static void test_decode_may_store(void)
{
    CU_ASSERT_TRUE(dec("48 89 07").may_store);     /* mov %rax,(%rdi) */
    CU_ASSERT_FALSE(dec("48 8b 07").may_store);    /* mov (%rdi),%rax */
    CU_ASSERT_FALSE(dec("48 89 c7").may_store);    /* mov %rax,%rdi */
    CU_ASSERT_TRUE(dec("50").may_store);           /* push %rax */
    CU_ASSERT_TRUE(dec("f3 48 ab").may_store);     /* rep stos */
    CU_ASSERT_FALSE(dec("48 83 3f 00").may_store); /* cmpq $0,(%rdi) */
    CU_ASSERT_TRUE(dec("48 83 07 01").may_store);  /* addq $1,(%rdi) */
    CU_ASSERT_TRUE(dec("0f 11 07").may_store);     /* movups %xmm0,(%rdi) */
    CU_ASSERT_FALSE(dec("0f 10 07").may_store);    /* movups (%rdi),%xmm0 */
    CU_ASSERT_TRUE(dec("c5 fc 11 07").may_store);  /* vmovups %ymm0,(%rdi) */
    CU_ASSERT_FALSE(dec("c5 fc 11 c1").may_store); /* vmovups %ymm0,%ymm1 */
    CU_ASSERT_FALSE(dec("66 0f ae 30").may_store); /* clwb changes no bytes */
    CU_ASSERT_TRUE(dec("").may_store);             /* nothing known: the safe answer */
    CU_ASSERT_TRUE(dec("0f").may_store);
}

static void test_decode_operands(void)
{
    uint64_t r[16];
    for (int i = 0; i < 16; i++)
        r[i] = 0x1000ull * (uint64_t)(i + 1);
    struct ph_adr_insn d = dec("66 0f ae 77 40"); /* clwb 0x40(%rdi) */
    CU_ASSERT_EQUAL(d.op.base, 7);
    CU_ASSERT_EQUAL(ph_adr_operand_addr(&d.op, r, 0, 0), r[7] + 0x40);
    d = dec("66 0f ae b4 c7 00 10 00 00"); /* clwb 0x1000(%rdi,%rax,8) */
    CU_ASSERT_EQUAL(ph_adr_operand_addr(&d.op, r, 0, 0), r[7] + r[0] * 8 + 0x1000);
    d = dec("66 0f ae 35 40 12 00 00"); /* clwb 0x1240(%rip) */
    CU_ASSERT_TRUE(d.op.rip);
    CU_ASSERT_EQUAL(ph_adr_operand_addr(&d.op, r, 0x400000, 0), 0x401240);
    d = dec("66 43 0f ae 74 65 00"); /* clwb 0x0(%r13,%r12,2) */
    CU_ASSERT_EQUAL(d.op.base, 13);
    CU_ASSERT_EQUAL(d.op.index, 12);
    CU_ASSERT_EQUAL(ph_adr_operand_addr(&d.op, r, 0, 0), r[13] + r[12] * 2);
    d = dec("66 41 0f ae 75 00"); /* clwb 0x0(%r13): mod 1, not RIP */
    CU_ASSERT_FALSE(d.op.rip);
    CU_ASSERT_EQUAL(d.op.base, 13);
    d = dec("66 0f ae 34 25 80 00 00 00"); /* clwb 0x80 (SIB, no base, no index) */
    CU_ASSERT_EQUAL(d.op.base, -1);
    CU_ASSERT_EQUAL(d.op.index, -1);
    CU_ASSERT_EQUAL(ph_adr_operand_addr(&d.op, r, 0, 0), 0x80);
    d = dec("65 66 0f ae 34 25 80 00 00 00"); /* clwb %gs:0x80 */
    CU_ASSERT_EQUAL(d.op.seg, 5);
    CU_ASSERT_EQUAL(ph_adr_operand_addr(&d.op, r, 0, 0x7000), 0x7080);
    uint64_t hi[16] = {0};
    hi[0] = (1ull << 40) | 0x10001300;
    d = dec("67 66 0f ae 30"); /* clwb (%eax): the high half is ignored */
    CU_ASSERT_TRUE(d.op.addr32);
    CU_ASSERT_EQUAL(ph_adr_operand_addr(&d.op, hi, 0, 0), 0x10001300);
    d = dec("66 0f ae 77"); /* truncated: no operand, not a flush */
    CU_ASSERT_EQUAL(d.kind, PH_ADR_OTHER);
}

/* The sink records the runs. */
static struct {
    uint64_t off, len;
    enum ph_adr_src src;
} runs[64];
static int nruns;
static void sink(void *ctx, uint64_t off, uint64_t len, enum ph_adr_src src)
{
    (void)ctx;
    if (nruns < 64)
        runs[nruns].off = off, runs[nruns].len = len, runs[nruns].src = src;
    nruns++;
}
static void model(struct ph_adr_model *m, unsigned ncpu)
{
    nruns = 0;
    CU_ASSERT_EQUAL_FATAL(ph_adr_model_init(m, 1 << 20, ncpu, sink, NULL), 0);
}

static void test_rule_clflush(void)
{
    struct ph_adr_model m;
    model(&m, 1);
    ph_adr_store(&m, 0, 100, 8, false);
    CU_ASSERT_EQUAL(ph_adr_state(&m, 64), PH_LINE_DIRTY);
    ph_adr_writeback(&m, 0, 127, PH_ADR_CLFLUSH, true);
    CU_ASSERT_EQUAL(ph_adr_state(&m, 64), PH_LINE_CLEAN);
    CU_ASSERT_EQUAL(nruns, 1);
    CU_ASSERT_TRUE(runs[0].off == 64 && runs[0].len == 64 && runs[0].src == PH_ADR_SRC_CLFLUSH);
    ph_adr_writeback(&m, 0, 4096, PH_ADR_CLFLUSH, true); /* clean: nothing */
    CU_ASSERT_EQUAL(nruns, 1);
    CU_ASSERT_EQUAL(m.c.flush_clean, 1);
    ph_adr_model_free(&m);
}

static void test_rule_clwb_needs_fence(void)
{
    struct ph_adr_model m;
    model(&m, 1);
    ph_adr_store(&m, 0, 0, 64, false);
    ph_adr_writeback(&m, 0, 0, PH_ADR_CLWB, true);
    CU_ASSERT_EQUAL(ph_adr_state(&m, 0), PH_LINE_WB);
    CU_ASSERT_EQUAL(nruns, 0);
    CU_ASSERT_EQUAL(ph_adr_unpersisted(&m), 1); /* a cut now loses it */
    CU_ASSERT_EQUAL(ph_adr_fence(&m, 0, PH_ADR_SFENCE, true), 1);
    CU_ASSERT_EQUAL(ph_adr_state(&m, 0), PH_LINE_CLEAN);
    CU_ASSERT_TRUE(nruns == 1 && runs[0].src == PH_ADR_SRC_WB_FENCE);
    /* clflushopt, then a locked instruction as the fence */
    ph_adr_store(&m, 0, 128, 8, false);
    ph_adr_writeback(&m, 0, 128, PH_ADR_CLFLUSHOPT, true);
    CU_ASSERT_EQUAL(ph_adr_fence(&m, 0, PH_ADR_LOCKED, true), 1);
    CU_ASSERT_EQUAL(m.c.locked, 1);
    ph_adr_model_free(&m);
}

static void test_rule_store_after_writeback(void)
{
    struct ph_adr_model m;
    model(&m, 1);
    ph_adr_store(&m, 0, 0, 8, false);
    ph_adr_writeback(&m, 0, 0, PH_ADR_CLWB, true);
    ph_adr_store(&m, 0, 8, 8, false); /* dirty again */
    CU_ASSERT_EQUAL(ph_adr_fence(&m, 0, PH_ADR_SFENCE, true), 0);
    CU_ASSERT_EQUAL(ph_adr_state(&m, 0), PH_LINE_DIRTY);
    CU_ASSERT_EQUAL(nruns, 0);
    ph_adr_model_free(&m);
}

static void test_rule_fence_is_per_vcpu(void)
{
    struct ph_adr_model m;
    model(&m, 2);
    ph_adr_store(&m, 1, 0, 8, false);
    ph_adr_writeback(&m, 1, 0, PH_ADR_CLWB, true);
    CU_ASSERT_EQUAL(ph_adr_fence(&m, 0, PH_ADR_SFENCE, true), 0); /* another vCPU's fence */
    CU_ASSERT_EQUAL(ph_adr_state(&m, 0), PH_LINE_WB);
    CU_ASSERT_EQUAL(ph_adr_fence(&m, 1, PH_ADR_MFENCE, true), 1);
    ph_adr_model_free(&m);
}

static void test_rule_nt(void)
{
    struct ph_adr_model m;
    model(&m, 1);
    ph_adr_store(&m, 0, 0, 8, true); /* movnti */
    CU_ASSERT_EQUAL(ph_adr_state(&m, 0), PH_LINE_NT);
    ph_adr_writeback(&m, 0, 0, PH_ADR_CLWB, true); /* no effect on a WC line */
    CU_ASSERT_EQUAL(ph_adr_state(&m, 0), PH_LINE_NT);
    CU_ASSERT_EQUAL(ph_adr_fence(&m, 0, PH_ADR_SFENCE, false), 1);
    CU_ASSERT_TRUE(nruns == 1 && runs[0].src == PH_ADR_SRC_NT_FENCE);
    CU_ASSERT_EQUAL(m.c.persisted_kernel, 1);
    /* an NT store to a dirty line leaves it dirty: its cached bytes wait */
    ph_adr_store(&m, 0, 64, 8, false);
    ph_adr_store(&m, 0, 72, 8, true);
    CU_ASSERT_EQUAL(ph_adr_fence(&m, 0, PH_ADR_SFENCE, false), 0);
    CU_ASSERT_EQUAL(ph_adr_state(&m, 64), PH_LINE_DIRTY);
    CU_ASSERT_EQUAL(m.c.nt_on_dirty, 1);
    ph_adr_model_free(&m);
}

static void test_rule_runs_coalesced(void)
{
    struct ph_adr_model m;
    model(&m, 1);
    /* a 4 KiB memcpy_flushcache, lines queued in reverse, one twice; then
     * two written-back lines apart from it and one NT line next to them */
    for (int i = 63; i >= 0; i--)
        ph_adr_store(&m, 0, 8192 + 64 * (uint64_t)i, 64, true);
    ph_adr_store(&m, 0, 8192, 8, true);
    ph_adr_store(&m, 0, 0, 8, false);
    ph_adr_store(&m, 0, 64, 8, false);
    ph_adr_writeback(&m, 0, 64, PH_ADR_CLWB, true);
    ph_adr_writeback(&m, 0, 0, PH_ADR_CLWB, true);
    ph_adr_store(&m, 0, 128, 8, true);
    CU_ASSERT_EQUAL(ph_adr_fence(&m, 0, PH_ADR_SFENCE, true), 67);
    CU_ASSERT_EQUAL_FATAL(nruns, 3);
    CU_ASSERT_TRUE(runs[0].off == 0 && runs[0].len == 128 && runs[0].src == PH_ADR_SRC_WB_FENCE);
    CU_ASSERT_TRUE(runs[1].off == 128 && runs[1].len == 64 && runs[1].src == PH_ADR_SRC_NT_FENCE);
    CU_ASSERT_TRUE(runs[2].off == 8192 && runs[2].len == 4096);
    CU_ASSERT_EQUAL(m.c.lines_persisted, 67);
    CU_ASSERT_EQUAL(ph_adr_unpersisted(&m), 0);
    ph_adr_model_free(&m);
}

static void test_rule_bounds_and_wbinvd(void)
{
    struct ph_adr_model m;
    model(&m, 1);
    ph_adr_store(&m, 0, (1 << 20) - 4, 16, false); /* clipped at the end */
    ph_adr_store(&m, 0, 1 << 20, 8, false);        /* outside: ignored */
    ph_adr_writeback(&m, 0, 5u << 20, PH_ADR_CLWB, true);
    CU_ASSERT_EQUAL(ph_adr_unpersisted(&m), 1);
    ph_adr_store(&m, 0, 0, 8, false);
    CU_ASSERT_EQUAL(ph_adr_fence(&m, 0, PH_ADR_WBINVD, false), 2);
    CU_ASSERT_EQUAL(nruns, 2);
    CU_ASSERT_EQUAL(ph_adr_unpersisted(&m), 0);
    ph_adr_model_free(&m);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("decoder", NULL, NULL);
    CU_add_test(s, "instruction kinds", test_decode_kinds);
    CU_add_test(s, "may it store", test_decode_may_store);
    CU_add_test(s, "flush operands in every addressing form", test_decode_operands);
    s = CU_add_suite("adr rule", NULL, NULL);
    CU_add_test(s, "clflush persists at once", test_rule_clflush);
    CU_add_test(s, "clwb/clflushopt need a fence", test_rule_clwb_needs_fence);
    CU_add_test(s, "a store after a write-back re-dirties", test_rule_store_after_writeback);
    CU_add_test(s, "a fence persists its own vCPU's lines", test_rule_fence_is_per_vcpu);
    CU_add_test(s, "non-temporal stores and a fence", test_rule_nt);
    CU_add_test(s, "a fence's lines coalesced into runs", test_rule_runs_coalesced);
    CU_add_test(s, "device bounds, wbinvd", test_rule_bounds_and_wbinvd);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    printf("%u passed, %u failed\n", run - CU_get_number_of_tests_failed(), failed);
    return failed ? 1 : 0;
}
