/* Delivery profile: INI parsed by inih; every key is checked here, and a
 * mistake names the line, the key and what was expected. */
#include "namfs/profile.h"

#include "namfs/exr.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define BIT(n) (1u << (n))

/* Required keys are tracked so a profile that forgets one fails to load. */
enum { SEEN_FORMATS = 1, SEEN_RESOLUTION = 2, SEEN_COLOUR = 4, SEEN_ALL = 7 };

struct loader {
    struct profile *p;
    const char *name;
    int line, next_line;
    int failed_line;   /* where the first handler error was */
    char keys[32][48]; /* "section.key" seen so far, to refuse repeats */
    int key_lines[32];
    int key_count;
    int resolution_line; /* for the R1 floor check after parsing */
    unsigned seen;
    char *err;
    size_t err_len;
    bool failed;
    const char *section; /* of the key being read, for messages */
    FILE *file;          /* reading a file, or ... */
    const char *text;    /* ... reading from memory */
};

void profile_default(struct profile *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->source, sizeof p->source, "built-in default");
    p->allow_dpx = p->allow_exr = true;
    p->floor_width = PROFILE_UHD_WIDTH;
    p->floor_height = PROFILE_UHD_HEIGHT;
    p->dpx_transfers = BIT(1) | BIT(3); /* printing density, logarithmic */
    p->colour = COLOUR_CAMERA_NATIVE;
    p->exr_codecs =
        BIT(EXR_CODEC_NONE) | BIT(EXR_CODEC_ZIP) | BIT(EXR_CODEC_ZIPS) | BIT(EXR_CODEC_PIZ);
    p->checksum_hash = HASH_XXH128;
    p->mhl_hashes = BIT(HASH_XXH128);
}

bool profile_enforces(const struct profile *p, enum rule_id rule)
{
    return !(p->relaxed & ((uint64_t)1 << rule));
}

bool profile_allows_codec(const struct profile *p, enum exr_codec codec)
{
    return (unsigned)codec < EXR_CODEC_COUNT && (p->exr_codecs & BIT(codec));
}

void profile_codec_list(const struct profile *p, char *out, size_t len)
{
    size_t used = 0;

    out[0] = '\0';
    for (int c = 0; c < EXR_CODEC_COUNT && used < len; c++)
        if (p->exr_codecs & BIT(c))
            used += (size_t)snprintf(out + used, len - used, "%s%s", used ? ", " : "",
                                     exr_codec_name((enum exr_codec)c));
}

void profile_transfer_list(const struct profile *p, char *out, size_t len)
{
    size_t used = 0;

    out[0] = '\0';
    for (int t = 0; t < 32 && used < len; t++)
        if (p->dpx_transfers & BIT(t))
            used += (size_t)snprintf(out + used, len - used, "%s%d", used ? ", " : "", t);
}

static bool fail(struct loader *l, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(struct loader *l, const char *key, const char *fmt, ...)
{
    char why[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (!l->failed) {
        snprintf(l->err, l->err_len, "%s:%d: key '%s.%s': %s", l->name, l->line,
                 l->section ? l->section : "", key, why);
        l->failed_line = l->line;
    }
    l->failed = true;
    return false;
}

static bool parse_bool(struct loader *l, const char *key, const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
            *out = strcasecmp(v, yes[i]) == 0;
            return true;
        }
    }
    return fail(l, key, "expected true/false, yes/no, on/off or 1/0, found '%s'", v);
}

/* Calls each(item) for every comma-separated, trimmed item of v; an
 * empty item ("dpx,,exr") is a mistake, not something to skip. */
static bool for_each_item(struct loader *l, const char *key, const char *v,
                          bool (*each)(struct loader *, const char *, const char *))
{
    char item[64];

    for (const char *p = v;; p++) {
        size_t n = strcspn(p, ",");
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0)
            return fail(l, key, "expected a comma-separated list, found an empty item in '%s'", v);
        if (n >= sizeof item)
            return fail(l, key, "expected short list items, found one of %zu characters", n);
        snprintf(item, sizeof item, "%.*s", (int)n, p);
        if (!each(l, key, item))
            return false;
        p = strchr(p, ',');
        if (!p)
            return true;
    }
}

static bool add_format(struct loader *l, const char *key, const char *item)
{
    if (strcasecmp(item, "dpx") == 0)
        l->p->allow_dpx = true;
    else if (strcasecmp(item, "exr") == 0)
        l->p->allow_exr = true;
    else
        return fail(l, key, "expected dpx and/or exr, found '%s'", item);
    return true;
}

/* R4 cannot be relaxed: a profile may narrow the lossless codecs, never
 * admit a lossy one (or RLE, which SPEC.md does not list). */
static bool add_codec(struct loader *l, const char *key, const char *item)
{
    static const enum exr_codec lossless[] = {EXR_CODEC_NONE, EXR_CODEC_ZIP, EXR_CODEC_ZIPS,
                                              EXR_CODEC_PIZ};
    int c = exr_codec_from_name(item);

    for (size_t i = 0; i < sizeof lossless / sizeof lossless[0]; i++)
        if (c == (int)lossless[i]) {
            l->p->exr_codecs |= BIT(c);
            return true;
        }
    return fail(l, key, "expected none, zip, zips and/or piz (R4), found '%s'", item);
}

static bool add_transfer(struct loader *l, const char *key, const char *item)
{
    char *end;
    long t = strtol(item, &end, 10);
    if (end == item || *end || t < 0 || t > 13)
        return fail(l, key, "expected DPX transfer codes 0..13, found '%s'", item);
    l->p->dpx_transfers |= BIT(t);
    return true;
}

static bool add_relaxed(struct loader *l, const char *key, const char *item)
{
    enum rule_id r = rule_from_name(item);
    if (r != RULE_R9 && (r < RULE_N1 || r > RULE_N6))
        return fail(l, key, "expected rule ids that may be relaxed (R9, N1..N6), found '%s'", item);
    l->p->relaxed |= (uint64_t)1 << r;
    return true;
}

static bool add_mhl_hash(struct loader *l, const char *key, const char *item)
{
    for (int a = 0; a < HASH_ALGO_COUNT; a++)
        if (strcasecmp(item, hash_algo_name((enum hash_algo)a)) == 0) {
            l->p->mhl_hashes |= BIT(a);
            return true;
        }
    return fail(l, key,
                "expected ASC MHL hash formats (xxh128, xxh64, xxh3, md5, sha1, c4), "
                "found '%s'",
                item);
}

/* Sets *is_b for one of two words a or b. */
/* WIDTHxHEIGHT, the x in any case like every other profile word. */
static bool parse_size(const char *v, uint32_t *w, uint32_t *h)
{
    char lower[32];
    size_t i = 0;

    for (; v[i] && i + 1 < sizeof lower; i++)
        lower[i] = v[i] == 'X' ? 'x' : v[i];
    lower[i] = '\0';
    return !v[i] && frame_parse_size(lower, w, h);
}

static bool set_choice(struct loader *l, const char *key, const char *v, const char *a,
                       const char *b, bool *is_b)
{
    if (strcasecmp(v, a) != 0 && strcasecmp(v, b) != 0)
        return fail(l, key, "expected %s or %s, found '%s'", a, b, v);
    *is_b = strcasecmp(v, b) == 0;
    return true;
}

static bool set_delivery(struct loader *l, const char *key, const char *v)
{
    struct profile *p = l->p;
    bool aces = false;

    if (strcmp(key, "formats") == 0) {
        l->seen |= SEEN_FORMATS;
        p->allow_dpx = p->allow_exr = false;
        return for_each_item(l, key, v, add_format);
    }
    if (strcmp(key, "resolution") == 0) {
        l->seen |= SEEN_RESOLUTION;
        l->resolution_line = l->line;
        p->width = p->height = 0;
        if (strcasecmp(v, "any") == 0)
            return true;
        return parse_size(v, &p->width, &p->height) ||
               fail(l, key, "expected WIDTHxHEIGHT (e.g. 4096x2160) or 'any', found '%s'", v);
    }
    if (strcmp(key, "colour") == 0) {
        l->seen |= SEEN_COLOUR;
        if (!set_choice(l, key, v, "camera-native", "aces", &aces))
            return false;
        p->colour = aces ? COLOUR_ACES : COLOUR_CAMERA_NATIVE;
        return true;
    }
    if (strcmp(key, "allow_dpx10") == 0)
        return parse_bool(l, key, v, &p->allow_dpx10);
    if (strcmp(key, "dpx_transfer") == 0) {
        p->dpx_transfers = 0; /* the list replaces the default */
        return for_each_item(l, key, v, add_transfer);
    }
    if (strcmp(key, "exr_compression") == 0) {
        p->exr_codecs = 0;
        return for_each_item(l, key, v, add_codec);
    }
    if (strcmp(key, "aces_container_flag") == 0)
        return set_choice(l, key, v, "optional", "required", &p->aces_flag_required);
    if (strcmp(key, "allow_quicktime") == 0)
        return parse_bool(l, key, v, &p->allow_quicktime);
    if (strcmp(key, "reels") == 0)
        return parse_bool(l, key, v, &p->reels);
    return fail(l, key,
                "unknown key in [delivery] (expected formats, resolution, colour, "
                "allow_dpx10, dpx_transfer, exr_compression, aces_container_flag, "
                "allow_quicktime, reels)");
}

static bool set_naming(struct loader *l, const char *key, const char *v)
{
    bool on;

    if (strcmp(key, "checks") != 0)
        return fail(l, key, "unknown key in [naming] (expected checks)");
    if (!parse_bool(l, key, v, &on))
        return false;
    for (int r = RULE_N1; r <= RULE_N5; r++)
        if (!on)
            l->p->relaxed |= (uint64_t)1 << r;
    return true;
}

static bool set_manifest(struct loader *l, const char *key, const char *v)
{
    static const struct {
        const char *label;
        enum hash_algo algo;
    } checksums[] = {{"xxh128", HASH_XXH128}, {"xxh64be", HASH_XXH64}, {"md5", HASH_MD5}};

    if (strcmp(key, "checksum") == 0) {
        for (size_t i = 0; i < sizeof checksums / sizeof checksums[0]; i++)
            if (strcasecmp(v, checksums[i].label) == 0) {
                l->p->checksum_hash = checksums[i].algo;
                return true;
            }
        return fail(l, key, "expected xxh128, xxh64be or md5, found '%s'", v);
    }
    if (strcmp(key, "mhl") == 0) {
        l->p->mhl_hashes = 0;
        return for_each_item(l, key, v, add_mhl_hash);
    }
    return fail(l, key, "unknown key in [manifest] (expected checksum, mhl)");
}

static bool set_testing(struct loader *l, const char *key, const char *v)
{
    if (strcmp(key, "resolution_floor") != 0)
        return fail(l, key, "unknown key in [testing] (expected resolution_floor)");
    if (!parse_size(v, &l->p->floor_width, &l->p->floor_height))
        return fail(l, key, "expected WIDTHxHEIGHT, found '%s'", v);
    l->p->testing = true;
    return true;
}

/* A key given twice (or continued on an indented line, which inih passes
 * as the same key again) would silently replace its first value. */
static bool first_time(struct loader *l, const char *section, const char *key)
{
    char full[48];

    snprintf(full, sizeof full, "%s.%s", section, key);
    for (int i = 0; i < l->key_count; i++)
        if (strcmp(l->keys[i], full) == 0)
            return fail(l, key,
                        "expected once, found again (first on line %d; continuation "
                        "lines are not supported)",
                        l->key_lines[i]);
    if (l->key_count < 32) {
        snprintf(l->keys[l->key_count], sizeof l->keys[0], "%s", full);
        l->key_lines[l->key_count++] = l->line;
    }
    return true;
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
    struct loader *l = user;

    l->section = section;
    if (l->failed || !first_time(l, section, key))
        return 0;
    if (strcmp(section, "delivery") == 0)
        return set_delivery(l, key, value);
    if (strcmp(section, "rules") == 0) {
        if (strcmp(key, "relax") != 0)
            return fail(l, key, "unknown key in [rules] (expected relax)");
        return for_each_item(l, key, value, add_relaxed);
    }
    if (strcmp(section, "naming") == 0)
        return set_naming(l, key, value);
    if (strcmp(section, "manifest") == 0)
        return set_manifest(l, key, value);
    if (strcmp(section, "testing") == 0)
        return set_testing(l, key, value);
    return fail(l, key,
                "unknown section [%s] (expected delivery, rules, naming, manifest, "
                "testing)",
                section);
}

/* inih hands lines to the handler without their numbers (Debian builds it
 * without INI_HANDLER_LINENO), so the reader counts them. */
static char *read_line(char *str, int num, void *stream)
{
    struct loader *l = stream;
    char *got = NULL;

    if (l->file) {
        got = fgets(str, num, l->file);
    } else if (*l->text) {
        size_t n = strcspn(l->text, "\n");
        if (n < (size_t)num - 1 && l->text[n] == '\n')
            n++;
        if (n > (size_t)num - 1)
            n = (size_t)num - 1;
        memcpy(str, l->text, n);
        str[n] = '\0';
        l->text += n;
        got = str;
    }
    if (!got)
        return NULL;
    l->line = l->next_line++;
    bool at_end = l->file ? feof(l->file) : !*l->text;
    if (!strchr(got, '\n') && !at_end && !l->failed) {
        /* inih reads fixed-size lines; a longer one would be split and
         * misread, so it is an error here, not a surprise later */
        snprintf(l->err, l->err_len, "%s:%d: line longer than %d characters", l->name, l->line,
                 num - 2);
        l->failed = true;
        l->failed_line = l->line;
        return NULL;
    }
    return got;
}

static bool check_whole(struct loader *l)
{
    struct profile *p = l->p;
    static const char *const required[] = {"delivery.formats", "delivery.resolution",
                                           "delivery.colour"};

    for (int i = 0; i < 3; i++)
        if (!(l->seen & (1u << i))) {
            snprintf(l->err, l->err_len, "%s:%d: missing required key '%s'", l->name,
                     l->next_line > 1 ? l->next_line - 1 : 1, required[i]);
            return false;
        }
    if (p->width && (p->width < p->floor_width || p->height < p->floor_height)) {
        snprintf(l->err, l->err_len,
                 "%s:%d: key 'delivery.resolution': expected at least %ux%u (R1), found %ux%u",
                 l->name, l->resolution_line, p->floor_width, p->floor_height, p->width, p->height);
        return false;
    }
    return true;
}

static bool load(struct loader *l)
{
    profile_default(l->p);
    l->next_line = 1;
    snprintf(l->p->source, sizeof l->p->source, "%s", l->name);
    int rc = ini_parse_stream(read_line, l, on_key, l);
    /* inih reports only the first syntax error's line, after reading on;
     * the earlier of that and a key error is the one to show. */
    if (rc > 0 && (!l->failed || rc < l->failed_line)) {
        snprintf(l->err, l->err_len, "%s:%d: syntax error: expected '[section]' or 'key = value'",
                 l->name, rc);
        return false;
    }
    return !l->failed && check_whole(l);
}

bool profile_load_string(const char *name, const char *text, struct profile *p, char *err,
                         size_t err_len)
{
    struct loader l = {.p = p, .name = name, .text = text, .err = err, .err_len = err_len};

    return load(&l);
}

bool profile_load(const char *path, struct profile *p, char *err, size_t err_len)
{
    struct loader l = {.p = p, .name = path, .err = err, .err_len = err_len};

    struct stat st;
    l.file = fopen(path, "r");
    if (!l.file) {
        snprintf(err, err_len, "profile %s: cannot open it: %s", path, strerror(errno));
        return false;
    }
    /* a folder opens for reading and would read as an empty profile; a pipe
     * (--profile <(...)) is a profile like a file */
    if (fstat(fileno(l.file), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "profile %s: expected a profile file, found a folder", path);
        fclose(l.file);
        return false;
    }
    bool ok = load(&l);
    fclose(l.file);
    return ok;
}
