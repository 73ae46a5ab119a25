/* Per-asset sequence state. Assets are few (one per sequence folder, or
 * reel), frames many: assets live in a small array searched from the last
 * hit, frames in a hash set. */
#include "namfs/sequence.h"

#include "frameset.h"
#include "namfs/exr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the frame names seen so far say about the padding width P: a
 * zero-padded number fixes P exactly; an unpadded one (1001, or 10000 in
 * a 4-digit sequence) only says P is at most its digit count. Frames come
 * in any order, so both are kept. */
struct numbering {
    int exact;   /* 0: not fixed yet */
    int at_most; /* 0: unbounded */
};

struct asset {
    char key[NAMING_KEY_MAX];
    char title[NAMING_KEY_MAX];
    char texted[NAMING_KEY_MAX];
    bool textless;
    struct frame_props props;
    struct numbering numbering;
    struct frameset frames;
};

struct title_numbering {
    char title[NAMING_KEY_MAX];
    struct numbering numbering;
};

struct seqset {
    struct asset **assets;
    size_t count, cap, last_hit;
    struct title_numbering *titles;
    size_t title_count;
};

void frame_props_from_info(const struct frame_info *info, struct frame_props *props)
{
    memset(props, 0, sizeof *props);
    props->format = info->format;
    props->width = info->width;
    props->height = info->height;
    props->bit_depth = info->bit_depth;
    props->components = info->components;
    props->codec = props->packing = props->transfer = props->colorimetric = -1;
    if (info->format == FRAME_DPX) {
        snprintf(props->channels, sizeof props->channels, "descriptor %u", info->dpx.descriptor);
        props->packing = info->dpx.packing;
        props->transfer = info->dpx.transfer;
        props->colorimetric = info->dpx.colorimetric;
        return;
    }
    size_t used = 0;
    for (int i = 0; i < info->exr.channel_count && used < sizeof props->channels; i++)
        used += (size_t)snprintf(props->channels + used, sizeof props->channels - used, "%s%s:%s",
                                 i ? " " : "", info->exr.channels[i].name,
                                 exr_sample_name(info->exr.channels[i].sample));
    props->codec = info->exr.codec;
    if (info->exr.has_chromaticities)
        memcpy(props->chromaticities, info->exr.chromaticities, sizeof props->chromaticities);
}

void frame_props_describe(const struct frame_props *p, char *out, size_t len)
{
    if (p->format == FRAME_DPX)
        snprintf(out, len, "DPX %ux%u %d-bit %s packing %d transfer %d colorimetric %d", p->width,
                 p->height, p->bit_depth, p->channels, p->packing, p->transfer, p->colorimetric);
    else
        snprintf(out, len, "EXR %ux%u %s %s%s", p->width, p->height, p->channels,
                 exr_codec_name((enum exr_codec)p->codec),
                 p->chromaticities[0] != 0.0f ? "" : " no-chromaticities");
}

/* Every field, the channels last (they hold spaces); floats as %a, which
 * reads back exactly. */
void frame_props_encode(const struct frame_props *p, char *out, size_t len)
{
    const float *c = p->chromaticities;
    snprintf(out, len, "1 %d %u %u %d %d %d %d %d %d %a %a %a %a %a %a %a %a %s", (int)p->format,
             p->width, p->height, p->bit_depth, p->components, p->codec, p->packing, p->transfer,
             p->colorimetric, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], p->channels);
}

bool frame_props_decode(const char *text, struct frame_props *p)
{
    float *c = p->chromaticities;
    int format, used = 0;

    memset(p, 0, sizeof *p);
    if (sscanf(text, "1 %d %u %u %d %d %d %d %d %d %a %a %a %a %a %a %a %a %n", &format, &p->width,
               &p->height, &p->bit_depth, &p->components, &p->codec, &p->packing, &p->transfer,
               &p->colorimetric, &c[0], &c[1], &c[2], &c[3], &c[4], &c[5], &c[6], &c[7],
               &used) < 17 ||
        !used)
        return false;
    p->format = (enum frame_format)format;
    snprintf(p->channels, sizeof p->channels, "%s", text + used);
    return true;
}

static bool differs(char *why, size_t len, const char *what, long want, long got)
{
    snprintf(why, len, "%s: expected %ld, found %ld", what, want, got);
    return false;
}

bool frame_props_same(const struct frame_props *a, const struct frame_props *b, char *why,
                      size_t len)
{
    if (a->format != b->format) {
        snprintf(why, len, "format: expected %s, found %s", frame_format_name(a->format),
                 frame_format_name(b->format));
        return false;
    }
    if (a->width != b->width || a->height != b->height) {
        snprintf(why, len, "resolution: expected %ux%u, found %ux%u", a->width, a->height, b->width,
                 b->height);
        return false;
    }
    if (a->bit_depth != b->bit_depth)
        return differs(why, len, "bit depth", a->bit_depth, b->bit_depth);
    if (strcmp(a->channels, b->channels) != 0) {
        snprintf(why, len, "channels: expected %s, found %s", a->channels, b->channels);
        return false;
    }
    if (a->codec != b->codec) {
        snprintf(why, len, "compression: expected %s, found %s",
                 exr_codec_name((enum exr_codec)a->codec),
                 exr_codec_name((enum exr_codec)b->codec));
        return false;
    }
    /* Packing is not an image property (SPEC.md S1): writers differ on it
     * for the same 16-bit layout (OpenImageIO 1, FFmpeg and ImageMagick 0). */
    if (a->transfer != b->transfer)
        return differs(why, len, "transfer", a->transfer, b->transfer);
    if (a->colorimetric != b->colorimetric)
        return differs(why, len, "colorimetric", a->colorimetric, b->colorimetric);
    if (memcmp(a->chromaticities, b->chromaticities, sizeof a->chromaticities) != 0) {
        snprintf(why, len, "chromaticities differ (red %.4f,%.4f vs %.4f,%.4f)",
                 a->chromaticities[0], a->chromaticities[1], b->chromaticities[0],
                 b->chromaticities[1]);
        return false;
    }
    return true;
}

struct seqset *seqset_new(void)
{
    return calloc(1, sizeof(struct seqset));
}

void seqset_free(struct seqset *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++) {
        frameset_free(&set->assets[i]->frames);
        free(set->assets[i]);
    }
    free(set->assets);
    free(set->titles);
    free(set);
}

size_t seqset_asset_count(const struct seqset *set)
{
    return set->count;
}

/* Index of the asset with this key, or -1; starts from the last hit
 * because frames of one sequence usually arrive together. */
static long find_asset(const struct seqset *set, const char *key)
{
    for (size_t n = 0; n < set->count; n++) {
        size_t i = (set->last_hit + n) % set->count;
        if (strcmp(set->assets[i]->key, key) == 0)
            return (long)i;
    }
    return -1;
}

/* True when a and b differ only inside 8-digit date tokens (_YYYYMMDD_):
 * a textless insert is often delivered on another day than its texted
 * asset, and the N3 date field records that. */
static bool same_but_dates(const char *a, const char *b)
{
    size_t n = strlen(a);

    if (strlen(b) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (a[i] == b[i])
            continue;
        size_t start = i;
        while (start > 0 && a[start - 1] >= '0' && a[start - 1] <= '9')
            start--;
        size_t end = start;
        while (end < n && a[end] >= '0' && a[end] <= '9' && b[end] >= '0' && b[end] <= '9')
            end++;
        if (end - start != 8 || start == 0 || a[start - 1] != '_' || end == n || a[end] != '_' ||
            b[end] != '_')
            return false;
        i = end;
    }
    return true;
}

/* The texted asset of a textless one: same key, or the same but dated. */
static long find_texted(const struct seqset *set, const char *key)
{
    long exact = find_asset(set, key);

    for (size_t i = 0; exact < 0 && i < set->count; i++)
        if (!set->assets[i]->textless && same_but_dates(set->assets[i]->key, key))
            return (long)i;
    return exact;
}

static struct asset *new_asset(struct seqset *set, const struct frame_name *name,
                               const struct frame_props *props)
{
    if (set->count == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        struct asset **grown = realloc(set->assets, cap * sizeof *grown);
        if (!grown)
            return NULL;
        set->assets = grown;
        set->cap = cap;
    }
    struct asset *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    snprintf(a->key, sizeof a->key, "%s", name->asset);
    snprintf(a->title, sizeof a->title, "%s", name->title);
    snprintf(a->texted, sizeof a->texted, "%s", name->texted_asset);
    a->textless = name->textless;
    a->props = *props;
    set->assets[set->count++] = a;
    return a;
}

static int significant_digits(uint64_t n)
{
    int d = 1;
    while (n >= 10)
        n /= 10, d++;
    return d;
}

static int numbering_width(const struct numbering *n)
{
    return n->exact ? n->exact : n->at_most;
}

static bool numbering_allows(const struct numbering *n, int digits, uint64_t frame)
{
    if (digits > significant_digits(frame)) /* zero-padded */
        return (!n->exact || n->exact == digits) && (!n->at_most || digits <= n->at_most);
    return !n->exact || n->exact <= digits;
}

static void numbering_record(struct numbering *n, int digits, uint64_t frame)
{
    if (digits > significant_digits(frame))
        n->exact = digits;
    else if (!n->at_most || digits < n->at_most)
        n->at_most = digits;
}

static struct title_numbering *find_title(const struct seqset *set, const char *title)
{
    for (size_t i = 0; i < set->title_count; i++)
        if (strcmp(set->titles[i].title, title) == 0)
            return &set->titles[i];
    return NULL;
}

/* S3: one numbering width across the picture assets of a title. */
static bool title_allows(const struct seqset *set, const struct frame_name *name, struct verdict *v)
{
    const struct title_numbering *t = find_title(set, name->title);

    if (!t || numbering_allows(&t->numbering, name->padding, name->frame))
        return true;
    return verdict_fail(v, RULE_S3,
                        "title %s: expected frame numbers padded to %d digits, found %d",
                        name->title, numbering_width(&t->numbering), name->padding);
}

static struct title_numbering *title_of(struct seqset *set, const char *title)
{
    struct title_numbering *t = find_title(set, title);

    if (!t) {
        struct title_numbering *grown =
            realloc(set->titles, (set->title_count + 1) * sizeof *set->titles);
        if (!grown)
            return false;
        set->titles = grown;
        t = &grown[set->title_count++];
        memset(t, 0, sizeof *t);
        snprintf(t->title, sizeof t->title, "%s", title);
    }
    return t;
}

static bool title_record(struct seqset *set, const struct frame_name *name)
{
    struct title_numbering *t = title_of(set, name->title);

    if (t)
        numbering_record(&t->numbering, name->padding, name->frame);
    return t != NULL;
}

void seqset_first_of(const struct frame_name *name, const struct frame_info *info,
                     struct frame_props *props, int *exact, int *at_most)
{
    struct numbering n = {0};

    frame_props_from_info(info, props);
    numbering_record(&n, name->padding, name->frame);
    *exact = n.exact;
    *at_most = n.at_most;
}

bool seqset_knows(const struct seqset *set, const struct frame_name *name, bool *asset, bool *title)
{
    *asset = find_asset(set, name->asset) >= 0;
    *title = find_title(set, name->title) != NULL;
    return *asset && *title;
}

bool seqset_adopt(struct seqset *set, const struct frame_name *name,
                  const struct frame_props *props, int exact, int at_most)
{
    if (props && find_asset(set, name->asset) < 0 && !new_asset(set, name, props))
        return false;
    if (exact < 0 || find_title(set, name->title))
        return true;
    struct title_numbering *t = title_of(set, name->title);
    if (t)
        t->numbering = (struct numbering){.exact = exact, .at_most = at_most};
    return t != NULL;
}

bool seqset_expect_padding(struct seqset *set, const char *title, int digits)
{
    struct title_numbering *t = title_of(set, title);

    if (t)
        t->numbering = (struct numbering){.exact = digits};
    return t != NULL;
}

int seqset_padding_fits(int digits, uint64_t frame)
{
    return digits > significant_digits(frame) ? digits : -digits;
}

/* S4 as a textless asset's first frame lands: same properties as the
 * texted asset, when that is known already. */
static bool textless_props(const struct seqset *set, const struct frame_name *name,
                           const struct frame_props *props, struct verdict *v)
{
    char why[200];
    long texted = name->textless ? find_texted(set, name->texted_asset) : -1;

    if (texted < 0 || frame_props_same(&set->assets[texted]->props, props, why, sizeof why))
        return true;
    return verdict_fail(v, RULE_S4, "textless insert differs from its texted asset: %s", why);
}

/* S1, S5 and the asset's own numbering width (S3) for a known asset. */
static bool fits_asset(const struct asset *a, const struct frame_name *name,
                       const struct frame_props *props, struct verdict *v)
{
    char why[200];

    if (!frame_props_same(&a->props, props, why, sizeof why))
        return verdict_fail(v, RULE_S1, "differs from the asset's first frame: %s", why);
    if (frameset_contains(&a->frames, name->frame))
        return verdict_fail(v, RULE_S5, "frame %llu of %s is already present under another name",
                            (unsigned long long)name->frame, a->key);
    if (!numbering_allows(&a->numbering, name->padding, name->frame))
        return verdict_fail(v, RULE_S3, "expected frame numbers padded to %d digits, found %d",
                            numbering_width(&a->numbering), name->padding);
    return true;
}

bool seqset_fits(const struct seqset *set, const struct frame_name *name,
                 const struct frame_info *info, struct verdict *v)
{
    struct frame_props props;
    long i = find_asset(set, name->asset);

    verdict_pass(v);
    frame_props_from_info(info, &props);
    if (i >= 0 && !fits_asset(set->assets[i], name, &props, v))
        return false;
    if (i < 0 && !textless_props(set, name, &props, v))
        return false;
    return title_allows(set, name, v);
}

bool seqset_add(struct seqset *set, const struct frame_name *name, const struct frame_info *info,
                struct verdict *v)
{
    struct frame_props props;

    if (!seqset_fits(set, name, info, v))
        return false;
    long i = find_asset(set, name->asset);
    if (i < 0) {
        frame_props_from_info(info, &props);
        if (!new_asset(set, name, &props))
            return verdict_fail(v, RULE_S1, "out of memory recording asset %s", name->asset);
        i = (long)set->count - 1;
    }
    numbering_record(&set->assets[i]->numbering, name->padding, name->frame);
    if (!title_record(set, name) || !frameset_add(&set->assets[i]->frames, name->frame))
        return verdict_fail(v, RULE_S2, "out of memory recording frame %llu",
                            (unsigned long long)name->frame);
    set->last_hit = (size_t)i;
    return true;
}

void seqset_remove(struct seqset *set, const char *asset, uint64_t frame)
{
    long i = find_asset(set, asset);

    if (i < 0)
        return;
    struct asset *a = set->assets[i];
    frameset_remove(&a->frames, frame);
    if (a->frames.count)
        return;
    /* the last frame went: the next first frame fixes the properties anew */
    frameset_free(&a->frames);
    free(a);
    set->assets[i] = set->assets[--set->count];
    set->last_hit = 0;
}

/* The gaps of a set whose numbers fill most of their range, by walking
 * the range: no copy, no sort (a 150,000-frame asset's status while
 * frames land: see docs/performance.md). */
static bool walk_gaps(const struct frameset *f, struct asset_report *out)
{
    for (uint64_t n = f->min + 1, from = 0; n <= f->max; n++) {
        bool present = frameset_contains(f, n);
        if (!present && !from)
            from = n; /* never 0: n > min */
        if (present && from) {
            if (!status_add_gap(&out->gaps, &out->gap_count, (int64_t)from, (int64_t)n - 1))
                return false;
            from = 0;
        }
    }
    return true;
}

static bool collect_gaps(const struct asset *a, struct asset_report *out)
{
    uint64_t span = a->frames.count ? a->frames.max - a->frames.min + 1 : 0;

    if (span == a->frames.count) /* distinct numbers filling their range: no gap */
        return true;
    if (span / 4 < a->frames.count)
        return walk_gaps(&a->frames, out);
    uint64_t *sorted = frameset_sorted(&a->frames);

    /* frame numbers are far below 2^63: the same values as int64_t */
    bool ok = sorted && status_find_gaps((const int64_t *)sorted, a->frames.count, &out->gaps,
                                         &out->gap_count);
    free(sorted);
    return ok;
}

/* S4 once every frame is known: the texted asset exists, has the same
 * properties and numbering, and holds every frame the insert has. */
static void judge_textless(const struct seqset *set, const struct asset *a,
                           struct asset_report *out)
{
    char why[200];
    long t = find_texted(set, a->texted);

    if (t < 0) {
        verdict_fail(&out->issue, RULE_S4,
                     "textless insert: expected its texted asset %s in "
                     "the delivery, found none",
                     a->texted);
        return;
    }
    const struct asset *texted = set->assets[t];
    if (!frame_props_same(&texted->props, &a->props, why, sizeof why)) {
        verdict_fail(&out->issue, RULE_S4, "textless insert differs from its texted asset: %s",
                     why);
        return;
    }
    if (numbering_width(&texted->numbering) != numbering_width(&a->numbering)) {
        verdict_fail(&out->issue, RULE_S4,
                     "textless insert: expected %d-digit frame numbers like its texted asset, "
                     "found %d",
                     numbering_width(&texted->numbering), numbering_width(&a->numbering));
        return;
    }
    uint64_t *frames = frameset_sorted(&a->frames);
    for (size_t i = 0; frames && i < a->frames.count; i++)
        if (!frameset_contains(&texted->frames, frames[i])) {
            verdict_fail(&out->issue, RULE_S4,
                         "textless frame %llu: expected a texted frame "
                         "with the same number (texted range %llu-%llu), found none",
                         (unsigned long long)frames[i], (unsigned long long)texted->frames.min,
                         (unsigned long long)texted->frames.max);
            break;
        }
    free(frames);
}

bool seqset_report(const struct seqset *set, size_t i, struct asset_report *out)
{
    const struct asset *a = set->assets[i];

    memset(out, 0, sizeof *out);
    out->asset = a->key;
    out->textless = a->textless;
    out->props = a->props;
    out->padding = numbering_width(&a->numbering);
    out->first = a->frames.min;
    out->last = a->frames.max;
    out->count = a->frames.count;
    if (!collect_gaps(a, out))
        return false;
    if (status_judge_s2(a->textless, (int64_t)out->first, (int64_t)out->last, out->gaps,
                        out->gap_count, &out->issue) &&
        a->textless)
        judge_textless(set, a, out);
    return true;
}
