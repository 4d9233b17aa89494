/* verify/verdict.c — accumulate verify's findings, decide, print them. */
#include "verdict.h"

#include <stdlib.h>
#include <string.h>

#include "utils/json.h"
#include "utils/vec.h"

int pm_expect_parse(const char *s)
{
    if (strcmp(s, "durable") == 0)
        return PM_EXPECT_DURABLE;
    if (strcmp(s, "none") == 0)
        return PM_EXPECT_NONE;
    return -1;
}

void pm_verdict_init(struct pm_verdict *v, enum pm_expect expect)
{
    memset(v, 0, sizeof *v);
    v->expect = expect;
}

void pm_verdict_free(struct pm_verdict *v)
{
    free(v->missing.v);
    free(v->corrupt.v);
    v->missing.v = v->corrupt.v = NULL;
}

void pm_verdict_present(struct pm_verdict *v)
{
    v->acked++;
    v->present++;
}

void pm_verdict_superseded(struct pm_verdict *v)
{
    v->acked++;
    v->superseded++;
}

static void add_loss(struct pm_verdict *v, struct pm_loss_list *l, const struct pm_ack *a,
                     const char *what)
{
    v->acked++;
    if (pm_vec_reserve_((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v) < 0) {
        v->oom = 1;
        return;
    }
    struct pm_loss *x = &l->v[l->n++];
    snprintf(x->file, sizeof x->file, "%s", a->file);
    x->seq = a->seq;
    x->method = a->method;
    snprintf(x->what, sizeof x->what, "%s", what);
}

void pm_verdict_missing(struct pm_verdict *v, const struct pm_ack *a, const char *what)
{
    add_loss(v, &v->missing, a, what);
}

void pm_verdict_corrupt(struct pm_verdict *v, const struct pm_ack *a, const char *what)
{
    add_loss(v, &v->corrupt, a, what);
}

int pm_verdict_pass(const struct pm_verdict *v)
{
    if (v->oom)
        return 0;
    if (v->fsck.ran && !v->fsck.clean)
        return 0;
    if (v->expect == PM_EXPECT_DURABLE && v->missing.n + v->corrupt.n > 0)
        return 0;
    return 1;
}

static void losses_json(FILE *f, const struct pm_loss_list *l)
{
    fputc('[', f);
    for (size_t i = 0; i < l->n && i < PM_VERDICT_LIST_MAX; i++) {
        const struct pm_loss *x = &l->v[i];
        fprintf(f, "%s{\"file\":", i ? "," : "");
        pm_json_str(f, x->file);
        fprintf(f, ",\"seq\":%llu,\"method\":", (unsigned long long)x->seq);
        pm_json_str(f, pm_method_name(x->method));
        fputs(",\"what\":", f);
        pm_json_str(f, x->what);
        fputc('}', f);
    }
    fputc(']', f);
}

void pm_fsck_json(const struct pm_fsck *c, FILE *f)
{
    if (!c->ran) {
        fputs("null", f);
        return;
    }
    fputs("{\"tool\":", f);
    pm_json_str(f, c->tool);
    fprintf(f, ",\"exit\":%d,\"clean\":%s,\"note\":", c->exit_code, c->clean ? "true" : "false");
    pm_json_str(f, c->note[0] ? c->note : NULL);
    fputs(",\"output\":", f);
    pm_json_str(f, c->output[0] ? c->output : NULL);
    fprintf(f, ",\"mounted\":%s,\"kernel\":", c->mounted ? "true" : "false");
    pm_json_str(f, c->kernel[0] ? c->kernel : NULL);
    fputc('}', f);
}

void pm_verdict_json(const struct pm_verdict *v, FILE *f)
{
    int first = 1;
    size_t lost = v->missing.n + v->corrupt.n;

    fputc('{', f);
    pm_json_key(f, &first, "command");
    pm_json_str(f, "verify");
    pm_json_key(f, &first, "verdict");
    pm_json_str(f, pm_verdict_pass(v) ? "PASS" : "FAIL");
    pm_json_key(f, &first, "expect");
    pm_json_str(f, v->expect == PM_EXPECT_DURABLE ? "durable" : "none");
    pm_json_key(f, &first, "acked");
    fprintf(f, "%llu", (unsigned long long)v->acked);
    pm_json_key(f, &first, "present");
    fprintf(f, "%llu", (unsigned long long)v->present);
    pm_json_key(f, &first, "superseded");
    fprintf(f, "%llu", (unsigned long long)v->superseded);
    pm_json_key(f, &first, "lost");
    fprintf(f, "%zu", lost);
    pm_json_key(f, &first, "lost_allowed");
    fputs(lost && v->expect == PM_EXPECT_NONE ? "true" : "false", f);
    pm_json_key(f, &first, "missing_count");
    fprintf(f, "%zu", v->missing.n);
    pm_json_key(f, &first, "missing");
    losses_json(f, &v->missing);
    pm_json_key(f, &first, "corrupt_count");
    fprintf(f, "%zu", v->corrupt.n);
    pm_json_key(f, &first, "corrupt");
    losses_json(f, &v->corrupt);
    pm_json_key(f, &first, "unacked_present");
    fprintf(f, "%llu", (unsigned long long)v->unacked_present);
    pm_json_key(f, &first, "fsck");
    pm_fsck_json(&v->fsck, f);
    if (v->oom) {
        pm_json_key(f, &first, "error");
        pm_json_str(f, "out of memory while recording losses");
    }
    fputc('}', f);
}
