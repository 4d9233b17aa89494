/* common/utils/rng.h — the seeded generator behind every random choice of
 * pmemcut (cut fates, trigger draws, record payloads, replay seeds):
 * splitmix64, so that a run is reproduced from its logged seed.
 *
 * Bit-identical to the copies it replaces: plugin/model.h pm_rng_next and
 * pm_rng_keep, host/util.c ph_rand_next and ph_rand_range, guest/record.c
 * splitmix64, tests/replay-nbdops.c next.  Changing any of these changes
 * which states a seed gives: don't.
 */
#ifndef PM_UTILS_RNG_H
#define PM_UTILS_RNG_H

#include <stdint.h>

/* Advances *state and returns the next 64 random bits (standard
 * splitmix64; any state, 0 included, is a valid seed). */
static inline uint64_t pm_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A number in [lo, hi], both included (hi >= lo), from one draw: lo + draw
 * % (hi - lo + 1), the whole draw when the range is all 64-bit values.
 * (The modulo bias is kept on purpose: host/util.c ph_rand_range does the
 * same, and the same seed must give the same choices.) */
static inline uint64_t pm_rand_range(uint64_t *state, uint64_t lo, uint64_t hi)
{
    uint64_t span = hi - lo + 1;
    if (span == 0) /* the whole 64-bit range */
        return pm_splitmix64(state);
    return lo + pm_splitmix64(state) % span;
}

/* A double in [0, 1) from one draw: its top 53 bits times 2^-53.  The
 * random cut policy keeps a dirty line when this is below p (plugin/model.h
 * pm_rng_keep). */
static inline double pm_rand_unit(uint64_t *state)
{
    return (double)(pm_splitmix64(state) >> 11) * 0x1.0p-53;
}

#endif
