/* Unit tests of pmemcut-host's pure parts, without a VM or a device: the
 * counts of a cut as its progress line gives them (host/report.c).
 *
 * Built with the sanitizers like every unit test, from the host's own
 * objects and jansson (tests/part.mk). */
#include <CUnit/Basic.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

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

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("cut lines", NULL, NULL);
    CU_add_test(s, "a torn cut counts its torn lines", test_cut_lines_torn);
    CU_add_test(s, "a lose-all cut", test_cut_lines_lost);
    CU_add_test(s, "no cut, a damaged cut", test_cut_lines_absent);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
