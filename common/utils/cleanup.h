/* common/utils/cleanup.h — scoped cleanup on __attribute__((cleanup)), as
 * nbdkit's common/utils/cleanup.h.  A variable declared with one of these
 * is released when it goes out of scope, however the scope is left:
 *
 *     CLEANUP_FREE char *buf = malloc(n);
 *     CLEANUP_CLOSE int fd = open(path, O_RDONLY);
 *     PM_LOCK_FOR_SCOPE(&mu);
 *
 * To hand a resource out of the scope, set the variable to NULL (or -1 for
 * an fd) after copying it.  The cleanups keep errno as it was.
 */
#ifndef PM_UTILS_CLEANUP_H
#define PM_UTILS_CLEANUP_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void pm_cleanup_free(void *ptr)
{
    int saved = errno;
    free(*(void **)ptr);
    errno = saved;
}

static inline void pm_cleanup_close(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

static inline void pm_cleanup_fclose(FILE **f)
{
    if (*f) {
        int saved = errno;
        fclose(*f);
        errno = saved;
    }
}

/* free(p) at scope end (any pointer type; NULL is fine). */
#define CLEANUP_FREE __attribute__((cleanup(pm_cleanup_free)))
/* close(fd) at scope end when fd >= 0 (an int). */
#define CLEANUP_CLOSE __attribute__((cleanup(pm_cleanup_close)))
/* fclose(f) at scope end when f is not NULL (a FILE *). */
#define CLEANUP_FCLOSE __attribute__((cleanup(pm_cleanup_fclose)))

/* Locks a mutex; aborts if that fails (a bad or already held error-checking
 * mutex is a bug, not something to recover from). */
static inline pthread_mutex_t *pm_lock_now_(pthread_mutex_t *m)
{
    if (pthread_mutex_lock(m) != 0)
        abort();
    return m;
}

static inline void pm_cleanup_unlock_(pthread_mutex_t **m)
{
    if (pthread_mutex_unlock(*m) != 0)
        abort();
}

#define PM_CONCAT_(a, b) a##b
#define PM_CONCAT(a, b)  PM_CONCAT_(a, b)
#define PM_UNIQUE(name)  PM_CONCAT(name, __COUNTER__)

/* Locks *mutex_ptr now and unlocks it when the enclosing scope ends.  May
 * be used more than once in a scope (each use has its own variable); the
 * mutexes are unlocked in reverse order. */
#define PM_LOCK_FOR_SCOPE(mutex_ptr)                                                               \
    __attribute__((cleanup(pm_cleanup_unlock_), unused)) pthread_mutex_t *PM_UNIQUE(               \
        pm_scope_lock_) = pm_lock_now_(mutex_ptr)

#endif
