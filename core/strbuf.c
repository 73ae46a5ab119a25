#include "namfs/strbuf.h"

#include "namfs/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool room(struct strbuf *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = (b->len + more + 1) * 2;
    char *grown = realloc(b->data, cap);
    if (!grown) {
        b->failed = true;
        return false;
    }
    b->data = grown;
    b->cap = cap;
    return true;
}

void strbuf_add(struct strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !room(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void strbuf_json(struct strbuf *b, const char *s)
{
    strbuf_add(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = text_utf8_length(p);
        if (*p == '"' || *p == '\\')
            strbuf_add(b, "\\%c", *p);
        else if (*p < 0x20)
            strbuf_add(b, "\\u%04x", *p);
        else if (n == 0)
            strbuf_add(b, "\\ufffd");
        else
            strbuf_add(b, "%.*s", (int)n, (const char *)p);
        p += n ? n : 1;
    }
    strbuf_add(b, "\"");
}

char *strbuf_take(struct strbuf *b)
{
    char *text = b->failed ? NULL : b->data ? b->data : strdup("");
    if (b->failed)
        free(b->data);
    *b = (struct strbuf){0};
    return text;
}
