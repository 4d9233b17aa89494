/* pmemcut — `pmemcut-audit classify`: tells a running device which of its
 * lines are filesystem metadata and which file data, read from an image of
 * it: ext4 by libext2fs (runs of blocks of one class; free blocks are left
 * alone), xfs as metadata everywhere and the agent's extents (--extents)
 * as data over it.  The agent's extents are data on ext4 too. */
#ifndef PMEMCUT_CLASSIFY_H
#define PMEMCUT_CLASSIFY_H

#include <stdbool.h>

#include "layout.h"

struct pt_classify_args {
    const char *image;  /* the filesystem image */
    const char *socket; /* the device's control socket */
    struct pt_layout_args lay;
};

/* Sends the classify commands and prints what was sent on stdout.  0, or
 * -1 with the message (pm_get_error); *refused is set when the device
 * answered a command with an error. */
int pt_classify_send(const struct pt_classify_args *a, bool *refused);

#endif
