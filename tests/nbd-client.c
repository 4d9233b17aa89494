/* nbd-client — a small real libnbd client for the shell tests.
 *
 *   nbd-client SOCKET COMMAND...
 *
 * Commands run in order on one connection (or on a second one after
 * `conn 2`, to test multi-conn); the first failure exits 1 with the
 * command and libnbd's message.
 *   fill OFF LEN BYTE [fua]     write LEN bytes of BYTE
 *   writefile OFF PATH [fua]    write the file's bytes at OFF
 *   readfile OFF LEN PATH       read into a file
 *   expect OFF LEN BYTE         read and check every byte is BYTE
 *   zero OFF LEN | trim OFF LEN | flush
 *   expect-error COMMAND...     the next command must fail (consumes it)
 *   info                        print size, block sizes, can_* flags
 *   conn N                      switch to connection N (1 or 2)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnbd.h>

static struct nbd_handle *h[3];
static const char *sock;

static struct nbd_handle *conn(int n)
{
    if (!h[n]) {
        h[n] = nbd_create();
        if (!h[n] || nbd_connect_unix(h[n], sock) == -1) {
            fprintf(stderr, "nbd-client: connect %s: %s\n", sock, nbd_get_error());
            exit(2);
        }
    }
    return h[n];
}

static uint64_t num(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end) {
        fprintf(stderr, "nbd-client: not a number: %s\n", s);
        exit(2);
    }
    return v;
}

#define NEED(k)                                                                                    \
    do {                                                                                           \
        if (i + (k) >= argc) {                                                                     \
            fprintf(stderr, "nbd-client: %s needs %d arguments\n", argv[i], k);                    \
            exit(2);                                                                               \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: nbd-client SOCKET COMMAND...\n");
        return 2;
    }
    sock = argv[1];
    int cur = 1;
    bool expect_error = false;
    for (int i = 2; i < argc; i++) {
        const char *c = argv[i];
        struct nbd_handle *nbd = conn(cur);
        int r = 0;
        int start = i;
        if (strcmp(c, "expect-error") == 0) {
            expect_error = true;
            continue;
        } else if (strcmp(c, "conn") == 0) {
            NEED(1);
            cur = (int)num(argv[++i]);
            if (cur < 1 || cur > 2)
                return 2;
            conn(cur);
            continue;
        } else if (strcmp(c, "fill") == 0) {
            NEED(3);
            uint64_t off = num(argv[i + 1]), len = num(argv[i + 2]);
            int byte = (int)num(argv[i + 3]);
            i += 3;
            uint32_t fl = 0;
            if (i + 1 < argc && strcmp(argv[i + 1], "fua") == 0)
                fl = LIBNBD_CMD_FLAG_FUA, i++;
            char *buf = malloc(len ? len : 1);
            memset(buf, byte, len);
            r = nbd_pwrite(nbd, buf, len, off, fl);
            free(buf);
        } else if (strcmp(c, "writefile") == 0) {
            NEED(2);
            uint64_t off = num(argv[i + 1]);
            FILE *f = fopen(argv[i + 2], "rb");
            i += 2;
            if (!f) {
                perror(argv[i]);
                return 2;
            }
            static char buf[1 << 24];
            size_t len = fread(buf, 1, sizeof buf, f);
            fclose(f);
            uint32_t fl = 0;
            if (i + 1 < argc && strcmp(argv[i + 1], "fua") == 0)
                fl = LIBNBD_CMD_FLAG_FUA, i++;
            r = nbd_pwrite(nbd, buf, len, off, fl);
        } else if (strcmp(c, "readfile") == 0) {
            NEED(3);
            uint64_t off = num(argv[i + 1]), len = num(argv[i + 2]);
            char *buf = malloc(len ? len : 1);
            r = nbd_pread(nbd, buf, len, off, 0);
            if (r == 0) {
                FILE *f = fopen(argv[i + 3], "wb");
                if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
                    perror(argv[i + 3]);
                    return 2;
                }
            }
            free(buf);
            i += 3;
        } else if (strcmp(c, "expect") == 0) {
            NEED(3);
            uint64_t off = num(argv[i + 1]), len = num(argv[i + 2]);
            int byte = (int)num(argv[i + 3]);
            i += 3;
            unsigned char *buf = malloc(len ? len : 1);
            r = nbd_pread(nbd, buf, len, off, 0);
            if (r == 0)
                for (uint64_t k = 0; k < len; k++)
                    if (buf[k] != byte) {
                        fprintf(stderr, "nbd-client: expect: byte %llu is 0x%02x, not 0x%02x\n",
                                (unsigned long long)(off + k), buf[k], byte);
                        free(buf);
                        return 1;
                    }
            free(buf);
        } else if (strcmp(c, "zero") == 0 || strcmp(c, "trim") == 0) {
            NEED(2);
            uint64_t off = num(argv[i + 1]), len = num(argv[i + 2]);
            i += 2;
            r = c[0] == 'z' ? nbd_zero(nbd, len, off, 0) : nbd_trim(nbd, len, off, 0);
        } else if (strcmp(c, "flush") == 0) {
            r = nbd_flush(nbd, 0);
        } else if (strcmp(c, "info") == 0) {
            printf("size=%lld min=%lld pref=%lld max=%lld multi_conn=%d fua=%d flush=%d "
                   "zero=%d trim=%d\n",
                   (long long)nbd_get_size(nbd),
                   (long long)nbd_get_block_size(nbd, LIBNBD_SIZE_MINIMUM),
                   (long long)nbd_get_block_size(nbd, LIBNBD_SIZE_PREFERRED),
                   (long long)nbd_get_block_size(nbd, LIBNBD_SIZE_MAXIMUM), nbd_can_multi_conn(nbd),
                   nbd_can_fua(nbd), nbd_can_flush(nbd), nbd_can_zero(nbd), nbd_can_trim(nbd));
        } else {
            fprintf(stderr, "nbd-client: unknown command %s\n", c);
            return 2;
        }
        if (expect_error) {
            expect_error = false;
            if (r == 0) {
                fprintf(stderr, "nbd-client: %s succeeded, expected an error\n", argv[start]);
                return 1;
            }
            if (nbd_get_errno() != EIO) {
                fprintf(stderr, "nbd-client: %s failed with %s, expected EIO\n", argv[start],
                        strerror(nbd_get_errno()));
                return 1;
            }
            continue;
        }
        if (r == -1) {
            fprintf(stderr, "nbd-client: %s: %s\n", argv[start], nbd_get_error());
            return 1;
        }
    }
    for (int n = 1; n <= 2; n++)
        if (h[n]) {
            nbd_shutdown(h[n], 0);
            nbd_close(h[n]);
        }
    return 0;
}
