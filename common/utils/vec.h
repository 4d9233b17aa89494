/* common/utils/vec.h — a growable array of any element type.
 *
 *     typedef PM_VEC(uint64_t) u64_vec;   // one name per element type
 *     u64_vec v = {0};                    // empty: v.v == NULL, len == cap == 0
 *     if (PM_VEC_PUSH(&v, 42) == -1) ...  // errno ENOMEM or EOVERFLOW
 *     for (size_t i = 0; i < v.len; i++) use(v.v[i]);
 *     PM_VEC_FREE(&v);
 *
 * Each PM_VEC(T) is a distinct anonymous struct type: give it a typedef to
 * pass it between functions.  The capacity doubles (from 8), so pushes are
 * amortised O(1); element pointers move when the array grows.
 */
#ifndef PM_UTILS_VEC_H
#define PM_UTILS_VEC_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#define PM_VEC(T)                                                                                  \
    struct {                                                                                       \
        T *v;                                                                                      \
        size_t len, cap;                                                                           \
    }

/* Makes *v hold at least need elements of elem bytes (*cap is its current
 * capacity in elements, updated).  Returns 0, or -1 with errno ENOMEM (out
 * of memory) or EOVERFLOW (need * elem does not fit in size_t); on -1, *v
 * and *cap are unchanged.  Used through the macros below. */
int pm_vec_reserve_(void **v, size_t *cap, size_t need, size_t elem);

/* Room for n more elements after the len already there: 0 or -1 (errno). */
#define PM_VEC_RESERVE(vec, n)                                                                     \
    __extension__({                                                                                \
        __typeof__(vec) pm_vr_ = (vec);                                                            \
        size_t pm_vr_need_;                                                                        \
        int pm_vr_r_ = -1;                                                                         \
        if (__builtin_add_overflow(pm_vr_->len, (size_t)(n), &pm_vr_need_)) {                      \
            errno = EOVERFLOW;                                                                     \
        } else {                                                                                   \
            void *pm_vr_p_ = pm_vr_->v;                                                            \
            pm_vr_r_ = pm_vec_reserve_(&pm_vr_p_, &pm_vr_->cap, pm_vr_need_, sizeof *pm_vr_->v);   \
            pm_vr_->v = pm_vr_p_;                                                                  \
        }                                                                                          \
        pm_vr_r_;                                                                                  \
    })

/* Appends x (converted to the element type): 0, or -1 (errno) leaving the
 * vector as it was. */
#define PM_VEC_PUSH(vec, x)                                                                        \
    __extension__({                                                                                \
        __typeof__(vec) pm_vp_ = (vec);                                                            \
        int pm_vp_r_ = PM_VEC_RESERVE(pm_vp_, 1);                                                  \
        if (pm_vp_r_ == 0)                                                                         \
            pm_vp_->v[pm_vp_->len++] = (x);                                                        \
        pm_vp_r_;                                                                                  \
    })

/* Empties the vector but keeps its memory. */
#define PM_VEC_RESET(vec) ((void)((vec)->len = 0))

/* Frees the elements' memory (not what they point to); the vector is empty
 * again and may be reused. */
#define PM_VEC_FREE(vec)                                                                           \
    do {                                                                                           \
        __typeof__(vec) pm_vf_ = (vec);                                                            \
        free(pm_vf_->v);                                                                           \
        pm_vf_->v = NULL;                                                                          \
        pm_vf_->len = pm_vf_->cap = 0;                                                             \
    } while (0)

#endif
