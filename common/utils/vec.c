/* common/utils/vec.c — see vec.h. */
#include "vec.h"

#include <stdint.h>
#include <stdlib.h>

int pm_vec_reserve_(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    size_t bytes;
    if (__builtin_mul_overflow(ncap, elem, &bytes)) {
        /* doubling overshot: try exactly what is needed */
        if (__builtin_mul_overflow(need, elem, &bytes)) {
            errno = EOVERFLOW;
            return -1;
        }
        ncap = need;
    }
    void *p = realloc(*v, bytes);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    *v = p;
    *cap = ncap;
    return 0;
}
