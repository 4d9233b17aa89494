/* Unit tests of the shared utilities (common/utils/): error messages,
 * strict number parsing, the growable array, the seeded generator, scoped
 * cleanup, write loops, child processes with time limits, and the line
 * clients of Unix sockets and of the device's control protocol (against a
 * small server thread in this process).
 *
 * Built with the sanitizers like every unit test:
 *   gcc -std=gnu11 ... -Icommon/utils tests/unit/test-utils.c common/utils/<all>.c -lcunit
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "utils/cleanup.h"
#include "utils/ctlclient.h"
#include "utils/error.h"
#include "utils/exitcode.h"
#include "utils/io.h"
#include "utils/parse.h"
#include "utils/rng.h"
#include "utils/spawn.h"
#include "utils/unixsock.h"
#include "utils/vec.h"

static char tmpdir[] = "/tmp/test-utils.XXXXXX";

/* --- error ---------------------------------------------------------------- */

static void test_error_self_argument(void)
{
    pm_clear_error();
    CU_ASSERT_PTR_NOT_NULL(pm_get_error());
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "");
    pm_set_error("inner %d", 1);
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "inner 1");
    pm_set_error("%s: %s", "middle", pm_get_error());
    pm_set_error("%s: %s", "outer", pm_get_error());
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "outer: middle: inner 1");
    /* the message first, then something longer in front of it */
    pm_set_error("%s and %s", pm_get_error(), pm_get_error());
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "outer: middle: inner 1 and outer: middle: inner 1");
    pm_clear_error();
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "");
}

static void test_error_errno_and_m(void)
{
    errno = 0;
    pm_set_error_errno(ENOENT, "open %s", "x.img");
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "open x.img: No such file or directory");
    CU_ASSERT_EQUAL(errno, 0); /* errno is left alone */
    pm_set_error_errno(0, "plain");
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "plain");
    errno = EACCES;
    pm_set_error("mkdir: %m");
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "mkdir: Permission denied");
    CU_ASSERT_EQUAL(errno, EACCES);
    pm_set_error_errno(EINVAL, "%s", pm_get_error());
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "mkdir: Permission denied: Invalid argument");
}

static void test_error_truncated(void)
{
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    pm_set_error("%s", big);
    size_t n = strlen(pm_get_error());
    CU_ASSERT_EQUAL(n, PM_ERROR_MAX - 1);
    CU_ASSERT_STRING_EQUAL(pm_get_error() + n - 3, "...");
    pm_set_error_errno(ENOENT, "%s", big);
    CU_ASSERT_EQUAL(strlen(pm_get_error()), PM_ERROR_MAX - 1);
    big[PM_ERROR_MAX - 1] = '\0'; /* exactly fits */
    pm_set_error("%s", big);
    CU_ASSERT_STRING_EQUAL(pm_get_error(), big);
}

static void *other_thread(void *arg)
{
    char *seen = arg;
    snprintf(seen, 64, "[%s]", pm_get_error());
    pm_set_error("thread's own");
    return NULL;
}

static void test_error_per_thread(void)
{
    char seen[64] = "";
    pm_set_error("main's");
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, other_thread, seen), 0);
    pthread_join(t, NULL);
    CU_ASSERT_STRING_EQUAL(seen, "[]");
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "main's");
}

static void test_exit_codes(void)
{
    CU_ASSERT_EQUAL(PM_EXIT_OK, 0);
    CU_ASSERT_EQUAL(PM_EXIT_FAIL, 1);
    CU_ASSERT_EQUAL(PM_EXIT_USAGE, 2);
    CU_ASSERT_EQUAL(PM_EXIT_REFUSED, 3);
}

/* --- parse ---------------------------------------------------------------- */

static void test_parse_u64(void)
{
    static const char *const bad[] = {"-1",
                                      " 1",
                                      "1 ",
                                      "",
                                      "+1",
                                      "0x10",
                                      "1e3",
                                      "1.0",
                                      "١",
                                      "12a",
                                      "1\n",
                                      "18446744073709551616",
                                      "99999999999999999999999"};
    uint64_t v = 12345;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pm_clear_error();
        CU_ASSERT_EQUAL(pm_parse_u64(bad[i], UINT64_MAX, &v), -1);
        CU_ASSERT(strlen(pm_get_error()) > 0);
        CU_ASSERT_PTR_NULL(strchr(pm_get_error(), '\n')); /* one line */
        CU_ASSERT_EQUAL(v, 12345);                        /* untouched */
    }
    CU_ASSERT_EQUAL(pm_parse_u64("-1", UINT64_MAX, &v), -1);
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "\"-1\": not a number of 0 to 18446744073709551615");
    CU_ASSERT_EQUAL(pm_parse_u64("18446744073709551616", UINT64_MAX, &v), -1);
    CU_ASSERT_STRING_EQUAL(pm_get_error(),
                           "\"18446744073709551616\": more than 18446744073709551615");
    CU_ASSERT_EQUAL(pm_parse_u64("", 10, &v), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "empty"));

    CU_ASSERT_EQUAL(pm_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
    CU_ASSERT_EQUAL(v, UINT64_MAX);
    CU_ASSERT_EQUAL(pm_parse_u64("0", 0, &v), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(pm_parse_u64("010", 100, &v), 0); /* decimal, not octal */
    CU_ASSERT_EQUAL(v, 10);
    CU_ASSERT_EQUAL(pm_parse_u64("10", 10, &v), 0);
    CU_ASSERT_EQUAL(v, 10);
    v = 5;
    CU_ASSERT_EQUAL(pm_parse_u64("11", 10, &v), -1);
    CU_ASSERT_EQUAL(v, 5);
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "\"11\": more than 10");
}

static void test_parse_u64_quotes_safely(void)
{
    uint64_t v;
    CU_ASSERT_EQUAL(pm_parse_u64("a\nb\"", 10, &v), -1);
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "\"a\\x0ab\\x22\": not a number of 0 to 10");
    char longtext[500];
    memset(longtext, 'z', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    CU_ASSERT_EQUAL(pm_parse_u64(longtext, 10, &v), -1);
    CU_ASSERT(strlen(pm_get_error()) < 120);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "...\""));
}

static void test_parse_size(void)
{
    static const struct {
        const char *s;
        uint64_t v;
    } good[] = {
        {"0", 0},
        {"4096", 4096},
        {"4096B", 4096},
        {"4k", 4096},
        {"4K", 4096},
        {"4KiB", 4096},
        {"4kB", 4096},
        {"4KB", 4096},
        {"256M", 256ull << 20},
        {"256m", 256ull << 20},
        {"256MiB", 256ull << 20},
        {"1G", 1ull << 30},
        {"3g", 3ull << 30},
        {"2GiB", 2ull << 30},
        {"18014398509481983K", 18014398509481983ull << 10},
        {"17179869183G", 17179869183ull << 30},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t v = 1;
        CU_ASSERT_EQUAL(pm_parse_size(good[i].s, UINT64_MAX, &v), 0);
        CU_ASSERT_EQUAL(v, good[i].v);
    }
    static const char *const bad[] = {
        "",
        "K",
        "-1",
        "+1",
        " 1",
        "1 ",
        "1 K",
        "1KiBx",
        "4iB",
        "1T",
        "1P",
        "1KK",
        "1.5G",
        "0x10",
        "1Ki",
        "1kib",
        "1bytes",
        "18014398509481984K", /* 2^54 KiB = 2^64 bytes */
        "17179869184G",       /* 2^34 GiB = 2^64 bytes */
        "18446744073709551616",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 7;
        pm_clear_error();
        CU_ASSERT_EQUAL(pm_parse_size(bad[i], UINT64_MAX, &v), -1);
        CU_ASSERT_EQUAL(v, 7);
        CU_ASSERT(strlen(pm_get_error()) > 0);
    }
    uint64_t v;
    CU_ASSERT_EQUAL(pm_parse_size("1G", 1ull << 30, &v), 0);
    CU_ASSERT_EQUAL(pm_parse_size("1025M", 1ull << 30, &v), -1);
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "\"1025M\": more than 1073741824 bytes");
    CU_ASSERT_EQUAL(pm_parse_size("8E", INT64_MAX, &v), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "not a size"));
}

static void test_parse_double(void)
{
    static const char *const bad[] = {"nan",   "NaN",    "-nan", "inf",   "-inf", "infinity",
                                      "1e400", "-1e400", " 1",   "1 ",    "",     "1,5",
                                      "0.5x",  "1e-400", "e5",   "\t0.5", "--1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double d = 42;
        pm_clear_error();
        CU_ASSERT_EQUAL(pm_parse_double(bad[i], -1e300, 1e300, &d), -1);
        CU_ASSERT_EQUAL(d, 42);
        CU_ASSERT(strlen(pm_get_error()) > 0);
    }
    double d;
    CU_ASSERT_EQUAL(pm_parse_double("0.5", 0, 1, &d), 0);
    CU_ASSERT_EQUAL(d, 0.5);
    CU_ASSERT_EQUAL(pm_parse_double("1", 0, 1, &d), 0);
    CU_ASSERT_EQUAL(d, 1);
    CU_ASSERT_EQUAL(pm_parse_double("0", 0, 1, &d), 0);
    CU_ASSERT_EQUAL(d, 0);
    CU_ASSERT_EQUAL(pm_parse_double(".25", 0, 1, &d), 0);
    CU_ASSERT_EQUAL(d, 0.25);
    CU_ASSERT_EQUAL(pm_parse_double("-2.5e1", -100, 100, &d), 0);
    CU_ASSERT_EQUAL(d, -25);
    CU_ASSERT_EQUAL(pm_parse_double("1.0000001", 0, 1, &d), -1);
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "\"1.0000001\": not within 0 to 1");
    CU_ASSERT_EQUAL(pm_parse_double("-0.1", 0, 1, &d), -1);
    CU_ASSERT_EQUAL(pm_parse_double("1e400", 0, 1, &d), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "range"));
    CU_ASSERT_EQUAL(pm_parse_double("nan", 0, 1, &d), -1);
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "\"nan\": not a number of 0 to 1");
}

/* --- vec ------------------------------------------------------------------ */

typedef PM_VEC(int) int_vec;
struct pair {
    uint64_t a;
    char b;
};
typedef PM_VEC(struct pair) pair_vec;

static void test_vec_push(void)
{
    int_vec v = {0};
    for (int i = 0; i < 100000; i++)
        CU_ASSERT_EQUAL_FATAL(PM_VEC_PUSH(&v, i), 0);
    CU_ASSERT_EQUAL(v.len, 100000);
    CU_ASSERT(v.cap >= v.len);
    bool same = true;
    for (int i = 0; i < 100000; i++)
        same &= v.v[i] == i;
    CU_ASSERT(same);
    PM_VEC_RESET(&v);
    CU_ASSERT_EQUAL(v.len, 0);
    CU_ASSERT(v.cap >= 100000);
    PM_VEC_FREE(&v);
    CU_ASSERT_PTR_NULL(v.v);
    CU_ASSERT_EQUAL(v.cap, 0);

    pair_vec p = {0};
    CU_ASSERT_EQUAL(PM_VEC_RESERVE(&p, 3), 0);
    CU_ASSERT(p.cap >= 3);
    CU_ASSERT_EQUAL(PM_VEC_PUSH(&p, ((struct pair){.a = 1, .b = 'x'})), 0);
    CU_ASSERT_EQUAL(p.v[0].a, 1);
    CU_ASSERT_EQUAL(p.v[0].b, 'x');
    PM_VEC_FREE(&p);
}

static void test_vec_overflow(void)
{
    int_vec v = {0};
    CU_ASSERT_EQUAL(PM_VEC_PUSH(&v, 1), 0);
    errno = 0;
    CU_ASSERT_EQUAL(PM_VEC_RESERVE(&v, SIZE_MAX), -1); /* len + n overflows */
    CU_ASSERT_EQUAL(errno, EOVERFLOW);
    errno = 0;
    CU_ASSERT_EQUAL(PM_VEC_RESERVE(&v, SIZE_MAX / 2), -1); /* n * sizeof(int) overflows */
    CU_ASSERT_EQUAL(errno, EOVERFLOW);
    CU_ASSERT_EQUAL(v.len, 1);
    CU_ASSERT_EQUAL(v.v[0], 1);
    void *p = NULL;
    size_t cap = 0;
    errno = 0;
    CU_ASSERT_EQUAL(pm_vec_reserve_(&p, &cap, SIZE_MAX / 8, 16), -1);
    CU_ASSERT_EQUAL(errno, EOVERFLOW);
    CU_ASSERT_EQUAL(cap, 0);
    PM_VEC_FREE(&v);
}

/* --- rng ------------------------------------------------------------------ */

/* host/util.c ph_rand_next/ph_rand_range and plugin/model.h pm_rng_keep, as
 * they were: the shared versions must give the same draws. */
static uint64_t old_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t old_range(uint64_t *state, uint64_t lo, uint64_t hi)
{
    uint64_t span = hi - lo + 1;
    if (span == 0)
        return old_next(state);
    return lo + old_next(state) % span;
}

static bool old_keep(uint64_t *state, double p)
{
    return (double)(old_next(state) >> 11) * 0x1.0p-53 < p;
}

static void test_rng_known_values(void)
{
    uint64_t s = 0;
    CU_ASSERT_EQUAL(pm_splitmix64(&s), 0xe220a8397b1dcdafULL);
    CU_ASSERT_EQUAL(pm_splitmix64(&s), 0x6e789e6aa1b965f4ULL);
    CU_ASSERT_EQUAL(pm_splitmix64(&s), 0x06c45d188009454fULL);
    s = 1;
    CU_ASSERT_EQUAL(pm_splitmix64(&s), 0x910a2dec89025cc1ULL);
    CU_ASSERT_EQUAL(pm_splitmix64(&s), 0xbeeb8da1658eec67ULL);
}

static void test_rng_matches_old_copies(void)
{
    uint64_t a = 12345, b = 12345;
    bool same = true;
    for (int i = 0; i < 10000; i++) {
        uint64_t lo = (uint64_t)i * 7, hi = lo + (uint64_t)(i % 13);
        same &= pm_rand_range(&a, lo, hi) == old_range(&b, lo, hi);
        same &= pm_rand_range(&a, 0, UINT64_MAX) == old_range(&b, 0, UINT64_MAX);
        same &= pm_rand_range(&a, 5, 5) == old_range(&b, 5, 5);
        double p = (i % 101) / 100.0;
        same &= (pm_rand_unit(&a) < p) == old_keep(&b, p);
        same &= a == b;
    }
    CU_ASSERT(same);
    uint64_t s = 9;
    bool in = true;
    for (int i = 0; i < 10000; i++) {
        uint64_t x = pm_rand_range(&s, 3, 9);
        double u = pm_rand_unit(&s);
        in &= x >= 3 && x <= 9 && u >= 0 && u < 1;
    }
    CU_ASSERT(in);
}

/* --- cleanup -------------------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER, mu2 = PTHREAD_MUTEX_INITIALIZER;

static int locked_twice(void)
{
    PM_LOCK_FOR_SCOPE(&mu);
    PM_LOCK_FOR_SCOPE(&mu2);
    return pthread_mutex_trylock(&mu) == EBUSY && pthread_mutex_trylock(&mu2) == EBUSY;
}

static void test_cleanup(void)
{
    int fd_seen;
    {
        CLEANUP_CLOSE int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        CLEANUP_FREE char *p = malloc(100);
        CLEANUP_FREE char *none = NULL;
        CLEANUP_FCLOSE FILE *f = fopen("/dev/null", "r");
        CLEANUP_CLOSE int no_fd = -1;
        CU_ASSERT(fd >= 0 && p && f && !none && no_fd == -1);
        fd_seen = fd;
        errno = 1234;
    }
    CU_ASSERT_EQUAL(errno, 1234);
    CU_ASSERT_EQUAL(fcntl(fd_seen, F_GETFD), -1); /* closed */
    CU_ASSERT(locked_twice());
    CU_ASSERT_EQUAL(pthread_mutex_trylock(&mu), 0); /* unlocked again */
    pthread_mutex_unlock(&mu);
    CU_ASSERT_EQUAL(pthread_mutex_trylock(&mu2), 0);
    pthread_mutex_unlock(&mu2);
}

/* --- io ------------------------------------------------------------------- */

static void test_io(void)
{
    char path[200];
    snprintf(path, sizeof path, "%s/io", tmpdir);
    CLEANUP_CLOSE int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(pm_write_all(fd, "hello world", 11), 0);
    CU_ASSERT_EQUAL(pm_pwrite_all(fd, "W", 1, 6), 0);
    CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_CUR), 11); /* pwrite does not move it */
    errno = 0;
    CU_ASSERT_EQUAL(pm_pwrite_all(fd, "x", 1, -1), -1);
    CU_ASSERT_EQUAL(errno, EINVAL);
    char buf[16] = "";
    CU_ASSERT_EQUAL(pread(fd, buf, sizeof buf, 0), 11);
    CU_ASSERT_STRING_EQUAL(buf, "hello World");
    CU_ASSERT_EQUAL(pm_write_all(-1, "x", 1), -1);
    CU_ASSERT_EQUAL(errno, EBADF);

    /* a big write through a pipe that a thread empties */
    double t0 = pm_now();
    uint64_t m0 = pm_now_ms();
    CU_ASSERT_EQUAL(pm_sleep(0.05, NULL), 0);
    CU_ASSERT(pm_now() - t0 >= 0.05);
    CU_ASSERT(pm_now_ms() - m0 >= 50);
    volatile sig_atomic_t stop = 1;
    t0 = pm_now();
    CU_ASSERT_EQUAL(pm_sleep(5, &stop), -1);
    CU_ASSERT(pm_now() - t0 < 1);
}

/* --- spawn ---------------------------------------------------------------- */

static int run(char *const argv[], size_t capture, double timeout, struct pm_spawn_result *r)
{
    struct pm_spawn s = {.argv = argv, .capture = capture, .timeout = timeout};
    return pm_spawn_run(&s, r);
}

static void test_spawn_exit_codes(void)
{
    struct pm_spawn_result r;
    char *t[] = {"true", NULL}, *f[] = {"false", NULL}, *seven[] = {"sh", "-c", "exit 7", NULL};
    char *sig[] = {"sh", "-c", "kill -TERM $$", NULL};
    CU_ASSERT_EQUAL(run(t, 0, 0, &r), 0);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_FALSE(r.timed_out || r.exec_failed);
    CU_ASSERT_PTR_NULL(r.output);
    CU_ASSERT_EQUAL(run(f, 0, 0, &r), 0);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_EQUAL(run(seven, 0, 5, &r), 0);
    CU_ASSERT_EQUAL(r.status, 7);
    CU_ASSERT_EQUAL(run(seven, 64, 0, &r), 0);
    CU_ASSERT_EQUAL(r.status, 7);
    CU_ASSERT_EQUAL(r.output_len, 0);
    CU_ASSERT_STRING_EQUAL(r.output, "");
    pm_spawn_result_free(&r);
    CU_ASSERT_EQUAL(run(sig, 0, 0, &r), 0);
    CU_ASSERT_EQUAL(r.status, 128 + SIGTERM);
}

static void test_spawn_exec_failed(void)
{
    struct pm_spawn_result r;
    char *missing[] = {"pmemcut-no-such-program", NULL};
    pm_clear_error();
    CU_ASSERT_EQUAL(run(missing, 0, 0, &r), -1);
    CU_ASSERT(r.exec_failed);
    CU_ASSERT_EQUAL(r.status, 127);
    CU_ASSERT_STRING_EQUAL(pm_get_error(),
                           "cannot run pmemcut-no-such-program: No such file or directory");
    CU_ASSERT_EQUAL(run(missing, 200, 2, &r), -1);
    CU_ASSERT(r.exec_failed);
    CU_ASSERT_FALSE(r.timed_out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.output);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.output, "cannot run pmemcut-no-such-program"));
    pm_spawn_result_free(&r);
    /* a program that exits 127 by itself is not an exec failure */
    char *e127[] = {"sh", "-c", "exit 127", NULL};
    CU_ASSERT_EQUAL(run(e127, 0, 0, &r), 0);
    CU_ASSERT_EQUAL(r.status, 127);
    CU_ASSERT_FALSE(r.exec_failed);
}

static void test_spawn_timeout_bounded_output(void)
{
    struct pm_spawn_result r;
    char *yes[] = {"sh", "-c", "yes", NULL};
    double t0 = pm_now();
    CU_ASSERT_EQUAL(run(yes, 100, 0.5, &r), 0);
    double took = pm_now() - t0;
    CU_ASSERT(r.timed_out);
    CU_ASSERT_EQUAL(r.status, 128 + SIGKILL);
    CU_ASSERT(took >= 0.45 && took < 2);
    CU_ASSERT(r.output_len <= 99);
    CU_ASSERT_EQUAL(r.output_len, 99);
    CU_ASSERT_EQUAL(strlen(r.output), r.output_len);
    CU_ASSERT_EQUAL(r.output[r.output_len - 1] == 'y' || r.output[r.output_len - 1] == '\n', true);
    pm_spawn_result_free(&r);
}

/* Is pid alive (not gone, not a zombie waiting for init)? */
static bool running(int pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static void test_spawn_grandchild_holds_pipe(void)
{
    struct pm_spawn_result r;
    char *both[] = {"sh", "-c", "sleep 100 & echo $!; sleep 100", NULL};
    double t0 = pm_now();
    CU_ASSERT_EQUAL(run(both, 100, 0.3, &r), 0);
    CU_ASSERT(pm_now() - t0 < 2);
    CU_ASSERT(r.timed_out);
    /* the grandchild went with the group */
    int gc = r.output ? atoi(r.output) : 0;
    CU_ASSERT(gc > 0);
    bool gone = false;
    for (int i = 0; gc > 0 && i < 100 && !gone; i++) {
        gone = !running(gc);
        if (!gone)
            pm_sleep(0.01, NULL);
    }
    CU_ASSERT(gone);
    pm_spawn_result_free(&r);

    /* the child exits but leaves a grandchild with the pipe: no timeout set,
     * and still not waited for */
    char *leave[] = {"sh", "-c", "sleep 3 & echo done", NULL};
    struct pm_spawn s = {.argv = leave, .capture = 100, .new_pgrp = true};
    t0 = pm_now();
    CU_ASSERT_EQUAL(pm_spawn_run(&s, &r), 0);
    CU_ASSERT(pm_now() - t0 < 2);
    CU_ASSERT_FALSE(r.timed_out);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_STRING_EQUAL(r.output, "done\n");
    pm_spawn_result_free(&r);
}

static void test_spawn_capture_tail_and_head(void)
{
    struct pm_spawn_result r;
    char *lines[] = {"sh", "-c",
                     "i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done; echo err >&2",
                     NULL};
    CU_ASSERT_EQUAL(run(lines, 21, 10, &r), 0);
    CU_ASSERT_EQUAL(r.output_len, 20);
    CU_ASSERT_STRING_EQUAL(r.output, "ne1998\nline1999\nerr\n");
    pm_spawn_result_free(&r);
    struct pm_spawn s = {.argv = lines, .capture = 13, .keep_head = true};
    CU_ASSERT_EQUAL(pm_spawn_run(&s, &r), 0);
    CU_ASSERT_STRING_EQUAL(r.output, "line0\nline1\n");
    pm_spawn_result_free(&r);
    /* a big capture holds it all */
    CU_ASSERT_EQUAL(run(lines, 1 << 20, 0, &r), 0);
    CU_ASSERT_EQUAL(strncmp(r.output, "line0\nline1\n", 12), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.output, "line1999\nerr\n"));
    pm_spawn_result_free(&r);
    /* capture 1: nothing kept but a NUL */
    CU_ASSERT_EQUAL(run(lines, 1, 0, &r), 0);
    CU_ASSERT_EQUAL(r.output_len, 0);
    pm_spawn_result_free(&r);
}

static char *slurp(const char *path)
{
    static char buf[4096];
    memset(buf, 0, sizeof buf);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n < 0 ? NULL : buf;
}

static void test_spawn_log_file(void)
{
    char log[200];
    snprintf(log, sizeof log, "%s/run.log", tmpdir);
    unlink(log);
    char *hi[] = {"sh", "-c", "echo out; echo err >&2; read x; echo \"in=$x\"", NULL};
    struct pm_spawn s = {.argv = hi, .out_path = log};
    struct pm_spawn_result r;
    CU_ASSERT_EQUAL(pm_spawn_run(&s, &r), 0);
    CU_ASSERT_EQUAL(pm_spawn_run(&s, &r), 0);
    CU_ASSERT_STRING_EQUAL(slurp(log), "out\nerr\nin=\nout\nerr\nin=\n"); /* stdin /dev/null */
    /* capture and log together */
    unlink(log);
    s.capture = 100;
    CU_ASSERT_EQUAL(pm_spawn_run(&s, &r), 0);
    CU_ASSERT_STRING_EQUAL(r.output, "out\nerr\nin=\n");
    CU_ASSERT_STRING_EQUAL(slurp(log), "out\nerr\nin=\n");
    pm_spawn_result_free(&r);
    /* a log that cannot be opened */
    struct pm_spawn bad = {.argv = hi, .out_path = "/nonexistent/dir/log"};
    CU_ASSERT_EQUAL(pm_spawn_run(&bad, &r), -1);
    CU_ASSERT_FALSE(r.exec_failed);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "/nonexistent/dir/log"));
}

static void test_spawn_start_stop(void)
{
    char log[200];
    snprintf(log, sizeof log, "%s/daemon.log", tmpdir);
    char *sleeper[] = {"sleep", "100", NULL};
    struct pm_spawn s = {.argv = sleeper, .out_path = log};
    pid_t pid = pm_spawn_start(&s);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_EQUAL(getpgid(pid), pid); /* its own group */
    CU_ASSERT_EQUAL(pm_try_reap(pid, NULL), 0);
    double t0 = pm_now();
    CU_ASSERT_EQUAL(pm_stop_pid(pid, 2), 128 + SIGTERM);
    CU_ASSERT(pm_now() - t0 < 1);
    CU_ASSERT_EQUAL(pm_try_reap(pid, NULL), -1); /* reaped already */

    /* one that ignores SIGTERM gets SIGKILL after the grace */
    char *stubborn[] = {"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done", NULL};
    s.argv = stubborn;
    unlink(log);
    pid = pm_spawn_start(&s);
    CU_ASSERT_FATAL(pid > 0);
    for (int i = 0; i < 200 && !strstr(slurp(log), "ready"); i++)
        pm_sleep(0.01, NULL);
    t0 = pm_now();
    CU_ASSERT_EQUAL(pm_stop_pid(pid, 0.3), 128 + SIGKILL);
    CU_ASSERT(pm_now() - t0 >= 0.25);
    kill(-pid, SIGKILL); /* its last sleep */

    /* one that has exited already */
    char *quick[] = {"sh", "-c", "exit 3", NULL};
    s.argv = quick;
    pid = pm_spawn_start(&s);
    CU_ASSERT_FATAL(pid > 0);
    int st = -1;
    for (int i = 0; i < 500 && pm_try_reap(pid, &st) == 0; i++)
        pm_sleep(0.01, NULL);
    CU_ASSERT_EQUAL(st, 3);

    char *missing[] = {"pmemcut-no-such-daemon", NULL};
    s.argv = missing;
    CU_ASSERT_EQUAL(pm_spawn_start(&s), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "cannot run pmemcut-no-such-daemon"));
    CU_ASSERT_PTR_NOT_NULL(strstr(slurp(log), "cannot run pmemcut-no-such-daemon"));
    CU_ASSERT_EQUAL(pm_stop_pid(0, 1), -1);
    struct pm_spawn cap = {.argv = sleeper, .capture = 10};
    CU_ASSERT_EQUAL(pm_spawn_start(&cap), -1);
}

static void test_spawn_no_zombies(void)
{
    pm_sleep(0.1, NULL);
    errno = 0;
    CU_ASSERT_EQUAL(waitpid(-1, NULL, WNOHANG), -1);
    CU_ASSERT_EQUAL(errno, ECHILD);
}

/* --- unixsock ------------------------------------------------------------- */

struct writer {
    int fd;
    size_t n;
    char fill;
};

static void *write_line(void *arg)
{
    struct writer *w = arg;
    char *b = malloc(w->n + 1);
    memset(b, w->fill, w->n);
    b[w->n] = '\n';
    pm_send_all(w->fd, b, w->n + 1);
    free(b);
    return NULL;
}

static void test_lines_basic(void)
{
    int sv[2];
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct pm_lines l;
    pm_lines_init(&l, sv[0]);
    char *line = NULL;
    CU_ASSERT_EQUAL(pm_lines_read(&l, &line, 0), 0); /* nothing there */
    double t0 = pm_now();
    CU_ASSERT_EQUAL(pm_lines_read(&l, &line, 0.2), 0);
    CU_ASSERT(pm_now() - t0 >= 0.19 && pm_now() - t0 < 1);
    volatile sig_atomic_t intr = 1;
    pm_lines_set_interrupt(&l, &intr);
    CU_ASSERT_EQUAL(pm_lines_read(&l, &line, -1), -2);
    pm_lines_set_interrupt(&l, NULL);
    CU_ASSERT_EQUAL(pm_send_all(sv[1], "a\nb\r\n\nc", 7), 0);
    CU_ASSERT_EQUAL(pm_lines_read(&l, &line, 1), 1);
    CU_ASSERT_STRING_EQUAL(line, "a");
    free(line);
    CU_ASSERT_EQUAL(pm_lines_read(&l, &line, 1), 1);
    CU_ASSERT_STRING_EQUAL(line, "b");
    free(line);
    CU_ASSERT_EQUAL(pm_lines_read(&l, &line, 1), 1);
    CU_ASSERT_STRING_EQUAL(line, "");
    free(line);
    CU_ASSERT_EQUAL(pm_lines_read(&l, &line, 0.1), 0); /* "c" has no newline yet */
    close(sv[1]);
    CU_ASSERT_EQUAL(pm_lines_read(&l, &line, 1), 1); /* the last line at EOF */
    CU_ASSERT_STRING_EQUAL(line, "c");
    free(line);
    line = NULL;
    CU_ASSERT_EQUAL(pm_lines_read(&l, &line, 1), -1);
    CU_ASSERT_PTR_NULL(line);
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "connection closed");
    pm_lines_close(&l);
    CU_ASSERT_EQUAL(l.fd, -1);
    pm_lines_close(&l); /* twice is fine */
}

static void test_lines_too_long(void)
{
    int sv[2];
    CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    struct pm_lines l;
    pm_lines_init(&l, sv[0]);
    pthread_t t;
    /* exactly the bound: accepted */
    struct writer w = {sv[1], PM_LINE_MAX, 'x'};
    pthread_create(&t, NULL, write_line, &w);
    char *line = NULL;
    CU_ASSERT_EQUAL(pm_lines_read(&l, &line, 10), 1);
    pthread_join(t, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    CU_ASSERT_EQUAL(strlen(line), PM_LINE_MAX);
    free(line);
    /* one more: refused, and the reader stays broken */
    w.n = PM_LINE_MAX + 1;
    pthread_create(&t, NULL, write_line, &w);
    CU_ASSERT_EQUAL(pm_lines_read(&l, &line, 10), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "line longer than 1048576 bytes"));
    CU_ASSERT(l.cap <= PM_LINE_MAX + 8192);
    pm_send_all(sv[1], "ok\n", 3);
    CU_ASSERT_EQUAL(pm_lines_read(&l, &line, 0.1), -1);
    close(sv[1]); /* lets the writer finish if it is still blocked */
    pthread_join(t, NULL);
    pm_lines_close(&l);
}

struct late_listener {
    char path[100];
    double delay;
    int lfd;
};

static void *listen_late(void *arg)
{
    struct late_listener *ll = arg;
    pm_sleep(ll->delay, NULL);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", ll->path);
    ll->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bind(ll->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ll->lfd, 4) < 0) {
        close(ll->lfd);
        ll->lfd = -1;
    }
    return NULL;
}

static void test_unix_connect(void)
{
    struct late_listener ll = {.delay = 0.2, .lfd = -1};
    snprintf(ll.path, sizeof ll.path, "%s/late.sock", tmpdir);
    double t0 = pm_now();
    CU_ASSERT_EQUAL(pm_unix_connect(ll.path, 0.15), -1);
    CU_ASSERT(pm_now() - t0 < 1);
    char want[300];
    snprintf(want, sizeof want, "connect %s: No such file or directory", ll.path);
    CU_ASSERT_STRING_EQUAL(pm_get_error(), want);
    CU_ASSERT_EQUAL(pm_unix_connect(ll.path, 0), -1);

    pthread_t t;
    pthread_create(&t, NULL, listen_late, &ll);
    int fd = pm_unix_connect(ll.path, 5);
    pthread_join(t, NULL);
    CU_ASSERT(fd >= 0);
    CU_ASSERT(ll.lfd >= 0);
    if (fd >= 0)
        close(fd);
    if (ll.lfd >= 0)
        close(ll.lfd);
    unlink(ll.path);

    char longpath[200];
    memset(longpath, 'p', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    CU_ASSERT_EQUAL(pm_unix_connect(longpath, 1), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "socket path too long"));
}

/* --- ctlclient against a small control server ----------------------------- */

static struct {
    char path[100];
    int lfd;
    pthread_t thread;
} srv;

/* Answers like the plugin: one reply line per command line. */
static void serve_one(int fd)
{
    struct pm_lines in;
    pm_lines_init(&in, fd);
    char *cmd;
    while (pm_lines_read(&in, &cmd, -1) == 1) {
        char *reply = NULL;
        bool stop = false;
        if (strcmp(cmd, "status") == 0)
            reply = strdup("ok {\"state\":\"on\",\"writes\":3}\n");
        else if (strcmp(cmd, "empty") == 0)
            reply = strdup("ok\n");
        else if (strcmp(cmd, "crlf") == 0)
            reply = strdup("ok  {\"a\":1}\r\n");
        else if (strcmp(cmd, "slow") == 0) {
            pm_sleep(0.4, NULL);
            reply = strdup("ok {\"slow\":true}\n");
        } else if (strcmp(cmd, "long") == 0) {
            size_t n = PM_LINE_MAX + 100;
            reply = malloc(n + 2);
            memcpy(reply, "ok ", 3);
            memset(reply + 3, 'x', n - 3);
            reply[n] = '\n';
            reply[n + 1] = '\0';
        } else if (strcmp(cmd, "garbage") == 0)
            reply = strdup("what?\n");
        else if (strcmp(cmd, "okay") == 0)
            reply = strdup("okay\n");
        else if (strcmp(cmd, "close") == 0)
            stop = true;
        else if (asprintf(&reply, "error: unknown command '%s'\n", cmd) < 0)
            reply = NULL;
        free(cmd);
        if (stop)
            break;
        if (reply)
            pm_send_all(fd, reply, strlen(reply));
        free(reply);
    }
    pm_lines_close(&in);
}

static void *server(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept4(srv.lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            return NULL; /* the listener was shut down */
        serve_one(fd);
    }
}

static int server_start(void)
{
    snprintf(srv.path, sizeof srv.path, "%s/control.sock", tmpdir);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", srv.path);
    srv.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (srv.lfd < 0 || bind(srv.lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(srv.lfd, 8) < 0)
        return -1;
    return pthread_create(&srv.thread, NULL, server, NULL) == 0 ? 0 : -1;
}

static int server_stop(void)
{
    shutdown(srv.lfd, SHUT_RDWR);
    pthread_join(srv.thread, NULL);
    close(srv.lfd);
    unlink(srv.path);
    return 0;
}

static void test_ctl_ok_and_error(void)
{
    struct pm_ctl c;
    CU_ASSERT_EQUAL_FATAL(pm_ctl_open(&c, srv.path, 2), 0);
    char *json = NULL;
    CU_ASSERT_EQUAL(pm_ctl_cmd(&c, &json, 5, "%s", "status"), 0);
    CU_ASSERT_STRING_EQUAL(json, "{\"state\":\"on\",\"writes\":3}");
    free(json);
    CU_ASSERT_EQUAL(pm_ctl_cmd(&c, &json, 5, "empty"), 0);
    CU_ASSERT_STRING_EQUAL(json, "{}");
    free(json);
    CU_ASSERT_EQUAL(pm_ctl_cmd(&c, &json, 5, "crlf"), 0);
    CU_ASSERT_STRING_EQUAL(json, "{\"a\":1}");
    free(json);
    CU_ASSERT_EQUAL(pm_ctl_cmd(&c, NULL, 5, "status"), 0); /* reply not wanted */

    json = NULL;
    CU_ASSERT_EQUAL(pm_ctl_cmd(&c, &json, 5, "arm after-writes=%d", 3), 1);
    CU_ASSERT_PTR_NULL(json);
    CU_ASSERT_STRING_EQUAL(pm_get_error(),
                           "device: arm after-writes=3: unknown command 'arm after-writes=3'");
    CU_ASSERT_EQUAL(pm_ctl_cmd(&c, &json, 5, "garbage"), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "unexpected reply: what?"));
    CU_ASSERT_EQUAL(pm_ctl_cmd(&c, &json, 5, "okay"), -1); /* "ok" must be a word */

    /* a newline inside a command is refused, nothing is sent */
    CU_ASSERT_EQUAL(pm_ctl_send(&c, "status\nstatus"), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "newline"));
    CU_ASSERT_EQUAL(pm_ctl_cmd(&c, &json, 5, "mark a\nb"), -1);
    CU_ASSERT_EQUAL(pm_ctl_send(&c, "status"), 0);
    CU_ASSERT_EQUAL(pm_ctl_reply(&c, &json, 5), 0); /* the reply is to this one */
    CU_ASSERT_STRING_EQUAL(json, "{\"state\":\"on\",\"writes\":3}");
    free(json);

    /* raw replies for pmemcutctl's "-" mode */
    char *line = NULL;
    CU_ASSERT_EQUAL(pm_ctl_send(&c, "status"), 0);
    CU_ASSERT_EQUAL(pm_ctl_reply_raw(&c, &line, 5), 0);
    CU_ASSERT_STRING_EQUAL(line, "ok {\"state\":\"on\",\"writes\":3}");
    free(line);
    CU_ASSERT_EQUAL(pm_ctl_send(&c, "nope"), 0);
    CU_ASSERT_EQUAL(pm_ctl_reply_raw(&c, &line, 5), 1);
    CU_ASSERT_STRING_EQUAL(line, "error: unknown command 'nope'");
    free(line);
    CU_ASSERT_EQUAL(pm_ctl_send(&c, "garbage"), 0);
    CU_ASSERT_EQUAL(pm_ctl_reply_raw(&c, &line, 5), 1);
    CU_ASSERT_STRING_EQUAL(line, "what?");
    free(line);
    pm_ctl_close(&c);
    pm_ctl_close(&c);
}

static void test_ctl_timeout_then_late_reply(void)
{
    struct pm_ctl c;
    CU_ASSERT_EQUAL_FATAL(pm_ctl_open(&c, srv.path, 2), 0);
    char *json = NULL;
    double t0 = pm_now();
    CU_ASSERT_EQUAL(pm_ctl_cmd(&c, &json, 0.1, "slow"), 2);
    CU_ASSERT(pm_now() - t0 < 0.35);
    CU_ASSERT_PTR_NULL(json);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "no reply to 'slow'"));
    CU_ASSERT_EQUAL(pm_ctl_reply(&c, &json, 5), 0);
    CU_ASSERT_STRING_EQUAL(json, "{\"slow\":true}");
    free(json);
    /* an interrupt flag cuts a wait short */
    volatile sig_atomic_t intr = 1;
    pm_ctl_set_interrupt(&c, &intr);
    CU_ASSERT_EQUAL(pm_ctl_cmd(&c, &json, 5, "slow"), -1);
    CU_ASSERT_STRING_EQUAL(pm_get_error(), "interrupted");
    pm_ctl_close(&c);
}

static void test_ctl_long_and_closed(void)
{
    struct pm_ctl c;
    CU_ASSERT_EQUAL_FATAL(pm_ctl_open(&c, srv.path, 2), 0);
    char *json = NULL;
    CU_ASSERT_EQUAL(pm_ctl_cmd(&c, &json, 10, "long"), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "long: line longer than"));
    CU_ASSERT_PTR_NULL(json);
    pm_ctl_close(&c);

    CU_ASSERT_EQUAL_FATAL(pm_ctl_open(&c, srv.path, 2), 0);
    CU_ASSERT_EQUAL(pm_ctl_cmd(&c, &json, 5, "close"), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "close: connection closed"));
    /* the peer is gone: sending fails (EPIPE, no SIGPIPE) or the reply does */
    int r = pm_ctl_cmd(&c, &json, 5, "status");
    CU_ASSERT_EQUAL(r, -1);
    pm_ctl_close(&c);

    struct pm_ctl z = {0}; /* never opened */
    int fd0 = fcntl(0, F_GETFD);
    pm_ctl_close(&z);
    CU_ASSERT_EQUAL(fcntl(0, F_GETFD), fd0); /* fd 0 left alone */
    char nosock[300];
    snprintf(nosock, sizeof nosock, "%s/none.sock", tmpdir);
    CU_ASSERT_EQUAL(pm_ctl_open(&c, nosock, 0), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(pm_get_error(), "No such file or directory"));
    pm_ctl_close(&c);
    CU_ASSERT_EQUAL(pm_ctl_send(&c, "status"), -1);
}

/* --- main ----------------------------------------------------------------- */

static int rm_tmpdir(void)
{
    char *argv[] = {"rm", "-rf", tmpdir, NULL};
    struct pm_spawn s = {.argv = argv};
    struct pm_spawn_result r;
    return pm_spawn_run(&s, &r) == 0 && r.status == 0 ? 0 : -1;
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("error", NULL, NULL);
    CU_add_test(s, "pm_get_error() as an argument of pm_set_error", test_error_self_argument);
    CU_add_test(s, "errno text, %m, errno kept", test_error_errno_and_m);
    CU_add_test(s, "long messages are cut safely", test_error_truncated);
    CU_add_test(s, "each thread has its own error", test_error_per_thread);
    CU_add_test(s, "exit codes", test_exit_codes);
    s = CU_add_suite("parse", NULL, NULL);
    CU_add_test(s, "u64: strict digits within the bound", test_parse_u64);
    CU_add_test(s, "u64: refused text is quoted on one line", test_parse_u64_quotes_safely);
    CU_add_test(s, "size: suffixes, bounds, overflow", test_parse_size);
    CU_add_test(s, "double: finite, whole, within range", test_parse_double);
    s = CU_add_suite("vec", NULL, NULL);
    CU_add_test(s, "push 100000 ints, reserve, free", test_vec_push);
    CU_add_test(s, "overflow is refused with EOVERFLOW", test_vec_overflow);
    s = CU_add_suite("rng", NULL, NULL);
    CU_add_test(s, "splitmix64 known outputs", test_rng_known_values);
    CU_add_test(s, "same draws as the copies it replaces", test_rng_matches_old_copies);
    s = CU_add_suite("cleanup+io", NULL, NULL);
    CU_add_test(s, "scoped free, close, fclose, lock", test_cleanup);
    CU_add_test(s, "write loops and clocks", test_io);
    s = CU_add_suite("spawn", NULL, NULL);
    CU_add_test(s, "exit codes and signals", test_spawn_exit_codes);
    CU_add_test(s, "a missing program is exec_failed", test_spawn_exec_failed);
    CU_add_test(s, "yes with a time limit: killed, output bounded",
                test_spawn_timeout_bounded_output);
    CU_add_test(s, "a grandchild holding the pipe does not hold us",
                test_spawn_grandchild_holds_pipe);
    CU_add_test(s, "capture keeps the tail (or the head)", test_spawn_capture_tail_and_head);
    CU_add_test(s, "output appended to a log file", test_spawn_log_file);
    CU_add_test(s, "daemons: start, stop by pid", test_spawn_start_stop);
    CU_add_test(s, "no child left unreaped", test_spawn_no_zombies);
    s = CU_add_suite("unixsock", NULL, NULL);
    CU_add_test(s, "lines, timeouts, interrupt, EOF", test_lines_basic);
    CU_add_test(s, "a line over 1 MiB is an error", test_lines_too_long);
    CU_add_test(s, "connect retries until the socket appears", test_unix_connect);
    s = CU_add_suite("ctlclient", server_start, server_stop);
    CU_add_test(s, "ok and error replies", test_ctl_ok_and_error);
    CU_add_test(s, "a timeout, then the late reply", test_ctl_timeout_then_late_reply);
    CU_add_test(s, "an over-long reply, a closed connection", test_ctl_long_and_closed);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    if (rm_tmpdir() < 0)
        fprintf(stderr, "test-utils: could not remove %s\n", tmpdir);
    return failed ? 1 : 0;
}
