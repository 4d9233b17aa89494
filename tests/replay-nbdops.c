/* replay-nbdops — a tiny NBD client that runs a script of requests against
 * nbdkit over a Unix socket, for the replay tests.
 *
 *   replay-nbdops SOCKET OP...
 *
 * OPs (numbers in bytes):
 *   w:OFF:LEN:SEED   write LEN pseudo-random bytes (a stream seeded by SEED)
 *   W:OFF:LEN:SEED   the same with FUA
 *   m:OFF:LEN:SEED   read LEN bytes, change one byte in every 512, write back
 *   z:OFF:LEN        write zeroes        t:OFF:LEN   trim
 *   f                flush               r:FILE      read the whole device into FILE
 * An OP prefixed with '?' may fail (the device may be off).
 *
 * Run against nbdkit: nbdkit -U SOCK plugin/nbdkit-pmemcut-plugin.so file=IMG size=4M &
 *                     replay-nbdops SOCK w:0:4096:1 f r:out.img
 */
#include <errno.h>
#include <inttypes.h>
#include <libnbd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void fill(uint8_t *b, uint64_t n, uint64_t seed)
{
    for (uint64_t i = 0; i < n; i++) {
        if (i % 8 == 0)
            seed ^= next(&seed);
        b[i] = (uint8_t)(seed >> (8 * (i % 8)));
    }
}

static int run(struct nbd_handle *h, const char *op)
{
    uint64_t off = 0, len = 0, seed = 0;
    char kind = op[0];
    uint8_t *buf = NULL;
    int r = 0;
    if (strchr("wWmzt", kind) &&
        sscanf(op + 1, ":%" SCNu64 ":%" SCNu64 ":%" SCNu64, &off, &len, &seed) < 2) {
        fprintf(stderr, "replay-nbdops: bad op %s\n", op);
        return -1;
    }
    if (strchr("wWm", kind)) {
        buf = malloc(len ? len : 1);
        if (!buf)
            return -1;
        if (kind == 'm') {
            r = nbd_pread(h, buf, len, off, 0);
            for (uint64_t i = 0; r == 0 && i < len; i += 512)
                buf[i] ^= (uint8_t)(next(&seed) | 1);
        } else {
            fill(buf, len, seed);
        }
        if (r == 0)
            r = nbd_pwrite(h, buf, len, off, kind == 'W' ? LIBNBD_CMD_FLAG_FUA : 0);
    } else if (kind == 'z') {
        r = nbd_zero(h, len, off, 0);
    } else if (kind == 't') {
        r = nbd_trim(h, len, off, 0);
    } else if (kind == 'f') {
        r = nbd_flush(h, 0);
    } else if (kind == 'r') {
        int64_t size = nbd_get_size(h);
        FILE *f = fopen(op + 2, "w");
        if (size < 0 || !f) {
            fprintf(stderr, "replay-nbdops: %s: %s\n", op + 2,
                    f ? nbd_get_error() : strerror(errno));
            if (f)
                fclose(f);
            return -1;
        }
        buf = malloc(1 << 20);
        for (int64_t o = 0; r == 0 && o < size; o += 1 << 20) {
            size_t n = size - o < (1 << 20) ? (size_t)(size - o) : (1 << 20);
            r = nbd_pread(h, buf, n, (uint64_t)o, 0);
            if (r == 0 && fwrite(buf, 1, n, f) != n)
                r = -1;
        }
        if (fclose(f) != 0)
            r = -1;
    } else {
        fprintf(stderr, "replay-nbdops: unknown op %s\n", op);
        return -1;
    }
    free(buf);
    return r;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: replay-nbdops SOCKET OP...\n");
        return 2;
    }
    struct nbd_handle *h = nbd_create();
    if (!h || nbd_connect_unix(h, argv[1]) == -1) {
        fprintf(stderr, "replay-nbdops: connect %s: %s\n", argv[1], nbd_get_error());
        return 2;
    }
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        const char *op = argv[i];
        bool may_fail = op[0] == '?';
        if (may_fail)
            op++;
        if (run(h, op) == -1 && !may_fail) {
            fprintf(stderr, "replay-nbdops: %s: %s\n", op, nbd_get_error());
            rc = 1;
            break;
        }
    }
    nbd_shutdown(h, 0);
    nbd_close(h);
    return rc;
}
