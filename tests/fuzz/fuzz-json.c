/* tests/fuzz/fuzz-json.c — libFuzzer harness of the JSON reader
 * (common/utils/jsonr.c), the parser under every audit record, extents
 * report and agent result the tools read.
 *
 * Whatever the input: jr_parse returns 0 or -1; on -1 the error position is
 * inside the text; on 0 every node's links stay inside the document and
 * every member lookup terminates.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utils/jsonr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jr_doc d;
    jr_init(&d);
    if (jr_parse(&d, (const char *)data, size) < 0) {
        if (d.errpos > size)
            abort();
    } else {
        for (int i = 0; i < d.nn; i++) {
            const struct jr_node *n = &d.n[i];
            if (n->next >= d.nn || n->next < -1)
                abort();
            if ((n->type == JR_ARR || n->type == JR_OBJ) && (n->child >= d.nn || n->child < -1))
                abort();
            if (n->type == JR_STR && (n->str > d.sl || n->slen > d.sl - n->str))
                abort();
        }
        uint64_t u;
        double x;
        (void)jr_get_u64(&d, 0, "seq", &u);
        (void)jr_get_double(&d, 0, "p", &x);
        (void)jr_get_str(&d, 0, "ev");
        (void)jr_at(&d, 0, 3);
    }
    jr_free(&d);
    return 0;
}
