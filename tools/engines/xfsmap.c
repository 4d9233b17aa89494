/* pmemcut — xfs byte ranges from the agent's FIEMAP report (see xfsmap.h). */
#include "xfsmap.h"

#include "utils/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utils/jsonr.h"

#define MAX_JSON_BYTES (64u << 20) /* an extents report larger than this is refused */
#define MAX_EXTENTS    (1u << 22)

void pt_xfsmap_free(struct pt_xfsmap *m)
{
    for (size_t i = 0; i < m->nnames; i++)
        free(m->names[i]);
    free(m->names);
    free(m->ext);
    memset(m, 0, sizeof *m);
}

static int by_off(const void *a, const void *b)
{
    const struct pt_xfs_ext *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Reads the whole file; NUL-terminated.  NULL with the message. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        pm_set_error("%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            if (cap >= MAX_JSON_BYTES) {
                pm_set_error("%s: larger than %u bytes", path, MAX_JSON_BYTES);
                free(b);
                fclose(f);
                return NULL;
            }
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb)
                free(b);
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!b) {
        pm_set_error("%s: out of memory", path);
        return NULL;
    }
    b[n] = '\0';
    *len = n;
    return b;
}

int pt_xfsmap_load_extents(struct pt_xfsmap *m, const char *path)
{
    memset(m, 0, sizeof *m);
    size_t len;
    char *text = slurp(path, &len);
    if (!text)
        return -1;
    /* the console line "PMEMCUT-EXTENTS {...}", or the JSON alone */
    char *start = strchr(text, '{');
    struct jr_doc d;
    jr_init(&d);
    int rc = -1;
    size_t cap = 0;
    if (!start) {
        pm_set_error("%s: no JSON object", path);
        goto out;
    }
    size_t n = len - (size_t)(start - text);
    while (n > 0 && (start[n - 1] == '\n' || start[n - 1] == '\r' || start[n - 1] == ' '))
        n--;
    if (jr_parse(&d, start, n) == -1) {
        pm_set_error("%s: byte offset %zu: %s", path, (size_t)(start - text) + d.errpos, d.err);
        goto out;
    }
    const char *cmd = jr_get_str(&d, 0, "command");
    int files = jr_get(&d, 0, "files");
    if (!cmd || strcmp(cmd, "extents") != 0 || files == -1 || d.n[files].type != JR_ARR) {
        pm_set_error("%s: not an extents report (\"command\":\"extents\" with \"files\")", path);
        goto out;
    }
    /* dev_offset is null when the agent could not tell; 0 is then right
     * for virtio-pmem */
    if (jr_get_u64(&d, 0, "dev_offset", &m->dev_offset) == -1)
        m->dev_offset = 0;
    for (size_t i = 0; i < d.n[files].count; i++) {
        int f = jr_at(&d, files, i);
        const char *name = jr_get_str(&d, f, "name");
        int ex = jr_get(&d, f, "extents");
        if (!name || ex == -1 || d.n[ex].type != JR_ARR) {
            pm_set_error("%s: files[%zu]: needs \"name\" and \"extents\"", path, i);
            goto out;
        }
        char **nn = realloc(m->names, (m->nnames + 1) * sizeof *nn);
        if (!nn || !(nn[m->nnames] = strdup(name))) {
            if (nn)
                m->names = nn;
            pm_set_error("%s: out of memory", path);
            goto out;
        }
        m->names = nn;
        m->nnames++;
        for (size_t k = 0; k < d.n[ex].count; k++) {
            int e = jr_at(&d, ex, k);
            struct pt_xfs_ext x = {.file = (uint32_t)(m->nnames - 1)};
            uint64_t phys;
            if (jr_get_u64(&d, e, "logical", &x.logical) == -1 ||
                jr_get_u64(&d, e, "physical", &phys) == -1 ||
                jr_get_u64(&d, e, "length", &x.len) == -1 ||
                __builtin_add_overflow(phys, m->dev_offset, &x.off) || x.off + x.len < x.off) {
                pm_set_error("%s: files[%zu].extents[%zu]: needs logical, physical and length "
                             "(bytes)",
                             path, i, k);
                goto out;
            }
            if (m->next == MAX_EXTENTS) {
                pm_set_error("%s: more than %u extents", path, MAX_EXTENTS);
                goto out;
            }
            if (m->next == cap) {
                cap = cap ? cap * 2 : 64;
                struct pt_xfs_ext *ne = realloc(m->ext, cap * sizeof *ne);
                if (!ne) {
                    pm_set_error("%s: out of memory", path);
                    goto out;
                }
                m->ext = ne;
            }
            m->ext[m->next++] = x;
        }
    }
    if (m->next) /* qsort's base must not be NULL, even for no elements */
        qsort(m->ext, m->next, sizeof *m->ext, by_off);
    rc = 0;
out:
    jr_free(&d);
    free(text);
    if (rc == -1)
        pt_xfsmap_free(m);
    return rc;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

bool pt_xfsmap_is_xfs(const uint8_t *img, uint64_t size, uint64_t dev_offset)
{
    /* dev_offset comes from a user or a file: no sum that can wrap */
    return dev_offset <= size && size - dev_offset >= 512 &&
           memcmp(img + dev_offset, "XFSB", 4) == 0;
}

bool pt_xfsmap_read_super(struct pt_xfsmap *m, const uint8_t *img, uint64_t size)
{
    m->have_sb = false;
    if (!pt_xfsmap_is_xfs(img, size, m->dev_offset))
        return false;
    const uint8_t *sb = img + m->dev_offset;
    uint32_t bsize = be32(sb + 4), agblocks = be32(sb + 84), agcount = be32(sb + 88);
    uint32_t logblocks = be32(sb + 96);
    uint16_t sectsize = (uint16_t)(sb[102] << 8 | sb[103]);
    uint8_t agblklog = sb[124];
    uint64_t logstart = be64(sb + 48);
    /* a damaged superblock names nothing */
    if (bsize < 512 || bsize > 65536 || (bsize & (bsize - 1)) || sectsize < 512 ||
        sectsize > bsize || (sectsize & (sectsize - 1)) || agblocks == 0 || agcount == 0 ||
        agblklog > 31)
        return false;
    m->bsize = bsize;
    m->sectsize = sectsize;
    m->agblocks = agblocks;
    m->agcount = agcount;
    m->log_off = m->log_len = 0;
    if (logstart) {
        /* the superblock is the image's: a log start past 2^64 names no log */
        uint64_t agno = logstart >> agblklog, agbno = logstart & ((1ull << agblklog) - 1), blk;
        if (!__builtin_mul_overflow(agno, (uint64_t)agblocks, &blk) &&
            !__builtin_add_overflow(blk, agbno, &blk) &&
            !__builtin_mul_overflow(blk, (uint64_t)bsize, &m->log_off))
            m->log_len = (uint64_t)logblocks * bsize;
        else
            m->log_off = 0;
    }
    m->have_sb = true;
    return true;
}

uint32_t pt_xfsmap_bsize(const struct pt_xfsmap *m)
{
    return m->have_sb ? m->bsize : 4096;
}

/* The extent holding off, or NULL. */
static const struct pt_xfs_ext *find(const struct pt_xfsmap *m, uint64_t off, uint64_t len)
{
    size_t lo = 0, hi = m->next;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->ext[mid].off + m->ext[mid].len <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* off + len may end past 2^64 (a caller's range): compare without the sum */
    return lo < m->next && (m->ext[lo].off <= off || m->ext[lo].off - off < len) ? &m->ext[lo]
                                                                                 : NULL;
}

bool pt_xfsmap_is_data(const struct pt_xfsmap *m, uint64_t off, uint64_t len)
{
    return find(m, off, len) != NULL;
}

void pt_xfsmap_describe(const struct pt_xfsmap *m, uint64_t off, uint64_t len, char *out, size_t n)
{
    const struct pt_xfs_ext *x = find(m, off, len);
    if (x) {
        uint64_t at = off > x->off ? off - x->off : 0;
        snprintf(out, n, "data of %s at file offset %llu", m->names[x->file],
                 (unsigned long long)(x->logical + at));
        return;
    }
    if (off < m->dev_offset) {
        snprintf(out, n, "before the block device (namespace label or info block)");
        return;
    }
    uint64_t rel = off - m->dev_offset;
    if (!m->have_sb) {
        snprintf(out, n, "metadata (no xfs superblock to say which)");
        return;
    }
    if (m->log_len && rel >= m->log_off && rel - m->log_off < m->log_len) {
        snprintf(out, n, "log (block %llu of it)",
                 (unsigned long long)((rel - m->log_off) / m->bsize));
        return;
    }
    uint64_t agsize = (uint64_t)m->agblocks * m->bsize;
    uint64_t agno = rel / agsize, in = rel % agsize;
    static const char *const hdr[] = {"superblock", "AGF", "AGI", "AGFL"};
    if (in / m->sectsize < 4)
        snprintf(out, n, "%s (AG %llu)", hdr[in / m->sectsize], (unsigned long long)agno);
    else
        snprintf(out, n, "metadata (AG %llu, block %llu)", (unsigned long long)agno,
                 (unsigned long long)(in / m->bsize));
}
