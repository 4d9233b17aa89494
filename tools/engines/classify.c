/* pmemcut — `pmemcut-audit classify`: the device told which lines are
 * metadata and which data, from the filesystem in an image (see
 * classify.h). */
#include "classify.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "utils/ctlclient.h"
#include "utils/error.h"

/* Sends "classify CLS OFF LEN" and waits for its reply.  0, or -1 with the
 * message; *refused is set when the device answered with an error. */
static int send_one(struct pm_ctl *c, const char *cls, uint64_t off, uint64_t len, bool *refused)
{
    int r = pm_ctl_cmd(c, NULL, -1, "classify %s %llu %llu", cls, (unsigned long long)off,
                       (unsigned long long)len);
    *refused = r == 1;
    return r == 0 ? 0 : -1;
}

int pt_classify_send(const struct pt_classify_args *a, bool *refused)
{
    *refused = false;
    struct pt_layout l;
    if (pt_layout_load_extents(&l, &a->lay) == -1)
        return -1;
    if (pt_layout_open_file(&l, &a->lay, a->image) == -1) {
        pt_xfsmap_free(&l.x);
        return -1;
    }
    if (l.xfs && !l.have_x) {
        pm_set_error("classify: xfs needs --extents EXT.json (the agent's "
                     "FIEMAP report) to tell data from metadata");
        pt_xfsmap_free(&l.x);
        return -1;
    }
    struct pt_ext4map m = l.e;
    struct pm_ctl c;
    if (pm_ctl_open(&c, a->socket, 0) == -1) {
        pt_layout_free(&l);
        return -1;
    }
    uint64_t sent[3] = {0}, bytes[3] = {0};
    int rc = 0;
    uint64_t b = 0;
    /* xfs: the whole block device is metadata, then the files' extents are
     * data over it (a later classify of a range replaces the earlier) */
    if (l.xfs) {
        struct stat st;
        uint64_t size = stat(a->image, &st) == 0 ? (uint64_t)st.st_size : 0;
        if (size > l.x.dev_offset) {
            rc = send_one(&c, "meta", l.x.dev_offset, size - l.x.dev_offset, refused);
            sent[1]++;
            bytes[1] += size - l.x.dev_offset;
        }
    }
    /* ext4: runs of blocks of one class (meta/data); free blocks are left
     * alone */
    while (!l.xfs && b < m.nblocks && rc == 0) {
        int cls = m.own[b].kind == EK_NONE ? 0 : pt_ext4map_is_meta(m.own[b].kind) ? 1 : 2;
        uint64_t e = b + 1;
        while (e < m.nblocks && (m.own[e].kind == EK_NONE            ? 0
                                 : pt_ext4map_is_meta(m.own[e].kind) ? 1
                                                                     : 2) == cls)
            e++;
        if (cls) {
            rc = send_one(&c, cls == 1 ? "meta" : "data", m.offset + b * m.bsize, (e - b) * m.bsize,
                          refused);
            sent[cls]++;
            bytes[cls] += (e - b) * m.bsize;
        }
        b = e;
    }
    /* the agent's extents: data, on either filesystem */
    for (size_t i = 0; l.have_x && i < l.x.next && rc == 0; i++) {
        rc = send_one(&c, "data", l.x.ext[i].off, l.x.ext[i].len, refused);
        sent[2]++;
        bytes[2] += l.x.ext[i].len;
    }
    if (rc == 0)
        printf("classified %llu bytes as meta (%llu ranges), %llu bytes as data (%llu ranges)\n",
               (unsigned long long)bytes[1], (unsigned long long)sent[1],
               (unsigned long long)bytes[2], (unsigned long long)sent[2]);
    pm_ctl_close(&c);
    pt_layout_free(&l);
    return rc;
}
