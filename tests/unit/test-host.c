/* Unit tests of pmemcut-host's pure parts, without a VM or a device: the
 * counts of a cut as its progress line gives them (host/report.c), and
 * what the host takes from the guest's channel lines (host/channel.c), and
 * where a cycle's cut is planned among a record's requests (host/plan.c).
 *
 * Built with the sanitizers like every unit test, from the host's own
 * objects and jansson (tests/part.mk). */
#include <CUnit/Basic.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "plan.h"
#include "report.h"
#include "utils/error.h"

static json_t *parsed(const char *line, enum ph_guest_msg want)
{
    json_t *j = NULL;
    CU_ASSERT_EQUAL(ph_guest_parse(line, &j), want);
    return j;
}

static char *lines_of(const char *json)
{
    json_t *cut = json_loads(json, 0, NULL);
    char *s = ph_cut_lines(cut);
    json_decref(cut);
    return s;
}

/* A torn cut's lines are counted: the results said torn 34 meta while the
 * progress line said "lost 0 meta, 0 data, 0 other lines". */
static void test_cut_lines_torn(void)
{
    char *s = lines_of("{\"ev\":\"cut\",\"policy\":\"torn\",\"lost\":{\"meta\":0,\"data\":0,"
                       "\"unknown\":0},\"kept\":{\"meta\":3},\"torn\":{\"meta\":34,\"data\":2,"
                       "\"unknown\":1}}");
    CU_ASSERT_STRING_EQUAL(s, "lost 0 meta, 0 data, 0 other lines; torn 34 meta, 2 data, 1 other "
                              "lines");
    free(s);
}

static void test_cut_lines_lost(void)
{
    char *s = lines_of("{\"lost\":{\"meta\":374,\"data\":44,\"unknown\":0}}");
    CU_ASSERT_STRING_EQUAL(s, "lost 374 meta, 44 data, 0 other lines; torn 0 meta, 0 data, 0 "
                              "other lines");
    free(s);
}

/* No cut record (or a damaged one) counts nothing rather than failing. */
static void test_cut_lines_absent(void)
{
    char *s = ph_cut_lines(NULL);
    CU_ASSERT_STRING_EQUAL(s, "lost 0 meta, 0 data, 0 other lines; torn 0 meta, 0 data, 0 other "
                              "lines");
    free(s);
    s = lines_of("{\"lost\":[1,2],\"torn\":{\"meta\":\"x\"}}");
    CU_ASSERT_STRING_EQUAL(s, "lost 0 meta, 0 data, 0 other lines; torn 0 meta, 0 data, 0 other "
                              "lines");
    free(s);
}

/* The extents labelled are on the device, whatever numbers the guest sent
 * (the fuzzer found a sum past 2^63 and a real of 1e301). */
static void test_extents_bounded(void)
{
    json_t *e = parsed("extents {\"dev_offset\":2097152,\"files\":[{\"name\":\"a\",\"extents\":["
                       "{\"physical\":4096,\"length\":8192,\"flags\":1},"
                       "{\"physical\":16773120,\"length\":1000000,\"flags\":1},"
                       "{\"physical\":0,\"length\":4096,\"flags\":4},"
                       "{\"physical\":9223372036854775807,\"length\":1},"
                       "{\"physical\":1e301,\"length\":1e301},"
                       "{\"physical\":4.5e3,\"length\":-1}]}]}",
                       PH_MSG_EXTENTS);
    struct ph_range *r;
    size_t n = ph_guest_extents(e, 18 << 20, &r);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(r[0].off, 2097152 + 4096);
    CU_ASSERT_EQUAL(r[0].len, 8192);
    CU_ASSERT_EQUAL(r[1].off, 2097152 + 16773120);
    CU_ASSERT_EQUAL(r[1].len, (18 << 20) - (2097152 + 16773120));
    free(r);
    json_decref(e);
    e = parsed("extents {\"dev_offset\":null,\"files\":[{\"extents\":[{\"physical\":0,"
               "\"length\":4096}]}]}",
               PH_MSG_EXTENTS);
    CU_ASSERT_EQUAL(ph_guest_extents(e, 18 << 20, &r), 0);
    CU_ASSERT_PTR_NULL(r);
    json_decref(e);
}

static void test_dev_offset_bounded(void)
{
    const char *lines[] = {"prepared {\"dev_offset\":1e300}", "prepared {\"dev_offset\":-5}",
                           "prepared {\"dev_offset\":18874368}", "prepared {\"dev_offset\":null}"};
    for (int i = 0; i < 4; i++) {
        json_t *p = parsed(lines[i], PH_MSG_PREPARED);
        CU_ASSERT_EQUAL(ph_guest_dev_offset(p, 18 << 20), 0);
        json_decref(p);
    }
    json_t *p = parsed("prepared {\"dev_offset\":2097152}", PH_MSG_PREPARED);
    CU_ASSERT_EQUAL(ph_guest_dev_offset(p, 18 << 20), 2097152);
    json_decref(p);
}

static void test_verdict(void)
{
    json_t *v = parsed("verdict {\"verdict\":\"PASS\",\"missing\":9223372036854775807,"
                       "\"corrupt\":9223372036854775807}",
                       PH_MSG_RESULT);
    CU_ASSERT_STRING_EQUAL(ph_guest_verdict("none", NULL, v), "allowed-loss");
    CU_ASSERT_STRING_EQUAL(ph_guest_verdict("durable", NULL, v), "PASS");
    json_t *run = parsed("result {\"command\":\"run\",\"refused\":true}", PH_MSG_RESULT);
    CU_ASSERT_STRING_EQUAL(ph_guest_verdict("durable", run, v), "refused");
    CU_ASSERT_STRING_EQUAL(ph_guest_verdict("durable", NULL, NULL), "FAIL");
    json_decref(run);
    json_decref(v);
    CU_ASSERT_EQUAL(parsed("ack append.log 1 fsync", PH_MSG_ACK), NULL);
    CU_ASSERT_EQUAL(parsed("ack append.log 0 fsync", PH_MSG_OTHER), NULL);
    CU_ASSERT_EQUAL(parsed("result [1]", PH_MSG_OTHER), NULL);
}

/* A user's workload (--exec): its promises are free text, one line; its
 * checker's error is never a PASS; a checker FAIL with --expect none is an
 * allowed loss. */
static void test_user_workload(void)
{
    CU_ASSERT_EQUAL(parsed("user-ack row 1 committed", PH_MSG_USER_ACK), NULL);
    CU_ASSERT_EQUAL(parsed("user-ack ", PH_MSG_OTHER), NULL);
    CU_ASSERT_EQUAL(parsed("user-ack a\tb", PH_MSG_OTHER), NULL);
    json_t *v = parsed("verdict {\"command\":\"check\",\"verdict\":\"ERROR\",\"missing\":[]}",
                       PH_MSG_RESULT);
    CU_ASSERT_STRING_EQUAL(ph_guest_verdict("durable", NULL, v), "error");
    CU_ASSERT_STRING_EQUAL(ph_guest_verdict("none", NULL, v), "error");
    json_decref(v);
    v = parsed("verdict {\"command\":\"check\",\"verdict\":\"PASS\",\"lost_allowed\":true,"
               "\"fsck\":{\"clean\":true}}",
               PH_MSG_RESULT);
    CU_ASSERT_STRING_EQUAL(ph_guest_verdict("none", NULL, v), "allowed-loss");
    json_decref(v);
}

/* ext4 append/fsync on virtio-pmem: data write, journal write, flush,
 * flush: five boundaries, each with its trigger. */
static void test_plan_boundaries(void)
{
    static const char *const trig[] = {"after-writes=1", "after-writes=2", "before-flush=1",
                                       "before-flush=2", "at-mark=M"};
    static const char *const name[] = {"after write 1 of 2", "after write 2 of 2",
                                       "before flush 1 of 2", "before flush 2 of 2", "at the ack"};
    CU_ASSERT_EQUAL(ph_plan_count(2, 2), 5);
    for (uint64_t b = 0; b < 6; b++) {
        struct ph_boundary x = ph_plan_boundary(2, 2, b);
        char *t = ph_boundary_trigger(&x, "M"), *n = ph_boundary_name(&x, 2, 2);
        CU_ASSERT_STRING_EQUAL(t, trig[b % 5]);
        CU_ASSERT_STRING_EQUAL(n, name[b % 5]);
        free(t);
        free(n);
    }
    /* a record that made no request: only its ack */
    CU_ASSERT_EQUAL(ph_plan_count(0, 0), 1);
    CU_ASSERT_EQUAL(ph_plan_boundary(0, 0, 7).at, PH_CUT_AT_ACK);
}

/* Over 20 seeds, a run reaches every boundary of the record's sequence
 * within as many cycles as there are boundaries, whatever the sequence. */
static void test_plan_reaches_every_boundary(void)
{
    for (uint64_t seed = 1; seed <= 20; seed++)
        for (uint64_t w = 0; w <= 4; w++)
            for (uint64_t f = 0; f <= 3; f++) {
                uint64_t n = ph_plan_count(w, f);
                bool seen[8] = {false};
                for (uint64_t cycle = 1; cycle <= n; cycle++) {
                    uint64_t b = ph_plan_pick(seed, cycle, w, f);
                    CU_ASSERT_TRUE_FATAL(b < n);
                    seen[b] = true;
                }
                for (uint64_t b = 0; b < n; b++)
                    CU_ASSERT_TRUE(seen[b]);
            }
    /* the seed decides where a run starts: not every seed starts alike */
    bool differ = false;
    for (uint64_t seed = 2; seed <= 20; seed++)
        differ |= ph_plan_pick(seed, 1, 2, 2) != ph_plan_pick(1, 1, 2, 2);
    CU_ASSERT_TRUE(differ);
}

/* The landing of two cycles' cuts in one log: the second read from where
 * the first stopped gives what a read from the start gives. */
static void test_landing_resume(void)
{
    char path[] = "/tmp/pmemcut-landing-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    const char *z = "{\"meta\":0,\"data\":0,\"unknown\":0}";
    const char *wr = "\"ev\":\"write\",\"off\":4096,\"len\":4096,\"fua\":false";
    int seq = 0;
    fprintf(f,
            "{\"seq\":%d,\"ns\":1,\"ev\":\"open\",\"file\":\"x\",\"size\":1048576,\"line\":64,"
            "\"policy\":\"lose-all\",\"seed\":1}\n",
            ++seq);
    for (int c = 1; c <= 2; c++) {
        fprintf(f, "{\"seq\":%d,\"ns\":1,\"ev\":\"mark\",\"text\":\"cycle %d\"}\n", ++seq, c);
        for (int w = 0; w < c; w++)
            fprintf(f, "{\"seq\":%d,\"ns\":1,%s,\"dirtied\":%s,\"cleaned\":%s,\"persisted\":%s}\n",
                    ++seq, wr, z, z, z);
        fprintf(f, "{\"seq\":%d,\"ns\":1,\"ev\":\"flush\",\"persisted\":%s}\n", ++seq, z);
        fprintf(f,
                "{\"seq\":%d,\"ns\":1,\"ev\":\"cut\",\"trigger\":\"t\",\"policy\":\"lose-all\","
                "\"seed\":1,\"lost\":%s,\"kept\":%s,\"torn\":%s,\"lost_ranges\":[],"
                "\"kept_ranges\":[],\"torn_ranges\":[]}\n",
                ++seq, z, z, z);
    }
    fclose(f);
    uint64_t at = 0, fresh = 0;
    json_t *l1 = ph_landing(path, "cycle 1", &at);
    if (!l1)
        fprintf(stderr, "%s\n", pm_get_error());
    CU_ASSERT_PTR_NOT_NULL_FATAL(l1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l1, "requests")), "WF");
    CU_ASSERT_TRUE(at > 0);
    json_t *l2 = ph_landing(path, "cycle 2", &at);
    json_t *l2s = ph_landing(path, "cycle 2", &fresh);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l2s);
    CU_ASSERT_TRUE(json_equal(l2, l2s));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(l2, "requests")), "WWF");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(l2, "cut_seq")), seq);
    /* after the last cut there is none: an error, not the old cut */
    CU_ASSERT_PTR_NULL(ph_landing(path, "cycle 2", &at));
    json_decref(l1);
    json_decref(l2);
    json_decref(l2s);
    unlink(path);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("cut lines", NULL, NULL);
    CU_add_test(s, "a torn cut counts its torn lines", test_cut_lines_torn);
    CU_add_test(s, "a lose-all cut", test_cut_lines_lost);
    CU_add_test(s, "no cut, a damaged cut", test_cut_lines_absent);
    s = CU_add_suite("channel", NULL, NULL);
    CU_add_test(s, "extents: only ranges on the device", test_extents_bounded);
    CU_add_test(s, "prepared: the offset on the device", test_dev_offset_bounded);
    CU_add_test(s, "verdicts, acks, other lines", test_verdict);
    CU_add_test(s, "a user's workload: promises, checker verdicts", test_user_workload);
    CU_add_test(s, "plan: the boundaries of a record", test_plan_boundaries);
    CU_add_test(s, "plan: 20 seeds reach every boundary", test_plan_reaches_every_boundary);
    CU_add_test(s, "landing: a run's cycles read on from the last cut", test_landing_resume);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
