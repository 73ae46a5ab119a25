/* The views of the delivery the mount shows: .namfs/status (text),
 * .namfs/status.json (namfs/status.h) and .namfs/rejected (each
 * folder's checksum.txt: checksum_view.c). */
#include "stage_internal.h"

#include "namfs/manifest.h"
#include "namfs/status.h"
#include "namfs/strbuf.h"
#include "namfs/text.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static bool count_frame(void *ctx, const struct catalog_brief *b)
{
    /* the asset's bytes come from its tally (status_count_tally) */
    return b->frame < 0 || status_count_frame(ctx, b->asset, b->frame, 0);
}

/* The delivery now: each asset's frames from the sequence memory, the
 * rest from the catalog's tallies, so that no landed row is read (issue
 * 17: 0.8 s at 150,000 frames). On a shared catalog the frames are every
 * host's: read from the catalog's rows. The lock held. */
static void count_delivery(struct stage *s, struct status *st)
{
    struct asset_report r;

    if (s->shared && !catalog_each_brief_after(s->cat, FILE_LANDED, "", 0, count_frame, st))
        st->failed = true;
    for (size_t i = 0; !s->shared && i < seqset_asset_count(s->seq); i++) {
        if (!seqset_report(s->seq, i, &r)) {
            free(r.gaps);
            st->failed = true;
            continue;
        }
        status_put_asset(st, r.asset, (size_t)r.count, (int64_t)r.first, (int64_t)r.last, r.gaps,
                         r.gap_count);
    }
    catalog_each_tally(s->cat, status_count_tally, st);
    status_finish(st);
}

/* What the views say beside the assets, taken under the lock. */
struct mount_facts {
    bool pending;
    uint64_t hashed;
    time_t first_landing;
    bool read_only;
    char read_only_reason[600];
    time_t read_only_since;
};

static struct mount_facts mount_facts(struct stage *s)
{
    struct mount_facts m = {.pending = s->dirty,
                            .hashed = s->hashed_bytes,
                            .first_landing = s->first_landing,
                            .read_only = stage_read_only(s),
                            .read_only_since = s->read_only_since};
    snprintf(m.read_only_reason, sizeof m.read_only_reason, "%s", s->read_only_reason);
    return m;
}

static double hash_rate(const struct mount_facts *m)
{
    double seconds = m->first_landing ? difftime(time(NULL), m->first_landing) : 0;
    return seconds >= 1 ? (double)m->hashed / 1e6 / seconds : (double)m->hashed / 1e6;
}

/* Held files (N6), one line each: what keeps them from the delivery. */
struct held_list {
    struct strbuf *out;
    size_t count;
    bool json;
};

static bool list_held(void *ctx, const struct catalog_file *f)
{
    struct held_list *l = ctx;
    char path[4 * CATALOG_PATH_MAX], message[4 * sizeof f->verdict.message];

    if (l->json) {
        strbuf_add(l->out, "%s\n    {\"path\": ", l->count ? "," : "");
        strbuf_json(l->out, f->path);
        strbuf_add(l->out, ", \"rename_refused\": ");
        if (f->verdict.rule == RULE_NONE) {
            strbuf_add(l->out, "null}");
        } else {
            strbuf_add(l->out, "{\"rule\": ");
            strbuf_json(l->out, rule_name(f->verdict.rule));
            strbuf_add(l->out, ", \"message\": ");
            strbuf_json(l->out, f->verdict.message);
            strbuf_add(l->out, "}}");
        }
    } else if (f->verdict.rule == RULE_NONE) {
        strbuf_add(l->out, "held\t%s\tN6: rename it to its final name, or delete it\n",
                   text_escape(f->path, path, sizeof path));
    } else {
        strbuf_add(l->out, "held\t%s\tits rename was refused: %s %s\n",
                   text_escape(f->path, path, sizeof path), rule_name(f->verdict.rule),
                   text_escape(f->verdict.message, message, sizeof message));
    }
    l->count++;
    return true;
}

/* A file changed behind the mount (SPEC M3): what was found, what to do. */
static bool list_changed(void *ctx, const struct catalog_file *f)
{
    struct held_list *l = ctx;
    char path[4 * CATALOG_PATH_MAX], message[4 * sizeof f->verdict.message];

    if (l->json) {
        strbuf_add(l->out, "%s\n    {\"path\": ", l->count ? "," : "");
        strbuf_json(l->out, f->path);
        strbuf_add(l->out, ", \"rule\": \"M3\", \"message\": ");
        strbuf_json(l->out, f->verdict.message);
        strbuf_add(l->out, "}");
    } else {
        strbuf_add(l->out, "changed\t%s\tM3 %s\n", text_escape(f->path, path, sizeof path),
                   text_escape(f->verdict.message, message, sizeof message));
    }
    l->count++;
    return true;
}

static char *render_status(struct stage *s)
{
    struct status st = {0};
    struct strbuf t = {0}, held_lines = {0};
    struct held_list held = {&held_lines, 0, false}, changed = {&held_lines, 0, false};
    char at[32];

    strbuf_add(&held_lines, "%s", "");
    pthread_mutex_lock(&s->model);
    count_delivery(s, &st);
    catalog_each_file(s->cat, NULL, FILE_HELD, list_held, &held);
    catalog_each_file(s->cat, NULL, FILE_CHANGED, list_changed, &changed);
    struct mount_facts m = mount_facts(s);
    pthread_mutex_unlock(&s->model);
    strbuf_add(&t, "namfs staging area %s (profile: %s)\n", s->backing_path, s->profile.source);
    strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S", localtime_r(&m.read_only_since, &(struct tm){0}));
    char where[PATH_MAX + 64];
    if (m.read_only)
        strbuf_add(&t,
                   "READ-ONLY since %s: the catalog %s cannot record changes (%s). %s, and "
                   "writing resumes by itself\n",
                   at, stage_catalog_place(s, where, sizeof where), m.read_only_reason,
                   stage_catalog_remedy(s));
    strbuf_add(&t, "ASSET\tFRAMES\tRANGE\tGAPS\tREJECTED\tBYTES\n");
    status_text_assets(&st, &t);
    strbuf_add(&t, "%s", held_lines.data);
    strbuf_add(&t,
               "%zu files landed (%.1f MB), %zu refused, %zu held, %zu changed behind the mount; "
               "hashed %.1f MB through this mount, %.0f MB/s since the first landing; "
               "manifests %s\n",
               st.files, (double)st.bytes / 1e6, st.refused, held.count, changed.count,
               (double)m.hashed / 1e6, hash_rate(&m),
               m.pending ? "pending (written once landings pause)" : "current");
    free(held_lines.data);
    status_free(&st);
    return strbuf_take(&t);
}

/* One line per file, tab-separated: a tab or newline in a name or in a
 * message quoting it is escaped, so the line stays one line of 4 fields. */
static bool list_refused(void *ctx, const struct catalog_file *f)
{
    char path[4 * CATALOG_PATH_MAX], message[4 * sizeof f->verdict.message];

    strbuf_add(ctx, "%s\t%s\t%s\t%s\n", text_escape(f->path, path, sizeof path),
               rule_name(f->verdict.rule), text_escape(f->verdict.message, message, sizeof message),
               f->state == FILE_QUARANTINED ? "quarantined"
               : f->state == FILE_HELD      ? "held (its rename was refused)"
                                            : "kept in place");
    return true;
}

/* A held file whose rename to a final name a rule refused. */
static bool list_refused_rename(void *ctx, const struct catalog_file *f)
{
    return f->verdict.rule == RULE_NONE || list_refused(ctx, f);
}

char *stage_render_rejected(struct stage *s)
{
    struct strbuf t = {0};

    strbuf_add(&t, "%s", "");
    pthread_mutex_lock(&s->model);
    catalog_each_file(s->cat, NULL, FILE_QUARANTINED, list_refused, &t);
    catalog_each_file(s->cat, NULL, FILE_REJECTED, list_refused, &t);
    catalog_each_file(s->cat, NULL, FILE_HELD, list_refused_rename, &t);
    pthread_mutex_unlock(&s->model);
    return strbuf_take(&t);
}

struct json_list {
    struct strbuf *out;
    bool first;
};

static bool list_refused_json(void *ctx, const struct catalog_file *f)
{
    struct json_list *l = ctx;

    strbuf_add(l->out, "%s\n    {\"path\": ", l->first ? "" : ",");
    strbuf_json(l->out, f->path);
    strbuf_add(l->out, ", \"verdict\": \"fail\", \"rule\": ");
    strbuf_json(l->out, rule_name(f->verdict.rule));
    strbuf_add(l->out, ", \"message\": ");
    strbuf_json(l->out, f->verdict.message);
    strbuf_add(l->out, ", \"where\": \"%s\"}",
               f->state == FILE_QUARANTINED ? "quarantine" : "in place");
    l->first = false;
    return true;
}

static char *render_status_json(struct stage *s)
{
    struct status st = {0};
    struct strbuf t = {0};
    struct json_list rejected = {&t, true};
    struct held_list held = {&t, 0, true}, changed = {&t, 0, true};

    strbuf_add(&t, "{\n  \"schema\": %d,\n  \"staging_area\": ", STATUS_SCHEMA);
    strbuf_json(&t, s->backing_path);
    strbuf_add(&t, ",\n  \"profile\": ");
    strbuf_json(&t, s->profile.source);
    pthread_mutex_lock(&s->model);
    count_delivery(s, &st);
    struct mount_facts m = mount_facts(s);
    strbuf_add(&t, ",\n  \"rejected\": [");
    catalog_each_file(s->cat, NULL, FILE_QUARANTINED, list_refused_json, &rejected);
    catalog_each_file(s->cat, NULL, FILE_REJECTED, list_refused_json, &rejected);
    strbuf_add(&t, rejected.first ? "],\n  \"held\": [" : "\n  ],\n  \"held\": [");
    catalog_each_file(s->cat, NULL, FILE_HELD, list_held, &held);
    strbuf_add(&t, held.count ? "\n  ],\n  \"changed\": [" : "],\n  \"changed\": [");
    catalog_each_file(s->cat, NULL, FILE_CHANGED, list_changed, &changed);
    pthread_mutex_unlock(&s->model);
    strbuf_add(&t, changed.count ? "\n  ],\n  \"read_only\": " : "],\n  \"read_only\": ");
    if (m.read_only) {
        strbuf_add(&t, "{\"since\": %lld, \"reason\": ", (long long)m.read_only_since);
        strbuf_json(&t, m.read_only_reason);
        strbuf_add(&t, ", \"state_folder\": ");
        strbuf_json(&t, s->state_path);
        strbuf_add(&t, "}");
    } else {
        strbuf_add(&t, "null");
    }
    strbuf_add(&t, ",\n  \"assets\": ");
    status_json_assets(&st, &t);
    strbuf_add(&t,
               ",\n  \"totals\": {\"files\": %zu, \"bytes\": %llu, \"refused\": %zu, "
               "\"held\": %zu, \"changed\": %zu},\n"
               "  \"hashed_bytes\": %llu,\n  \"hash_rate_mb_per_s\": %.1f,\n"
               "  \"manifests\": \"%s\"\n}\n",
               st.files, (unsigned long long)st.bytes, st.refused, held.count, changed.count,
               (unsigned long long)m.hashed, hash_rate(&m), m.pending ? "pending" : "current");
    status_free(&st);
    return strbuf_take(&t);
}

long stage_frames_beneath(struct stage *s, const char *path)
{
    pthread_mutex_lock(&s->model);
    long count = catalog_count_frames_under(s->cat, stage_relative(path));
    pthread_mutex_unlock(&s->model);
    return count;
}

/* A view as last rendered while nothing it shows has moved (the catalog's
 * version, pending manifests, read-only, the second of its hash rate):
 * a stat and the open that follows it render once (issue 17: a status of
 * 150,000 frames took 0.8 s, twice per cat). */
static char *cached_view(struct stage *s, struct view_cache *c, char *(*render)(struct stage *))
{
    pthread_mutex_lock(&s->model);
    struct view_cache now = {catalog_writes(s->cat), time(NULL), s->dirty, stage_read_only(s),
                             NULL};
    bool fresh = c->text && c->version == now.version && c->second == now.second &&
                 c->dirty == now.dirty && c->read_only == now.read_only;
    char *text = fresh ? strdup(c->text) : NULL;
    pthread_mutex_unlock(&s->model);
    if (fresh)
        return text;
    text = render(s);
    char *keep = text ? strdup(text) : NULL;
    pthread_mutex_lock(&s->model);
    free(c->text);
    *c = now; /* the key taken before rendering: a change meanwhile renders again */
    c->text = keep;
    pthread_mutex_unlock(&s->model);
    return text;
}

char *stage_render_status(struct stage *s)
{
    return cached_view(s, &s->views[0], render_status);
}

char *stage_render_status_json(struct stage *s)
{
    return cached_view(s, &s->views[1], render_status_json);
}
