/* Unit tests of the audit log's schema (CUnit, run in the sanitizer build):
 * what format.c writes, auditlog.c reads back, for every kind and key; the
 * keys come out in the schema's order; a record without a key the schema
 * marks needed is refused, one without any other key is taken; a CPU's
 * write carries its keys together. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/auditlog.h"
#include "audit/cpu.h"
#include "audit/format.h"
#include "audit/schema.h"
#include "utils/jsonr.h"

static char dir[256];
static struct pm_range ranges[2] = {{64, 128}, {4096, 64}};

/* A record of kind k with a value of its own in every key. */
static void sample(enum pm_audit_kind k, struct pm_audit_rec *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->ev = k;
    const struct pm_audit_kind_def *kd = pm_audit_kind_def(k);
    for (size_t i = 0; i < kd->nkeys; i++) {
        const struct pm_audit_key *key = &kd->keys[i];
        char *v = (char *)rec + key->field;
        switch (key->type) {
        case PM_AT_U64:
            *(uint64_t *)v = 1000 + i;
            break;
        case PM_AT_U32:
            *(uint32_t *)v = 64;
            break;
        case PM_AT_BOOL:
        case PM_AT_ON_OFF:
        case PM_AT_MARKER:
            *(bool *)v = true;
            break;
        case PM_AT_STR:
            *(const char **)v = key->name; /* any string with a quote would do too */
            break;
        case PM_AT_FLUSH_MODE:
            *(const char **)v = "ignore";
            break;
        case PM_AT_COUNTS:
            *(struct pm_counts *)v = (struct pm_counts){{i, i + 1, i + 2}};
            break;
        case PM_AT_RANGES:
            *(struct pm_rangelist *)v = (struct pm_rangelist){ranges, 2, 2};
            break;
        case PM_AT_POLICY:
            *(enum pm_policy *)v = PM_RANDOM;
            break;
        case PM_AT_PROB:
            *(double *)v = 0.25;
            break;
        case PM_AT_CLASS:
            *(enum pm_class *)v = PM_META;
            break;
        }
    }
    if (k == PM_AUDIT_OPEN)
        rec->size = 1 << 20;
    if (k == PM_AUDIT_WRITE) {
        rec->has_dlog = true;
        /* a CPU's write (audit/cpu.h): the reader checks its keys together */
        rec->src = "cpu";
        rec->insn = "nt+fence";
        rec->fua = true;
    }
}

/* The log line of rec: {"seq":1,"ns":2,<body>[,"dlog":N]}. */
static char *line_of(const struct pm_audit_rec *rec)
{
    struct jbuf b;
    jb_init(&b);
    jb_cat(&b, "{\"seq\":1,\"ns\":2,");
    pm_audit_format(&b, rec);
    if (rec->has_dlog)
        jb_printf(&b, ",\"dlog\":%llu", (unsigned long long)rec->dlog);
    jb_cat(&b, "}");
    CU_ASSERT_FATAL(jb_ok(&b));
    return jb_take(&b);
}

/* Reads the one-record log text: 1 with *rec, or -1 (r->err says why). */
static int read_back(const char *text, struct pm_audit_reader *r, struct pm_audit_rec *rec)
{
    char path[300];
    snprintf(path, sizeof path, "%s/log.jsonl", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fprintf(f, "%s\n", text);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(pm_audit_reader_open(r, path), 0);
    return pm_audit_reader_next(r, rec);
}

static void same_key(const struct pm_audit_key *k, const struct pm_audit_rec *a,
                     const struct pm_audit_rec *b)
{
    const char *va = (const char *)a + k->field, *vb = (const char *)b + k->field;
    switch (k->type) {
    case PM_AT_STR:
    case PM_AT_FLUSH_MODE:
        CU_ASSERT_STRING_EQUAL(*(const char *const *)va, *(const char *const *)vb);
        break;
    case PM_AT_RANGES: {
        const struct pm_rangelist *la = (const void *)va, *lb = (const void *)vb;
        CU_ASSERT_EQUAL_FATAL(la->n, lb->n);
        CU_ASSERT(memcmp(la->r, lb->r, la->n * sizeof *la->r) == 0);
        break;
    }
    case PM_AT_U64:
        CU_ASSERT_EQUAL(*(const uint64_t *)va, *(const uint64_t *)vb);
        break;
    case PM_AT_U32:
        CU_ASSERT_EQUAL(*(const uint32_t *)va, *(const uint32_t *)vb);
        break;
    case PM_AT_BOOL:
    case PM_AT_ON_OFF:
    case PM_AT_MARKER:
        CU_ASSERT_EQUAL(*(const bool *)va, *(const bool *)vb);
        break;
    case PM_AT_COUNTS:
        CU_ASSERT(memcmp(va, vb, sizeof(struct pm_counts)) == 0);
        break;
    case PM_AT_POLICY:
        CU_ASSERT_EQUAL(*(const enum pm_policy *)va, *(const enum pm_policy *)vb);
        break;
    case PM_AT_PROB:
        CU_ASSERT_DOUBLE_EQUAL(*(const double *)va, *(const double *)vb, 0);
        break;
    case PM_AT_CLASS:
        CU_ASSERT_EQUAL(*(const enum pm_class *)va, *(const enum pm_class *)vb);
        break;
    }
}

static void test_round_trip(void)
{
    for (int k = 0; k < PM_AUDIT_NKINDS; k++) {
        struct pm_audit_rec rec, got;
        sample((enum pm_audit_kind)k, &rec);
        char *text = line_of(&rec);
        struct pm_audit_reader r;
        int n = read_back(text, &r, &got);
        if (n != 1)
            fprintf(stderr, "\n%s: %s\n", text, r.err);
        CU_ASSERT_EQUAL_FATAL(n, 1);
        CU_ASSERT_EQUAL(got.ev, (enum pm_audit_kind)k);
        const struct pm_audit_kind_def *kd = pm_audit_kind_def((enum pm_audit_kind)k);
        for (size_t i = 0; i < kd->nkeys; i++)
            same_key(&kd->keys[i], &rec, &got);
        CU_ASSERT_EQUAL(got.has_dlog, rec.has_dlog);
        pm_audit_reader_close(&r);
        free(text);
    }
}

static void test_key_order(void)
{
    struct jr_doc d;
    jr_init(&d);
    for (int k = 0; k < PM_AUDIT_NKINDS; k++) {
        struct pm_audit_rec rec;
        sample((enum pm_audit_kind)k, &rec);
        char *text = line_of(&rec);
        CU_ASSERT_EQUAL_FATAL(jr_parse(&d, text, strlen(text)), 0);
        const struct pm_audit_kind_def *kd = pm_audit_kind_def((enum pm_audit_kind)k);
        const char *want[40] = {"seq", "ns", "ev"};
        size_t nw = 3;
        for (size_t i = 0; i < kd->nkeys; i++)
            want[nw++] = kd->keys[i].name;
        size_t at = 0;
        for (int c = d.n[0].child; c >= 0; c = d.n[c].next, at++) {
            CU_ASSERT_FATAL(at < nw);
            CU_ASSERT_STRING_EQUAL(d.strs + d.n[c].key, want[at]);
        }
        CU_ASSERT_EQUAL(at, nw); /* every key present in the sample */
        CU_ASSERT_STRING_EQUAL(jr_get_str(&d, 0, "ev"), pm_audit_kind_name((enum pm_audit_kind)k));
        free(text);
    }
    jr_free(&d);
}

/* The text of the object without its member name (top level only). */
static char *without(const char *text, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof pat, ",\"%s\":", name);
    const char *a = strstr(text, pat);
    CU_ASSERT_FATAL(a != NULL);
    const char *e = a + strlen(pat);
    int depth = 0;
    bool str = false;
    for (; *e; e++) {
        if (str) {
            if (*e == '\\')
                e++;
            else if (*e == '"')
                str = false;
        } else if (*e == '"') {
            str = true;
        } else if (*e == '{' || *e == '[') {
            depth++;
        } else if (*e == '}' || *e == ']') {
            if (depth-- == 0)
                break;
        } else if (*e == ',' && depth == 0) {
            break;
        }
    }
    size_t n = strlen(text);
    char *out = malloc(n + 1);
    CU_ASSERT_FATAL(out != NULL);
    memcpy(out, text, (size_t)(a - text));
    strcpy(out + (a - text), e);
    return out;
}

static void test_needed_keys(void)
{
    for (int k = 0; k < PM_AUDIT_NKINDS; k++) {
        struct pm_audit_rec rec, got;
        sample((enum pm_audit_kind)k, &rec);
        char *text = line_of(&rec);
        const struct pm_audit_kind_def *kd = pm_audit_kind_def((enum pm_audit_kind)k);
        for (size_t i = 0; i < kd->nkeys; i++) {
            const struct pm_audit_key *key = &kd->keys[i];
            char *t = without(text, key->name);
            struct pm_audit_reader r;
            int n = read_back(t, &r, &got);
            /* p is needed here: the samples' policy is random; a CPU's
             * write needs src, insn, fence and fua together */
            bool cpu =
                k == PM_AUDIT_WRITE && (!strcmp(key->name, "src") || !strcmp(key->name, "insn") ||
                                        !strcmp(key->name, "fence"));
            bool needed = (key->flags & (PM_AK_NEEDED | PM_AK_IF_RANDOM)) != 0 || cpu;
            if ((n == 1) == needed)
                fprintf(stderr, "\n%s without %s: %d %s\n", kd->name, key->name, n, r.err);
            CU_ASSERT_EQUAL(n, needed ? -1 : 1);
            if (n == -1 && !cpu)
                CU_ASSERT_PTR_NOT_NULL(strstr(r.err, key->name));
            if (n == -1 && cpu)
                CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "\"src\":\"cpu\""));
            pm_audit_reader_close(&r);
            free(t);
        }
        free(text);
    }
}

/* A CPU's write (audit/cpu.h): without any of its keys a block client's;
 * with a kind the table does not know, another src or without FUA,
 * damage; the export names the device takes. */
static void test_cpu_writes(void)
{
    struct pm_audit_rec rec, got;
    struct pm_audit_reader r;
    sample(PM_AUDIT_WRITE, &rec);
    char *text = line_of(&rec);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, ",\"src\":\"cpu\",\"insn\":\"nt+fence\",\"fence\":"));
    CU_ASSERT_EQUAL(read_back(text, &r, &got), 1);
    CU_ASSERT_STRING_EQUAL(got.insn, "nt+fence");
    CU_ASSERT(got.fence > 0);
    pm_audit_reader_close(&r);
    free(text);
    struct {
        const char *src, *insn;
        uint64_t fence;
        bool fua;
        int want;
    } cases[] = {
        {NULL, NULL, 0, false, 1},         {"cpu", "clflush", 3, true, 1},
        {"cpu", "clwb+fence", 1, true, 1}, {"cpu", "wbinvd", 9, true, 1},
        {"cpu", "clwb", 1, true, -1},      {"gpu", "clflush", 1, true, -1},
        {"cpu", "clflush", 0, true, -1},   {"cpu", "clflush", 1, false, -1},
        {NULL, "clflush", 1, true, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rec.src = cases[i].src;
        rec.insn = cases[i].insn;
        rec.fence = cases[i].fence;
        rec.fua = cases[i].fua;
        text = line_of(&rec);
        int n = read_back(text, &r, &got);
        if (n != cases[i].want)
            fprintf(stderr, "\n%s: %d %s\n", text, n, r.err);
        CU_ASSERT_EQUAL(n, cases[i].want);
        pm_audit_reader_close(&r);
        free(text);
    }
    CU_ASSERT_EQUAL(pm_cpu_export_parse(""), -1);
    CU_ASSERT_EQUAL(pm_cpu_export_parse("pmemcut-cpu/clflush"), PM_CPU_CLFLUSH);
    CU_ASSERT_EQUAL(pm_cpu_export_parse("pmemcut-cpu/nt+fence"), PM_CPU_NT_FENCE);
    CU_ASSERT_EQUAL(pm_cpu_export_parse("pmemcut-cpu"), -2);
    CU_ASSERT_EQUAL(pm_cpu_export_parse("pmemcut-cpu/"), -2);
    CU_ASSERT_EQUAL(pm_cpu_export_parse("pmemcut-cpu/clwb"), -2);
    CU_ASSERT_EQUAL(pm_cpu_export_parse("other"), -2);
    for (int k = 0; k < PM_CPU_NINSNS; k++)
        CU_ASSERT_EQUAL(pm_cpu_insn_parse(pm_cpu_insn_name((enum pm_cpu_insn)k)), k);
}

static void test_names(void)
{
    for (int k = 0; k < PM_AUDIT_NKINDS; k++) {
        enum pm_audit_kind got;
        CU_ASSERT_EQUAL(pm_audit_kind_parse(pm_audit_kind_name((enum pm_audit_kind)k), &got), 0);
        CU_ASSERT_EQUAL(got, (enum pm_audit_kind)k);
    }
    enum pm_audit_kind got;
    CU_ASSERT_EQUAL(pm_audit_kind_parse("read", &got), -1);
    CU_ASSERT_STRING_EQUAL(pm_audit_kind_name(PM_AUDIT_NKINDS), "?");
    CU_ASSERT_STRING_EQUAL(pm_audit_kind_name(pm_audit_kind_of_op(PM_OP_POWER_ON)), "power-on");
    CU_ASSERT_STRING_EQUAL(pm_audit_kind_name(pm_audit_kind_of_op(PM_OP_TRIM)), "trim");
    CU_ASSERT(pm_audit_syncs(PM_AUDIT_FLUSH, false));
    CU_ASSERT(pm_audit_syncs(PM_AUDIT_WRITE, true));
    CU_ASSERT(!pm_audit_syncs(PM_AUDIT_WRITE, false));
    CU_ASSERT(!pm_audit_syncs(PM_AUDIT_MARK, false));
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/pmemcut-schema.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return 2;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("schema", NULL, NULL);
    CU_add_test(s, "names, kinds of operations, syncs", test_names);
    CU_add_test(s, "every kind and key round-trips", test_round_trip);
    CU_add_test(s, "keys are written in the schema's order", test_key_order);
    CU_add_test(s, "needed keys are refused when missing, others not", test_needed_keys);
    CU_add_test(s, "a CPU's writes: src, insn, fence and FUA together", test_cpu_writes);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned run = CU_get_number_of_tests_run();
    unsigned failed = CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    char path[300];
    snprintf(path, sizeof path, "%s/log.jsonl", dir);
    unlink(path);
    rmdir(dir);
    printf("%u passed, %u failed\n", run - failed, failed);
    return failed ? 1 : 0;
}
