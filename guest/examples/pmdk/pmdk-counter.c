/* pmdk-counter — a PMDK (libpmemobj) workload for pmemcut-host run --exec.
 *
 *   pmdk-counter run POOL N     create POOL (8 MiB) and make N updates, each
 *                               one libpmemobj transaction that sets slot i
 *                               to a value derived from i and the count to i;
 *                               after each commit, `pmemcut-agent ack update i`
 *   pmdk-counter check POOL ACKS
 *                               every `update i` in ACKS is in the pool: its
 *                               slot holds its value and the count is >= i;
 *                               prints one JSON line; exit 0 kept, 1 lost
 *
 * The pool is the durable state; libpmemobj makes each transaction atomic
 * and durable with its own flushing (cache-line write-backs and fences on
 * real or emulated pmem with MAP_SYNC, msync on a virtio-pmem mount). */
#include <errno.h>
#include <inttypes.h>
#include <libpmemobj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LAYOUT    "pmemcut-counter"
#define SLOTS     4096
#define POOL_SIZE (8u << 20)

struct root {
    uint64_t count;
    uint64_t slot[SLOTS];
};

static uint64_t value_of(uint64_t i)
{
    return i * 0x9e3779b97f4a7c15ULL ^ 0x5eed;
}

/* pmemcut-agent ack update I: the promise, once the commit returned. */
static int ack(uint64_t i)
{
    char text[64];
    snprintf(text, sizeof text, "update %" PRIu64, i);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execlp("pmemcut-agent", "pmemcut-agent", "ack", text, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int run(const char *path, uint64_t n)
{
    if (n >= SLOTS) {
        fprintf(stderr, "pmdk-counter: at most %d updates\n", SLOTS - 1);
        return 2;
    }
    PMEMobjpool *pop = pmemobj_create(path, LAYOUT, POOL_SIZE, 0644);
    if (!pop) {
        fprintf(stderr, "pmdk-counter: create %s: %s\n", path, pmemobj_errormsg());
        return 2;
    }
    PMEMoid root = pmemobj_root(pop, sizeof(struct root));
    struct root *r = pmemobj_direct(root);
    for (uint64_t i = 1; i <= n; i++) {
        int failed = 0;
        TX_BEGIN(pop)
        {
            pmemobj_tx_add_range(root, offsetof(struct root, slot) + i * sizeof(uint64_t),
                                 sizeof(uint64_t));
            pmemobj_tx_add_range(root, offsetof(struct root, count), sizeof(uint64_t));
            r->slot[i] = value_of(i);
            r->count = i;
        }
        TX_ONABORT
        {
            failed = 1;
        }
        TX_END
        if (failed) {
            fprintf(stderr, "pmdk-counter: transaction %" PRIu64 " aborted: %s\n", i,
                    pmemobj_errormsg());
            pmemobj_close(pop);
            return 2;
        }
        if (ack(i) < 0) {
            fprintf(stderr, "pmdk-counter: pmemcut-agent ack failed\n");
            pmemobj_close(pop);
            return 2;
        }
    }
    pmemobj_close(pop);
    return 0;
}

static int check(const char *path, const char *acks)
{
    FILE *f = fopen(acks, "r");
    if (!f) {
        fprintf(stderr, "pmdk-counter: %s: %s\n", acks, strerror(errno));
        return 2;
    }
    uint64_t acked = 0, lost = 0, first_lost = 0, count = 0;
    char line[256];
    PMEMobjpool *pop = pmemobj_open(path, LAYOUT);
    struct root *r = pop ? pmemobj_direct(pmemobj_root(pop, sizeof(struct root))) : NULL;
    if (r)
        count = r->count;
    while (fgets(line, sizeof line, f)) {
        uint64_t i;
        if (sscanf(line, "update %" SCNu64, &i) != 1 || i == 0 || i >= SLOTS)
            continue;
        acked++;
        if (!r || r->slot[i] != value_of(i) || count < i) {
            if (!lost)
                first_lost = i;
            lost++;
        }
    }
    fclose(f);
    printf("{\"pool\":%s,\"count\":%" PRIu64 ",\"acked\":%" PRIu64 ",\"lost\":%" PRIu64
           ",\"first_lost\":%" PRIu64 "}\n",
           pop ? "true" : "false", count, acked, lost, first_lost);
    if (pop)
        pmemobj_close(pop);
    else if (acked)
        fprintf(stderr, "pmdk-counter: open %s: %s\n", path, pmemobj_errormsg());
    return lost ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "run") == 0)
        return run(argv[2], strtoull(argv[3], NULL, 10));
    if (argc == 4 && strcmp(argv[1], "check") == 0)
        return check(argv[2], argv[3]);
    fprintf(stderr, "usage: pmdk-counter run POOL N | check POOL ACKS\n");
    return 2;
}
