/* pmemcut — explore: a state identical to one already checked (same epoch
 * of P, same kept and torn lines with the same bytes, the same acks) is not
 * checked again: the children share a table of state keys and results
 * (see explore.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "explore-int.h"

struct pt_dup *pt_explore_dups;

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i += 8) {
        uint64_t w = 0;
        memcpy(&w, p + i, n - i < 8 ? n - i : 8);
        h = pt_explore_mix(h ^ w);
    }
    return h;
}

/* What makes a state what it is: P's epoch, the bytes of the lines the cut
 * kept or tore (lost lines are P's), and which acks are judged: a count is
 * not enough, cycle 2's first ack is not cycle 1's. */
uint64_t pt_explore_state_hash(const uint8_t *p, const struct pm_cut_result *cr,
                               const pt_ack_set *acks)
{
    uint64_t h = pt_explore_mix(pt_explore_track.epoch ^ pt_explore_mix(acks->len + 1));
    for (size_t i = 0; i < acks->len; i++)
        h = pt_explore_mix(h ^ acks->v[i]);
    const struct pm_rangelist *ls[2] = {cr ? &cr->kept_r : NULL, cr ? &cr->torn_r : NULL};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; ls[k] && i < ls[k]->n; i++) {
            h = pt_explore_mix(h ^ pt_explore_mix(ls[k]->r[i].off + (uint64_t)k));
            h = pt_explore_mix(h ^ ls[k]->r[i].len);
            h = hash_bytes(h, p + ls[k]->r[i].off, ls[k]->r[i].len);
        }
    return h;
}

/* The entry for key: *mine is set when this child claimed it. */
struct pt_dup *pt_explore_dup_claim(uint64_t key, bool *mine)
{
    *mine = false;
    for (uint32_t i = 0, j = (uint32_t)(key % PT_DUP_CAP); i < PT_DUP_CAP / 2;
         i++, j = (j + 1) % PT_DUP_CAP) {
        struct pt_dup *d = &pt_explore_dups[j];
        uint64_t cur = __atomic_load_n(&d->key, __ATOMIC_ACQUIRE);
        if (cur == key)
            return d;
        if (cur == 0) {
            uint64_t zero = 0;
            if (__atomic_compare_exchange_n(&d->key, &zero, key, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE)) {
                d->owner = getpid();
                __atomic_store_n(&d->state, 1, __ATOMIC_RELEASE);
                *mine = true;
                return d;
            }
            if (zero == key)
                return d;
        }
    }
    return NULL; /* full: check it */
}

/* Waits for another child to finish the same state; its tail and status,
 * or -1 (it could not: check it here). */
int pt_explore_dup_wait(struct pt_dup *d, char *tail, size_t n)
{
    for (int i = 0; i < 600000; i++) { /* 5 minutes */
        int st = __atomic_load_n(&d->state, __ATOMIC_ACQUIRE);
        if (st == 2) {
            snprintf(tail, n, "%s", d->tail);
            return d->code;
        }
        /* a child that died before finishing leaves it unfinished */
        if (st == 3 || (st == 1 && d->owner && kill(d->owner, 0) == -1 && errno == ESRCH))
            return -1;
        usleep(500);
    }
    return -1;
}

void pt_explore_dup_done(struct pt_dup *d, const char *tail, int code)
{
    if (!d)
        return;
    if (strlen(tail) >= PT_TAIL_MAX) {
        __atomic_store_n(&d->state, 3, __ATOMIC_RELEASE);
        return;
    }
    strcpy(d->tail, tail);
    d->code = code;
    __atomic_store_n(&d->state, 2, __ATOMIC_RELEASE);
}

void pt_explore_dup_drop(struct pt_dup *d)
{
    __atomic_store_n(&d->state, 3, __ATOMIC_RELEASE);
}
