/* guest/exec.c — a workload of the user's own (see exec.h). */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "run.h"
#include "sys.h"

#include "utils/error.h"
#include "utils/exitcode.h"
#include "utils/io.h"
#include "utils/json.h"
#include "utils/jsonr.h"
#include "utils/spawn.h"
#include "verify/acks.h"

#define USER_ACKS_MAX   1000000 /* promises read back at a check */
#define CHECK_OUTPUT    65536   /* the checker's output kept (its end) */
#define CHECK_OUTPUT_JS 2048    /* ... of which the result shows the end */
#define CHECK_STDERR    "/tmp/pmemcut-check.err"

static int ack_fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "pmemcut-agent: ack: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return PM_EXIT_USAGE;
}

int ga_cmd_ack(int argc, char **argv)
{
    if (argc < 1)
        return ack_fail("%s%sneeds the promise's text: pmemcut-agent ack TEXT", "", "");
    size_t len = 0;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    if (len > PM_USER_ACK_MAX + 1)
        return ack_fail("%s%sa promise is at most 1000 bytes", "", "");
    char text[PM_USER_ACK_MAX + 2] = "", why[128];
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(text, " ");
        strcat(text, argv[i]);
    }
    if (pm_user_ack_ok(text, why, sizeof why) < 0)
        return ack_fail("%s%s", why, "");

    /* PMEMCUT_ACK_TO=PATH: append the line there (a test without a VM). */
    const char *to = getenv("PMEMCUT_ACK_TO");
    char port[256];
    bool chan = !to || !*to;
    if (chan && ga_channel_find(GA_CHANNEL_NAME, port, sizeof port) < 0)
        return ack_fail("no virtio-serial port named %s%s (is this the pmemcut guest?)",
                        GA_CHANNEL_NAME, "");
    if (!chan)
        snprintf(port, sizeof port, "%s", to);
    int fd =
        open(port, chan ? O_RDWR | O_CLOEXEC : O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return ack_fail("open %s: %s", port, strerror(errno));
    char line[PM_USER_ACK_MAX + 16];
    int n = snprintf(line, sizeof line, "user-ack %s\n", text);
    int rc = 0;
    if (pm_write_all(fd, line, (size_t)n) < 0) {
        rc = ack_fail("write %s: %s", port, strerror(errno));
    } else if (chan && getenv("PMEMCUT_ACK_WAIT") && strcmp(getenv("PMEMCUT_ACK_WAIT"), "1") == 0) {
        char err[300];
        /* the host arms or cuts at this promise before we go on */
        if (ga_wait_go(fd, port, GA_ACK_WAIT_MS, err, sizeof err) < 0)
            rc = ack_fail("%s%s", err, "");
    }
    close(fd);
    return rc;
}

/* --- check ----------------------------------------------------------------- */

/* The promises, one per line, into a new file under /tmp (its name in
 * path); how many, or -1 with err.  From the channel the list must end
 * with `end`; other lines than `user-ack TEXT` are skipped, so that a raw
 * capture of the workload's channel can be fed back. */
static long load_user_acks(const struct ga_check_opts *o, char *path, size_t pathlen, int *chan,
                           char *err, size_t errlen)
{
    bool need_end;
    FILE *in = ga_list_open(o->acks, chan, &need_end, err, errlen);
    if (!in)
        return -1;
    snprintf(path, pathlen, "/tmp/pmemcut-acks-XXXXXX");
    int ofd = mkstemp(path);
    FILE *out = ofd >= 0 ? fdopen(ofd, "w") : NULL;
    if (!out) {
        snprintf(err, errlen, "create %s: %s", path, strerror(errno));
        if (ofd >= 0)
            close(ofd);
        if (in != stdin)
            fclose(in);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    long count = 0, lineno = 0;
    bool ended = false;
    int rc = 0;
    while (getline(&line, &cap, in) > 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, "end") == 0) {
            ended = true;
            break;
        }
        if (strncmp(line, "user-ack ", 9) != 0)
            continue;
        char why[128];
        if (pm_user_ack_ok(line + 9, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s: line %ld: %s", o->acks, lineno, why);
            rc = -1;
            break;
        }
        if (count == USER_ACKS_MAX) {
            snprintf(err, errlen, "%s: more than %d promises", o->acks, USER_ACKS_MAX);
            rc = -1;
            break;
        }
        fprintf(out, "%s\n", line + 9);
        count++;
    }
    free(line);
    if (in != stdin)
        fclose(in);
    if (fclose(out) != 0 && rc == 0) {
        snprintf(err, errlen, "write %s: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && need_end && !ended) {
        snprintf(err, errlen, "the promises from the host did not end with 'end'");
        rc = -1;
    }
    if (rc < 0) {
        unlink(path);
        return -1;
    }
    return count;
}

/* The last non-empty line of out, if it is a JSON object: its text. */
static const char *last_json_line(char *out)
{
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
    char *l = strrchr(out, '\n');
    l = l ? l + 1 : out;
    struct jr_doc d;
    jr_init(&d);
    bool obj = *l == '{' && jr_parse(&d, l, strlen(l)) == 0 && d.n[0].type == JR_OBJ;
    jr_free(&d);
    return obj ? l : NULL;
}

int ga_cmd_check(const struct ga_check_opts *o)
{
    if (o->dev && (!o->fs || !ga_fs_known(o->fs)))
        return ga_error("check", "--dev needs --fs ext4 or --fs xfs");
    if (!o->argv || !o->argv[0])
        return ga_error("check", "needs the checker after --: check ... -- CMD [ARGS]");
    char acks[64], err[512];
    int chan;
    long nacks = load_user_acks(o, acks, sizeof acks, &chan, err, sizeof err);
    if (nacks < 0)
        return ga_error("check", "%s", err);

    struct pm_fsck fsck = {0};
    bool mounted = true;
    if (o->dev) {
        if (ga_check_and_mount(o->dev, o->dir, o->fs, &fsck) < 0)
            mounted = false;
    }

    /* The checker, in the workload's directory, with the promises' file. */
    struct pm_spawn_result res = {0};
    bool ran = false;
    int status = -1;
    if (mounted) {
        setenv("PMEMCUT_DIR", o->dir, 1);
        setenv("PMEMCUT_ACKS", acks, 1);
        if (chdir(o->dir) < 0) {
            snprintf(err, sizeof err, "cd %s: %s", o->dir, strerror(errno));
        } else {
            /* stdout is the checker's answer (its last line, JSON); its
             * stderr goes to a file of its own, reported beside it */
            size_t n = 0;
            while (o->argv[n])
                n++;
            char **argv = calloc(n + 5, sizeof *argv);
            if (!argv) {
                unlink(acks);
                return ga_error("check", "out of memory");
            }
            argv[0] = "sh";
            argv[1] = "-c";
            argv[2] = "exec \"$@\" 2>" CHECK_STDERR;
            argv[3] = "sh";
            memcpy(argv + 4, o->argv, n * sizeof *argv);
            unlink(CHECK_STDERR);
            struct pm_spawn sp = {.argv = argv, .capture = CHECK_OUTPUT, .timeout = o->timeout};
            ran = pm_spawn_run(&sp, &res) == 0;
            free(argv);
            status = res.status;
            if (!ran)
                snprintf(err, sizeof err, "%s", pm_get_error());
        }
    }
    /* 0 PASS, 1 FAIL, anything else is the checker's own error */
    const char *checker = !mounted                ? "not run"
                          : !ran || res.timed_out ? "error"
                          : status == 0           ? "PASS"
                          : status == 1           ? "FAIL"
                                                  : "error";
    bool lost = !mounted ? nacks > 0 : strcmp(checker, "FAIL") == 0;
    const char *verdict = strcmp(checker, "error") == 0            ? "ERROR"
                          : (fsck.ran && !fsck.clean) || !mounted  ? "FAIL"
                          : lost && o->expect == PM_EXPECT_DURABLE ? "FAIL"
                                                                   : "PASS";

    struct ga_json j;
    if (ga_json_open(&j) < 0) {
        pm_spawn_result_free(&res);
        unlink(acks);
        return ga_error("check", "out of memory");
    }
    FILE *f = j.f;
    int first = 1;
    fputc('{', f);
    pm_json_key(f, &first, "command");
    pm_json_str(f, "check");
    pm_json_key(f, &first, "verdict");
    pm_json_str(f, verdict);
    pm_json_key(f, &first, "expect");
    pm_json_str(f, o->expect == PM_EXPECT_DURABLE ? "durable" : "none");
    pm_json_key(f, &first, "acked");
    fprintf(f, "%ld", nacks);
    pm_json_key(f, &first, "lost_allowed");
    fputs(lost && o->expect == PM_EXPECT_NONE ? "true" : "false", f);
    pm_json_key(f, &first, "missing");
    fputc('[', f);
    if (!mounted && nacks > 0) {
        /* the promises themselves: every one is gone with the filesystem */
        FILE *af = fopen(acks, "re");
        char *l = NULL;
        size_t cap = 0;
        for (long i = 0; af && i < PM_VERDICT_LIST_MAX && getline(&l, &cap, af) > 0; i++) {
            l[strcspn(l, "\n")] = '\0';
            fprintf(f, "%s{\"ack\":", i ? "," : "");
            pm_json_str(f, l);
            fputs(",\"what\":\"filesystem did not mount\"}", f);
        }
        free(l);
        if (af)
            fclose(af);
    }
    fputc(']', f);
    pm_json_key(f, &first, "corrupt");
    fputs("[]", f);
    pm_json_key(f, &first, "fsck");
    pm_fsck_json(&fsck, f);
    pm_json_key(f, &first, "checker");
    fputs("{\"verdict\":", f);
    pm_json_str(f, checker);
    fputs(",\"exit\":", f);
    if (ran)
        fprintf(f, "%d", status);
    else
        fputs("null", f);
    fprintf(f, ",\"timed_out\":%s,\"result\":", ran && res.timed_out ? "true" : "false");
    char *out = ran && res.output ? res.output : NULL;
    const char *js = out ? last_json_line(out) : NULL;
    fputs(js ? js : "null", f);
    fputs(",\"output\":", f);
    if (out) {
        size_t n = strlen(out);
        pm_json_str(f, n > CHECK_OUTPUT_JS ? out + n - CHECK_OUTPUT_JS : out);
    } else {
        pm_json_str(f, mounted && !ran ? err : NULL);
    }
    fputs(",\"stderr\":", f);
    char errtail[CHECK_OUTPUT_JS + 1] = "";
    int efd = ran ? open(CHECK_STDERR, O_RDONLY | O_CLOEXEC) : -1;
    if (efd >= 0) {
        off_t end = lseek(efd, 0, SEEK_END);
        off_t from = end > CHECK_OUTPUT_JS ? end - CHECK_OUTPUT_JS : 0;
        ssize_t got = pread(efd, errtail, CHECK_OUTPUT_JS, from);
        errtail[got > 0 ? got : 0] = '\0';
        close(efd);
    }
    pm_json_str(f, errtail[0] ? errtail : NULL);
    fputs("}}", f);
    ga_json_close(&j);
    pm_spawn_result_free(&res);
    unlink(acks);
    if (ga_emit(j.s, chan, "verdict") < 0)
        fprintf(stderr, "pmemcut-agent: check: cannot send the verdict: %s\n", strerror(errno));
    free(j.s);
    if (chan >= 0)
        close(chan);
    return strcmp(verdict, "PASS") == 0   ? PM_EXIT_OK
           : strcmp(verdict, "FAIL") == 0 ? PM_EXIT_FAIL
                                          : PM_EXIT_USAGE;
}
