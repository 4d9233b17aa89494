/* tests/unit/test-verify.c — CUnit tests of the guest agent's pure modules:
 * record encoding and checking, ack lines, the judging rules and the
 * verdict. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "verify/acks.h"
#include "verify/judge.h"
#include "verify/record.h"
#include "verify/verdict.h"
#include "verify/verifyset.h"
#include "utils/crc32c.h"
#include "utils/jbuf.h"
#include "utils/json.h"

#define SZ 128 /* record size used below: 16 words */

/* A linear file of n records, 1..n. */
static uint8_t *linear(uint64_t n)
{
    uint8_t *b = calloc(n, SZ);
    for (uint64_t s = 1; s <= n; s++)
        pm_rec_encode(b + (s - 1) * SZ, SZ, s, 0, 0);
    return b;
}

static void acks_range(struct pm_ack_list *l, const char *file, uint64_t from, uint64_t to)
{
    for (uint64_t s = from; s <= to; s++) {
        struct pm_ack a = {.seq = s, .method = PM_SYNC_FSYNC};
        snprintf(a.file, sizeof a.file, "%s", file);
        CU_ASSERT_EQUAL_FATAL(pm_acks_add(l, &a), 0);
    }
}

static char *verdict_text(const struct pm_verdict *v)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    pm_verdict_json(v, f);
    fclose(f);
    return s;
}

/* --- records ----------------------------------------------------------- */

static void test_crc32c_vector(void)
{
    CU_ASSERT_EQUAL(pm_crc32c(0, "123456789", 9), 0xe3069283u);
}

static void test_size_ok(void)
{
    CU_ASSERT_EQUAL(pm_rec_size_ok(64), 0);
    CU_ASSERT_EQUAL(pm_rec_size_ok(4096), 0);
    CU_ASSERT_EQUAL(pm_rec_size_ok(1u << 20), 0);
    CU_ASSERT_EQUAL(pm_rec_size_ok(56), -1);
    CU_ASSERT_EQUAL(pm_rec_size_ok(100), -1);
    CU_ASSERT_EQUAL(pm_rec_size_ok((1u << 20) + 8), -1);
}

static void test_roundtrip(void)
{
    uint8_t b[SZ];
    struct pm_rec_info in;
    pm_rec_encode(b, SZ, 42, 8, 0);
    CU_ASSERT_EQUAL(memcmp(b, "PMRC", 4), 0);
    CU_ASSERT_EQUAL(pm_rec_check(b, SZ, SZ, 42, &in), PM_REC_OK);
    CU_ASSERT_EQUAL(in.seq, 42);
    CU_ASSERT_EQUAL(in.slots, 8);
    /* The payload depends on seq: two records differ beyond the header. */
    uint8_t c[SZ];
    pm_rec_encode(c, SZ, 43, 8, 0);
    CU_ASSERT_NOT_EQUAL(memcmp(b + 32, c + 32, SZ - 32), 0);
}

static void test_zero_and_short(void)
{
    uint8_t b[SZ] = {0};
    struct pm_rec_info in;
    CU_ASSERT_EQUAL(pm_rec_check(b, SZ, SZ, 1, &in), PM_REC_ZERO);
    pm_rec_encode(b, SZ, 1, 0, 0);
    CU_ASSERT_EQUAL(pm_rec_check(b, SZ - 8, SZ, 1, &in), PM_REC_SHORT);
    CU_ASSERT_EQUAL(pm_rec_check(NULL, 0, SZ, 1, &in), PM_REC_SHORT);
}

static void test_torn(void)
{
    uint8_t b[SZ];
    struct pm_rec_info in;
    pm_rec_encode(b, SZ, 7, 0, 0);
    /* The last 64-byte line never made it: 8 words are zero. */
    memset(b + 64, 0, 64);
    CU_ASSERT_EQUAL(pm_rec_check(b, SZ, SZ, 7, &in), PM_REC_TORN);
    CU_ASSERT_EQUAL(in.seq, 7);
    CU_ASSERT_EQUAL(in.words_bad, 8);
    CU_ASSERT_EQUAL(in.words, SZ / 8);
    /* One 8-byte unit torn. */
    pm_rec_encode(b, SZ, 7, 0, 0);
    b[100] ^= 0x40;
    CU_ASSERT_EQUAL(pm_rec_check(b, SZ, SZ, 7, &in), PM_REC_TORN);
    CU_ASSERT_EQUAL(in.words_bad, 1);
}

static void test_header_lost(void)
{
    uint8_t b[SZ];
    struct pm_rec_info in;
    pm_rec_encode(b, SZ, 9, 0, 0);
    memset(b, 0, 64); /* the first line lost, the rest persisted */
    CU_ASSERT_EQUAL(pm_rec_check(b, SZ, SZ, 9, &in), PM_REC_BADMAGIC);
    CU_ASSERT_EQUAL(in.words_bad, 7); /* 4 header words minus the csum word, + 4 payload */
}

static void test_bad_header(void)
{
    uint8_t b[SZ];
    struct pm_rec_info in;
    pm_rec_encode(b, SZ, 3, 0, 0);
    b[16] = 64; /* size field says 64: not this slot's size */
    CU_ASSERT_EQUAL(pm_rec_check(b, SZ, SZ, 3, &in), PM_REC_BADHDR);
    pm_rec_encode(b, SZ, 3, 0, 0);
    b[4] = 2; /* version 2 */
    CU_ASSERT_EQUAL(pm_rec_check(b, SZ, SZ, 3, &in), PM_REC_BADHDR);
}

/* --- ack lines --------------------------------------------------------- */

static void test_ack_parse(void)
{
    struct pm_ack a;
    char err[200];
    CU_ASSERT_EQUAL(pm_ack_parse("ack append.log 17 fsync\n", &a, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(a.file, "append.log");
    CU_ASSERT_EQUAL(a.seq, 17);
    CU_ASSERT_EQUAL(a.method, PM_SYNC_FSYNC);
    CU_ASSERT_EQUAL(pm_ack_parse("ack rec-00000003 3 map-sync\r\n", &a, err, sizeof err), 0);
    CU_ASSERT_EQUAL(a.method, PM_SYNC_MAP_SYNC);
    CU_ASSERT_EQUAL(pm_ack_parse("end\n", &a, err, sizeof err), 1);
    CU_ASSERT_EQUAL(pm_ack_parse("\n", &a, err, sizeof err), 2);
    CU_ASSERT_EQUAL(pm_ack_parse("result {\"command\":\"run\"}\n", &a, err, sizeof err), 2);
    CU_ASSERT_EQUAL(pm_ack_parse("verdict {}\n", &a, err, sizeof err), 2);
    CU_ASSERT_EQUAL(pm_ack_parse("ack append.log 17 fsync\n", &a, err, sizeof err), 0);
    CU_ASSERT_EQUAL(a.cycle, 0); /* as the agent sends it: no cycle */
}

/* The host's lines: `cycle=N` after the method, 1..2^31-1. */
static void test_ack_cycle(void)
{
    struct pm_ack a;
    char err[200];
    CU_ASSERT_EQUAL(pm_ack_parse("ack append.log 2 fsync cycle=3\n", &a, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(a.file, "append.log");
    CU_ASSERT_EQUAL(a.seq, 2);
    CU_ASSERT_EQUAL(a.method, PM_SYNC_FSYNC);
    CU_ASSERT_EQUAL(a.cycle, 3);
    CU_ASSERT_EQUAL(pm_ack_parse("ack ring.dat 9 msync\tcycle=2147483647\r\n", &a, err, sizeof err),
                    0);
    CU_ASSERT_EQUAL(a.cycle, 2147483647u);
    CU_ASSERT_EQUAL(pm_ack_parse("ack rec-00000001 1 fsync cycle=1", &a, err, sizeof err), 0);
    CU_ASSERT_EQUAL(a.cycle, 1);

    /* each a malformed line, with its reason */
    const struct {
        const char *line, *why;
    } bad[] = {
        {"ack append.log 1 fsync cycle=0", "bad cycle 'cycle=0'"},
        {"ack append.log 1 fsync cycle=2147483648", "bad cycle"},
        {"ack append.log 1 fsync cycle=4294967297", "bad cycle"},
        {"ack append.log 1 fsync cycle=99999999999999999999", "bad cycle"},
        {"ack append.log 1 fsync cycle=", "bad cycle"},
        {"ack append.log 1 fsync cycle=-1", "bad cycle"},
        {"ack append.log 1 fsync cycle=+1", "bad cycle"},
        {"ack append.log 1 fsync cycle=01", "bad cycle"},
        {"ack append.log 1 fsync cycle=1x", "bad cycle"},
        {"ack append.log 1 fsync cycle=0x10", "bad cycle"},
        {"ack append.log 1 fsync cycle= 1", "expected 'ack FILE SEQ METHOD [cycle=N]'"},
        {"ack append.log 1 fsync cycle=1 extra", "expected 'ack FILE SEQ METHOD [cycle=N]'"},
        {"ack append.log 1 fsync cycle=1 cycle=1", "expected 'ack FILE SEQ METHOD [cycle=N]'"},
        {"ack append.log 1 fsync cycle 1", "expected 'ack FILE SEQ METHOD [cycle=N]'"},
        {"ack append.log 1 fsync Cycle=1", "only cycle=N may follow"},
        {"ack append.log 1 fsync cyc=1", "only cycle=N may follow"},
        {"ack append.log 1 cycle=1", "unknown method"},
        {"ack append.log 1 fsync c=1", "only cycle=N may follow"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(pm_ack_parse(bad[i].line, &a, err, sizeof err), -1);
        if (!strstr(err, bad[i].why))
            fprintf(stderr, "\n  '%s': '%s', expected '%s'\n", bad[i].line, err, bad[i].why);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].why));
    }

    uint32_t c = 7;
    CU_ASSERT_EQUAL(pm_cycle_parse("1", &c), 0);
    CU_ASSERT_EQUAL(c, 1);
    CU_ASSERT_EQUAL(pm_cycle_parse("2147483647", &c), 0);
    CU_ASSERT_EQUAL(c, 2147483647u);
    const char *badn[] = {"",   "0",  "00",  "012", "2147483648", "12345678901",
                          "1 ", " 1", "1e3", "-3"};
    for (size_t i = 0; i < sizeof badn / sizeof *badn; i++)
        CU_ASSERT_EQUAL(pm_cycle_parse(badn[i], &c), -1);
}

/* The host's device mark at the start of each cycle. */
static void test_cycle_mark(void)
{
    uint32_t c = 0;
    char err[200];
    CU_ASSERT_EQUAL(pm_cycle_mark_parse("cycle 1", &c, err, sizeof err), 1);
    CU_ASSERT_EQUAL(c, 1);
    CU_ASSERT_EQUAL(pm_cycle_mark_parse("cycle 42", &c, err, sizeof err), 1);
    CU_ASSERT_EQUAL(c, 42);
    /* other marks are not cycle marks */
    const char *other[] = {"ack append.log 1 fsync cycle=1",
                           "pmemcut-cut-c1",
                           "cycles 3",
                           "cycle-2",
                           "note cycle 2",
                           ""};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++)
        CU_ASSERT_EQUAL(pm_cycle_mark_parse(other[i], &c, err, sizeof err), 0);
    /* a malformed one is not silently another mark: it would scope the acks wrongly */
    const char *bad[] = {
        "cycle",
        "cycle 0",
        "cycle x",
        "cycle 1 2",
        "cycle 2147483648",
        "cycle\t01",
        "cycle -1",
        "cycle 000000000000000000000000000000000000000000000000000000000000000001"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(pm_cycle_mark_parse(bad[i], &c, err, sizeof err), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected 'cycle N'"));
    }
}

static void test_ack_malformed(void)
{
    struct pm_ack a;
    char err[200];
    const char *bad[] = {
        "ack append.log 17",
        "ack append.log 0 fsync",
        "ack append.log -1 fsync",
        "ack append.log 1x fsync",
        "ack append.log 1 fsink",
        "ack ../etc/passwd 1 fsync",
        "ack a/b 1 fsync",
        "ack .. 1 fsync",
        "ack append.log 1 fsync extra",
        "hello",
        "end now",
        "ack append.log 99999999999999999999 fsync",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        CU_ASSERT_EQUAL(pm_ack_parse(bad[i], &a, err, sizeof err), -1);
        CU_ASSERT_NOT_EQUAL(err[0], '\0');
    }
}

static void test_ack_format(void)
{
    char line[200];
    struct pm_ack a;
    char err[200];
    int n = pm_ack_format(line, sizeof line, "ring.dat", 5, PM_SYNC_PREALLOC_FLUSH);
    CU_ASSERT_STRING_EQUAL(line, "ack ring.dat 5 prealloc-flush\n");
    CU_ASSERT_EQUAL(n, (int)strlen(line));
    CU_ASSERT_EQUAL(pm_ack_parse(line, &a, err, sizeof err), 0);
    CU_ASSERT_EQUAL(a.method, PM_SYNC_PREALLOC_FLUSH);
    n = pm_ack_format_cycle(line, sizeof line, "append.log", 12, PM_SYNC_FSYNC, 0);
    CU_ASSERT_STRING_EQUAL(line, "ack append.log 12 fsync\n");
    n = pm_ack_format_cycle(line, sizeof line, "append.log", 12, PM_SYNC_FSYNC, 2147483647u);
    CU_ASSERT_STRING_EQUAL(line, "ack append.log 12 fsync cycle=2147483647\n");
    CU_ASSERT_EQUAL(n, (int)strlen(line));
    CU_ASSERT_EQUAL(pm_ack_parse(line, &a, err, sizeof err), 0);
    CU_ASSERT_EQUAL(a.cycle, 2147483647u);
    CU_ASSERT_EQUAL(a.seq, 12);
}

static void test_acks_read(void)
{
    const char text[] = "ack b.log 2 fsync\nack append.log 3 fsync\nresult {}\n"
                        "ack append.log 1 fsync\nack append.log 3 fsync\nend\nack x 9 none\n";
    struct pm_ack_list l = {0};
    char err[300];
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    CU_ASSERT_EQUAL(pm_acks_read(&l, f, 1, err, sizeof err), 0);
    fclose(f);
    CU_ASSERT_EQUAL(l.len, 4); /* stops at end */
    pm_acks_sort(&l);
    CU_ASSERT_EQUAL(l.len, 3); /* the duplicate dropped */
    CU_ASSERT_STRING_EQUAL(l.v[0].file, "append.log");
    CU_ASSERT_EQUAL(l.v[0].seq, 1);
    CU_ASSERT_EQUAL(l.v[1].seq, 3);
    CU_ASSERT_STRING_EQUAL(l.v[2].file, "b.log");
    pm_acks_free(&l);

    /* From the channel, `end` is required; a bad line names its number. */
    const char noend[] = "ack append.log 1 fsync\n";
    f = fmemopen((void *)noend, strlen(noend), "r");
    CU_ASSERT_EQUAL(pm_acks_read(&l, f, 1, err, sizeof err), -1);
    fclose(f);
    pm_acks_free(&l);
    f = fmemopen((void *)noend, strlen(noend), "r");
    CU_ASSERT_EQUAL(pm_acks_read(&l, f, 0, err, sizeof err), 0);
    fclose(f);
    pm_acks_free(&l);
    const char bad[] = "ack append.log 1 fsync\nack append.log zero fsync\nend\n";
    f = fmemopen((void *)bad, strlen(bad), "r");
    CU_ASSERT_EQUAL(pm_acks_read(&l, f, 1, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2"));
    fclose(f);
    pm_acks_free(&l);

    /* acks-N.txt as the host writes it, fed to the agent as it is; the same
     * record of two cycles stays two acks, a repeat within a cycle goes */
    const char cyc[] = "ack append.log 2 fsync cycle=2\nack append.log 1 fsync cycle=2\n"
                       "ack append.log 1 fsync cycle=1\nack append.log 1 fsync cycle=2\n"
                       "ack append.log 1 fsync\nend\n";
    f = fmemopen((void *)cyc, strlen(cyc), "r");
    CU_ASSERT_EQUAL(pm_acks_read(&l, f, 1, err, sizeof err), 0);
    fclose(f);
    CU_ASSERT_EQUAL(l.len, 5);
    pm_acks_sort(&l);
    CU_ASSERT_EQUAL_FATAL(l.len, 4);
    CU_ASSERT(l.v[0].seq == 1 && l.v[0].cycle == 0);
    CU_ASSERT(l.v[1].seq == 1 && l.v[1].cycle == 1);
    CU_ASSERT(l.v[2].seq == 1 && l.v[2].cycle == 2);
    CU_ASSERT(l.v[3].seq == 2 && l.v[3].cycle == 2);
    pm_acks_free(&l);
    const char badc[] = "ack append.log 1 fsync cycle=1\nack append.log 2 fsync cycle=0\nend\n";
    f = fmemopen((void *)badc, strlen(badc), "r");
    CU_ASSERT_EQUAL(pm_acks_read(&l, f, 1, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2: bad cycle"));
    fclose(f);
    pm_acks_free(&l);
}

static void test_layout(void)
{
    uint64_t s = 0;
    CU_ASSERT_EQUAL(pm_layout_of("append.log", NULL), PM_LAYOUT_LINEAR);
    CU_ASSERT_EQUAL(pm_layout_of("mmap.dat", NULL), PM_LAYOUT_LINEAR);
    CU_ASSERT_EQUAL(pm_layout_of("ring.dat", NULL), PM_LAYOUT_RING);
    CU_ASSERT_EQUAL(pm_layout_of("rec-00000012", &s), PM_LAYOUT_SINGLE);
    CU_ASSERT_EQUAL(s, 12);
    CU_ASSERT_EQUAL(pm_layout_of("rec-", NULL), PM_LAYOUT_UNKNOWN);
    CU_ASSERT_EQUAL(pm_layout_of("rec-00000000", NULL), PM_LAYOUT_UNKNOWN);
    CU_ASSERT_EQUAL(pm_layout_of("rec-12x", NULL), PM_LAYOUT_UNKNOWN);
    CU_ASSERT_EQUAL(pm_layout_of("other", NULL), PM_LAYOUT_UNKNOWN);
    char name[32];
    pm_single_name(name, sizeof name, 12);
    CU_ASSERT_STRING_EQUAL(name, "rec-00000012");
}

/* --- judging and the verdict ---------------------------------------------- */

static void test_linear_all_present(void)
{
    struct pm_verdict v;
    struct pm_ack_list l = {0};
    uint8_t *b = linear(10);
    acks_range(&l, "append.log", 1, 8); /* 9 and 10 written, not acked */
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_linear(&v, b, 10 * SZ, 1, SZ, l.v, l.len);
    CU_ASSERT_EQUAL(v.acked, 8);
    CU_ASSERT_EQUAL(v.present, 8);
    CU_ASSERT_EQUAL(v.unacked_present, 2);
    CU_ASSERT_TRUE(pm_verdict_pass(&v));
    char *s = verdict_text(&v);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"verdict\":\"PASS\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"missing\":[]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"fsck\":null"));
    free(s);
    pm_verdict_free(&v);
    pm_acks_free(&l);
    free(b);
}

/* Records carry the cycle that wrote them: a record of an earlier cycle at
 * the acked seq's place (same bytes as before epochs) is not this cycle's
 * record; epoch 0 or an ack without a cycle keeps the old rule. */
static void test_epochs(void)
{
    uint8_t r[SZ];
    struct pm_rec_info in;
    pm_rec_encode(r, SZ, 5, 0, 7);
    CU_ASSERT_EQUAL(pm_rec_check(r, SZ, SZ, 5, &in), PM_REC_OK);
    CU_ASSERT_EQUAL(in.epoch, 7);
    uint8_t r0[SZ];
    pm_rec_encode(r0, SZ, 5, 0, 0);
    CU_ASSERT_NOT_EQUAL(memcmp(r + 32, r0 + 32, SZ - 32), 0); /* the payload differs */

    /* linear: cycle 2 acked 1..3; the file holds 1 of cycle 2, 2 of cycle 1,
     * 3 without an epoch */
    uint8_t *b = calloc(3, SZ);
    pm_rec_encode(b, SZ, 1, 0, 2);
    pm_rec_encode(b + SZ, SZ, 2, 0, 1);
    pm_rec_encode(b + 2 * SZ, SZ, 3, 0, 0);
    struct pm_ack_list l = {0};
    acks_range(&l, "append.log", 1, 3);
    for (size_t i = 0; i < l.len; i++)
        l.v[i].cycle = 2;
    struct pm_verdict v;
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_linear(&v, b, 3 * SZ, 1, SZ, l.v, l.len);
    CU_ASSERT_EQUAL(v.present, 2);
    CU_ASSERT_EQUAL_FATAL(v.missing.n, 1);
    CU_ASSERT_EQUAL(v.missing.v[0].seq, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.missing.v[0].what, "of cycle 1"));
    pm_verdict_free(&v);
    /* the same acks without a cycle: all three present, as before */
    for (size_t i = 0; i < l.len; i++)
        l.v[i].cycle = 0;
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_linear(&v, b, 3 * SZ, 1, SZ, l.v, l.len);
    CU_ASSERT_EQUAL(v.present, 3);
    pm_verdict_free(&v);
    pm_acks_free(&l);
    free(b);

    /* ring of 4: cycle 2 acked 1..3 and wrote 1, 2; slot 2 still holds
     * cycle 1's record 7 (a later lap of that cycle): not a supersession */
    b = calloc(4, SZ);
    pm_rec_encode(b, SZ, 1, 4, 2);
    pm_rec_encode(b + SZ, SZ, 2, 4, 2);
    pm_rec_encode(b + 2 * SZ, SZ, 7, 4, 1);
    pm_rec_encode(b + 3 * SZ, SZ, 8, 4, 1);
    acks_range(&l, "ring.dat", 1, 3);
    for (size_t i = 0; i < l.len; i++)
        l.v[i].cycle = 2;
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_ring(&v, b, 4 * SZ, 1, SZ, 4, l.v, l.len);
    CU_ASSERT_EQUAL(v.present, 2);
    CU_ASSERT_EQUAL(v.superseded, 0);
    CU_ASSERT_EQUAL_FATAL(v.missing.n, 1);
    CU_ASSERT_EQUAL(v.missing.v[0].seq, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.missing.v[0].what, "of cycle 1"));
    pm_verdict_free(&v);
    pm_acks_free(&l);
    free(b);
}

static void test_linear_losses(void)
{
    struct pm_verdict v;
    struct pm_ack_list l = {0};
    uint8_t *b = linear(10);
    acks_range(&l, "append.log", 1, 10);
    memset(b + 2 * SZ, 0, SZ);              /* record 3: zero-filled */
    b[4 * SZ + 40] ^= 1;                    /* record 5: torn */
    pm_rec_encode(b + 5 * SZ, SZ, 2, 0, 0); /* record 6's place holds record 2 */
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_linear(&v, b, 9 * SZ + 10, 1, SZ, l.v, l.len); /* 10 cut short */
    CU_ASSERT_EQUAL(v.acked, 10);
    CU_ASSERT_EQUAL(v.present, 6);
    CU_ASSERT_EQUAL_FATAL(v.missing.n, 2);
    CU_ASSERT_EQUAL(v.missing.v[0].seq, 3);
    CU_ASSERT_STRING_EQUAL(v.missing.v[0].what, "zero-filled");
    CU_ASSERT_EQUAL(v.missing.v[1].seq, 10);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.missing.v[1].what, "beyond end of file"));
    CU_ASSERT_EQUAL_FATAL(v.corrupt.n, 2);
    CU_ASSERT_EQUAL(v.corrupt.v[0].seq, 5);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.corrupt.v[0].what, "checksum mismatch: 1 of 16"));
    CU_ASSERT_EQUAL(v.corrupt.v[1].seq, 6);
    CU_ASSERT_STRING_EQUAL(v.corrupt.v[1].what, "holds record 2");
    CU_ASSERT_FALSE(pm_verdict_pass(&v));
    char *s = verdict_text(&v);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"verdict\":\"FAIL\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(
        s, "{\"file\":\"append.log\",\"seq\":3,\"method\":\"fsync\",\"what\":\"zero-filled\"}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"lost\":4,\"lost_allowed\":false"));
    free(s);
    pm_verdict_free(&v);

    /* The same losses with a method that promises nothing: allowed. */
    pm_verdict_init(&v, PM_EXPECT_NONE);
    pm_judge_linear(&v, b, 9 * SZ + 10, 1, SZ, l.v, l.len);
    CU_ASSERT_TRUE(pm_verdict_pass(&v));
    s = verdict_text(&v);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"lost\":4,\"lost_allowed\":true"));
    free(s);
    pm_verdict_free(&v);
    pm_acks_free(&l);
    free(b);
}

static void test_linear_absent(void)
{
    struct pm_verdict v;
    struct pm_ack_list l = {0};
    acks_range(&l, "append.log", 1, 3);
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_linear(&v, NULL, 0, 0, SZ, l.v, l.len);
    CU_ASSERT_EQUAL(v.missing.n, 3);
    CU_ASSERT_STRING_EQUAL(v.missing.v[0].what, "no such file");
    pm_verdict_free(&v);
    pm_acks_free(&l);
}

/* A ring of 4 slots after records 1..10: slots hold 9, 10, 7, 8. */
static uint8_t *ring10(void)
{
    uint8_t *b = calloc(4, SZ);
    for (uint64_t s = 1; s <= 10; s++)
        pm_rec_encode(b + (s - 1) % 4 * SZ, SZ, s, 4, 0);
    return b;
}

static void test_ring_ok(void)
{
    struct pm_verdict v;
    struct pm_ack_list l = {0};
    uint8_t *b = ring10();
    acks_range(&l, "ring.dat", 1, 9); /* 10 written, not acked */
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_ring(&v, b, 4 * SZ, 1, SZ, 4, l.v, l.len);
    CU_ASSERT_EQUAL(v.acked, 9);
    CU_ASSERT_EQUAL(v.present, 3);    /* 7, 8, 9 */
    CU_ASSERT_EQUAL(v.superseded, 6); /* 1..5 by later acks, 6 by 10 */
    CU_ASSERT_EQUAL(v.unacked_present, 1);
    CU_ASSERT_TRUE(pm_verdict_pass(&v));
    pm_verdict_free(&v);
    pm_acks_free(&l);
    free(b);
}

static void test_ring_older_lap(void)
{
    struct pm_verdict v;
    struct pm_ack_list l = {0};
    uint8_t *b = ring10();
    pm_rec_encode(b + 2 * SZ, SZ, 3, 4, 0); /* slot 2 went back to lap 0: 7 lost */
    acks_range(&l, "ring.dat", 1, 10);
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_ring(&v, b, 4 * SZ, 1, SZ, 4, l.v, l.len);
    CU_ASSERT_EQUAL_FATAL(v.missing.n, 1);
    CU_ASSERT_EQUAL(v.missing.v[0].seq, 7);
    CU_ASSERT_STRING_EQUAL(v.missing.v[0].what, "older lap: holds record 3");
    CU_ASSERT_FALSE(pm_verdict_pass(&v));
    pm_verdict_free(&v);
    pm_acks_free(&l);
    free(b);
}

static void test_ring_in_flight(void)
{
    struct pm_verdict v;
    struct pm_ack_list l = {0};
    uint8_t *b = ring10();
    /* Record 11 was being written over 7 (slot 2) when the power went:
     * torn.  7 was acknowledged, 11 was not: 7 is superseded, not lost. */
    pm_rec_encode(b + 2 * SZ, SZ, 11, 4, 0);
    memset(b + 2 * SZ + 64, 0, 64);
    acks_range(&l, "ring.dat", 1, 10);
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_ring(&v, b, 4 * SZ, 1, SZ, 4, l.v, l.len);
    CU_ASSERT_EQUAL(v.missing.n + v.corrupt.n, 0);
    CU_ASSERT_EQUAL(v.present, 3);
    CU_ASSERT_TRUE(pm_verdict_pass(&v));
    pm_verdict_free(&v);

    /* The same tear in a slot that no write in flight explains: corrupt. */
    free(b);
    b = ring10();
    memset(b + 0 * SZ + 64, 0, 64); /* slot 0 holds 9 */
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_ring(&v, b, 4 * SZ, 1, SZ, 4, l.v, l.len);
    CU_ASSERT_EQUAL_FATAL(v.corrupt.n, 1);
    CU_ASSERT_EQUAL(v.corrupt.v[0].seq, 9);
    CU_ASSERT_FALSE(pm_verdict_pass(&v));
    pm_verdict_free(&v);
    pm_acks_free(&l);
    free(b);
}

static void test_single(void)
{
    struct pm_verdict v;
    uint8_t b[SZ];
    struct pm_ack a = {.file = "rec-00000004", .seq = 4, .method = PM_SYNC_FSYNC};
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_rec_encode(b, SZ, 4, 0, 0);
    pm_judge_single(&v, b, SZ, 1, SZ, &a);
    CU_ASSERT_EQUAL(v.present, 1);
    pm_judge_single(&v, NULL, 0, 0, SZ, &a);
    CU_ASSERT_EQUAL(v.missing.n, 1);
    pm_judge_single(&v, b, 0, 1, SZ, &a); /* created, never filled */
    CU_ASSERT_EQUAL(v.missing.n, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.missing.v[1].what, "file is 0 bytes"));
    CU_ASSERT_EQUAL(v.acked, 3);
    pm_verdict_free(&v);
}

static void test_verdict_fsck(void)
{
    struct pm_verdict v;
    pm_verdict_init(&v, PM_EXPECT_NONE);
    v.fsck.ran = 1;
    snprintf(v.fsck.tool, sizeof v.fsck.tool, "e2fsck -fn");
    v.fsck.exit_code = 4;
    snprintf(v.fsck.output, sizeof v.fsck.output, "Inode 12 \"bad\"\n");
    CU_ASSERT_FALSE(pm_verdict_pass(&v)); /* a broken filesystem fails any method */
    char *s = verdict_text(&v);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(s, "\"fsck\":{\"tool\":\"e2fsck -fn\",\"exit\":4,\"clean\":false"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "Inode 12 \\\"bad\\\"\\n"));
    free(s);
    v.fsck.clean = 1;
    v.fsck.exit_code = 0;
    CU_ASSERT_TRUE(pm_verdict_pass(&v));
    pm_verdict_free(&v);
}

/* A filesystem the kernel refused: the verdict says so, with what the
 * kernel logged, and every acked record is missing. */
static void test_verdict_not_mounted(void)
{
    struct pm_verdict v;
    struct pm_ack a = {.file = "append.log", .seq = 1, .method = PM_SYNC_FSYNC};
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    v.fsck.ran = 1;
    v.fsck.mounted = 1;
    char *s = verdict_text(&v);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"mounted\":true,\"kernel\":null"));
    free(s);
    v.fsck.mounted = 0;
    snprintf(v.fsck.kernel, sizeof v.fsck.kernel, "JBD2: recovery failed");
    pm_verdict_missing(&v, &a, "filesystem did not mount");
    s = verdict_text(&v);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"mounted\":false,\"kernel\":\"JBD2: recovery failed\""));
    free(s);
    CU_ASSERT_FALSE(pm_verdict_pass(&v));
    pm_verdict_free(&v);
}

/* The agent's JSON strings, byte for byte: the short escapes for newline,
 * tab and return, \u00XX for the other control and non-ASCII bytes, NULL as
 * null; jb_str, the escaper under it, gives the same bytes. */
static void test_json_str(void)
{
    static const char in[] = "a\"b\\c\nd\te\rf\001g\177h\303\251";
    static const char want[] = "\"a\\\"b\\\\c\\nd\\te\\rf\\u0001g\\u007fh\\u00c3\\u00a9\"";
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    pm_json_str(f, in);
    fputc(' ', f);
    pm_json_str(f, NULL);
    fclose(f);
    char both[sizeof want + 5];
    snprintf(both, sizeof both, "%s null", want);
    CU_ASSERT_STRING_EQUAL(s, both);
    free(s);

    struct jbuf b;
    jb_init(&b);
    jb_str(&b, in);
    CU_ASSERT_STRING_EQUAL(b.s, want);
    jb_free(&b);
}

/* --- rings whose records claim more slots than the file holds ----------- */

/* One file held in memory, for pm_verify_set. */
struct mem_file {
    const char *name;
    const uint8_t *buf;
    size_t len;
};

static int mem_read(void *ctx, const char *name, uint8_t **buf, size_t *len, int *exists, char *err,
                    size_t errlen)
{
    const struct mem_file *m = ctx;
    (void)err, (void)errlen;
    *buf = NULL;
    *len = 0;
    *exists = strcmp(name, m->name) == 0;
    if (!*exists)
        return 0;
    *buf = malloc(m->len ? m->len : 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*buf);
    memcpy(*buf, m->buf, m->len);
    *len = m->len;
    return 0;
}

/* Issue 12, defect 9: one checksum-correct 64-byte record that claims
 * 2^32 - 1 slots.  Verify walked every claimed slot, twice (70 s); the
 * slots past the end of the file hold nothing to walk.  The acks whose slot
 * lies there are missing, beyond the end of the file, as before. */
static void test_ring_huge_slots(void)
{
    uint8_t r[2 * 64];
    pm_rec_encode(r, 64, 1, UINT32_MAX, 0);
    struct mem_file m = {.name = "ring.dat", .buf = r, .len = 64};
    struct pm_ack_list l = {0};
    struct pm_verdict v;
    char err[256];
    acks_range(&l, "ring.dat", 1, 3);
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    /* slots 0: read from the ring's records, as verify and explore do */
    CU_ASSERT_EQUAL_FATAL(pm_verify_set(&v, &l, 64, 0, mem_read, NULL, &m, err, sizeof err), 0);
    CU_ASSERT_EQUAL(v.acked, 3);
    CU_ASSERT_EQUAL(v.present, 1);
    CU_ASSERT_EQUAL_FATAL(v.missing.n, 2);
    CU_ASSERT_EQUAL(v.missing.v[0].seq, 2);
    CU_ASSERT_STRING_EQUAL(v.missing.v[0].what, "beyond end of file (file is 64 bytes)");
    CU_ASSERT_STRING_EQUAL(v.missing.v[1].what, "beyond end of file (file is 64 bytes)");
    CU_ASSERT_EQUAL(v.corrupt.n, 0);
    CU_ASSERT_EQUAL(v.unacked_present, 0);
    pm_verdict_free(&v);

    /* Every slot the file does hold is still looked at: record 2, in slot
     * 1, was not acknowledged. */
    pm_rec_encode(r + 64, 64, 2, UINT32_MAX, 0);
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_ring(&v, r, sizeof r, 1, 64, UINT32_MAX, l.v, 1);
    CU_ASSERT_EQUAL(v.present, 1);
    CU_ASSERT_EQUAL(v.unacked_present, 1);
    CU_ASSERT_EQUAL(v.missing.n + v.corrupt.n, 0);
    pm_verdict_free(&v);
    pm_acks_free(&l);
}

/* A slot past the end of the file is not the write in flight's to spoil:
 * that write overwrites a slot an earlier lap already put in the file, and
 * an overwrite does not shorten a file.  A ring of 4 after records 1..6
 * (slots hold 5, 6, 3, 4), cut to its first 2 slots: record 7, the
 * successor of the newest (6), would go to slot 2, past the end; 3, which
 * was there, is missing, not superseded. */
static void test_ring_short_file(void)
{
    uint8_t *b = calloc(4, SZ);
    for (uint64_t s = 1; s <= 6; s++)
        pm_rec_encode(b + (s - 1) % 4 * SZ, SZ, s, 4, 0);
    struct pm_ack_list l = {0};
    struct pm_verdict v;
    acks_range(&l, "ring.dat", 1, 3);
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_ring(&v, b, 2 * SZ, 1, SZ, 4, l.v, l.len);
    CU_ASSERT_EQUAL(v.superseded, 2); /* 1 by 5, 2 by 6 */
    CU_ASSERT_EQUAL_FATAL(v.missing.n, 1);
    CU_ASSERT_EQUAL(v.missing.v[0].seq, 3);
    CU_ASSERT_STRING_EQUAL(v.missing.v[0].what, "beyond end of file (file is 256 bytes)");
    CU_ASSERT_FALSE(pm_verdict_pass(&v));
    pm_verdict_free(&v);

    /* The whole ring is there and 7 tore over 3: superseded, as before. */
    pm_rec_encode(b + 2 * SZ, SZ, 7, 4, 0);
    memset(b + 2 * SZ + 64, 0, 64);
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_ring(&v, b, 4 * SZ, 1, SZ, 4, l.v, l.len);
    CU_ASSERT_EQUAL(v.superseded, 3);
    CU_ASSERT_EQUAL(v.missing.n + v.corrupt.n, 0);
    pm_verdict_free(&v);
    pm_acks_free(&l);
    free(b);
}

/* --- the ring judge against its quadratic predecessor ------------------- */

/* The reference: pm_judge_ring as it was before issue 12's defect 10, when
 * "superseded by a later ack in the same slot" was a scan over every later
 * ack (quadratic in the ack count).  Kept here, verbatim in its rules, so
 * that the faster search is proven to give the same verdicts. */
static enum pm_rec_state ref_check_at(const uint8_t *buf, size_t len, uint64_t off, uint32_t size,
                                      uint64_t expect, struct pm_rec_info *info)
{
    if (off >= len)
        return pm_rec_check(NULL, 0, size, expect, info);
    return pm_rec_check(buf + off, len - off, size, expect, info);
}

static void ref_report_bad(struct pm_verdict *v, const struct pm_ack *a, enum pm_rec_state st,
                           const struct pm_rec_info *info, size_t len)
{
    char what[128];
    if (st == PM_REC_ZERO) {
        pm_verdict_missing(v, a, pm_rec_state_name(st));
    } else if (st == PM_REC_SHORT) {
        snprintf(what, sizeof what, "%s (file is %zu bytes)", pm_rec_state_name(st), len);
        pm_verdict_missing(v, a, what);
    } else if (st == PM_REC_BADHDR) {
        pm_verdict_corrupt(v, a, pm_rec_state_name(st));
    } else {
        snprintf(what, sizeof what, "%s: %u of %u 8-byte words differ", pm_rec_state_name(st),
                 info->words_bad, info->words);
        pm_verdict_corrupt(v, a, what);
    }
}

static int ref_acked(const struct pm_ack *acks, size_t n, uint64_t seq)
{
    for (size_t i = 0; i < n; i++)
        if (acks[i].seq == seq)
            return 1;
    return 0;
}

static void ref_judge_ring(struct pm_verdict *v, const uint8_t *buf, size_t len, int exists,
                           uint32_t size, uint32_t slots, const struct pm_ack *acks, size_t n)
{
    struct pm_rec_info info;
    char what[128];
    uint64_t newest = 0;
    uint64_t last_acked = n ? acks[n - 1].seq : 0;

    if (!exists || slots == 0) {
        for (size_t i = 0; i < n; i++)
            pm_verdict_missing(v, &acks[i], exists ? "ring has no slots" : "no such file");
        return;
    }
    for (uint32_t j = 0; j < slots; j++) {
        if (ref_check_at(buf, len, (uint64_t)j * size, size, 0, &info) == PM_REC_OK && info.seq &&
            (info.seq - 1) % slots == j && info.seq > newest)
            newest = info.seq;
    }
    uint32_t flight_slot = newest % slots;
    int flight_free = newest + 1 > last_acked;
    for (size_t i = 0; i < n; i++) {
        const struct pm_ack *a = &acks[i];
        uint32_t j = (a->seq - 1) % slots;
        int later = 0;
        for (size_t k = i + 1; k < n && !later; k++)
            later = (acks[k].seq - 1) % slots == j;
        if (later) {
            pm_verdict_superseded(v);
            continue;
        }
        enum pm_rec_state st = ref_check_at(buf, len, (uint64_t)j * size, size, a->seq, &info);
        int fits = st == PM_REC_OK && info.seq && (info.seq - 1) % slots == j;
        if (fits && info.seq == a->seq) {
            pm_verdict_present(v);
        } else if (fits && info.seq > a->seq) {
            pm_verdict_superseded(v);
        } else if (fits) {
            snprintf(what, sizeof what, "older lap: holds record %llu",
                     (unsigned long long)info.seq);
            pm_verdict_missing(v, a, what);
        } else if (j == flight_slot && flight_free && st != PM_REC_SHORT) {
            pm_verdict_superseded(v);
        } else if (st == PM_REC_OK) {
            snprintf(what, sizeof what, "holds record %llu, not of this slot",
                     (unsigned long long)info.seq);
            pm_verdict_corrupt(v, a, what);
        } else {
            ref_report_bad(v, a, st, &info, len);
        }
    }
    for (uint32_t j = 0; j < slots; j++) {
        if (ref_check_at(buf, len, (uint64_t)j * size, size, 0, &info) == PM_REC_OK && info.seq &&
            (info.seq - 1) % slots == j && !ref_acked(acks, n, info.seq))
            v->unacked_present++;
    }
}

static uint64_t test_rng = 0x5eed;

static uint64_t rnd(uint64_t bound) /* 0 .. bound - 1 */
{
    uint64_t z = (test_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) % bound;
}

/* Many random small rings: records 1..W written in order over S slots, the
 * file cut short or not, slots zeroed, torn (the write in flight or any
 * other), holding an older lap or another slot's record, or garbage; acks a
 * random subset of 1..W+3 (so superseded, in-flight, present, missing and
 * never-written ones); judged with the records' slot count or another.
 * The verdicts, JSON text included, must be the reference's. */
static void test_ring_differential(void)
{
    enum { RS = 64, ROUNDS = 20000 };
    unsigned differ = 0, superseded = 0, missing = 0, corrupt = 0, present = 0;
    for (unsigned round = 0; round < ROUNDS; round++) {
        uint32_t s = 1 + (uint32_t)rnd(8);
        uint64_t w = rnd(4 * s + 1);
        uint8_t *b = calloc(s + 1, RS);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        for (uint64_t q = 1; q <= w; q++)
            pm_rec_encode(b + (q - 1) % s * RS, RS, q, s, 0);
        size_t len = w < s ? w * RS : (size_t)s * RS;
        switch (rnd(6)) {
        case 0: /* the write in flight tore over its slot */
            pm_rec_encode(b + w % s * RS, RS, w + 1, s, 0);
            memset(b + w % s * RS + 8 * (1 + rnd(7)), 0, 8);
            if (w < s)
                len += 8 * (1 + rnd(8)); /* it was growing the file */
            break;
        case 1: /* cut short, maybe mid-record */
            len = rnd(len + 1);
            break;
        case 2: /* grown past the ring by a stray partial record */
            len += 8 * rnd(9);
            break;
        }
        for (unsigned d = (unsigned)rnd(3); d > 0; d--) {
            uint8_t *slot = b + rnd(s) * RS;
            uint64_t q = 1 + rnd(4 * s);
            switch (rnd(5)) {
            case 0:
                memset(slot, 0, RS);
                break;
            case 1:
                memset(slot + 8 * (1 + rnd(7)), 0xa5, 8);
                break;
            case 2: /* some record, maybe of an older lap or another slot */
                pm_rec_encode(slot, RS, q, s, 0);
                break;
            case 3:
                memset(slot, (int)rnd(256), RS);
                break;
            case 4:
                slot[4] ^= 1; /* bad header */
                break;
            }
        }
        struct pm_ack_list l = {0};
        for (uint64_t q = 1; q <= w + 3; q++) {
            if (rnd(3) == 0)
                continue;
            struct pm_ack a = {.file = "ring.dat", .seq = q, .method = PM_SYNC_FSYNC};
            if (pm_acks_add(&l, &a) != 0)
                CU_FAIL_FATAL("out of memory");
        }
        pm_acks_sort(&l);
        uint32_t slots = rnd(8) ? s : 1 + (uint32_t)rnd(9);
        int exists = rnd(20) != 0;

        struct pm_verdict got, want;
        pm_verdict_init(&got, PM_EXPECT_DURABLE);
        pm_verdict_init(&want, PM_EXPECT_DURABLE);
        pm_judge_ring(&got, b, len, exists, RS, slots, l.v, l.len);
        ref_judge_ring(&want, b, len, exists, RS, slots, l.v, l.len);
        char *tg = verdict_text(&got), *tw = verdict_text(&want);
        if (strcmp(tg, tw) != 0 || got.unacked_present != want.unacked_present) {
            if (differ++ < 3)
                fprintf(stderr, "\nround %u: slots %u, written %llu, len %zu\n  new %s\n  old %s\n",
                        round, slots, (unsigned long long)w, len, tg, tw);
        }
        superseded += want.superseded != 0;
        missing += want.missing.n != 0;
        corrupt += want.corrupt.n != 0;
        present += want.present != 0;
        free(tg);
        free(tw);
        pm_verdict_free(&got);
        pm_verdict_free(&want);
        pm_acks_free(&l);
        free(b);
    }
    CU_ASSERT_EQUAL(differ, 0);
    /* the rounds did reach every kind of verdict, many times */
    CU_ASSERT(superseded > ROUNDS / 10);
    CU_ASSERT(missing > ROUNDS / 10);
    CU_ASSERT(corrupt > ROUNDS / 10);
    CU_ASSERT(present > ROUNDS / 10);
}

/* Issue 12, defect 10: 80,000 acks on a 1,000,000-slot ring (23 s when the
 * later-ack search was quadratic).  Records 1..1,040,000 went round once
 * and over the first 40,000 slots again; acked are 1..40,000, superseded
 * by 1,000,001..1,040,000, acked too.  Slot 7 was zeroed and slot 9 went
 * back to its first lap.  Only the verdict is asserted: how fast it comes
 * is for the benchmarks. */
static void test_ring_many_acks(void)
{
    enum { RS = 64 };
    const uint32_t slots = 1000000;
    const uint64_t lap2 = 40000;
    uint8_t *b = calloc(slots, RS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    for (uint64_t q = 1; q <= slots + lap2; q++)
        pm_rec_encode(b + (q - 1) % slots * RS, RS, q, slots, 0);
    memset(b + 7 * RS, 0, RS);
    pm_rec_encode(b + 9 * RS, RS, 10, slots, 0);
    struct pm_ack_list l = {0};
    acks_range(&l, "ring.dat", 1, lap2);
    acks_range(&l, "ring.dat", slots + 1, slots + lap2);
    struct pm_verdict v;
    pm_verdict_init(&v, PM_EXPECT_DURABLE);
    pm_judge_ring(&v, b, (size_t)slots * RS, 1, RS, slots, l.v, l.len);
    CU_ASSERT_EQUAL(v.acked, 2 * lap2);
    CU_ASSERT_EQUAL(v.superseded, lap2);
    CU_ASSERT_EQUAL(v.present, lap2 - 2);
    CU_ASSERT_EQUAL_FATAL(v.missing.n, 2);
    CU_ASSERT_EQUAL(v.missing.v[0].seq, slots + 8);
    CU_ASSERT_STRING_EQUAL(v.missing.v[0].what, "zero-filled");
    CU_ASSERT_EQUAL(v.missing.v[1].seq, slots + 10);
    CU_ASSERT_STRING_EQUAL(v.missing.v[1].what, "older lap: holds record 10");
    CU_ASSERT_EQUAL(v.corrupt.n, 0);
    CU_ASSERT_EQUAL(v.unacked_present, slots - lap2);
    pm_verdict_free(&v);
    pm_acks_free(&l);
    free(b);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite rec = CU_add_suite("record", NULL, NULL);
    CU_add_test(rec, "crc32c check value", test_crc32c_vector);
    CU_add_test(rec, "record sizes", test_size_ok);
    CU_add_test(rec, "encode and check", test_roundtrip);
    CU_add_test(rec, "zero-filled and short", test_zero_and_short);
    CU_add_test(rec, "torn record", test_torn);
    CU_add_test(rec, "epochs: an earlier cycle's record is not this cycle's", test_epochs);
    CU_add_test(rec, "header line lost", test_header_lost);
    CU_add_test(rec, "bad header fields", test_bad_header);
    CU_pSuite ack = CU_add_suite("acks", NULL, NULL);
    CU_add_test(ack, "parse", test_ack_parse);
    CU_add_test(ack, "malformed lines", test_ack_malformed);
    CU_add_test(ack, "cycle=N", test_ack_cycle);
    CU_add_test(ack, "cycle marks", test_cycle_mark);
    CU_add_test(ack, "format", test_ack_format);
    CU_add_test(ack, "read list", test_acks_read);
    CU_pSuite jud = CU_add_suite("judge", NULL, NULL);
    CU_add_test(jud, "layouts", test_layout);
    CU_add_test(jud, "linear all present", test_linear_all_present);
    CU_add_test(jud, "linear losses", test_linear_losses);
    CU_add_test(jud, "linear file absent", test_linear_absent);
    CU_add_test(jud, "ring ok", test_ring_ok);
    CU_add_test(jud, "ring older lap", test_ring_older_lap);
    CU_add_test(jud, "ring write in flight", test_ring_in_flight);
    CU_add_test(jud, "single-record files", test_single);
    CU_add_test(jud, "verdict and fsck", test_verdict_fsck);
    CU_add_test(jud, "verdict: a filesystem that did not mount", test_verdict_not_mounted);
    CU_add_test(jud, "ring claiming 2^32-1 slots", test_ring_huge_slots);
    CU_add_test(jud, "ring cut short", test_ring_short_file);
    CU_add_test(jud, "ring judge against the quadratic reference", test_ring_differential);
    CU_add_test(jud, "ring of 1,000,000 slots, 80,000 acks", test_ring_many_acks);
    CU_add_test(jud, "JSON strings", test_json_str);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned run = CU_get_number_of_tests_run();
    unsigned failed = CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    /* The closing line every runner ends with. */
    printf("%u passed, %u failed\n", run - failed, failed);
    return failed ? 1 : 0;
}
