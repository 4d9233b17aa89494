/* pmemcut — a small JSON reader (see jsonr.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonr.h"

#define MAX_DEPTH 32
#define MAX_NODES (1 << 24) /* a record with more nodes is not ours */

struct parser {
    struct jr_doc *d;
    const char *s;
    size_t len, pos;
    int depth;
};

void jr_init(struct jr_doc *d)
{
    memset(d, 0, sizeof *d);
}

void jr_free(struct jr_doc *d)
{
    free(d->n);
    free(d->strs);
    jr_init(d);
}

static int fail(struct parser *p, const char *why)
{
    snprintf(p->d->err, sizeof p->d->err, "%s", why);
    p->d->errpos = p->pos;
    return -1;
}

static int new_node(struct parser *p, enum jr_type t)
{
    struct jr_doc *d = p->d;
    if (d->nn == d->cap) {
        if (d->cap >= MAX_NODES)
            return fail(p, "too many values in one record");
        int cap = d->cap ? d->cap * 2 : 64;
        struct jr_node *n = realloc(d->n, (size_t)cap * sizeof *n);
        if (!n)
            return fail(p, "out of memory");
        d->n = n;
        d->cap = cap;
    }
    struct jr_node *n = &d->n[d->nn];
    memset(n, 0, sizeof *n);
    n->type = t;
    n->child = n->next = -1;
    return d->nn++;
}

static int str_reserve(struct parser *p, size_t more)
{
    struct jr_doc *d = p->d;
    if (d->sl + more + 1 <= d->scap)
        return 0;
    size_t cap = d->scap ? d->scap : 256;
    while (cap < d->sl + more + 1)
        cap *= 2;
    char *s = realloc(d->strs, cap);
    if (!s)
        return fail(p, "out of memory");
    d->strs = s;
    d->scap = cap;
    return 0;
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void put_utf8(char *out, size_t *o, unsigned cp)
{
    if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xc0 | cp >> 6);
        out[(*o)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*o)++] = (char)(0xe0 | cp >> 12);
        out[(*o)++] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[(*o)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* Decodes the string at p->pos (opening quote) into strs; *at gets its
 * offset and *n its length. */
static int parse_string(struct parser *p, size_t *at, size_t *n)
{
    p->pos++; /* the quote */
    size_t start = p->pos;
    size_t end = start;
    while (end < p->len && p->s[end] != '"') {
        if (p->s[end] == '\\')
            end++;
        end++;
    }
    if (end >= p->len) {
        p->pos = p->len;
        return fail(p, "unterminated string");
    }
    /* Decoded text is never longer than the escaped text. */
    if (str_reserve(p, end - start) == -1)
        return -1;
    char *out = p->d->strs + p->d->sl;
    size_t o = 0;
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20)
            return fail(p, "control character in string");
        if (c != '\\') {
            out[o++] = (char)c;
            p->pos++;
            continue;
        }
        char e = p->s[p->pos + 1];
        p->pos += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            out[o++] = e;
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            if (end - p->pos < 4)
                return fail(p, "short \\u escape");
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) {
                int h = hexval(p->s[p->pos + i]);
                if (h < 0)
                    return fail(p, "bad \\u escape");
                cp = cp << 4 | (unsigned)h;
            }
            p->pos += 4;
            if (cp == 0)
                return fail(p, "NUL in string");
            /* \uXXXX is 6 bytes of text and at most 3 of UTF-8. */
            put_utf8(out, &o, cp);
            break;
        }
        default:
            p->pos -= 1;
            return fail(p, "bad escape in string");
        }
    }
    p->pos = end + 1;
    out[o] = '\0';
    *at = p->d->sl;
    *n = o;
    p->d->sl += o + 1;
    return 0;
}

static int parse_number(struct parser *p, int node)
{
    size_t start = p->pos;
    const char *s = p->s;
    size_t i = p->pos;
    if (i < p->len && s[i] == '-')
        i++;
    size_t digits = i;
    while (i < p->len && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == digits)
        return fail(p, "bad number");
    bool integer = true;
    if (i < p->len && s[i] == '.') {
        integer = false;
        i++;
        size_t f = i;
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f)
            return fail(p, "bad number");
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        integer = false;
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t e = i;
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == e)
            return fail(p, "bad number");
    }
    char buf[64];
    size_t n = i - start;
    if (n >= sizeof buf)
        return fail(p, "number too long");
    memcpy(buf, s + start, n);
    buf[n] = '\0';
    struct jr_node *nd = &p->d->n[node];
    nd->d = strtod(buf, NULL);
    if (integer && buf[0] != '-' && n <= 20) {
        /* exact u64, with overflow detection */
        uint64_t u = 0;
        bool ok = true;
        for (size_t k = 0; k < n; k++) {
            unsigned dg = (unsigned)(buf[k] - '0');
            if (u > (UINT64_MAX - dg) / 10) {
                ok = false;
                break;
            }
            u = u * 10 + dg;
        }
        nd->is_u64 = ok;
        nd->u = u;
    }
    p->pos = i;
    return 0;
}

static int parse_value(struct parser *p);

/* Appends child to the chain of node parent. */
static void link_child(struct parser *p, int parent, int *last, int child)
{
    struct jr_doc *d = p->d;
    if (*last < 0)
        d->n[parent].child = child;
    else
        d->n[*last].next = child;
    *last = child;
    d->n[parent].count++;
}

static int parse_container(struct parser *p, bool obj)
{
    int node = new_node(p, obj ? JR_OBJ : JR_ARR);
    if (node < 0)
        return -1;
    if (++p->depth > MAX_DEPTH)
        return fail(p, "nested too deeply");
    p->pos++; /* [ or { */
    skip_ws(p);
    char close = obj ? '}' : ']';
    int last = -1;
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        p->depth--;
        return node;
    }
    for (;;) {
        size_t key = 0, klen = 0;
        skip_ws(p);
        if (obj) {
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return fail(p, "expected a member name");
            if (parse_string(p, &key, &klen) == -1)
                return -1;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return fail(p, "expected ':'");
            p->pos++;
        }
        int child = parse_value(p);
        if (child < 0)
            return -1;
        p->d->n[child].key = key;
        link_child(p, node, &last, child);
        skip_ws(p);
        if (p->pos >= p->len)
            return fail(p, obj ? "unterminated object" : "unterminated array");
        if (p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->s[p->pos] == close) {
            p->pos++;
            p->depth--;
            return node;
        }
        return fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_literal(struct parser *p, const char *word, enum jr_type t, bool b)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, "unexpected character");
    int node = new_node(p, t);
    if (node < 0)
        return -1;
    p->d->n[node].b = b;
    p->pos += n;
    return node;
}

static int parse_value(struct parser *p)
{
    skip_ws(p);
    if (p->pos >= p->len)
        return fail(p, "unexpected end of text");
    char c = p->s[p->pos];
    switch (c) {
    case '{':
        return parse_container(p, true);
    case '[':
        return parse_container(p, false);
    case '"': {
        int node = new_node(p, JR_STR);
        if (node < 0)
            return -1;
        size_t at, n;
        if (parse_string(p, &at, &n) == -1)
            return -1;
        p->d->n[node].str = at;
        p->d->n[node].slen = n;
        return node;
    }
    case 't':
        return parse_literal(p, "true", JR_BOOL, true);
    case 'f':
        return parse_literal(p, "false", JR_BOOL, false);
    case 'n':
        return parse_literal(p, "null", JR_NULL, false);
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            int node = new_node(p, JR_NUM);
            if (node < 0 || parse_number(p, node) == -1)
                return -1;
            return node;
        }
        return fail(p, "unexpected character");
    }
}

int jr_parse(struct jr_doc *d, const char *text, size_t len)
{
    d->nn = 0;
    d->sl = 0;
    d->err[0] = '\0';
    d->errpos = 0;
    /* offset 0 of strs is the empty name of unnamed nodes */
    struct parser p = {.d = d, .s = text, .len = len};
    if (str_reserve(&p, 1) == -1)
        return -1;
    d->strs[0] = '\0';
    d->sl = 1;
    if (parse_value(&p) < 0)
        return -1;
    skip_ws(&p);
    if (p.pos != len)
        return fail(&p, "text after the value");
    return 0;
}

int jr_get(const struct jr_doc *d, int obj, const char *key)
{
    if (obj < 0 || obj >= d->nn || d->n[obj].type != JR_OBJ)
        return -1;
    for (int c = d->n[obj].child; c >= 0; c = d->n[c].next)
        if (strcmp(d->strs + d->n[c].key, key) == 0)
            return c;
    return -1;
}

int jr_at(const struct jr_doc *d, int arr, size_t i)
{
    if (arr < 0 || arr >= d->nn || d->n[arr].type != JR_ARR)
        return -1;
    int c = d->n[arr].child;
    while (c >= 0 && i--)
        c = d->n[c].next;
    return c;
}

int jr_get_u64(const struct jr_doc *d, int obj, const char *key, uint64_t *out)
{
    int c = jr_get(d, obj, key);
    if (c < 0 || d->n[c].type != JR_NUM || !d->n[c].is_u64)
        return -1;
    *out = d->n[c].u;
    return 0;
}

int jr_get_double(const struct jr_doc *d, int obj, const char *key, double *out)
{
    int c = jr_get(d, obj, key);
    if (c < 0 || d->n[c].type != JR_NUM)
        return -1;
    *out = d->n[c].d;
    return 0;
}

int jr_get_bool(const struct jr_doc *d, int obj, const char *key, bool *out)
{
    int c = jr_get(d, obj, key);
    if (c < 0 || d->n[c].type != JR_BOOL)
        return -1;
    *out = d->n[c].b;
    return 0;
}

const char *jr_get_str(const struct jr_doc *d, int obj, const char *key)
{
    int c = jr_get(d, obj, key);
    if (c < 0 || d->n[c].type != JR_STR)
        return NULL;
    return d->strs + d->n[c].str;
}
