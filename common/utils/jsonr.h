/* pmemcut — a small JSON reader for one record (one line of the audit log).
 *
 * jr_parse turns one JSON text into a flat array of nodes: node 0 is the
 * root; an object's or array's children follow as a chain (first child,
 * next sibling).  Strings are decoded into a side buffer.  Nothing is
 * trusted: depth, sizes and escapes are checked, and a failure names the
 * byte offset inside the text where it went wrong.
 *
 * A jr_doc is reused from line to line (jr_parse resets it), so reading a
 * long log allocates only while records grow.
 */
#ifndef PMEMCUT_JSONR_H
#define PMEMCUT_JSONR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jr_type { JR_NULL, JR_BOOL, JR_NUM, JR_STR, JR_ARR, JR_OBJ };

struct jr_node {
    enum jr_type type;
    bool b;       /* JR_BOOL */
    bool is_u64;  /* JR_NUM: a non-negative integer that fits in u64 */
    uint64_t u;   /* JR_NUM when is_u64 */
    double d;     /* JR_NUM */
    size_t key;   /* offset of the member name in strs (members of objects) */
    size_t str;   /* JR_STR: offset of the decoded string in strs */
    size_t slen;  /* JR_STR: its length (it is also NUL-terminated) */
    int child;    /* JR_ARR/JR_OBJ: first child, -1 if empty */
    int next;     /* next sibling, -1 if last */
    size_t count; /* JR_ARR/JR_OBJ: number of children */
};

struct jr_doc {
    struct jr_node *n;
    int nn, cap;
    char *strs;
    size_t sl, scap;
    char err[128]; /* why jr_parse failed */
    size_t errpos; /* where: byte offset in the text */
};

void jr_init(struct jr_doc *d);
void jr_free(struct jr_doc *d);

/* Parses text[0..len) (one value, surrounding spaces allowed).  Returns 0,
 * or -1 with d->err and d->errpos set. */
int jr_parse(struct jr_doc *d, const char *text, size_t len);

/* Member of object node obj by name, or -1 (also when obj is no object). */
int jr_get(const struct jr_doc *d, int obj, const char *key);
/* The i-th element of array node arr, or -1. */
int jr_at(const struct jr_doc *d, int arr, size_t i);

/* Typed member access: 0 when the member exists with that type, else -1. */
int jr_get_u64(const struct jr_doc *d, int obj, const char *key, uint64_t *out);
int jr_get_double(const struct jr_doc *d, int obj, const char *key, double *out);
int jr_get_bool(const struct jr_doc *d, int obj, const char *key, bool *out);
/* The string (NUL-terminated, inside d), or NULL. */
const char *jr_get_str(const struct jr_doc *d, int obj, const char *key);

#endif
