/* utils/json.h — the little JSON the agent prints on a FILE *: every command
 * prints one object on one line, built with stdio into a memory stream.
 * Strings are escaped by jb_str (utils/jbuf.h), the one escaper. */
#ifndef PMEMCUT_UTILS_JSON_H
#define PMEMCUT_UTILS_JSON_H

#include <stdio.h>

/* Write s as a JSON string, quotes included; NULL is written as null. */
void pm_json_str(FILE *f, const char *s);

/* "key": prefix, preceded by a comma unless *first (which it clears). */
void pm_json_key(FILE *f, int *first, const char *key);

#endif
