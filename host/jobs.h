/* jobs.h — `pmemcut-host run --jobs N`: N chains of cycles at once, each a
 * process of its own that does what `run --shard K/N` does (a device, an
 * image, a FUSE view and a VM of its own), into OUT/chain-K/; the parent
 * only forks, forwards a stop, waits and merges. */
#ifndef PH_JOBS_H
#define PH_JOBS_H

#include <stdbool.h>
#include <stdint.h>

/* The CPUs this process may run on (sched_getaffinity), at least 1. */
int ph_jobs_cpus(void);

/* Chain j (1..jobs) of a run that is itself shard K/N does the cycles of
 * shard (K + (j - 1) N) / (N jobs): between them the chains do K, K + N,
 * K + 2N, ... and each can be re-run alone with that --shard. */
void ph_jobs_shard(uint64_t k, uint64_t n, uint64_t jobs, uint64_t j, uint64_t *chain_k,
                   uint64_t *chain_n);

/* In a chain's process: run chain j and return its exit code; *broke is
 * set when it stopped at an error before its end (pm_get_error() says
 * what), not when it ran to the end with a FAIL or a checker's error. */
typedef int ph_chain_fn(int j, void *arg, bool *broke);

/* Forks chains 1..n (stdout flushed first), each calling fn and exiting
 * with what it returns. While they run, a SIGINT or SIGTERM of ours
 * (ph_interrupted) is passed on to every chain by its PID, and a chain that
 * broke stops the others: one run stops at its first error. Returns once
 * every chain has been reaped, with the exit code one run would give: 2
 * and "chain K: MESSAGE" (pm_set_error) for the first chain that broke;
 * PM_EXIT_USAGE with ph_interrupted set when interrupted (ours, or a
 * chain's own); else 1 when a chain found a violation, 2 with its message
 * when one had only a checker's errors, 0. *complete says whether every
 * chain ran to its end (the summary table is then due). */
int ph_jobs_run(int n, ph_chain_fn *fn, void *arg, bool *complete);

/* OUTDIR/results.jsonl: the rows of OUTDIR/chain-1..n/results.jsonl (a
 * chain that wrote none is skipped), each line as its chain wrote it, in
 * cycle order. 0, or -1 with pm_set_error (a line that is not a row). */
int ph_jobs_merge(const char *outdir, int n);

#endif
