/* The check's results by folder: assets over every frame that names them,
 * and verdicts grouped so that thirty frames refused for one reason are
 * one line with their ranges, not thirty. */
#include "summary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *summary_base_name(const char *relpath)
{
    const char *slash = strrchr(relpath, '/');
    return slash ? slash + 1 : relpath;
}

static size_t folder_length(const char *relpath)
{
    return (size_t)(summary_base_name(relpath) - relpath) - (strchr(relpath, '/') != NULL);
}

void summary_ranges(const struct status_range *r, size_t n, const char *sep, char *out, size_t len)
{
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)(r[i].first == r[i].last
                             ? snprintf(out + used, len - used, "%s%lld", i ? sep : "",
                                        (long long)r[i].first)
                             : snprintf(out + used, len - used, "%s%lld-%lld", i ? sep : "",
                                        (long long)r[i].first, (long long)r[i].last));
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorted, distinct numbers as ranges. */
static bool as_ranges(int64_t *n, size_t count, struct status_range **out, size_t *ranges)
{
    qsort(n, count, sizeof *n, compare_i64);
    for (size_t i = 0; i < count;) {
        size_t j = i;
        while (j + 1 < count && n[j + 1] <= n[j] + 1)
            j++;
        if (!status_add_gap(out, ranges, n[i], n[j]))
            return false;
        i = j + 1;
    }
    return true;
}

static struct folder_summary *folder_of(struct summary *s, const char *relpath)
{
    size_t len = folder_length(relpath);

    for (size_t i = s->count; i-- > 0;) /* walk order: the last one, mostly */
        if (strlen(s->folders[i].folder) == len && strncmp(s->folders[i].folder, relpath, len) == 0)
            return &s->folders[i];
    struct folder_summary *grown = realloc(s->folders, (s->count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    s->folders = grown;
    struct folder_summary *f = &grown[s->count];
    memset(f, 0, sizeof *f);
    f->folder = strndup(relpath, len);
    if (!f->folder)
        return NULL;
    s->count++;
    return f;
}

static bool same_verdict(const struct file_result *a, const struct file_result *b)
{
    return a->outcome == b->outcome && a->verdict.rule == b->verdict.rule &&
           strcmp(a->verdict.message, b->verdict.message) == 0;
}

static bool join_group(struct folder_summary *f, const struct check_run *run, size_t i)
{
    const struct file_result *r = &run->results[i];
    struct verdict_group *g = NULL;

    for (size_t k = 0; !g && k < f->group_count; k++)
        if (same_verdict(f->groups[k].first, r))
            g = &f->groups[k];
    if (!g) {
        struct verdict_group *grown = realloc(f->groups, (f->group_count + 1) * sizeof *grown);
        if (!grown)
            return false;
        f->groups = grown;
        g = &grown[f->group_count++];
        memset(g, 0, sizeof *g);
        g->first = r;
    }
    size_t *members = realloc(g->members, (g->count + 1) * sizeof *members);
    if (!members)
        return false;
    g->members = members;
    g->members[g->count++] = i;
    g->frame_count += r->frame >= 0;
    return true;
}

static bool group_frames(const struct check_run *run, struct verdict_group *g)
{
    int64_t *n = malloc((g->frame_count ? g->frame_count : 1) * sizeof *n);
    size_t count = 0;

    for (size_t k = 0; n && k < g->count; k++)
        if (run->results[g->members[k]].frame >= 0)
            n[count++] = run->results[g->members[k]].frame;
    bool ok = n && as_ranges(n, count, &g->frames, &g->range_count);
    free(n);
    return ok;
}

static struct asset_summary *asset_of(struct folder_summary *f, const char *key)
{
    for (size_t i = 0; i < f->asset_count; i++)
        if (strcmp(f->assets[i].key, key) == 0)
            return &f->assets[i];
    struct asset_summary *grown = realloc(f->assets, (f->asset_count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    f->assets = grown;
    struct asset_summary *a = &grown[f->asset_count++];
    memset(a, 0, sizeof *a);
    a->key = key;
    return a;
}

/* Every number from first to last that neither a passed nor a refused
 * frame has. refused is sorted. */
static bool missing_frames(struct asset_summary *a, const int64_t *refused, size_t n)
{
    const struct asset_report *r = a->report;
    struct status_range *missing = NULL;
    size_t count = 0;
    bool ok = true;

    if (!r || r->count == 0)
        ok = status_add_gap(&missing, &count, a->first, a->last);
    else {
        if (a->first < (int64_t)r->first)
            ok = status_add_gap(&missing, &count, a->first, (int64_t)r->first - 1);
        for (size_t g = 0; ok && g < r->gap_count; g++)
            ok = status_add_gap(&missing, &count, r->gaps[g].first, r->gaps[g].last);
        if (ok && a->last > (int64_t)r->last)
            ok = status_add_gap(&missing, &count, (int64_t)r->last + 1, a->last);
    }
    size_t k = 0; /* cut the refused numbers out of each missing range */
    for (size_t g = 0; ok && g < count; g++) {
        int64_t from = missing[g].first;
        while (k < n && refused[k] < from)
            k++;
        for (; ok && k < n && refused[k] <= missing[g].last; k++) {
            if (refused[k] > from)
                ok = status_add_gap(&a->gaps, &a->gap_count, from, refused[k] - 1);
            from = refused[k] + 1;
        }
        if (ok && from <= missing[g].last)
            ok = status_add_gap(&a->gaps, &a->gap_count, from, missing[g].last);
    }
    free(missing);
    return ok;
}

static void judge_asset(struct asset_summary *a, const struct file_result *first_refused)
{
    if (!status_judge_s2(a->report ? a->report->textless : false, a->first, a->last, a->gaps,
                         a->gap_count, &a->issue))
        return;
    if (a->refused) {
        char ranges[120];
        summary_ranges(a->refused_frames, a->refused_range_count, ", ", ranges, sizeof ranges);
        verdict_fail(&a->issue, first_refused->verdict.rule, "%zu frame(s) refused: %s", a->refused,
                     ranges);
        return;
    }
    if (a->report)
        a->issue = a->report->issue;
}

/* The refused frames of one asset, with its passed ones, make its range. */
static bool finish_asset(const struct check_run *run, struct asset_summary *a)
{
    int64_t *refused = malloc((a->refused ? a->refused : 1) * sizeof *refused);
    const struct file_result *first_refused = NULL;
    size_t n = 0;

    for (size_t i = 0; refused && i < run->files.count; i++) {
        const struct file_result *r = &run->results[i];
        if (!r->asset || strcmp(r->asset, a->key) != 0)
            continue;
        if (!first_refused || r->frame < first_refused->frame)
            first_refused = r;
        refused[n++] = r->frame;
    }
    if (a->report && a->report->count) {
        a->first = (int64_t)a->report->first;
        a->last = (int64_t)a->report->last;
    } else if (n) {
        a->first = a->last = refused[0];
    }
    for (size_t i = 0; i < n; i++) {
        a->first = refused[i] < a->first ? refused[i] : a->first;
        a->last = refused[i] > a->last ? refused[i] : a->last;
    }
    bool ok = refused && as_ranges(refused, n, &a->refused_frames, &a->refused_range_count) &&
              missing_frames(a, refused, n);
    if (ok)
        judge_asset(a, first_refused);
    free(refused);
    return ok;
}

static bool add_assets(const struct check_run *run, struct summary *s)
{
    for (size_t i = 0; i < run->asset_count; i++) {
        const struct asset_report *r = &run->assets[i];
        struct folder_summary *f = folder_of(s, r->asset) /* keys are FOLDER/STEM */;
        struct asset_summary *a = f ? asset_of(f, r->asset) : NULL;
        if (!a)
            return false;
        a->report = r;
        a->passed = r->count;
    }
    for (size_t i = 0; i < run->files.count; i++) {
        const char *key = run->results[i].asset;
        struct folder_summary *f = key ? folder_of(s, key) : NULL;
        struct asset_summary *a = f ? asset_of(f, key) : NULL;
        if (key && !a)
            return false;
        if (a)
            a->refused++;
    }
    for (size_t i = 0; i < s->count; i++)
        for (size_t k = 0; k < s->folders[i].asset_count; k++)
            if (!finish_asset(run, &s->folders[i].assets[k]))
                return false;
    return true;
}

bool summary_build(const struct check_run *run, bool all, struct summary *out)
{
    memset(out, 0, sizeof *out);
    bool ok = true;
    for (size_t i = 0; ok && i < run->files.count; i++) {
        if (!all && run->results[i].outcome != JUDGED_FAIL)
            continue;
        struct folder_summary *f = folder_of(out, run->files.entries[i].relpath);
        ok = f && join_group(f, run, i);
    }
    for (size_t i = 0; ok && i < out->count; i++)
        for (size_t g = 0; ok && g < out->folders[i].group_count; g++)
            ok = group_frames(run, &out->folders[i].groups[g]);
    ok = ok && add_assets(run, out);
    if (!ok)
        summary_free(out);
    return ok;
}

void summary_free(struct summary *s)
{
    for (size_t i = 0; i < s->count; i++) {
        struct folder_summary *f = &s->folders[i];
        for (size_t g = 0; g < f->group_count; g++) {
            free(f->groups[g].members);
            free(f->groups[g].frames);
        }
        for (size_t a = 0; a < f->asset_count; a++) {
            free(f->assets[a].gaps);
            free(f->assets[a].refused_frames);
        }
        free(f->groups);
        free(f->assets);
        free(f->folder);
    }
    free(s->folders);
    memset(s, 0, sizeof *s);
}
