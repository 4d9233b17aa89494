/* Unit tests of run --jobs without a VM (host/jobs.c): the chains of a
 * shard do its cycles, each once; the merge puts the chains' rows in
 * cycle order, as they were written; and the exit status of the whole
 * from chains that pass, fail, break, have a checker's error or are
 * stopped, with stand-in chains (forked processes that only return).
 *
 * Built with the sanitizers like every unit test (tests/part.mk). */
#include <CUnit/Basic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "jobs.h"
#include "util.h"

/* Every shard K/N of C cycles split into J chains: between them the
 * chains do cycles K, K+N, ... <= C, each exactly once, and each chain is
 * a shard --shard accepts (1 <= k <= n). */
static void test_shard_partition(void)
{
    enum { C = 60 };
    for (uint64_t n = 1; n <= 6; n++)
        for (uint64_t k = 1; k <= n; k++)
            for (uint64_t jobs = 1; jobs <= 5; jobs++) {
                int seen[C + 1] = {0};
                for (uint64_t j = 1; j <= jobs; j++) {
                    uint64_t ck, cn;
                    ph_jobs_shard(k, n, jobs, j, &ck, &cn);
                    CU_ASSERT(ck >= 1 && ck <= cn);
                    for (uint64_t c = ck; c <= C; c += cn)
                        seen[c]++;
                }
                for (uint64_t c = 1; c <= C; c++)
                    CU_ASSERT_EQUAL(seen[c], c >= k && (c - k) % n == 0 ? 1 : 0);
            }
}

/* The CPUs we may use: at least one, at most the machine's. */
static void test_cpus(void)
{
    CU_ASSERT(ph_jobs_cpus() >= 1);
    CU_ASSERT(ph_jobs_cpus() <= sysconf(_SC_NPROCESSORS_CONF));
}

static char *dir; /* a private directory under TMPDIR */

static void put(const char *name, const char *text)
{
    char *path = ph_strf("%s/%s", dir, name);
    char *sub = ph_strf("%s", path);
    *strrchr(sub, '/') = '\0';
    ph_mkdirs(sub, 0755);
    CU_ASSERT_EQUAL(ph_write_file(path, text, strlen(text)), 0);
    free(sub);
    free(path);
}

/* Rows in cycle order, byte for byte as the chains wrote them; a chain
 * with no results file is skipped. */
static void test_merge_order(void)
{
    put("chain-1/results.jsonl", "{\"cycle\":1,\"shard\":\"1/3\"}\n{\"cycle\":4,\"x\":  1}\n");
    put("chain-2/results.jsonl", "{\"cycle\":2}\n{\"cycle\":5}\n");
    /* chain-3 broke before it wrote anything */
    CU_ASSERT_EQUAL(ph_jobs_merge(dir, 3), 0);
    char *path = ph_strf("%s/results.jsonl", dir);
    char *text = ph_read_file(path, NULL);
    CU_ASSERT_STRING_EQUAL(
        text ? text : "",
        "{\"cycle\":1,\"shard\":\"1/3\"}\n{\"cycle\":2}\n{\"cycle\":4,\"x\":  1}\n"
        "{\"cycle\":5}\n");
    free(text);
    free(path);
}

/* A line that is not a row: an error naming the file and line. */
static void test_merge_damaged(void)
{
    put("chain-1/results.jsonl", "{\"cycle\":1}\n");
    put("chain-2/results.jsonl", "{\"cycle\":2}\n{\"cyc");
    CU_ASSERT_EQUAL(ph_jobs_merge(dir, 2), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "chain-2/results.jsonl:2: not a result row"));
}

/* Stand-in chains: what chain j does is codes[j - 1]: 0 PASS, 1 FAIL,
 * 2 a checker's error at the end, 3 an error that breaks the chain, 4
 * wait until stopped. */
static int codes[4];

static int chain(int j, void *arg, bool *broke)
{
    (void)arg;
    switch (codes[j - 1]) {
    case 2:
        pm_set_error("cycle %d: a checker could not say", j);
        return PM_EXIT_USAGE;
    case 3:
        pm_set_error("cycle %d: the guest failed before the cut", j);
        *broke = true;
        return PM_EXIT_USAGE;
    case 4:
        while (!ph_interrupted)
            pm_sleep(0.05, &ph_interrupted);
        return PM_EXIT_USAGE; /* as a run that was stopped */
    default:
        return codes[j - 1];
    }
}

static int run(int n, int c1, int c2, int c3, bool *complete)
{
    codes[0] = c1, codes[1] = c2, codes[2] = c3;
    pm_set_error("%s", "");
    ph_interrupted = 0;
    return ph_jobs_run(n, chain, NULL, complete);
}

static void test_exit_status(void)
{
    bool complete;
    CU_ASSERT_EQUAL(run(3, 0, 0, 0, &complete), PM_EXIT_OK);
    CU_ASSERT(complete);
    /* a FAIL anywhere is the run's, even beside a checker's error */
    CU_ASSERT_EQUAL(run(3, 0, 1, 2, &complete), PM_EXIT_FAIL);
    CU_ASSERT(complete);
    /* a checker's error alone: exit 2 with its chain's message */
    CU_ASSERT_EQUAL(run(2, 0, 2, 0, &complete), PM_EXIT_USAGE);
    CU_ASSERT(complete);
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "chain 2: cycle 2: a checker could not say");
    CU_ASSERT_FALSE(ph_interrupted);
}

/* A chain that breaks stops the others (which would wait for ever) and is
 * the run's error, before any FAIL. */
static void test_broken_chain_stops_the_others(void)
{
    bool complete;
    CU_ASSERT_EQUAL(run(3, 4, 3, 1, &complete), PM_EXIT_USAGE);
    CU_ASSERT_FALSE(complete);
    CU_ASSERT_FALSE(ph_interrupted);
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "chain 2: cycle 2: the guest failed before the cut");
}

/* A stop of ours (SIGTERM) is passed on to every chain: the run is
 * interrupted. */
static void test_stop_passed_on(void)
{
    codes[0] = codes[1] = 4;
    pm_set_error("%s", "");
    ph_interrupted = 0;
    pid_t self = getpid();
    pid_t killer = fork();
    if (killer == 0) {
        usleep(300000);
        kill(self, SIGTERM);
        _exit(0);
    }
    bool complete;
    /* the killer is our child too: ph_jobs_run reaps it with the chains */
    int r = ph_jobs_run(2, chain, NULL, &complete);
    CU_ASSERT_EQUAL(r, PM_EXIT_USAGE);
    CU_ASSERT(ph_interrupted);
    CU_ASSERT_FALSE(complete);
    ph_interrupted = 0;
}

static void on_signal(int sig)
{
    (void)sig;
    ph_interrupted = 1;
}

int main(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    const char *tmp = getenv("TMPDIR");
    dir = ph_strf("%s/test-jobs.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return 2;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("run --jobs", NULL, NULL);
    CU_add_test(s, "the chains of a shard do its cycles, each once", test_shard_partition);
    CU_add_test(s, "CPUs: at least one", test_cpus);
    CU_add_test(s, "merge: cycle order, rows as written", test_merge_order);
    CU_add_test(s, "merge: a damaged row named", test_merge_damaged);
    CU_add_test(s, "exit status: PASS, FAIL, a checker's error", test_exit_status);
    CU_add_test(s, "a chain that breaks stops the others", test_broken_chain_stops_the_others);
    CU_add_test(s, "a stop is passed on to every chain", test_stop_passed_on);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    ph_remove_tree(dir);
    free(dir);
    return failed ? 1 : 0;
}
