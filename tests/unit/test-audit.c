/* Unit tests of the audit tools' readers and replay engine (CUnit, run in
 * the sanitizer build): the JSON reader, the audit-log reader on good and
 * damaged logs, the data-log reader, replay against a hand-made history,
 * and a little fuzzing of the readers with seeded random damage. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engines/ackverify.h"
#include "utils/error.h"
#include "audit/auditlog.h"
#include "utils/crc32c.h"
#include "audit/dlog.h"
#include "utils/jsonr.h"
#include "verify/record.h"
#include "engines/replay.h"

static char dir[256];

static void path_in(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fwrite(p, 1, n, f) == n);
    fclose(f);
}

/* --- JSON reader ----------------------------------------------------------- */

static void test_json_values(void)
{
    struct jr_doc d;
    jr_init(&d);
    const char *s =
        "{\"seq\":18446744073709551615,\"ns\":5,\"ev\":\"mark\",\"text\":\"a\\\"b\\u00e9\\n\","
        "\"r\":[[1,2],[3,4]],\"c\":{\"meta\":1},\"b\":true,\"z\":null,\"d\":-1.5e3}";
    CU_ASSERT_EQUAL_FATAL(jr_parse(&d, s, strlen(s)), 0);
    uint64_t u;
    CU_ASSERT_EQUAL(jr_get_u64(&d, 0, "seq", &u), 0);
    CU_ASSERT_EQUAL(u, UINT64_MAX);
    CU_ASSERT_STRING_EQUAL(jr_get_str(&d, 0, "text"), "a\"b\xc3\xa9\n");
    int r = jr_get(&d, 0, "r");
    CU_ASSERT_EQUAL(d.n[r].count, 2);
    CU_ASSERT_EQUAL(d.n[jr_at(&d, jr_at(&d, r, 1), 0)].u, 3);
    bool b = false;
    CU_ASSERT_EQUAL(jr_get_bool(&d, 0, "b", &b), 0);
    CU_ASSERT(b);
    double dv;
    CU_ASSERT_EQUAL(jr_get_double(&d, 0, "d", &dv), 0);
    CU_ASSERT_DOUBLE_EQUAL(dv, -1500.0, 1e-9);
    CU_ASSERT_EQUAL(jr_get_u64(&d, 0, "d", &u), -1); /* not a u64 */
    CU_ASSERT_EQUAL(jr_get(&d, 0, "missing"), -1);
    jr_free(&d);
}

static void test_json_errors(void)
{
    struct jr_doc d;
    jr_init(&d);
    static const struct {
        const char *s;
        size_t pos;
    } bad[] = {
        {"{\"a\":1", 6},
        {"{\"a\" 1}", 5},
        {"{\"a\":\"x\\q\"}", 8},
        {"[1,2,]", 5},
        {"{\"a\":1} x", 8},
        {"", 0},
        {"{\"a\":18446744073709551616}", 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int r = jr_parse(&d, bad[i].s, strlen(bad[i].s));
        if (i == 6) {
            /* too big for u64: parses, but is no u64 */
            uint64_t u;
            CU_ASSERT_EQUAL(r, 0);
            CU_ASSERT_EQUAL(jr_get_u64(&d, 0, "a", &u), -1);
            continue;
        }
        CU_ASSERT_EQUAL(r, -1);
        CU_ASSERT_EQUAL(d.errpos, bad[i].pos);
        CU_ASSERT(d.err[0] != '\0');
    }
    char deep[200];
    memset(deep, '[', sizeof deep);
    CU_ASSERT_EQUAL(jr_parse(&d, deep, sizeof deep), -1);
    CU_ASSERT(strstr(d.err, "deep") != NULL);
    jr_free(&d);
}

static uint64_t rng = 12345;
static uint64_t rnd(void)
{
    return pm_rng_next(&rng);
}

static void test_json_fuzz(void)
{
    const char *s =
        "{\"seq\":10,\"ns\":1,\"ev\":\"cut\",\"trigger\":\"at-mark=x\\u0001\",\"policy\":"
        "\"random\",\"p\":0.5,\"seed\":3,\"lost_ranges\":[[0,64],[128,64]],"
        "\"lost\":{\"meta\":0,\"data\":1,\"unknown\":1}}";
    size_t n = strlen(s);
    char buf[512];
    struct jr_doc d;
    jr_init(&d);
    int ok = 0;
    for (int i = 0; i < 20000; i++) {
        memcpy(buf, s, n);
        size_t len = n;
        int k = 1 + (int)(rnd() % 4);
        for (int j = 0; j < k && len > 0; j++) {
            uint64_t r = rnd();
            switch (r % 3) {
            case 0:
                buf[r / 3 % len] = (char)(rnd() & 0xff);
                break;
            case 1:
                len = (size_t)(r / 3 % (len + 1));
                break;
            default:
                buf[r / 3 % len] = "{}[]\",:\\0e-"[rnd() % 11];
            }
        }
        ok += jr_parse(&d, buf, len) == 0;
    }
    CU_ASSERT(ok > 0);
    jr_free(&d);
}

/* --- a hand-made history ---------------------------------------------------- */

#define DEV (64 * 1024)

static const char *good_log =
    "{\"seq\":1,\"ns\":10,\"ev\":\"open\",\"file\":\"img\",\"size\":65536,\"line\":64,"
    "\"created\":true,\"policy\":\"lose-all\",\"seed\":0,\"data_log\":\"d\"}\n"
    "{\"seq\":2,\"ns\":20,\"ev\":\"write\",\"off\":0,\"len\":64,\"fua\":false,"
    "\"dirtied\":{\"meta\":0,\"data\":0,\"unknown\":1},\"cleaned\":{\"meta\":0,\"data\":0,"
    "\"unknown\":0},\"persisted\":{\"meta\":0,\"data\":0,\"unknown\":0},\"dlog\":16}\n"
    "{\"seq\":3,\"ns\":30,\"ev\":\"flush\",\"persisted\":{\"meta\":0,\"data\":0,\"unknown\":1}}\n"
    "{\"seq\":4,\"ns\":35,\"ev\":\"classify\",\"class\":\"meta\",\"off\":64,\"len\":64,\"lines\":1}"
    "\n"
    "{\"seq\":5,\"ns\":40,\"ev\":\"write\",\"off\":64,\"len\":128,\"fua\":false,"
    "\"dirtied\":{\"meta\":1,\"data\":0,\"unknown\":1},\"cleaned\":{\"meta\":0,\"data\":0,"
    "\"unknown\":0},\"persisted\":{\"meta\":0,\"data\":0,\"unknown\":0},\"dlog\":112}\n"
    "{\"seq\":6,\"ns\":50,\"ev\":\"mark\",\"text\":\"ack f 1 fsync\"}\n"
    "{\"seq\":7,\"ns\":60,\"ev\":\"cut\",\"trigger\":\"manual\",\"policy\":\"lose-all\",\"seed\":9,"
    "\"lost\":{\"meta\":1,\"data\":0,\"unknown\":1},\"kept\":{\"meta\":0,\"data\":0,\"unknown\":0},"
    "\"torn\":{\"meta\":0,\"data\":0,\"unknown\":0},\"lost_ranges\":[[64,128]],\"kept_ranges\":[],"
    "\"torn_ranges\":[]}\n"
    "{\"seq\":8,\"ns\":70,\"ev\":\"power-on\"}\n";

static void make_dlog(const char *path)
{
    uint8_t buf[16 + 32 + 64 + 32 + 128];
    struct pm_dlog_header h = {.version = PM_DLOG_VERSION};
    memcpy(h.magic, PM_DLOG_MAGIC, 8);
    memcpy(buf, &h, 16);
    uint8_t p1[64], p2[128];
    memset(p1, 0xab, sizeof p1);
    memset(p2, 0xcd, sizeof p2);
    struct pm_dlog_frame f = {.crc = pm_crc32c(0, p1, 64), .seq = 2, .off = 0, .len = 64};
    memcpy(f.magic, PM_DFRAME_MAGIC, 4);
    memcpy(buf + 16, &f, 32);
    memcpy(buf + 48, p1, 64);
    f = (struct pm_dlog_frame){.crc = pm_crc32c(0, p2, 128), .seq = 5, .off = 64, .len = 128};
    memcpy(f.magic, PM_DFRAME_MAGIC, 4);
    memcpy(buf + 112, &f, 32);
    memcpy(buf + 144, p2, 128);
    write_file(path, buf, sizeof buf);
}

/* Replays the whole log; returns pt_replay_apply/pt_replay_next's failure or 0. */
static int replay_all(const char *log, const char *dlog, uint64_t to, struct pt_replay *r)
{
    if (pt_replay_open(r, log, dlog, NULL) == -1)
        return -1;
    int n;
    while ((n = pt_replay_next(r)) == 1 && r->rec.seq <= to)
        if (pt_replay_apply(r) == -1)
            return -1;
    return n < 0 ? -1 : 0;
}

static void test_replay_history(void)
{
    char log[300], dl[300];
    path_in(log, sizeof log, "h.jsonl");
    path_in(dl, sizeof dl, "h.dlog");
    write_file(log, good_log, strlen(good_log));
    make_dlog(dl);
    struct pt_replay r;
    /* before the cut: V holds both writes */
    CU_ASSERT_EQUAL_FATAL(replay_all(log, dl, 6, &r), 0);
    uint8_t b[256];
    pt_replay_read(&r, b, sizeof b, 0);
    CU_ASSERT_EQUAL(b[0], 0xab);
    CU_ASSERT_EQUAL(b[64], 0xcd);
    CU_ASSERT_EQUAL(b[191], 0xcd);
    CU_ASSERT_EQUAL(b[192], 0);
    /* a keep-all cut there keeps them; lose-all loses the second */
    struct pm_cut_params keep = {.policy = PM_KEEP_ALL};
    CU_ASSERT_EQUAL(pt_replay_cut(&r, &keep, "test"), 0);
    CU_ASSERT_EQUAL(r.p[64], 0xcd);
    pt_replay_close(&r);
    CU_ASSERT_EQUAL_FATAL(replay_all(log, dl, UINT64_MAX, &r), 0);
    CU_ASSERT_EQUAL(r.applied, 8);
    pt_replay_read(&r, b, sizeof b, 0);
    CU_ASSERT_EQUAL(b[0], 0xab);
    CU_ASSERT_EQUAL(b[64], 0);
    pt_replay_close(&r);
}

static void test_replay_disagrees(void)
{
    char log[300], dl[300];
    path_in(log, sizeof log, "m.jsonl");
    path_in(dl, sizeof dl, "m.dlog");
    /* the second write claims a different class split than the model sees */
    char *s = strdup(good_log);
    char *p = strstr(s, "\"dirtied\":{\"meta\":1");
    CU_ASSERT_FATAL(p != NULL);
    p[18] = '0';
    write_file(log, s, strlen(s));
    free(s);
    make_dlog(dl);
    struct pt_replay r;
    CU_ASSERT_EQUAL(replay_all(log, dl, UINT64_MAX, &r), -1);
    CU_ASSERT(strstr(pm_get_error(), "seq 5") != NULL);
    CU_ASSERT(strstr(pm_get_error(), "disagrees") != NULL);
    pt_replay_close(&r);
}

static void test_dlog_damage(void)
{
    char log[300], dl[300];
    path_in(log, sizeof log, "d.jsonl");
    path_in(dl, sizeof dl, "d.dlog");
    write_file(log, good_log, strlen(good_log));
    make_dlog(dl);
    /* flip one payload byte of the second frame (frame at 112, payload at 144) */
    FILE *f = fopen(dl, "r+b");
    fseek(f, 150, SEEK_SET);
    fputc(0x00, f);
    fclose(f);
    struct pt_replay r;
    CU_ASSERT_EQUAL(replay_all(log, dl, UINT64_MAX, &r), -1);
    CU_ASSERT(strstr(pm_get_error(), "byte offset 112") != NULL);
    CU_ASSERT(strstr(pm_get_error(), "checksum") != NULL);
    CU_ASSERT_EQUAL(r.applied, 4);
    pt_replay_close(&r);
    /* wrong magic */
    f = fopen(dl, "r+b");
    fputc('X', f);
    fclose(f);
    struct pm_dlog_reader d;
    CU_ASSERT_EQUAL(pm_dlog_open(&d, dl), -1);
    CU_ASSERT(strstr(pm_get_error(), "magic") != NULL);
    pm_dlog_close(&d);
}

static void test_log_damage(void)
{
    char log[300];
    path_in(log, sizeof log, "t.jsonl");
    struct pm_audit_reader r;
    struct pm_audit_rec rec;
    /* truncated in the middle of the cut record */
    size_t cut_at = (size_t)(strstr(good_log, "{\"seq\":7") - good_log) + 30;
    write_file(log, good_log, cut_at);
    CU_ASSERT_EQUAL_FATAL(pm_audit_reader_open(&r, log), 0);
    int n, count = 0;
    while ((n = pm_audit_reader_next(&r, &rec)) == 1)
        count++;
    CU_ASSERT_EQUAL(n, -1);
    CU_ASSERT_EQUAL(count, 6);
    CU_ASSERT(strstr(r.err, "truncated") != NULL);
    CU_ASSERT(strstr(r.err, "after seq 6") != NULL);
    pm_audit_reader_close(&r);
    /* a record missing: seq jumps */
    char *s = strdup(good_log);
    char *p = strstr(s, "{\"seq\":3");
    char *q = strchr(p, '\n') + 1;
    memmove(p, q, strlen(q) + 1);
    write_file(log, s, strlen(s));
    free(s);
    CU_ASSERT_EQUAL_FATAL(pm_audit_reader_open(&r, log), 0);
    while ((n = pm_audit_reader_next(&r, &rec)) == 1)
        ;
    CU_ASSERT(strstr(r.err, "seq 4 where 3 was expected") != NULL);
    pm_audit_reader_close(&r);
}

/* A record whose span does not fit the device of the open record before it
 * is damage, named by its seq (issue 12, defect 8: a write with a len past
 * the device made the timeline's scale overflow). */
static const char *open_rec =
    "{\"seq\":1,\"ns\":10,\"ev\":\"open\",\"file\":\"img\",\"size\":65536,\"line\":64,"
    "\"created\":true,\"policy\":\"lose-all\",\"seed\":0}\n";
#define COUNTS0 "{\"meta\":0,\"data\":0,\"unknown\":0}"

static int read_second(const char *second, char *err, size_t errlen)
{
    char log[300], text[1024];
    path_in(log, sizeof log, "fit.jsonl");
    snprintf(text, sizeof text, "%s%s\n", open_rec, second);
    write_file(log, text, strlen(text));
    struct pm_audit_reader r;
    struct pm_audit_rec rec;
    CU_ASSERT_EQUAL_FATAL(pm_audit_reader_open(&r, log), 0);
    int n, count = 0;
    while ((n = pm_audit_reader_next(&r, &rec)) == 1)
        count++;
    snprintf(err, errlen, "%s", r.err);
    pm_audit_reader_close(&r);
    return n == 0 ? count : -count;
}

static void test_log_fit(void)
{
    static const char *const refused[] = {
        "{\"seq\":2,\"ns\":20,\"ev\":\"write\",\"off\":0,\"len\":7090071992547409910,"
        "\"fua\":false,\"dirtied\":" COUNTS0 ",\"cleaned\":" COUNTS0 ",\"persisted\":" COUNTS0 "}",
        "{\"seq\":2,\"ns\":20,\"ev\":\"zero\",\"off\":65000,\"len\":1000,"
        "\"fua\":false,\"dirtied\":" COUNTS0 ",\"cleaned\":" COUNTS0 ",\"persisted\":" COUNTS0 "}",
        "{\"seq\":2,\"ns\":20,\"ev\":\"trim\",\"off\":65537,\"len\":0,"
        "\"fua\":false,\"dirtied\":" COUNTS0 ",\"cleaned\":" COUNTS0 ",\"persisted\":" COUNTS0 "}",
        "{\"seq\":2,\"ns\":20,\"ev\":\"classify\",\"class\":\"meta\",\"off\":65472,\"len\":128}",
        "{\"seq\":2,\"ns\":20,\"ev\":\"cut\",\"trigger\":\"manual\",\"policy\":\"lose-all\","
        "\"seed\":9,\"lost\":" COUNTS0 ",\"kept\":" COUNTS0 ",\"torn\":" COUNTS0 ","
        "\"lost_ranges\":[[65536,64]],\"kept_ranges\":[],\"torn_ranges\":[]}",
        "{\"seq\":2,\"ns\":20,\"ev\":\"cut\",\"trigger\":\"manual\",\"policy\":\"lose-all\","
        "\"seed\":9,\"lost\":" COUNTS0 ",\"kept\":" COUNTS0 ",\"torn\":" COUNTS0 ","
        "\"lost_ranges\":[],\"kept_ranges\":[],\"torn_ranges\":[[18446744073709551615,2]]}",
    };
    char err[512];
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        CU_ASSERT_EQUAL(read_second(refused[i], err, sizeof err), -1);
        CU_ASSERT(strstr(err, "seq 2") != NULL);
        CU_ASSERT(strstr(err, "after seq 1") != NULL);
    }
    /* up to the last byte is fine */
    CU_ASSERT_EQUAL(read_second("{\"seq\":2,\"ns\":20,\"ev\":\"write\",\"off\":65472,\"len\":64,"
                                "\"fua\":false,\"dirtied\":" COUNTS0 ",\"cleaned\":" COUNTS0
                                ",\"persisted\":" COUNTS0 "}",
                                err, sizeof err),
                    2);
    CU_ASSERT_EQUAL(read_second("{\"seq\":2,\"ns\":20,\"ev\":\"cut\",\"trigger\":\"manual\","
                                "\"policy\":\"lose-all\",\"seed\":9,\"lost\":" COUNTS0
                                ",\"kept\":" COUNTS0 ",\"torn\":" COUNTS0
                                ",\"lost_ranges\":[[0,65536]],\"kept_ranges\":[],"
                                "\"torn_ranges\":[]}",
                                err, sizeof err),
                    2);
}

static void test_log_fuzz(void)
{
    char log[300];
    path_in(log, sizeof log, "f.jsonl");
    size_t n = strlen(good_log);
    char *buf = malloc(n);
    for (int i = 0; i < 3000; i++) {
        memcpy(buf, good_log, n);
        size_t len = n;
        for (int k = 0; k < 3 && len > 0; k++) {
            uint64_t r = rnd();
            if (r % 4 == 0)
                len = (size_t)(r / 4 % len) + 1;
            else
                buf[r / 4 % len] = (char)(rnd() & 0xff);
        }
        write_file(log, buf, len);
        struct pm_audit_reader r;
        struct pm_audit_rec rec;
        CU_ASSERT_EQUAL_FATAL(pm_audit_reader_open(&r, log), 0);
        int got;
        while ((got = pm_audit_reader_next(&r, &rec)) == 1)
            ;
        CU_ASSERT(got == 0 || r.err[0] != '\0');
        pm_audit_reader_close(&r);
    }
    free(buf);
}

/* --- acknowledged records: which acks apply where, judged as the agent --- */

static const char *ack_log =
    "{\"seq\":1,\"ns\":10,\"ev\":\"open\",\"file\":\"img\",\"size\":65536,\"line\":64,"
    "\"created\":true,\"policy\":\"lose-all\",\"seed\":0,\"data_log\":\"d\"}\n"
    "{\"seq\":2,\"ns\":20,\"ev\":\"mark\",\"text\":\"ack append.log 1 fsync\"}\n"
    "{\"seq\":3,\"ns\":30,\"ev\":\"mark\",\"text\":\"hello\"}\n"
    "{\"seq\":4,\"ns\":40,\"ev\":\"mark\",\"text\":\"ack append.log 2 fsync\"}\n"
    "{\"seq\":5,\"ns\":50,\"ev\":\"mark\",\"text\":\"ack rec-00000007 7 fdatasync\"}\n";

/* The workload directory, in memory: append.log holds records 1 and 2 (the
 * second torn when torn is set; only the first when short is set, as after
 * the next cycle's workload truncated it and wrote one record),
 * rec-00000007 record 7. */
static int torn_append, short_append;

static int mem_read(void *ctx, const char *name, uint8_t **buf, size_t *len, int *exists, char *err,
                    size_t errlen)
{
    (void)ctx, (void)err, (void)errlen;
    *buf = NULL;
    *len = 0;
    *exists = 0;
    if (strcmp(name, "append.log") == 0) {
        *buf = calloc(1, 512);
        pm_rec_encode(*buf, 256, 1, 0, 0);
        pm_rec_encode(*buf + 256, 256, 2, 0, 0);
        if (torn_append)
            (*buf)[256 + 100] ^= 1;
        *len = short_append ? 256 : 512;
    } else if (strcmp(name, "rec-00000007") == 0) {
        *buf = calloc(1, 256);
        pm_rec_encode(*buf, 256, 7, 0, 0);
        *len = 256;
    } else {
        return 0;
    }
    *exists = 1;
    return 0;
}

/* How many acks apply at at. */
static size_t count_at(const struct pt_ack_list *l, uint64_t at)
{
    pt_ack_set s = {0};
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_at(l, at, &s), 0);
    size_t n = s.len;
    PM_VEC_FREE(&s);
    return n;
}

/* The acks that apply at at, as "SEQ/CYCLE ..." in the list's order. */
static const char *set_at(const struct pt_ack_list *l, uint64_t at)
{
    static char out[256];
    pt_ack_set s = {0};
    out[0] = '\0';
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_at(l, at, &s), 0);
    for (size_t i = 0; i < s.len; i++) {
        const struct pm_ack *a = &l->acks.v[s.v[i]].a;
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%llu/%u", i ? " " : "",
                 (unsigned long long)a->seq, (unsigned)a->cycle);
    }
    PM_VEC_FREE(&s);
    return out;
}

/* Judges the acks that apply at at over mem_read: 1 PASS, 0 FAIL. */
static int pass_at(const struct pt_ack_list *l, uint64_t at, struct pm_verdict *v)
{
    pt_ack_set s = {0};
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_at(l, at, &s), 0);
    pm_verdict_init(v, PM_EXPECT_DURABLE);
    CU_ASSERT_EQUAL(pt_ackverify_judge(v, l, &s, 256, mem_read, NULL, NULL), 0);
    PM_VEC_FREE(&s);
    return pm_verdict_pass(v);
}

static void test_ack_verify(void)
{
    char log[300], acks[300];
    path_in(log, sizeof log, "acks.jsonl");
    write_file(log, ack_log, strlen(ack_log));
    struct pt_ack_list l = {0};
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_load_audit(&l, log), 0);
    CU_ASSERT_EQUAL(l.acks.len, 3);
    CU_ASSERT_EQUAL(count_at(&l, 1), 0);
    CU_ASSERT_EQUAL(count_at(&l, 2), 1);
    CU_ASSERT_EQUAL(count_at(&l, 4), 2);
    CU_ASSERT_EQUAL(count_at(&l, 99), 3);
    /* no cycles: each applies from its mark to the end, as before */
    CU_ASSERT_EQUAL(l.cycles, 0);
    CU_ASSERT_EQUAL(l.repeated, 0);
    CU_ASSERT(l.nested);
    CU_ASSERT_EQUAL(l.acks.v[0].until, PT_ACK_FOREVER);

    struct pm_verdict v;
    torn_append = 0;
    CU_ASSERT(pass_at(&l, 99, &v));
    CU_ASSERT_EQUAL(v.present, 3);
    pm_verdict_free(&v);

    /* the second record torn: acked from seq 4 on, so a state at 3 passes */
    torn_append = 1;
    CU_ASSERT(pass_at(&l, 3, &v));
    pm_verdict_free(&v);
    CU_ASSERT(!pass_at(&l, 99, &v));
    CU_ASSERT_EQUAL(v.corrupt.n, 1);
    char sig[160];
    pt_ackverify_signature(&v, sig, sizeof sig);
    CU_ASSERT_STRING_EQUAL(sig,
                           "verify: corrupt append.log: checksum mismatch: # of # #-byte words "
                           "differ");
    pm_verdict_free(&v);
    pt_ackverify_free(&l);

    /* a host file: lines take their marks' seqs in order; one unmarked */
    path_in(acks, sizeof acks, "acks.txt");
    const char *txt = "ack append.log 1 fsync\nack rec-00000007 7 fdatasync\n"
                      "ack append.log 3 fsync\nresult {}\n";
    write_file(acks, txt, strlen(txt));
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_load_file(&l, acks, log), 0);
    CU_ASSERT_EQUAL(l.acks.len, 3);
    CU_ASSERT_EQUAL(l.unmatched, 1);
    CU_ASSERT_EQUAL(l.unmarked_cycle, 0);
    CU_ASSERT_EQUAL(count_at(&l, 0), 1); /* the unmarked one: everywhere */
    CU_ASSERT_EQUAL(count_at(&l, 2), 2);
    CU_ASSERT_EQUAL(count_at(&l, 5), 3);
    pt_ackverify_free(&l);

    /* an empty ack file: no acks, and nothing sorted (issue 12, 7) */
    write_file(acks, "", 0);
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_load_file(&l, acks, log), 0);
    CU_ASSERT_EQUAL(l.acks.len, 0);
    CU_ASSERT_EQUAL(count_at(&l, 5), 0);
    pt_ackverify_free(&l);

    /* bad lines are refused with the line number */
    const char *bad = "ack append.log 1 fsync\nack append.log x fsync\n";
    write_file(acks, bad, strlen(bad));
    CU_ASSERT_EQUAL(pt_ackverify_load_file(&l, acks, log), -1);
    CU_ASSERT(strstr(pm_get_error(), "line 2") != NULL);
    pt_ackverify_free(&l);
}

/* Two cycles of one workload over the same file, as the host marks them:
 * `cycle N` at the start of each, every ack with its cycle.  Cycle 2 acks
 * records 1 and 2 again after its workload truncated append.log. */
static const char *cycle_log =
    "{\"seq\":1,\"ns\":10,\"ev\":\"open\",\"file\":\"img\",\"size\":65536,\"line\":64,"
    "\"created\":true,\"policy\":\"lose-all\",\"seed\":0,\"data_log\":\"d\"}\n"
    "{\"seq\":2,\"ns\":20,\"ev\":\"mark\",\"text\":\"cycle 1\"}\n"
    "{\"seq\":3,\"ns\":30,\"ev\":\"mark\",\"text\":\"ack append.log 1 fsync cycle=1\"}\n"
    "{\"seq\":4,\"ns\":40,\"ev\":\"mark\",\"text\":\"ack append.log 2 fsync cycle=1\"}\n"
    "{\"seq\":5,\"ns\":50,\"ev\":\"mark\",\"text\":\"pmemcut-cut-c1\"}\n"
    "{\"seq\":6,\"ns\":60,\"ev\":\"mark\",\"text\":\"cycle 2\"}\n"
    "{\"seq\":7,\"ns\":70,\"ev\":\"mark\",\"text\":\"ack append.log 1 fsync cycle=2\"}\n"
    "{\"seq\":8,\"ns\":80,\"ev\":\"mark\",\"text\":\"cycle 2\"}\n"
    "{\"seq\":9,\"ns\":90,\"ev\":\"mark\",\"text\":\"ack append.log 2 fsync cycle=2\"}\n"
    "{\"seq\":10,\"ns\":100,\"ev\":\"mark\",\"text\":\"cycle 3\"}\n";

static void test_ack_cycles(void)
{
    char log[300], acks[300];
    path_in(log, sizeof log, "cycles.jsonl");
    path_in(acks, sizeof acks, "cycles.txt");
    write_file(log, cycle_log, strlen(cycle_log));
    struct pt_ack_list l = {0};
    struct pm_verdict v;
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_load_audit(&l, log), 0);
    CU_ASSERT_EQUAL_FATAL(l.acks.len, 4);
    CU_ASSERT_EQUAL(l.cycles, 4);
    CU_ASSERT_EQUAL(l.repeated, 0);
    CU_ASSERT(l.nested);
    /* cycle 1's end at cycle 2's mark; cycle 2's not at its own repeated
     * mark (seq 8) but at cycle 3's */
    CU_ASSERT(l.acks.v[0].from == 3 && l.acks.v[0].until == 6);
    CU_ASSERT(l.acks.v[1].from == 4 && l.acks.v[1].until == 6);
    CU_ASSERT(l.acks.v[2].from == 7 && l.acks.v[2].until == 10);
    CU_ASSERT(l.acks.v[3].from == 9 && l.acks.v[3].until == 10);
    CU_ASSERT_STRING_EQUAL(set_at(&l, 2), "");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 3), "1/1");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 5), "1/1 2/1");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 6), "");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 7), "1/2");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 8), "1/2");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 9), "1/2 2/2");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 10), "");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 1000), "");

    /* Cycle 2 truncated the file and rewrote record 1: cycle 1's ack of
     * record 2 no longer holds there (the false FAIL "missing append.log:
     * beyond end of file" of issue 13, 2), but it did in cycle 1. */
    torn_append = 0;
    short_append = 1;
    CU_ASSERT(pass_at(&l, 7, &v));
    CU_ASSERT_EQUAL(v.acked, 1);
    CU_ASSERT_EQUAL(v.present, 1);
    pm_verdict_free(&v);
    CU_ASSERT(!pass_at(&l, 5, &v));
    CU_ASSERT_EQUAL(v.missing.n, 1);
    pm_verdict_free(&v);
    CU_ASSERT(!pass_at(&l, 9, &v)); /* and cycle 2's own record 2, if lost, is a loss */
    pm_verdict_free(&v);
    short_append = 0;
    CU_ASSERT(pass_at(&l, 9, &v));
    CU_ASSERT_EQUAL(v.present, 2);
    pm_verdict_free(&v);
    pt_ackverify_free(&l);

    /* acks-1.txt and acks-2.txt: each line matches its own cycle's mark
     * only, though the text before cycle= is the same */
    const char *a1 = "ack append.log 1 fsync cycle=1\nack append.log 2 fsync cycle=1\n";
    write_file(acks, a1, strlen(a1));
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_load_file(&l, acks, log), 0);
    CU_ASSERT_EQUAL(l.unmatched, 0);
    CU_ASSERT(l.acks.v[0].from == 3 && l.acks.v[1].from == 4);
    CU_ASSERT_STRING_EQUAL(set_at(&l, 5), "1/1 2/1");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 7), "");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 9), "");
    pt_ackverify_free(&l);
    const char *a2 = "ack append.log 1 fsync cycle=2\nack append.log 2 fsync cycle=2\n";
    write_file(acks, a2, strlen(a2));
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_load_file(&l, acks, log), 0);
    CU_ASSERT_EQUAL(l.unmatched, 0);
    CU_ASSERT(l.acks.v[0].from == 7 && l.acks.v[1].from == 9);
    CU_ASSERT_STRING_EQUAL(set_at(&l, 5), "");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 7), "1/2");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 9), "1/2 2/2");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 10), "");
    pt_ackverify_free(&l);

    /* a line without a cycle matches only a mark without one: none here */
    const char *a0 = "ack append.log 1 fsync\n";
    write_file(acks, a0, strlen(a0));
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_load_file(&l, acks, log), 0);
    CU_ASSERT_EQUAL(l.unmatched, 1);
    CU_ASSERT_EQUAL(l.unmarked_cycle, 0);
    CU_ASSERT_STRING_EQUAL(set_at(&l, 0), "1/0");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 10), "1/0");
    pt_ackverify_free(&l);
    /* a cycle the log never starts: unmatched, and said so */
    const char *a5 = "ack append.log 1 fsync cycle=5\n";
    write_file(acks, a5, strlen(a5));
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_load_file(&l, acks, log), 0);
    CU_ASSERT_EQUAL(l.unmatched, 1);
    CU_ASSERT_EQUAL(l.unmarked_cycle, 1);
    CU_ASSERT_STRING_EQUAL(set_at(&l, 5), "1/5");
    pt_ackverify_free(&l);

    /* Both cycles' lines and one without a mark, which applies everywhere:
     * in cycle 2 the set is that one and cycle 2's, around cycle 1's (not
     * one range of the list). */
    const char *mix = "ack append.log 1 fsync cycle=1\nack append.log 2 fsync cycle=1\n"
                      "ack append.log 1 fsync cycle=2\nack append.log 3 fsync cycle=2\n"
                      "ack append.log 2 fsync cycle=2\n";
    write_file(acks, mix, strlen(mix));
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_load_file(&l, acks, log), 0);
    CU_ASSERT_EQUAL(l.unmatched, 1);
    CU_ASSERT(!l.nested);
    CU_ASSERT_STRING_EQUAL(set_at(&l, 2), "3/2");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 4), "3/2 1/1 2/1");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 6), "3/2");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 9), "3/2 1/2 2/2");
    CU_ASSERT_STRING_EQUAL(set_at(&l, 10), "3/2");
    pt_ackverify_free(&l);

    /* The same record acked twice without cycles: a history of several
     * cycles from before the marks, counted for explore's warning. */
    const char *old = "{\"seq\":1,\"ns\":10,\"ev\":\"open\",\"file\":\"img\",\"size\":65536,"
                      "\"line\":64,\"created\":true,\"policy\":\"lose-all\",\"seed\":0,"
                      "\"data_log\":\"d\"}\n"
                      "{\"seq\":2,\"ns\":20,\"ev\":\"mark\",\"text\":\"ack append.log 1 fsync\"}\n"
                      "{\"seq\":3,\"ns\":30,\"ev\":\"mark\",\"text\":\"ack append.log 1 fsync\"}\n"
                      "{\"seq\":4,\"ns\":40,\"ev\":\"mark\",\"text\":\"ack append.log 2 fsync\"}\n";
    write_file(log, old, strlen(old));
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_load_audit(&l, log), 0);
    CU_ASSERT_EQUAL(l.repeated, 1);
    CU_ASSERT_STRING_EQUAL(set_at(&l, 4), "1/0 1/0 2/0");
    pt_ackverify_free(&l);
    /* and from a file of that log's second cycle: its first line takes the
     * first cycle's mark, which only the warning can tell */
    const char *a2old = "ack append.log 1 fsync\nack append.log 2 fsync\n";
    write_file(acks, a2old, strlen(a2old));
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_load_file(&l, acks, log), 0);
    CU_ASSERT_EQUAL(l.repeated, 1);
    CU_ASSERT(l.acks.v[0].from == 2 && l.acks.v[1].from == 4);
    pt_ackverify_free(&l);

    /* A malformed cycle mark or cycle token: refused, naming the seq. */
    const char *bad[] = {"cycle x",
                         "cycle 0",
                         "cycle",
                         "cycle 1 2",
                         "ack append.log 1 fsync cycle=0",
                         "ack append.log 1 fsync cycle=1 x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[2048];
        snprintf(text, sizeof text,
                 "{\"seq\":1,\"ns\":10,\"ev\":\"open\",\"file\":\"img\",\"size\":65536,"
                 "\"line\":64,\"created\":true,\"policy\":\"lose-all\",\"seed\":0,"
                 "\"data_log\":\"d\"}\n"
                 "{\"seq\":2,\"ns\":20,\"ev\":\"mark\",\"text\":\"%s\"}\n",
                 bad[i]);
        write_file(log, text, strlen(text));
        CU_ASSERT_EQUAL(pt_ackverify_load_audit(&l, log), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "seq 2: mark"));
        pt_ackverify_free(&l);
    }
}

/* acks-2.txt against a log whose cycle 1 has 50,000 marks, none of them
 * its own: each mark looks its ack up rather than scanning every line (a
 * scan was 2.5e9 comparisons here). */
static void test_ack_match_many(void)
{
    enum { N = 50000 };
    char log[300], acks[300];
    path_in(log, sizeof log, "many.jsonl");
    path_in(acks, sizeof acks, "many.txt");
    FILE *f = fopen(log, "w"), *a = fopen(acks, "w");
    CU_ASSERT_FATAL(f && a);
    fprintf(f, "{\"seq\":1,\"ns\":1,\"ev\":\"open\",\"file\":\"img\",\"size\":65536,"
               "\"line\":64,\"created\":true,\"policy\":\"lose-all\",\"seed\":0,"
               "\"data_log\":\"d\"}\n");
    uint64_t seq = 2;
    for (int c = 1; c <= 2; c++) {
        fprintf(f, "{\"seq\":%llu,\"ns\":%llu,\"ev\":\"mark\",\"text\":\"cycle %d\"}\n",
                (unsigned long long)seq, (unsigned long long)seq, c);
        seq++;
        for (int k = 1; k <= (c == 1 ? N : 3); k++, seq++)
            fprintf(f,
                    "{\"seq\":%llu,\"ns\":%llu,\"ev\":\"mark\",\"text\":\"ack append.log %d "
                    "fsync cycle=%d\"}\n",
                    (unsigned long long)seq, (unsigned long long)seq, k, c);
    }
    for (int k = 1; k <= N; k++)
        fprintf(a, "ack append.log %d fsync cycle=2\n", k);
    fclose(f);
    fclose(a);
    struct pt_ack_list l = {0};
    CU_ASSERT_EQUAL_FATAL(pt_ackverify_load_file(&l, acks, log), 0);
    CU_ASSERT_EQUAL(l.acks.len, N);
    CU_ASSERT_EQUAL(l.unmatched, N - 3);
    CU_ASSERT_EQUAL(l.unmarked_cycle, 0);
    CU_ASSERT_EQUAL(count_at(&l, seq), N - 3 + 3); /* the unmatched ones, and cycle 2's three */
    CU_ASSERT_EQUAL(count_at(&l, N / 2), N - 3);   /* in cycle 1: only the unmatched ones */
    pt_ackverify_free(&l);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/unit-audit.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return 2;
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("audit", NULL, NULL);
    CU_add_test(s, "json values", test_json_values);
    CU_add_test(s, "json errors name the offset", test_json_errors);
    CU_add_test(s, "json fuzz", test_json_fuzz);
    CU_add_test(s, "replay a hand-made history", test_replay_history);
    CU_add_test(s, "replay notices a log that disagrees", test_replay_disagrees);
    CU_add_test(s, "data-log damage names the frame", test_dlog_damage);
    CU_add_test(s, "audit-log damage names seq and offset", test_log_damage);
    CU_add_test(s, "audit-log records must fit the device", test_log_fit);
    CU_add_test(s, "audit-log fuzz", test_log_fuzz);
    CU_add_test(s, "acks: where they apply, judged as the agent", test_ack_verify);
    CU_add_test(s, "acks: each applies in its own cycle", test_ack_cycles);
    CU_add_test(s, "acks: a file matched against many marks of another cycle", test_ack_match_many);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned run = CU_get_number_of_tests_run();
    unsigned failed = CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    printf("%u passed, %u failed\n", run - failed, failed);
    return failed ? 1 : 0;
}
