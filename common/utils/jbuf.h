/* pmemcut — a growable text buffer with JSON helpers.
 *
 * Used to build audit records and control replies.  An allocation failure
 * is sticky: every later append is a no-op and jb_ok() says false, so
 * callers check once at the end.
 */
#ifndef PMEMCUT_JBUF_H
#define PMEMCUT_JBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jbuf {
    char *s;
    size_t len, cap;
    bool failed;
};

void jb_init(struct jbuf *b);
void jb_free(struct jbuf *b);
void jb_reset(struct jbuf *b);
bool jb_ok(const struct jbuf *b);
void jb_printf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jb_mem(struct jbuf *b, const void *p, size_t n);
/* Appends an unsigned decimal (the hot path of every audit record). */
void jb_u64(struct jbuf *b, uint64_t v);
/* Appends a C string as it is. */
void jb_cat(struct jbuf *b, const char *s);
/* Appends s as a JSON string literal, quotes included; newline, tab and
 * carriage return are escaped as \n \t \r, the other bytes that are not
 * printable ASCII as \u00XX, so any input gives valid ASCII JSON.  The one
 * JSON string escaper (pm_json_str writes through it). */
void jb_str(struct jbuf *b, const char *s);
/* Takes the string: the caller frees it; the buffer is left empty. */
char *jb_take(struct jbuf *b);

#endif
