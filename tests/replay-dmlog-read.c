/* replay-dmlog-read — an independent reader of the dm-log-writes format,
 * written from the kernel's documentation of it
 * (Documentation/admin-guide/device-mapper/log-writes.rst) and shared with
 * nothing in tools/, so that it can check pmemcut-replay's export.
 *
 *   replay-dmlog-read LOG SIZE OUT.img [--until-mark TEXT]
 *
 * Rebuilds the device image of SIZE bytes (zero at the start) by applying
 * every write entry in order; a DISCARD entry zeroes its sectors.  Prints
 * the entries by kind.  Exit 0, or 1 with the entry number on a malformed
 * log.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 6) {
        fprintf(stderr, "usage: replay-dmlog-read LOG SIZE OUT.img [--until-mark TEXT]\n");
        return 2;
    }
    const char *until = argc == 6 ? argv[5] : NULL;
    uint64_t size = strtoull(argv[2], NULL, 10);
    FILE *f = fopen(argv[1], "rb");
    unsigned char *img = calloc(1, size ? size : 1);
    if (!f || !img) {
        perror(argv[1]);
        return 2;
    }
    unsigned char sb[32];
    if (fread(sb, 1, sizeof sb, f) != sizeof sb) {
        fprintf(stderr, "short superblock\n");
        return 1;
    }
    uint64_t magic = le64(sb), version = le64(sb + 8), n = le64(sb + 16);
    uint32_t ss = (uint32_t)le64(sb + 24) & 0xffffffffu;
    if (magic != 0x6a736677736872ULL || version != 1 || ss < 512 || ss > 65536 || (ss & (ss - 1))) {
        fprintf(stderr, "bad superblock: magic %llx version %llu sectorsize %u\n",
                (unsigned long long)magic, (unsigned long long)version, ss);
        return 1;
    }
    unsigned char *blk = malloc(ss);
    unsigned char *data = NULL;
    uint64_t writes = 0, flushes = 0, fuas = 0, discards = 0, marks = 0, meta = 0;
    long pos = (long)ss; /* entries start at the second sector */
    for (uint64_t i = 0; i < n; i++) {
        if (fseek(f, pos, SEEK_SET) != 0 || fread(blk, 1, ss, f) != ss) {
            fprintf(stderr, "entry %llu: truncated\n", (unsigned long long)i);
            return 1;
        }
        pos += ss;
        uint64_t sector = le64(blk), nr = le64(blk + 8), flags = le64(blk + 16),
                 dlen = le64(blk + 24);
        if (flags & 8) { /* MARK: the text follows the entry */
            marks++;
            if (dlen > ss - 32) {
                fprintf(stderr, "entry %llu: mark too long\n", (unsigned long long)i);
                return 1;
            }
            char text[4096];
            memcpy(text, blk + 32, dlen);
            text[dlen] = '\0';
            printf("mark %s\n", text);
            if (until && strcmp(text, until) == 0)
                break;
            continue;
        }
        /* the sector numbers of entries are in units of sectorsize */
        uint64_t off = sector * ss, len = nr * ss;
        if (flags & 1)
            flushes++;
        if (flags & 2)
            fuas++;
        if (flags & 16)
            meta++;
        if (nr && (off > size || len > size - off)) {
            fprintf(stderr, "entry %llu: sectors %llu+%llu beyond the device\n",
                    (unsigned long long)i, (unsigned long long)sector, (unsigned long long)nr);
            return 1;
        }
        if (flags & 4) {
            discards++;
            memset(img + off, 0, len);
            continue;
        }
        if (!nr)
            continue;
        writes++;
        data = realloc(data, len);
        if (!data || fread(data, 1, len, f) != len) {
            fprintf(stderr, "entry %llu: data truncated\n", (unsigned long long)i);
            return 1;
        }
        pos += (long)len;
        memcpy(img + off, data, len);
    }
    printf("entries %llu: writes %llu flushes %llu fua %llu discards %llu marks %llu meta %llu\n",
           (unsigned long long)n, (unsigned long long)writes, (unsigned long long)flushes,
           (unsigned long long)fuas, (unsigned long long)discards, (unsigned long long)marks,
           (unsigned long long)meta);
    FILE *o = fopen(argv[3], "wb");
    if (!o || fwrite(img, 1, size, o) != size || fclose(o) != 0) {
        perror(argv[3]);
        return 2;
    }
    fclose(f);
    free(img);
    free(blk);
    free(data);
    return 0;
}
