/* nbd-client — the one NBD test client: a real libnbd client that runs a
 * script of requests given on its command line, for every shell test.
 *
 *   nbd-client SOCKET COMMAND...
 *
 * Commands run in order, on connection 1 unless `conn N` switched; the first
 * failure exits 1 with the command and libnbd's message, a bad command line
 * exits 2.  Numbers are bytes (decimal, or 0x hex).
 *   write OFF LEN SEED [fua]    write LEN pseudo-random bytes (a stream seeded by SEED)
 *   fill OFF LEN BYTE [fua]     write LEN bytes of BYTE
 *   writefile OFF PATH [fua]    write the file's bytes at OFF
 *   modify OFF LEN SEED [fua]   read LEN bytes, change one byte in every 512, write back
 *   zero OFF LEN [fua]          write zeroes
 *   trim OFF LEN [fua]          discard
 *   flush
 *   expect OFF LEN BYTE         read and check every byte is BYTE
 *   readfile OFF LEN PATH       read LEN bytes into a file
 *   readall PATH                read the whole device into a file
 *   info                        print size, block sizes, can_* flags
 *   conn N                      switch to connection N (1 to 8; multi-conn tests)
 *   expect-error COMMAND...     the next command must fail with EIO
 *   may-fail COMMAND...         the next command may fail (the device may be off)
 *
 *   nbd-client nbd.sock write 0 4096 1 flush readall out.img
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnbd.h>

#include "utils/rng.h"

#define MAX_CONN 8
#define CHUNK    (1 << 20)

static struct nbd_handle *h[MAX_CONN + 1];
static const char *sock;

static _Noreturn void usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "nbd-client: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    exit(2);
}

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
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (!*s || *end || *s == '-' || errno)
        usage_error("not a number", s);
    return v;
}

static void *alloc(uint64_t len)
{
    void *p = malloc(len ? len : 1);
    if (!p)
        usage_error("out of memory", NULL);
    return p;
}

/* LEN bytes of BYTE, or of the stream of seed SEED: splitmix64 draws folded
 * into the seed every 8 bytes (the old replay-nbdops's stream, kept byte for
 * byte). */
static void fill_byte(uint8_t *b, uint64_t n, uint64_t byte)
{
    memset(b, (int)byte, n);
}

static void fill_random(uint8_t *b, uint64_t n, uint64_t seed)
{
    for (uint64_t i = 0; i < n; i++) {
        if (i % 8 == 0)
            seed ^= pm_splitmix64(&seed);
        b[i] = (uint8_t)(seed >> (8 * (i % 8)));
    }
}

/* One command: its words are a[0..nargs], and `fua` is its optional flag. */
struct cmd {
    const char *name;
    int nargs;
    bool takes_fua;
    int (*run)(struct nbd_handle *nbd, char **a, uint32_t flags);
};

/* write OFF LEN X: LEN bytes that make() gives for X. */
static int write_made(struct nbd_handle *nbd, char **a, uint32_t fl,
                      void (*make)(uint8_t *, uint64_t, uint64_t))
{
    uint64_t off = num(a[1]), len = num(a[2]);
    uint8_t *buf = alloc(len);
    make(buf, len, num(a[3]));
    int r = nbd_pwrite(nbd, buf, len, off, fl);
    free(buf);
    return r;
}

static int do_write(struct nbd_handle *nbd, char **a, uint32_t fl)
{
    return write_made(nbd, a, fl, fill_random);
}

static int do_fill(struct nbd_handle *nbd, char **a, uint32_t fl)
{
    return write_made(nbd, a, fl, fill_byte);
}

static int do_writefile(struct nbd_handle *nbd, char **a, uint32_t fl)
{
    uint64_t off = num(a[1]);
    FILE *f = fopen(a[2], "rb");
    if (!f) {
        perror(a[2]);
        exit(2);
    }
    static char buf[1 << 24];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return nbd_pwrite(nbd, buf, len, off, fl);
}

static int do_modify(struct nbd_handle *nbd, char **a, uint32_t fl)
{
    uint64_t off = num(a[1]), len = num(a[2]), seed = num(a[3]);
    uint8_t *buf = alloc(len);
    int r = nbd_pread(nbd, buf, len, off, 0);
    for (uint64_t i = 0; r == 0 && i < len; i += 512)
        buf[i] ^= (uint8_t)(pm_splitmix64(&seed) | 1);
    if (r == 0)
        r = nbd_pwrite(nbd, buf, len, off, fl);
    free(buf);
    return r;
}

static int do_zero(struct nbd_handle *nbd, char **a, uint32_t fl)
{
    return nbd_zero(nbd, num(a[2]), num(a[1]), fl);
}

static int do_trim(struct nbd_handle *nbd, char **a, uint32_t fl)
{
    return nbd_trim(nbd, num(a[2]), num(a[1]), fl);
}

static int do_flush(struct nbd_handle *nbd, char **a, uint32_t fl)
{
    (void)a, (void)fl;
    return nbd_flush(nbd, 0);
}

static int do_expect(struct nbd_handle *nbd, char **a, uint32_t fl)
{
    (void)fl;
    uint64_t off = num(a[1]), len = num(a[2]);
    int byte = (int)num(a[3]);
    unsigned char *buf = alloc(len);
    int r = nbd_pread(nbd, buf, len, off, 0);
    if (r == 0)
        for (uint64_t k = 0; k < len; k++)
            if (buf[k] != byte) {
                fprintf(stderr, "nbd-client: expect: byte %llu is 0x%02x, not 0x%02x\n",
                        (unsigned long long)(off + k), buf[k], byte);
                exit(1);
            }
    free(buf);
    return r;
}

static int write_file(const char *path, const void *buf, size_t len, FILE **f)
{
    if (!*f)
        *f = fopen(path, "wb");
    if (!*f || fwrite(buf, 1, len, *f) != len) {
        perror(path);
        exit(2);
    }
    return 0;
}

static void close_file(const char *path, FILE *f)
{
    if (f && fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

static int do_readfile(struct nbd_handle *nbd, char **a, uint32_t fl)
{
    (void)fl;
    uint64_t off = num(a[1]), len = num(a[2]);
    char *buf = alloc(len);
    FILE *f = NULL;
    int r = nbd_pread(nbd, buf, len, off, 0);
    if (r == 0) {
        write_file(a[3], buf, len, &f);
        close_file(a[3], f);
    }
    free(buf);
    return r;
}

static int do_readall(struct nbd_handle *nbd, char **a, uint32_t fl)
{
    (void)fl;
    int64_t size = nbd_get_size(nbd);
    if (size < 0)
        return -1;
    char *buf = alloc(CHUNK);
    FILE *f = fopen(a[1], "wb"); /* an empty device gives an empty file */
    if (!f) {
        perror(a[1]);
        exit(2);
    }
    int r = 0;
    for (int64_t o = 0; r == 0 && o < size; o += CHUNK) {
        size_t n = size - o < CHUNK ? (size_t)(size - o) : CHUNK;
        r = nbd_pread(nbd, buf, n, (uint64_t)o, 0);
        if (r == 0)
            write_file(a[1], buf, n, &f);
    }
    close_file(a[1], f);
    free(buf);
    return r;
}

static int do_info(struct nbd_handle *nbd, char **a, uint32_t fl)
{
    (void)a, (void)fl;
    printf("size=%lld min=%lld pref=%lld max=%lld multi_conn=%d fua=%d flush=%d "
           "zero=%d trim=%d\n",
           (long long)nbd_get_size(nbd), (long long)nbd_get_block_size(nbd, LIBNBD_SIZE_MINIMUM),
           (long long)nbd_get_block_size(nbd, LIBNBD_SIZE_PREFERRED),
           (long long)nbd_get_block_size(nbd, LIBNBD_SIZE_MAXIMUM), nbd_can_multi_conn(nbd),
           nbd_can_fua(nbd), nbd_can_flush(nbd), nbd_can_zero(nbd), nbd_can_trim(nbd));
    return 0;
}

static const struct cmd cmds[] = {
    {"write", 3, true, do_write},         {"fill", 3, true, do_fill},
    {"writefile", 2, true, do_writefile}, {"modify", 3, true, do_modify},
    {"zero", 2, true, do_zero},           {"trim", 2, true, do_trim},
    {"flush", 0, false, do_flush},        {"expect", 3, false, do_expect},
    {"readfile", 3, false, do_readfile},  {"readall", 1, false, do_readall},
    {"info", 0, false, do_info},
};

static const struct cmd *find(const char *name)
{
    for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++)
        if (strcmp(cmds[k].name, name) == 0)
            return &cmds[k];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: nbd-client SOCKET COMMAND...\n");
        return 2;
    }
    sock = argv[1];
    int cur = 1;
    enum { MUST_WORK, MUST_FAIL, MAY_FAIL } want = MUST_WORK;
    for (int i = 2; i < argc; i++) {
        const char *c = argv[i];
        if (strcmp(c, "expect-error") == 0 || strcmp(c, "may-fail") == 0) {
            want = c[0] == 'e' ? MUST_FAIL : MAY_FAIL;
            continue;
        }
        if (strcmp(c, "conn") == 0) {
            if (i + 1 >= argc)
                usage_error("conn needs 1 argument", NULL);
            uint64_t n = num(argv[++i]);
            if (n < 1 || n > MAX_CONN)
                usage_error("conn: not a connection from 1 to 8", argv[i]);
            cur = (int)n;
            conn(cur);
            continue;
        }
        const struct cmd *cmd = find(c);
        if (!cmd)
            usage_error("unknown command", c);
        if (i + cmd->nargs >= argc) {
            fprintf(stderr, "nbd-client: %s needs %d arguments\n", c, cmd->nargs);
            return 2;
        }
        char **a = &argv[i];
        i += cmd->nargs;
        uint32_t fl = 0;
        if (cmd->takes_fua && i + 1 < argc && strcmp(argv[i + 1], "fua") == 0)
            fl = LIBNBD_CMD_FLAG_FUA, i++;
        int r = cmd->run(conn(cur), a, fl);
        if (want == MUST_FAIL) {
            if (r == 0) {
                fprintf(stderr, "nbd-client: %s succeeded, expected an error\n", c);
                return 1;
            }
            if (nbd_get_errno() != EIO) {
                fprintf(stderr, "nbd-client: %s failed with %s, expected EIO\n", c,
                        strerror(nbd_get_errno()));
                return 1;
            }
        } else if (r == -1 && want == MUST_WORK) {
            fprintf(stderr, "nbd-client: %s: %s\n", c, nbd_get_error());
            return 1;
        }
        want = MUST_WORK;
    }
    for (int n = 1; n <= MAX_CONN; n++)
        if (h[n]) {
            nbd_shutdown(h[n], 0);
            nbd_close(h[n]);
        }
    return 0;
}
