/* pmemcut — `pmemcut-audit lost`: every cut of an audit log, with the
 * lines it lost and tore grouped by what they belonged to in the
 * filesystem ("superblock (group 0)", "data of rec-00000004 at file offset
 * 0").
 *
 * The layout comes from an image (--image: often one taken after the cut,
 * which may have lost the very structures needed to read it), or, with the
 * data log, from the image the device held just before each cut, rebuilt
 * by replay. */
#ifndef PMEMCUT_LOST_H
#define PMEMCUT_LOST_H

#include <stdint.h>

#include "layout.h"

struct pt_lost_args {
    const char *log;
    const char *image;  /* the layout from this image, or */
    const char *data;   /* from the replay with this data log */
    uint64_t max_lines; /* groups printed per cut and fate */
    struct pt_layout_args lay;
};

/* Prints every cut of a->log on stdout.  0, or -1 with the message
 * (pm_get_error; a damaged log: the cuts before the damage are printed). */
int pt_lost_print(const struct pt_lost_args *a);

#endif
