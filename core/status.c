#include "namfs/status.h"

#include "namfs/naming.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A textless insert (N3 asset type nam-txtls): its sequence folder, the
 * last folder of its key, says so. */
static bool textless_key(const char *key)
{
    char folder[CATALOG_PATH_MAX], why[200];
    struct declared d;
    const char *end = strrchr(key, '/');
    if (!end)
        return false;
    const char *start = memrchr(key, '/', (size_t)(end - key));
    start = start ? start + 1 : key;
    snprintf(folder, sizeof folder, "%.*s", (int)(end - start), start);
    return naming_parse_folder(folder, &d, why, sizeof why) && d.textless;
}

static struct status_asset *asset_of(struct status *st, const char *key)
{
    for (size_t i = 0; i < st->count; i++)
        if (strcmp(st->assets[i].key, key) == 0)
            return &st->assets[i];
    struct status_asset *grown = realloc(st->assets, (st->count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    st->assets = grown;
    memset(&grown[st->count], 0, sizeof *grown);
    snprintf(grown[st->count].key, sizeof grown->key, "%s", key);
    grown[st->count].textless = textless_key(key);
    return &grown[st->count++];
}

bool status_count_frame(struct status *st, const char *asset, int64_t frame, uint64_t size)
{
    struct status_asset *a = asset_of(st, asset);

    if (!a) {
        st->failed = true;
        return false;
    }
    if (a->count == a->cap) {
        int64_t *grown = realloc(a->frames, (a->cap ? a->cap * 2 : 64) * sizeof *grown);
        if (!grown) {
            st->failed = true;
            return false;
        }
        a->frames = grown;
        a->cap = a->cap ? a->cap * 2 : 64;
    }
    a->frames[a->count++] = frame;
    a->bytes += size;
    return true;
}

bool status_count_landed(void *ctx, const struct catalog_file *f)
{
    struct status *st = ctx;

    st->files++;
    st->bytes += f->size;
    return f->frame < 0 || status_count_frame(st, f->asset, f->frame, f->size);
}

/* n refusals in folder dir (dir_len bytes of it): each asset there
 * counts them. */
static void count_refused(struct status *st, const char *dir, size_t dir_len, size_t n)
{
    st->refused += n;
    for (size_t i = 0; i < st->count; i++)
        if (strncmp(st->assets[i].key, dir, dir_len) == 0 && st->assets[i].key[dir_len] == '/')
            st->assets[i].refused += n;
}

bool status_count_refused(void *ctx, const struct catalog_file *f)
{
    const char *slash = strrchr(f->path, '/');

    count_refused(ctx, f->path, slash ? (size_t)(slash - f->path) : 0, 1);
    return true;
}

bool status_put_asset(struct status *st, const char *key, size_t count, int64_t first, int64_t last,
                      struct status_range *gaps, size_t gap_count)
{
    struct status_asset *a = asset_of(st, key);

    if (!a) {
        free(gaps);
        st->failed = true;
        return false;
    }
    free(a->gaps);
    a->count = count;
    a->first = first;
    a->last = last;
    a->gaps = gaps;
    a->gap_count = gap_count;
    return true;
}

bool status_count_tally(void *ctx, const struct catalog_tally *t)
{
    struct status *st = ctx;

    if (t->state == FILE_QUARANTINED || t->state == FILE_REJECTED) {
        count_refused(st, t->dir, strlen(t->dir), (size_t)t->files);
        return true;
    }
    if (t->state != FILE_LANDED)
        return true;
    st->files += (size_t)t->files;
    st->bytes += t->bytes;
    for (size_t i = 0; t->frames && i < st->count; i++)
        if (strcmp(st->assets[i].key, t->asset) == 0)
            st->assets[i].bytes += t->bytes; /* an asset's rows are all frames */
    return true;
}

static int compare_frames(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

bool status_add_gap(struct status_range **gaps, size_t *count, int64_t first, int64_t last)
{
    struct status_range *grown = realloc(*gaps, (*count + 1) * sizeof *grown);
    if (!grown)
        return false;
    *gaps = grown;
    grown[(*count)++] = (struct status_range){first, last};
    return true;
}

bool status_find_gaps(const int64_t *sorted, size_t n, struct status_range **gaps, size_t *count)
{
    for (size_t i = 1; i < n; i++)
        if (sorted[i] > sorted[i - 1] + 1 &&
            !status_add_gap(gaps, count, sorted[i - 1] + 1, sorted[i] - 1))
            return false;
    return true;
}

bool status_judge_s2(bool textless, int64_t first, int64_t last, const struct status_range *gaps,
                     size_t gap_count, struct verdict *v)
{
    if (textless || gap_count == 0) {
        verdict_pass(v);
        return true;
    }
    verdict_fail(v, RULE_S2, "%zu gap(s) in frames %lld-%lld, first missing %lld", gap_count,
                 (long long)first, (long long)last, (long long)gaps[0].first);
    return false;
}

static void find_gaps(struct status *st, struct status_asset *a)
{
    if (!a->frames)
        return; /* put with its gaps */
    if (a->count > 1)
        qsort(a->frames, a->count, sizeof *a->frames, compare_frames);
    a->first = a->frames[0];
    a->last = a->frames[a->count - 1];
    if (!status_find_gaps(a->frames, a->count, &a->gaps, &a->gap_count))
        st->failed = true;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(((const struct status_asset *)a)->key, ((const struct status_asset *)b)->key);
}

void status_finish(struct status *st)
{
    for (size_t i = 0; i < st->count; i++)
        find_gaps(st, &st->assets[i]);
    if (st->count > 1)
        qsort(st->assets, st->count, sizeof *st->assets, compare_keys);
}

void status_free(struct status *st)
{
    for (size_t i = 0; i < st->count; i++) {
        free(st->assets[i].frames);
        free(st->assets[i].gaps);
    }
    free(st->assets);
    *st = (struct status){0};
}

void status_text_assets(const struct status *st, struct strbuf *out)
{
    for (size_t i = 0; i < st->count; i++) {
        const struct status_asset *a = &st->assets[i];
        strbuf_add(out, "%s\t%zu frames\t%lld-%lld\t%zu gap(s)\t%zu rejected\t%.1f MB\n", a->key,
                   a->count, (long long)a->first, (long long)a->last, a->gap_count, a->refused,
                   (double)a->bytes / 1e6);
    }
}

void status_json_assets(const struct status *st, struct strbuf *out)
{
    strbuf_add(out, "[");
    for (size_t i = 0; i < st->count; i++) {
        const struct status_asset *a = &st->assets[i];
        strbuf_add(out, "%s\n    {\"asset\": ", i ? "," : "");
        strbuf_json(out, a->key);
        strbuf_add(out,
                   ", \"textless\": %s, \"frames\": %zu, \"first\": %lld, \"last\": %lld, "
                   "\"gaps\": [",
                   a->textless ? "true" : "false", a->count, (long long)a->first,
                   (long long)a->last);
        for (size_t g = 0; g < a->gap_count; g++)
            strbuf_add(out, "%s[%lld, %lld]", g ? ", " : "", (long long)a->gaps[g].first,
                       (long long)a->gaps[g].last);
        strbuf_add(out, "], \"refused\": %zu, \"bytes\": %llu}", a->refused,
                   (unsigned long long)a->bytes);
    }
    strbuf_add(out, st->count ? "\n  ]" : "]");
}
