/* utils/json.c — JSON strings and keys on a FILE *, escaped by jb_str. */
#include "json.h"

#include "jbuf.h"

void pm_json_str(FILE *f, const char *s)
{
    struct jbuf b;

    if (!s) {
        fputs("null", f);
        return;
    }
    jb_init(&b);
    jb_str(&b, s);
    /* Out of memory: null keeps the object valid JSON. */
    if (jb_ok(&b))
        fwrite(b.s, 1, b.len, f);
    else
        fputs("null", f);
    jb_free(&b);
}

void pm_json_key(FILE *f, int *first, const char *key)
{
    if (!*first)
        fputc(',', f);
    *first = 0;
    pm_json_str(f, key);
    fputc(':', f);
}
