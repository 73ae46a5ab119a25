/* A text that grows as it is written: reports, views, JSON. */
#ifndef NAMFS_STRBUF_H
#define NAMFS_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
    char *data; /* NUL-terminated once anything was added */
    size_t len, cap;
    bool failed; /* out of memory: what was added since is lost */
};

void strbuf_add(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s as a JSON string literal: quotes, and escapes for the quote, the
 * backslash and control characters (bytes that are not UTF-8 as U+FFFD). */
void strbuf_json(struct strbuf *b, const char *s);

/* The text, malloc'd (the caller frees it; "" when nothing was added), or
 * NULL when memory ran out; the strbuf is empty afterwards. */
char *strbuf_take(struct strbuf *b);

#endif
