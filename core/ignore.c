/* gitwildmatch patterns to POSIX extended regular expressions, following
 * python-pathspec 0.11's GitWildMatchPattern.pattern_to_regex step by step
 * (namfs/ignore.h), so that namctl verify and the reference tool ignore
 * the same files. */
#include "namfs/ignore.h"

#include "namfs/strbuf.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct compiled {
    regex_t re;
    bool include; /* false: a "!pattern" */
};

struct ignore_spec {
    struct compiled *items;
    size_t count;
};

static void literal(struct strbuf *out, char c)
{
    if (strchr(".[]()*+?{}|^$\\", c))
        strbuf_add(out, "\\");
    strbuf_add(out, "%c", c);
}

/* A bracket expression starting at p (just past '['): copied when it
 * closes, its '!' turned into '^'; returns the end, or NULL when it does
 * not close (then '[' is a literal). */
static const char *bracket(const char *p, struct strbuf *out)
{
    const char *j = p;

    if (*j == '!' || *j == '^')
        j++;
    if (*j == ']')
        j++;
    while (*j && *j != ']')
        j++;
    if (!*j)
        return NULL;
    strbuf_add(out, "[");
    if (*p == '!' || *p == '^') {
        strbuf_add(out, "^");
        p++;
    }
    strbuf_add(out, "%.*s", (int)(j + 1 - p), p);
    return j + 1;
}

/* One path segment's glob: '*', '?', '[...]', '\' escapes. False when it
 * ends in a lone backslash. */
static bool segment(const char *seg, struct strbuf *out)
{
    for (const char *p = seg; *p;) {
        char c = *p++;
        if (c == '\\') {
            if (!*p)
                return false;
            literal(out, *p++);
        } else if (c == '*') {
            strbuf_add(out, "[^/]*");
        } else if (c == '?') {
            strbuf_add(out, "[^/]");
        } else if (c == '[') {
            const char *end = bracket(p, out);
            if (end)
                p = end;
            else
                strbuf_add(out, "\\[");
        } else {
            literal(out, c);
        }
    }
    return true;
}

struct segments {
    char **items;
    size_t count;
};

static void split(char *pattern, struct segments *s)
{
    s->count = 0;
    for (char *p = pattern;; p++) {
        char *slash = strchr(p, '/');
        s->items[s->count++] = p;
        if (!slash)
            break;
        *slash = '\0';
        p = slash;
    }
}

static void drop(struct segments *s, size_t i)
{
    memmove(&s->items[i], &s->items[i + 1], (s->count - i - 1) * sizeof *s->items);
    s->count--;
}

static const char *const star_star = "**";

/* pathspec's segment normalisation: "**" runs collapsed, a leading "/"
 * anchors, a pattern without an inner slash matches at any depth, a
 * trailing slash matches what lies inside. */
static bool normalise(struct segments *s)
{
    for (size_t i = s->count - 1; i > 0; i--)
        if (strcmp(s->items[i - 1], "**") == 0 && strcmp(s->items[i], "**") == 0)
            drop(s, i);
    if (!s->items[0][0])
        drop(s, 0);
    else if (s->count == 1 || (s->count == 2 && !s->items[1][0])) {
        if (strcmp(s->items[0], "**") != 0) {
            memmove(&s->items[1], &s->items[0], s->count * sizeof *s->items);
            s->items[0] = (char *)star_star;
            s->count++;
        }
    }
    if (!s->count)
        return false;
    if (s->count > 1 && !s->items[s->count - 1][0])
        s->items[s->count - 1] = (char *)star_star;
    return true;
}

static bool segments_regex(const struct segments *s, struct strbuf *out)
{
    bool need_slash = false;
    size_t end = s->count - 1;

    strbuf_add(out, "^");
    for (size_t i = 0; i < s->count; i++) {
        const char *seg = s->items[i];
        if (strcmp(seg, "**") == 0) {
            strbuf_add(out, "%s",
                       i == 0 && i == end ? "[^/]+(/.*)?"
                       : i == 0           ? "(.+/)?"
                       : i == end         ? "/.*"
                                          : "(/.+)?");
            need_slash = i != 0 && i != end;
            continue;
        }
        if (need_slash)
            strbuf_add(out, "/");
        if (strcmp(seg, "*") == 0)
            strbuf_add(out, "[^/]+");
        else if (!segment(seg, out))
            return false;
        if (i == end)
            strbuf_add(out, "(/.*)?");
        need_slash = true;
    }
    strbuf_add(out, "$");
    return true;
}

/* The regex for one pattern; *regex NULL for a comment or "/" (no
 * pattern); false when it is not valid. */
static bool pattern_regex(const char *raw, char **regex, bool *include)
{
    size_t len = strlen(raw);
    char *pattern = malloc(len + 1), *p = pattern;
    struct segments s = {.items = calloc(len + 3, sizeof *s.items)};
    struct strbuf out = {0};
    bool ok = pattern && s.items;

    *regex = NULL;
    if (ok) {
        while (*raw == ' ' || (*raw >= '\t' && *raw <= '\r'))
            raw++;
        snprintf(pattern, len + 1, "%s", raw);
        for (size_t n = strlen(pattern);
             n && (pattern[n - 1] == ' ' || (pattern[n - 1] >= '\t' && pattern[n - 1] <= '\r'));)
            pattern[--n] = '\0';
    }
    if (ok && pattern[0] && pattern[0] != '#' && strcmp(pattern, "/") != 0) {
        *include = pattern[0] != '!';
        p += !*include;
        split(p, &s);
        if (s.count == 2 && strcmp(s.items[0], "**") == 0 && !s.items[1][0])
            strbuf_add(&out, "^.+/.*$");
        else
            ok = normalise(&s) && segments_regex(&s, &out);
        *regex = ok ? strbuf_take(&out) : NULL;
        ok = ok && *regex;
    }
    free(out.data);
    free(pattern);
    free(s.items);
    return ok;
}

struct ignore_spec *ignore_compile(const struct strlist *patterns, char *err, size_t err_len)
{
    struct ignore_spec *spec = calloc(1, sizeof *spec);
    bool ok = spec && (spec->items = calloc(patterns->count + 1, sizeof *spec->items));

    for (size_t i = 0; ok && i < patterns->count; i++) {
        char *regex;
        bool include = true;
        ok = pattern_regex(patterns->items[i], &regex, &include);
        if (ok && regex) {
            struct compiled *c = &spec->items[spec->count];
            ok = regcomp(&c->re, regex, REG_EXTENDED | REG_NOSUB) == 0;
            c->include = include;
            spec->count += ok;
        }
        free(regex);
        if (!ok)
            snprintf(err, err_len, "ignore pattern \"%s\": not valid gitignore syntax",
                     patterns->items[i]);
    }
    if (!ok) {
        if (!spec)
            snprintf(err, err_len, "out of memory");
        ignore_free(spec);
        return NULL;
    }
    return spec;
}

void ignore_free(struct ignore_spec *spec)
{
    if (!spec)
        return;
    for (size_t i = 0; i < spec->count; i++)
        regfree(&spec->items[i].re);
    free(spec->items);
    free(spec);
}

bool ignore_matches(const struct ignore_spec *spec, const char *abs_path)
{
    bool ignored = false;

    for (size_t i = 0; i < spec->count; i++)
        if (regexec(&spec->items[i].re, abs_path, 0, NULL, 0) == 0)
            ignored = spec->items[i].include;
    return ignored;
}

char *ignore_pattern_for(const char *rel, bool folder)
{
    struct strbuf out = {0};

    strbuf_add(&out, "**/");
    for (const char *p = rel; *p; p++)
        strbuf_add(&out, strchr("\\*?[]!# ", *p) ? "\\%c" : "%c", *p);
    if (folder)
        strbuf_add(&out, "/");
    return strbuf_take(&out);
}
