/* tests/fuzz/fuzz-extents.c — libFuzzer harness of the extents reader
 * (tools/engines/xfsmap.c: the agent's FIEMAP report, as `lost` and
 * `classify` read it with --extents) and of what is then looked up in it
 * (layout.c, xfsmap.c: an xfs superblock's geometry, block ends, what a
 * range is).
 *
 * Input: the report's text up to the first NUL; after it, the head of a
 * device image (its xfs superblock at the report's dev_offset, if any).
 * Whatever the input: the report is read or refused with a message; a
 * report that is read has its extents sorted, each ending below 2^64; the
 * filesystem's start is accepted only inside the image; then every block
 * end lies past its offset (or is 2^64 - 1), and every extent is data
 * where it lies.
 *
 * Seeds (tests/fuzz/corpus/extents/) are reports in the agent's format from
 * tests/replay-xfs.sh (xfs_db's block maps of real files on a real
 * mkfs.xfs), with the head of that image.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-tmp.h"

#include "engines/layout.h"
#include "utils/error.h"

static const char *path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_tmp_init("extents");
    path = fuzz_tmp_file("ext.json");
    return 0;
}

/* Walks [off, off + len) block by block as lost does, describing each
 * piece; len is bounded by the caller. */
static void walk(const struct pt_layout *l, uint64_t off, uint64_t len)
{
    char what[200];
    uint64_t end = len > UINT64_MAX - off ? UINT64_MAX : off + len;
    for (int steps = 0; off < end && steps < 64; steps++) {
        uint64_t be = pt_layout_block_end(l, off);
        if (be <= off && be != UINT64_MAX)
            abort();
        uint64_t piece = (end < be ? end : be) - off;
        if (piece == 0)
            abort();
        pt_layout_describe(l, off, piece, what, sizeof what);
        if (!memchr(what, 0, sizeof what))
            abort();
        off += piece;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    const uint8_t *img = nul ? nul + 1 : NULL;
    uint64_t ilen = nul ? size - tlen - 1 : 0;
    FILE *f = fopen(path, "wb");
    if (!f || (tlen && fwrite(data, 1, tlen, f) != tlen))
        abort();
    fclose(f);

    struct pt_layout_args a = {.fs = "xfs", .extents = path};
    struct pt_layout l;
    if (pt_layout_load_extents(&l, &a) == -1) {
        if (!pm_get_error()[0])
            abort(); /* a refusal says why */
        return 0;
    }
    const struct pt_xfsmap *x = &l.x;
    for (size_t i = 0; i < x->next; i++) {
        if (x->ext[i].len > UINT64_MAX - x->ext[i].off || x->ext[i].file >= x->nnames)
            abort();
        if (i && x->ext[i - 1].off > x->ext[i].off)
            abort();
    }
    l.xfs = true;
    if (img && pt_layout_check_offset(&l, ilen, "image") == 0) {
        bool xfs = pt_xfsmap_is_xfs(img, ilen, x->dev_offset);
        if (pt_xfsmap_read_super(&l.x, img, ilen) && (!xfs || !l.x.have_sb))
            abort(); /* a geometry only from an xfs superblock */
    } else if (img && x->dev_offset < ilen) {
        abort(); /* a start inside the image must be accepted */
    }
    /* around the start, the log and every extent (the first 64) */
    walk(&l, 0, 1 << 16);
    walk(&l, x->dev_offset > 4096 ? x->dev_offset - 4096 : 0, 1 << 16);
    if (x->have_sb && x->log_off <= UINT64_MAX - x->dev_offset)
        walk(&l, x->dev_offset + x->log_off, 1 << 16);
    for (size_t i = 0; i < x->next && i < 64; i++) {
        const struct pt_xfs_ext *e = &x->ext[i];
        if (e->len && !pt_xfsmap_is_data(x, e->off, 1))
            abort();
        walk(&l, e->off, e->len < (1 << 16) ? e->len : 1 << 16);
        walk(&l, e->off + e->len - (e->len ? 1 : 0), 8192);
    }
    walk(&l, UINT64_MAX - 8192, 8192);
    pt_layout_free(&l);
    return 0;
}
