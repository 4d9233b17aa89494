/* tests/fuzz/fuzz-channel.c — libFuzzer harness of what pmemcut-host makes
 * of the guest's output (host/channel.c): the agent channel's lines (`ack
 * FILE SEQ METHOD`, `result <json>`, `verdict <json>`, `prepared <json>`,
 * `extents <json>`) and the console's PMEMCUT-RESULT markers.
 *
 * Input: the bytes a guest sends, read as pmemcut-host reads them: lines
 * split at "\n" with a "\r" before it dropped (pm_lines_read), each a C
 * string (the host's handlers see it up to a NUL); and the whole input as a
 * console log. Whatever the guest sends:
 *   - an ack is one the agent's parser takes back, and carries no JSON;
 *   - a JSON kind is an object, the rest carries nothing;
 *   - prepared's filesystem offset lies on the device;
 *   - every range labelled from an extents report lies on the device,
 *     non-empty, for a small and a large device;
 *   - the verdict is one of four, refused exactly when the run said so;
 *   - the console's error is one line.
 * The sanitizers (ASan, UBSan with float-cast-overflow) catch the rest.
 *
 * Seeds (tests/fuzz/corpus/channel/) are real lines of pmemcut-agent run,
 * extents and verify (guest/pmemcut-agent on the host, acks to a file),
 * prepare's JSON as guest/fs.c writes it, and /init's console markers.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-tmp.h"

#include "channel.h"
#include "verify/acks.h"

static const char *path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_tmp_init("channel");
    path = fuzz_tmp_file("console.log");
    return 0;
}

static const int64_t sizes[] = {18 << 20, (int64_t)1 << 40};

static void check_extents(json_t *ext)
{
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        struct ph_range *r;
        size_t n = ph_guest_extents(ext, sizes[s], &r);
        if (n && !r)
            abort();
        for (size_t i = 0; i < n; i++)
            if (r[i].off < 0 || r[i].len <= 0 || r[i].off >= sizes[s] ||
                r[i].len > sizes[s] - r[i].off)
                abort();
        free(r);
    }
}

static void check_line(const char *line, json_t **run, json_t **verify)
{
    json_t *j = NULL;
    enum ph_guest_msg m = ph_guest_parse(line, &j);
    struct pm_ack a;
    char why[200];
    switch (m) {
    case PH_MSG_ACK:
        if (j || pm_ack_parse(line, &a, why, sizeof why) != 0)
            abort();
        return;
    case PH_MSG_USER_ACK:
        /* a user's promise: the text after "user-ack " is what the guest
         * may send, and the host keeps it as one line */
        if (j || strncmp(line, "user-ack ", 9) != 0 || pm_user_ack_ok(line + 9, why, sizeof why))
            abort();
        return;
    case PH_MSG_OTHER:
        if (j)
            abort();
        return;
    case PH_MSG_RESULT:
    case PH_MSG_PREPARED:
    case PH_MSG_EXTENTS:
        if (!json_is_object(j))
            abort();
        break;
    }
    if (m == PH_MSG_PREPARED)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            int64_t off = ph_guest_dev_offset(j, sizes[s]);
            if (off < 0 || off >= sizes[s])
                abort();
        }
    if (m == PH_MSG_EXTENTS)
        check_extents(j);
    if (m == PH_MSG_RESULT) {
        /* as the host keeps them: the verify boot's has a verdict */
        json_t **keep = json_object_get(j, "verdict") ? verify : run;
        json_decref(*keep);
        *keep = j;
        return;
    }
    json_decref(j);
}

static bool one_of_verdicts(const char *v)
{
    return v && (strcmp(v, "PASS") == 0 || strcmp(v, "FAIL") == 0 ||
                 strcmp(v, "allowed-loss") == 0 || strcmp(v, "refused") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The console log. */
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size))
        abort();
    fclose(f);
    char *res = ph_guest_console_result(path);
    if (res && strpbrk(res, "\r\n"))
        abort();
    free(res);

    /* The channel, line by line. */
    json_t *run = NULL, *verify = NULL;
    const uint8_t *p = data, *end = data + size;
    for (int lines = 0; p < end && lines < 512; lines++) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = malloc(n + 1);
        if (!line)
            abort();
        memcpy(line, p, n);
        line[n] = '\0';
        if (n && line[n - 1] == '\r')
            line[n - 1] = '\0';
        check_line(line, &run, &verify);
        free(line);
        p += n + (nl ? 1 : 0);
    }
    const char *exp[] = {"durable", "none"};
    for (int i = 0; i < 2; i++) {
        const char *v = ph_guest_verdict(exp[i], run, verify);
        if (!one_of_verdicts(v) || (strcmp(v, "refused") == 0) != ph_guest_refused(run))
            abort();
    }
    json_decref(run);
    json_decref(verify);
    return 0;
}
