/* pmemcut — crash-state exploration over a replayed history.
 *
 * At each chosen point of the history (every flush and cut, every mark, or
 * every write), the replay is forked: the child inherits the whole device
 * state copy-on-write, cuts it with one policy and seed through the model,
 * writes the persisted image and runs the filesystem's own read-only check
 * on it.  The parent keeps replaying and keeps one child per core busy.
 *
 * Every state's result is one line of DIR/states.jsonl (written whole, with
 * one write(2) by the child that checked it); a second run skips the states
 * already there, so an interrupted exploration resumes.  At the end the
 * distinct failures (by the first problem fsck reports, numbers erased) are
 * listed with the smallest state that shows each, in DIR/summary.txt.
 */
#ifndef PMEMCUT_EXPLORE_H
#define PMEMCUT_EXPLORE_H

/* pmemcut-replay explore ARGS...: argv[0] is "explore". */
int pt_explore_main(int argc, char **argv);

#endif
