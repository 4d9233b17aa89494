/* pmemcut — the control commands (protocol in README.md): one table of
 * {name, handler}, and one handler per command that parses its arguments
 * and then acts on the device (device.h) under the device's locks.
 *
 * Parsing never changes anything: a command is fully parsed and checked
 * before it touches the device, and the model itself changes nothing when
 * it refuses.  Everything a command needs lives in its own call (the line,
 * its words, the reply buffer): client threads run commands side by side.
 */
#include "commands.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/format.h"
#include "device.h"
#include "utils/parse.h"

#define MAX_WORDS 16

/* One command line, split.  Owned by the call that runs it. */
struct cmd_line {
    const char *name;   /* the command word */
    char *rest;         /* the rest of the line, blanks in front removed */
    char *at_mark;      /* arm: the text after at-mark=, or NULL */
    char *w[MAX_WORDS]; /* the words of rest (before at-mark=) */
    int n;
};

/* --- argument parsing -------------------------------------------------------- */

/* Every number in a command is checked here, before anything happens:
 * decimal digits only (no sign, no blanks, no base prefix) for counts and
 * offsets, a finite real for p and times, each within its bounds. */

/* Counts (after-writes=, before-flush=) stay below 2^53, as seeds do, so
 * that every JSON reader keeps the "seen" of status exact. */
#define MAX_COUNT PM_SEED_MAX
/* The longest wait-off: about 11 days.  The bound keeps the deadline far
 * from overflowing a timespec; a wait without end is wait-off without
 * timeout=. */
#define MAX_WAIT 1e6

/* policy=, p=, seed= shared by cut and arm.  Returns 0 if the word was one
 * of them (and valid), 1 if it was not one of them, -1 with a message. */
static int parse_cut_word(const char *w, struct pm_cut_params *cp, bool *have_seed, bool *have_p,
                          struct jbuf *err)
{
    if (strncmp(w, "policy=", 7) == 0) {
        if (pm_policy_parse(w + 7, &cp->policy) == 0)
            return 0;
        jb_printf(err, "policy: unknown policy '%s' (lose-all, keep-all, random, torn, prefix)",
                  w + 7);
        return -1;
    }
    if (strncmp(w, "p=", 2) == 0) {
        if (pm_parse_double(w + 2, 0, 1, &cp->p) == 0) {
            *have_p = true;
            return 0;
        }
        jb_printf(err, "p: '%s' is not a probability between 0 and 1", w + 2);
        return -1;
    }
    if (strncmp(w, "seed=", 5) == 0) {
        if (pm_parse_u64(w + 5, PM_SEED_MAX, &cp->seed) == 0) {
            *have_seed = true;
            return 0;
        }
        jb_printf(err, "seed: '%s' is not an integer from 0 to 2^53-1", w + 5);
        return -1;
    }
    return 1;
}

static int check_p(const struct pm_cut_params *cp, bool have_p, struct jbuf *err)
{
    if (have_p && cp->policy != PM_RANDOM) {
        jb_printf(err, "p: only the random policy takes p=");
        return -1;
    }
    return 0;
}

/* Splits s in place at blanks into at most MAX_WORDS words; -1 if there are
 * more.  Reentrant (not strtok): its only state is its arguments. */
static int split(char *s, char **w)
{
    int n = 0;
    for (;;) {
        s += strspn(s, " \t");
        if (!*s)
            return n;
        if (n == MAX_WORDS)
            return -1;
        w[n++] = s;
        s += strcspn(s, " \t");
        if (*s)
            *s++ = '\0';
    }
}

/* The one rule for a mark text, in mark and in arm's at-mark=: the rest of
 * the line from its first non-blank byte, 1 to PM_MARK_MAX bytes; longer is
 * refused, never cut.  *text points into s. */
static int mark_text(char *s, const char *what, char **text, struct jbuf *out)
{
    s += strspn(s, " \t");
    if (!*s) {
        jb_printf(out, "%s: needs a text", what);
        return -1;
    }
    if (strlen(s) > PM_MARK_MAX) {
        jb_printf(out, "%s: text of %zu bytes, longer than %d", what, strlen(s), PM_MARK_MAX);
        return -1;
    }
    *text = s;
    return 0;
}

/* --- acting on the device ------------------------------------------------------ */

/* The reply of an operation the model refused (out is replaced). */
static int model_error(int r, const struct pd_hook_ctx *ctx, struct jbuf *out)
{
    jb_reset(out);
    switch (r) {
    case PM_ECOMMIT: {
        char msg[128]; /* strerror's buffer may be shared by the client threads */
        jb_printf(out, "audit log cannot be written: %s", strerror_r(ctx->err, msg, sizeof msg));
        break;
    }
    case PM_ERANGE:
        jb_printf(out, "range is outside the device (size %llu)", (unsigned long long)pd_dev.size);
        break;
    case PM_EINVAL:
        jb_printf(out, "invalid argument");
        break;
    case PM_ENOMEM:
        jb_printf(out, "out of memory");
        break;
    case PM_EOFF:
    case PM_ESTATE:
        jb_printf(out, "device is %s", pm_model_is_on(pd_dev.m) ? "already on" : "off");
        break;
    default:
        jb_printf(out, "internal error %d", r);
    }
    return -1;
}

/* Ends a command that ran model operation r under pd_dev.lock: on failure
 * the reply becomes the reason. */
static int finish(int r, struct pd_hook_ctx *ctx, struct jbuf *out)
{
    if (r)
        model_error(r, ctx, out);
    pthread_rwlock_unlock(&pd_dev.lock);
    free(ctx->cut_reply);
    return r ? -1 : 0;
}

/* The default cut parameters, with a seed of its own for the next cut.  The
 * caller holds pd_dev.lock. */
static void default_cut_locked(struct pm_cut_params *cp)
{
    struct pm_stats st;
    pm_model_stats(pd_dev.m, &st);
    *cp = pd_dev.cfg.cut;
    /* Each cut without an explicit seed gets its own, derived from seed=
     * and the cut's number, and logged. */
    uint64_t s = pd_dev.cfg.cut.seed + st.cuts + 1;
    cp->seed = pm_rng_next(&s) & PM_SEED_MAX;
}

static void default_cut(struct pm_cut_params *cp)
{
    pthread_rwlock_wrlock(&pd_dev.lock);
    default_cut_locked(cp);
    pthread_rwlock_unlock(&pd_dev.lock);
}

static void armed_json(struct jbuf *b, const struct pm_trigger *t)
{
    if (!t) {
        jb_printf(b, "null");
        return;
    }
    struct jbuf s;
    jb_init(&s);
    pm_audit_trigger_text(&s, t);
    jb_printf(b, "{\"trigger\":");
    jb_str(b, s.s ? s.s : "");
    jb_free(&s);
    if (t->kind != PM_TRIG_AT_MARK)
        jb_printf(b, ",\"seen\":%llu", (unsigned long long)t->seen);
    pm_audit_put_cut_params(b, &t->cut);
    jb_printf(b, "}");
}

/* --- the commands ---------------------------------------------------------------- */

static int cmd_status(struct cmd_line *l, struct jbuf *out)
{
    (void)l;
    pthread_rwlock_wrlock(&pd_dev.lock); /* no write half done: counts agree with the log */
    struct pm_stats st;
    pm_model_stats(pd_dev.m, &st);
    jb_printf(out,
              "{\"power\":\"%s\",\"size\":%llu,\"line\":%u,\"dirty_lines\":%llu,"
              "\"dirty_meta_lines\":%llu",
              pm_model_is_on(pd_dev.m) ? "on" : "off", (unsigned long long)st.size, st.line,
              (unsigned long long)pm_counts_total(&st.dirty),
              (unsigned long long)st.dirty.c[PM_META]);
    pm_audit_put_counts(out, "dirty", &st.dirty);
    jb_printf(out, ",\"writes\":%llu,\"flushes\":%llu,\"cuts\":%llu,\"armed\":",
              (unsigned long long)st.writes, (unsigned long long)st.flushes,
              (unsigned long long)st.cuts);
    armed_json(out, pm_model_armed(pd_dev.m));
    /* Read seq under the audit writer's own mutex, as everywhere. */
    pthread_mutex_lock(&pd_dev.audit.lock);
    uint64_t seq = pd_dev.audit.seq;
    pthread_mutex_unlock(&pd_dev.audit.lock);
    jb_printf(out, ",\"flush_mode\":\"%s\",\"policy\":\"%s\",\"audit_seq\":%llu}",
              pm_model_is_lying(pd_dev.m) ? "ignore" : "honor",
              pm_policy_name(pd_dev.cfg.cut.policy), (unsigned long long)seq);
    pthread_rwlock_unlock(&pd_dev.lock);
    return 0;
}

static int cmd_cut(struct cmd_line *l, struct jbuf *out)
{
    struct pm_cut_params cp;
    default_cut(&cp);
    bool have_seed = false, have_p = false;
    for (int i = 0; i < l->n; i++) {
        int r = parse_cut_word(l->w[i], &cp, &have_seed, &have_p, out);
        if (r == 1)
            jb_printf(out, "cut: unknown argument '%s'", l->w[i]);
        if (r)
            return -1;
    }
    if (check_p(&cp, have_p, out))
        return -1;

    struct pd_hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&pd_dev.lock);
    int r = pm_model_cut(pd_dev.m, &cp, "manual", pd_hook, &ctx);
    if (r == 0)
        jb_printf(out, "%s", ctx.cut_reply ? ctx.cut_reply : "{}");
    return finish(r, &ctx, out);
}

/* after-writes=N or before-flush=N: 0, 1 if w is neither, -1 with a message. */
static int parse_count_trigger(const char *w, struct pm_trigger *t, struct jbuf *out)
{
    enum pm_trigger_kind k = PM_TRIG_NONE;
    const char *v = NULL;
    if (strncmp(w, "after-writes=", 13) == 0)
        k = PM_TRIG_AFTER_WRITES, v = w + 13;
    else if (strncmp(w, "before-flush=", 13) == 0)
        k = PM_TRIG_BEFORE_FLUSH, v = w + 13;
    if (k == PM_TRIG_NONE)
        return 1;
    if (t->kind != PM_TRIG_NONE) {
        jb_printf(out, "arm: give exactly one of after-writes=, before-flush=, at-mark=");
        return -1;
    }
    t->kind = k;
    if (pm_parse_u64(v, MAX_COUNT, &t->n) || t->n == 0) {
        jb_printf(out, "%.*s: '%s' is not an integer from 1 to 2^53-1", 12, w, v);
        return -1;
    }
    return 0;
}

static int cmd_arm(struct cmd_line *l, struct jbuf *out)
{
    struct pm_trigger t = {0};
    default_cut(&t.cut);
    bool have_seed = false, have_p = false;
    for (int i = 0; i < l->n; i++) {
        int r = parse_cut_word(l->w[i], &t.cut, &have_seed, &have_p, out);
        if (r == 1) {
            r = parse_count_trigger(l->w[i], &t, out);
            if (r == 1)
                jb_printf(out, "arm: unknown argument '%s'", l->w[i]);
        }
        if (r)
            return -1;
    }
    if (l->at_mark) {
        if (t.kind != PM_TRIG_NONE) {
            jb_printf(out, "arm: give exactly one of after-writes=, before-flush=, at-mark=");
            return -1;
        }
        if (mark_text(l->at_mark, "at-mark", &t.mark, out)) /* the model copies it */
            return -1;
        t.kind = PM_TRIG_AT_MARK;
    }
    if (t.kind == PM_TRIG_NONE) {
        jb_printf(out, "arm: needs after-writes=N, before-flush=N or at-mark=TEXT");
        return -1;
    }
    if (check_p(&t.cut, have_p, out))
        return -1;

    struct pd_hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&pd_dev.lock);
    if (!have_seed) {
        struct pm_cut_params cp;
        default_cut_locked(&cp);
        t.cut.seed = cp.seed;
    }
    int r = pm_model_arm(pd_dev.m, &t, pd_hook, &ctx);
    if (r == 0) {
        jb_printf(out, "{\"seq\":%llu,\"armed\":", (unsigned long long)ctx.seq);
        armed_json(out, pm_model_armed(pd_dev.m));
        jb_printf(out, "}");
    }
    return finish(r, &ctx, out);
}

static int cmd_disarm(struct cmd_line *l, struct jbuf *out)
{
    (void)l;
    struct pd_hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&pd_dev.lock);
    bool was = pm_model_armed(pd_dev.m) != NULL;
    int r = pm_model_disarm(pd_dev.m, pd_hook, &ctx);
    if (r == 0)
        jb_printf(out, "{\"seq\":%llu,\"was_armed\":%s}", (unsigned long long)ctx.seq,
                  was ? "true" : "false");
    return finish(r, &ctx, out);
}

/* Waits until the device is off (the reply is the cut's record), the
 * timeout passes, or the server stops.  timeout: -1 (no limit) or 0 to
 * MAX_WAIT seconds. */
static int wait_off(double timeout, struct jbuf *out)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout >= 0) {
        /* In whole seconds and nanoseconds: a double sum loses the
         * nanoseconds, and a large one makes tv_nsec negative. */
        time_t whole = (time_t)timeout;
        until.tv_sec += whole;
        until.tv_nsec += (long)((timeout - (double)whole) * 1e9);
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&pd_dev.power_mu);
    /* Only a wake-up (0) waits again: ETIMEDOUT ends the wait, and so does
     * any other error, rather than spin with the mutex held. */
    int r = 0;
    while (!pd_dev.off && !pd_dev.stopping && r == 0)
        r = timeout < 0 ? pthread_cond_wait(&pd_dev.power_cv, &pd_dev.power_mu)
                        : pthread_cond_timedwait(&pd_dev.power_cv, &pd_dev.power_mu, &until);
    int ret = 0;
    if (pd_dev.off) {
        jb_printf(out, "%s", pd_dev.cut_record ? pd_dev.cut_record : "{}");
    } else {
        jb_printf(out, pd_dev.stopping ? "plugin is shutting down" : "timeout");
        ret = -1;
    }
    pthread_mutex_unlock(&pd_dev.power_mu);
    return ret;
}

static int cmd_wait_off(struct cmd_line *l, struct jbuf *out)
{
    double timeout = -1;
    for (int i = 0; i < l->n; i++) {
        if (strncmp(l->w[i], "timeout=", 8) == 0 &&
            pm_parse_double(l->w[i] + 8, 0, MAX_WAIT, &timeout) == 0)
            continue;
        jb_printf(out, "wait-off: bad argument '%s' (timeout=SECONDS, 0 to %.0f)", l->w[i],
                  MAX_WAIT);
        return -1;
    }
    return wait_off(timeout, out);
}

void pd_commands_wake_all(void)
{
    pthread_mutex_lock(&pd_dev.power_mu);
    pd_dev.stopping = true;
    pthread_cond_broadcast(&pd_dev.power_cv);
    pthread_mutex_unlock(&pd_dev.power_mu);
}

static int cmd_power_on(struct cmd_line *l, struct jbuf *out)
{
    (void)l;
    struct pd_hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&pd_dev.lock);
    int r = pm_model_power_on(pd_dev.m, pd_hook, &ctx);
    if (r == 0)
        jb_printf(out, "{\"seq\":%llu,\"power\":\"on\"}", (unsigned long long)ctx.seq);
    return finish(r, &ctx, out);
}

/* mark takes the rest of the line (mark_text). */
static int cmd_mark(struct cmd_line *l, struct jbuf *out)
{
    char *text;
    if (mark_text(l->rest, "mark", &text, out))
        return -1;
    struct pd_hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&pd_dev.lock);
    struct pm_stats st;
    pm_model_stats(pd_dev.m, &st);
    uint64_t cuts_before = st.cuts;
    int r = pm_model_mark(pd_dev.m, text, pd_hook, &ctx);
    pm_model_stats(pd_dev.m, &st);
    if (r == 0) {
        /* The mark's record comes first; a cut it fires is logged after it. */
        jb_printf(out, "{\"seq\":%llu,\"cut\":", (unsigned long long)ctx.first_seq);
        if (st.cuts != cuts_before && ctx.cut_reply)
            jb_printf(out, "%s}", ctx.cut_reply);
        else
            jb_printf(out, "null}");
    }
    return finish(r, &ctx, out);
}

static int cmd_classify(struct cmd_line *l, struct jbuf *out)
{
    enum pm_class cls;
    uint64_t off, len;
    if (l->n != 3) {
        jb_printf(out, "classify: needs CLASS OFFSET LENGTH");
        return -1;
    }
    if (pm_class_parse(l->w[0], &cls)) {
        jb_printf(out, "classify: unknown class '%s' (meta, data, unknown)", l->w[0]);
        return -1;
    }
    if (pm_parse_u64(l->w[1], UINT64_MAX, &off) || pm_parse_u64(l->w[2], UINT64_MAX, &len) ||
        len == 0) {
        jb_printf(out, "classify: OFFSET and LENGTH must be unsigned integers, LENGTH > 0");
        return -1;
    }

    struct pd_hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&pd_dev.lock);
    int r = pm_model_classify(pd_dev.m, cls, off, len, pd_hook, &ctx);
    if (r == 0) {
        uint64_t lines = (off + len - 1) / pd_dev.cfg.line - off / pd_dev.cfg.line + 1;
        jb_printf(out, "{\"seq\":%llu,\"class\":\"%s\",\"lines\":%llu}",
                  (unsigned long long)ctx.seq, pm_class_name(cls), (unsigned long long)lines);
    }
    return finish(r, &ctx, out);
}

struct dirty_ctx {
    struct jbuf *out;
    size_t n;
};

static void dirty_one(void *vctx, uint64_t off, uint64_t len, enum pm_class cls)
{
    struct dirty_ctx *c = vctx;
    jb_printf(c->out, "%s[%llu,%llu,\"%s\"]", c->n++ ? "," : "", (unsigned long long)off,
              (unsigned long long)len, pm_class_name(cls));
}

static int cmd_dirty(struct cmd_line *l, struct jbuf *out)
{
    uint64_t max = 0;
    for (int i = 0; i < l->n; i++) {
        if (strncmp(l->w[i], "max=", 4) == 0 && pm_parse_u64(l->w[i] + 4, SIZE_MAX, &max) == 0)
            continue;
        jb_printf(out, "dirty: bad argument '%s' (max=N)", l->w[i]);
        return -1;
    }

    pthread_rwlock_wrlock(&pd_dev.lock);
    struct dirty_ctx c = {out, 0};
    struct pm_stats st;
    pm_model_stats(pd_dev.m, &st);
    jb_printf(out, "{\"dirty_lines\":%llu,\"ranges\":[",
              (unsigned long long)pm_counts_total(&st.dirty));
    pm_model_dirty_ranges(pd_dev.m, (size_t)max, dirty_one, &c);
    jb_printf(out, "]}");
    pthread_rwlock_unlock(&pd_dev.lock);
    return 0;
}

static int cmd_fault(struct cmd_line *l, struct jbuf *out)
{
    bool lying;
    if (l->n == 1 && strcmp(l->w[0], "flush=ignore") == 0) {
        lying = true;
    } else if (l->n == 1 && strcmp(l->w[0], "flush=honor") == 0) {
        lying = false;
    } else {
        jb_printf(out, "fault: needs flush=ignore or flush=honor");
        return -1;
    }

    struct pd_hook_ctx ctx = {0};
    pthread_rwlock_wrlock(&pd_dev.lock);
    int r = pm_model_set_lying(pd_dev.m, lying, pd_hook, &ctx);
    if (r == 0)
        jb_printf(out, "{\"seq\":%llu,\"flush_mode\":\"%s\"}", (unsigned long long)ctx.seq,
                  lying ? "ignore" : "honor");
    return finish(r, &ctx, out);
}

/* --- the table --------------------------------------------------------------------- */

enum {
    NO_ARGS = 1 << 0,  /* refuses any argument */
    VERBATIM = 1 << 1, /* takes the rest of the line as it is, not split */
    AT_MARK = 1 << 2,  /* at-mark=TEXT takes the rest of the line: mark texts have blanks */
};

static const struct command {
    const char *name;
    int (*run)(struct cmd_line *l, struct jbuf *out);
    unsigned flags;
} commands[] = {
    {"status", cmd_status, NO_ARGS}, {"cut", cmd_cut, 0},
    {"arm", cmd_arm, AT_MARK},       {"disarm", cmd_disarm, NO_ARGS},
    {"wait-off", cmd_wait_off, 0},   {"power-on", cmd_power_on, NO_ARGS},
    {"mark", cmd_mark, VERBATIM},    {"classify", cmd_classify, 0},
    {"dirty", cmd_dirty, 0},         {"fault", cmd_fault, 0},
};

/* Cuts the at-mark= word (at the start of the text or after a blank) and
 * all that follows it off rest; returns the text after "at-mark=". */
static char *take_at_mark(char *rest)
{
    char *a = strstr(rest, "at-mark=");
    while (a && a != rest && a[-1] != ' ' && a[-1] != '\t')
        a = strstr(a + 1, "at-mark=");
    if (!a)
        return NULL;
    *a = '\0';
    return a + 8;
}

int pd_command_run(char *line, struct jbuf *out)
{
    line += strspn(line, " \t");
    char *rest = line + strcspn(line, " \t");
    char name[32];
    size_t cl = (size_t)(rest - line);
    if (cl == 0) {
        jb_printf(out, "empty command");
        return -1;
    }
    if (cl >= sizeof name) {
        jb_printf(out, "unknown command");
        return -1;
    }
    memcpy(name, line, cl);
    name[cl] = '\0';
    rest += strspn(rest, " \t");

    const struct command *c = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(name, commands[i].name) == 0)
            c = &commands[i];
    struct cmd_line l = {.name = name, .rest = rest};
    if (c && (c->flags & VERBATIM))
        return c->run(&l, out);
    if (c && (c->flags & AT_MARK))
        l.at_mark = take_at_mark(rest);
    l.n = split(rest, l.w);
    if (l.n < 0) {
        jb_printf(out, "%s: too many arguments", name);
        return -1;
    }
    if (!c) {
        jb_printf(out, "unknown command '%s'", name);
        return -1;
    }
    if ((c->flags & NO_ARGS) && l.n) {
        jb_printf(out, "%s: takes no arguments (got '%s')", name, l.w[0]);
        return -1;
    }
    return c->run(&l, out);
}
