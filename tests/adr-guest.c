/* tests/adr-guest.c — ground truth for the ADR tracer (tests/host-adr.sh).
 * Runs in the guest, on ext4 -o dax over an nvdimm fsdax namespace.
 *
 * Maps DIR/adr.dat (16 pages) MAP_SHARED_VALIDATE|MAP_SYNC at the fixed
 * address adr_win (0x10000000, given to the linker, so that RIP-relative
 * operands reach it), stores a known pattern in chosen lines and makes each
 * persistent in one of the forms the tracer's decoder handles, and stores
 * one line that it never writes back. It prints, one line each:
 *
 *   ADR CASE NAME KIND OFF SEED   a line made persistent (KIND clwb,
 *                                 clflushopt, clflush, nt; OFF its file
 *                                 offset; SEED its pattern's seed)
 *   ADR LOST NAME none OFF SEED   the line stored and never written back
 *   ADR EXTENT LOGICAL PHYSICAL LENGTH   the file's extents (FIEMAP)
 *   ADR DATAOFF BYTES             where pmem0's sector 0 is in the region
 *   ADR INODE N                   the file's inode number
 *   ADR DONE
 *
 * Device offset of a line = DATAOFF + PHYSICAL + (OFF - LOGICAL).
 * Line pattern: 8 words, word i = SEED * 0x9E3779B97F4A7C15 + i.
 * Build: static, -Wl,--defsym=adr_win=0x10000000. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif

#define WIN          ((char *)0x10000000)
#define LEN          (16 * 4096)
#define LINE(pg, ln) (WIN + (pg)*4096 + (ln)*64)

static void fill(char *line, uint64_t seed)
{
    volatile uint64_t *q = (volatile uint64_t *)line;
    for (int i = 0; i < 8; i++)
        q[i] = seed * 0x9E3779B97F4A7C15ull + (uint64_t)i;
}

static void say(const char *tag, const char *name, const char *kind, const char *line,
                uint64_t seed)
{
    printf("ADR %s %s %s %#lx %lu\n", tag, name, kind, (unsigned long)(line - WIN),
           (unsigned long)seed);
}

static void sfence(void)
{
    __asm__ volatile("sfence" ::: "memory");
}

static long read_hex(const char *path)
{
    FILE *f = fopen(path, "r");
    unsigned long v = 0;
    if (!f)
        return -1;
    int ok = fscanf(f, "%lx", &v) == 1;
    fclose(f);
    return ok ? (long)v : -1;
}

static void extents(int fd)
{
    struct {
        struct fiemap fm;
        struct fiemap_extent ex[32];
    } q;
    memset(&q, 0, sizeof q);
    q.fm.fm_length = ~0ull;
    q.fm.fm_extent_count = 32;
    if (ioctl(fd, FS_IOC_FIEMAP, &q) < 0) {
        perror("adr-guest: FIEMAP");
        return;
    }
    for (unsigned i = 0; i < q.fm.fm_mapped_extents; i++)
        printf("ADR EXTENT %#llx %#llx %#llx\n", (unsigned long long)q.ex[i].fe_logical,
               (unsigned long long)q.ex[i].fe_physical, (unsigned long long)q.ex[i].fe_length);
    long start = read_hex("/sys/block/pmem0/device/resource");
    long region = read_hex("/sys/block/pmem0/device/../resource");
    if (start >= 0 && region >= 0)
        printf("ADR DATAOFF %#lx\n", (unsigned long)(start - region));
    struct stat st;
    if (fstat(fd, &st) == 0) /* the host's pmemcut-audit lost names it so */
        printf("ADR INODE %lu\n", (unsigned long)st.st_ino);
}

int main(int argc, char **argv)
{
    char path[512];
    snprintf(path, sizeof path, "%s/adr.dat", argc > 1 ? argv[1] : "/mnt/pmem");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, LEN) < 0 || fsync(fd) < 0) {
        perror("adr-guest: create");
        return 2;
    }
    char *m =
        mmap(WIN, LEN, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_SYNC | MAP_FIXED, fd, 0);
    if (m != WIN) {
        perror("adr-guest: mmap MAP_SYNC");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    char *p;

    p = LINE(0, 1), fill(p, 1); /* clwb (base) */
    __asm__ volatile("clwb (%0)" ::"r"(p) : "memory");
    sfence(), say("CASE", "clwb-base", "clwb", p, 1);

    p = LINE(0, 3), fill(p, 2); /* clwb disp8(base) */
    __asm__ volatile("clwb 0x40(%0)" ::"r"(LINE(0, 2)) : "memory");
    sfence(), say("CASE", "clwb-disp8", "clwb", p, 2);

    p = LINE(1, 5), fill(p, 3); /* clwb disp32(base,index,8) */
    __asm__ volatile("clwb 0x1000(%0,%1,8)" ::"r"(WIN), "r"(40ul) : "memory");
    sfence(), say("CASE", "clwb-sib-disp32", "clwb", p, 3);

    p = LINE(1, 9), fill(p, 4); /* clwb RIP-relative */
    __asm__ volatile("clwb adr_win+0x1240(%%rip)" ::: "memory");
    sfence(), say("CASE", "clwb-rip", "clwb", p, 4);

    p = LINE(1, 12), fill(p, 5); /* 0x67: the high half of the register is ignored */
    {
        uint64_t r = (1ull << 40) | (uint64_t)(uintptr_t)p;
        __asm__ volatile("clwb (%k0)" ::"r"(r) : "memory");
    }
    sfence(), say("CASE", "clwb-addr32", "clwb", p, 5);

    p = LINE(1, 14), fill(p, 6); /* REX.B base and REX.X index: (%r13,%r12,2) */
    __asm__ volatile("mov %0, %%r13\n\tmov %1, %%r12\n\tclwb (%%r13,%%r12,2)" ::"r"(WIN),
                     "r"(0x1380ul / 2)
                     : "r12", "r13", "memory");
    sfence(), say("CASE", "clwb-rex", "clwb", p, 6);

    p = LINE(2, 0), fill(p, 7); /* clflushopt (base) */
    __asm__ volatile("clflushopt (%0)" ::"r"(p) : "memory");
    sfence(), say("CASE", "clflushopt-base", "clflushopt", p, 7);

    p = LINE(2, 1), fill(p, 8); /* clflushopt (base,index) */
    __asm__ volatile("clflushopt (%0,%1,1)" ::"r"(WIN), "r"(0x2040ul) : "memory");
    sfence(), say("CASE", "clflushopt-sib", "clflushopt", p, 8);

    p = LINE(2, 8), fill(p, 9); /* clflush: no fence needed */
    __asm__ volatile("clflush (%0)" ::"r"(p) : "memory");
    say("CASE", "clflush-base", "clflush", p, 9);

    p = LINE(2, 9), fill(p, 10);
    __asm__ volatile("clflush adr_win+0x2240(%%rip)" ::: "memory");
    say("CASE", "clflush-rip", "clflush", p, 10);

    p = LINE(3, 4); /* a library's range loop: 4 lines, one fence */
    for (int i = 0; i < 4; i++)
        fill(p + 64 * i, 11 + (uint64_t)i);
    for (char *a = p; a < p + 256; a += 64)
        __asm__ volatile("clwb (%0)" ::"r"(a) : "memory");
    sfence();
    for (int i = 0; i < 4; i++)
        say("CASE", "clwb-loop", "clwb", p + 64 * i, 11 + (uint64_t)i);

    p = LINE(4, 1), fill(p, 20); /* operand register written just before, same block */
    {
        char *t;
        __asm__ volatile("lea 0x40(%1), %0\n\tclwb (%0)" : "=&r"(t) : "r"(LINE(4, 0)) : "memory");
    }
    sfence(), say("CASE", "clwb-fresh-reg", "clwb", p, 20);

    for (int i = 4; i <= 6; i++) /* add, flush, three times in one block */
        fill(LINE(4, i), 30 + (uint64_t)i);
    {
        char *r = LINE(4, 3);
        __asm__ volatile("add $0x40, %0\n\tclwb (%0)\n\tadd $0x40, %0\n\tclwb (%0)\n\t"
                         "add $0x40, %0\n\tclwb (%0)"
                         : "+r"(r)::"memory");
    }
    sfence();
    for (int i = 4; i <= 6; i++)
        say("CASE", "clwb-add-chain", "clwb", LINE(4, i), 30 + (uint64_t)i);

    p = LINE(5, 2), fill(p, 40); /* GS-relative */
    if (syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)LINE(5, 0)) == 0) {
        __asm__ volatile("clwb %%gs:0x80" ::: "memory");
        sfence(), say("CASE", "clwb-gs", "clwb", p, 40);
    }

    p = LINE(5, 6), fill(p, 41); /* mfence as the fence */
    __asm__ volatile("clwb (%0)\n\tmfence" ::"r"(p) : "memory");
    say("CASE", "clwb-mfence", "clwb", p, 41);

    p = LINE(5, 7), fill(p, 42); /* a locked instruction as the fence */
    {
        int v = 0;
        __asm__ volatile("clwb (%1)\n\tlock addl $1, %0" : "+m"(v) : "r"(p) : "memory");
    }
    say("CASE", "clwb-locked", "clwb", p, 42);

    p = LINE(6, 0); /* movnti x8, then sfence */
    for (int i = 0; i < 8; i++) {
        uint64_t v = 43 * 0x9E3779B97F4A7C15ull + (uint64_t)i;
        __asm__ volatile("movnti %1, %0" : "=m"(((uint64_t *)p)[i]) : "r"(v));
    }
    sfence(), say("CASE", "movnti", "nt", p, 43);

    p = LINE(6, 2); /* movntdq x4 of a line filled in the cache elsewhere */
    {
        static uint64_t src[8] __attribute__((aligned(64)));
        for (int i = 0; i < 8; i++)
            src[i] = 44 * 0x9E3779B97F4A7C15ull + (uint64_t)i;
        __asm__ volatile("movdqa 0(%1), %%xmm0\n\tmovntdq %%xmm0, 0(%0)\n\t"
                         "movdqa 16(%1), %%xmm0\n\tmovntdq %%xmm0, 16(%0)\n\t"
                         "movdqa 32(%1), %%xmm0\n\tmovntdq %%xmm0, 32(%0)\n\t"
                         "movdqa 48(%1), %%xmm0\n\tmovntdq %%xmm0, 48(%0)" ::"r"(p),
                         "r"(src)
                         : "xmm0", "memory");
    }
    sfence(), say("CASE", "movntdq", "nt", p, 44);

    p = LINE(7, 0), fill(p, 50); /* stored, fenced, never written back */
    sfence(), say("LOST", "unflushed", "none", p, 50);

    extents(fd);
    printf("ADR DONE\n");
    munmap(m, LEN);
    close(fd);
    return 0;
}
