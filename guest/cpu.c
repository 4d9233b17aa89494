/* guest/cpu.c — cpuid probing and cache-line write-back (x86-64 only; on
 * other machines no flush instruction is reported and the methods that need
 * one are refused). */
#include "cpu.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

void ga_cpu_probe(struct ga_cpu *c)
{
    memset(c, 0, sizeof *c);
    c->line_size = 64;
#if defined(__x86_64__)
    unsigned a, b, cx, d;
    if (__get_cpuid(1, &a, &b, &cx, &d)) {
        c->clflush = !!(d & (1u << 19));
        if (c->clflush && ((b >> 8) & 0xff))
            c->line_size = ((b >> 8) & 0xff) * 8;
    }
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, cx, d);
        c->clflushopt = !!(b & (1u << 23));
        c->clwb = !!(b & (1u << 24));
    }
#endif
    c->best = c->clwb         ? GA_FLUSH_CLWB
              : c->clflushopt ? GA_FLUSH_CLFLUSHOPT
              : c->clflush    ? GA_FLUSH_CLFLUSH
                              : GA_FLUSH_NONE;
}

const char *ga_flush_name(enum ga_flush f)
{
    switch (f) {
    case GA_FLUSH_CLWB:
        return "clwb";
    case GA_FLUSH_CLFLUSHOPT:
        return "clflushopt";
    case GA_FLUSH_CLFLUSH:
        return "clflush";
    case GA_FLUSH_NONE:
        break;
    }
    return "none";
}

void ga_cpu_flush(const struct ga_cpu *c, const void *p, size_t len)
{
    ga_cpu_flush_parts(c, p, len, 1, 1);
}

void ga_cpu_flush_parts(const struct ga_cpu *c, const void *p, size_t len, int writeback, int fence)
{
#if defined(__x86_64__)
    uintptr_t line = c->line_size;
    uintptr_t a = (uintptr_t)p & ~(line - 1);
    uintptr_t end = (uintptr_t)p + len;

    if (c->best == GA_FLUSH_NONE || len == 0)
        return;
    for (; writeback && a < end; a += line) {
        switch (c->best) {
        case GA_FLUSH_CLWB:
            __asm__ volatile("clwb %0" : "+m"(*(volatile char *)a));
            break;
        case GA_FLUSH_CLFLUSHOPT:
            __asm__ volatile("clflushopt %0" : "+m"(*(volatile char *)a));
            break;
        default:
            __asm__ volatile("clflush %0" : "+m"(*(volatile char *)a));
            break;
        }
    }
    if (fence)
        __asm__ volatile("sfence" ::: "memory");
#else
    (void)c;
    (void)p;
    (void)len;
    (void)writeback;
    (void)fence;
#endif
}
