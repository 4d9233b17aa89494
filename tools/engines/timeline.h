/* pmemcut — `pmemcut-audit timeline`: the history as one SVG picture.
 *
 * Time runs left to right.  The top panel is the device, offset 0 at the
 * top: writes are binned into a fixed grid of cells (so a log of a million
 * events draws at most a few thousand shapes), each cell coloured by the
 * class that dominates it (metadata blue, data green, unlabelled grey) and
 * darker with more writes.  Cuts are red vertical lines with the lost lines
 * in red (torn in orange) at their offsets.  Below: a lane of marks (each a
 * line with its text as a tooltip, binned when there are too many), a lane
 * of flushes, and the number of dirty lines as a curve.
 *
 * Every mark, cut and flush element carries a class ("mark", "cut",
 * "flush") and a <title>, so that a test can find them by parsing the XML.
 */
#ifndef PMEMCUT_SVG_H
#define PMEMCUT_SVG_H

#include <stdint.h>

/* Returns 0, or -1 with the message (pm_get_error): a damaged log's picture
 * of what came before the damage is still written. */
int pt_timeline_write(const char *log, const char *out, uint64_t from, uint64_t to);

#endif
