/* The custody record (namfs/custody.h): the history's ignore patterns and
 * the generation a seal or a failure calls for, derived from the catalog. */
#include "namfs/custody.h"

#include "namfs/ignore.h"
#include "namfs/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Never part of the delivery: the history itself, and the hidden, system
 * and temp files SPEC.md N6 keeps out (gitignore syntax). */
static const char *const system_patterns[] = {
    "ascmhl", "ascmhl/", ".DS_Store", ".*",        "Thumbs.db", "desktop.ini", "*~",
    "*.swp",  "*.tmp",   "*.part",    "*.partial", "#*",        "~*",          "*.????????.temp.*"};

/* The sealed folders, as the catalog has them: listed by a generation, or
 * sealed since and about to be. */
struct seals {
    struct strlist listed, pending;
};

static bool add_sealed(void *ctx, const char *folder, int generation)
{
    struct seals *s = ctx;
    return strlist_add(generation ? &s->listed : &s->pending, folder);
}

static bool read_seals(struct catalog *cat, struct seals *s)
{
    memset(s, 0, sizeof *s);
    return catalog_each_sealed(cat, add_sealed, s);
}

static void seals_free(struct seals *s)
{
    strlist_free(&s->listed);
    strlist_free(&s->pending);
}

static bool sealed(const struct seals *s, const char *path)
{
    return strlist_holds_path(&s->listed, path) || strlist_holds_path(&s->pending, path);
}

/* What the patterns are computed from. */
struct layout {
    struct seals seals;
    struct strlist unsealed; /* asset folders outside them, outermost only */
    struct strlist *out;
};

/* A name XML cannot carry (not UTF-8, control characters) gets no pattern:
 * such a file is refused (M2) and reported, and no MHL can name it. */
static bool add_pattern(struct layout *l, const char *rel, bool folder, bool negate)
{
    if (!text_is_plain(rel))
        return true;
    char *pattern = ignore_pattern_for(rel, folder);
    char *text = pattern && negate ? malloc(strlen(pattern) + 2) : NULL;

    if (text)
        snprintf(text, strlen(pattern) + 2, "!%s", pattern);
    bool ok = pattern && (!negate || text) && strlist_add(l->out, negate ? text : pattern);
    free(pattern);
    free(text);
    return ok;
}

/* A file outside every asset folder, before the root is sealed (a landed
 * frame is in one by definition; a changed one may be left alone). */
static bool add_loose(void *ctx, const struct catalog_file *f)
{
    struct layout *l = ctx;

    if ((f->state == FILE_LANDED && f->frame >= 0) || strlist_holds_path(&l->unsealed, f->path) ||
        sealed(&l->seals, f->path))
        return true;
    return add_pattern(l, f->path, false, false);
}

/* add_loose for the files in state of each folder that may hold loose
 * ones, read folder by folder: a landed delivery's frames are not read
 * (issue 17: every checkpoint read all 150,000 rows of a feature). */
static bool add_loose_in(struct catalog *cat, struct layout *l, enum file_state state)
{
    struct strlist dirs = {0};
    bool ok = catalog_each_dir_holding(cat, state, state != FILE_LANDED, strlist_add_to, &dirs);

    for (size_t i = 0; ok && i < dirs.count; i++)
        if (!strlist_holds_path(&l->unsealed, dirs.items[i]) && !sealed(&l->seals, dirs.items[i]))
            ok = catalog_each_file(cat, dirs.items[i], state, add_loose, l);
    strlist_free(&dirs);
    return ok;
}

/* The asset folders no seal covers, each inside no other of them (its
 * pattern covers what lies beneath). Sorted input: an outer folder comes
 * before the folders beneath it. */
static bool find_unsealed(struct catalog *cat, struct layout *l)
{
    struct strlist frame_dirs = {0};
    bool ok = catalog_each_frame_dir(cat, strlist_add_to, &frame_dirs);

    for (size_t i = 0; ok && i < frame_dirs.count; i++) {
        const char *dir = frame_dirs.items[i];
        if (!sealed(&l->seals, dir) && !strlist_holds_path(&l->unsealed, dir))
            ok = strlist_add(&l->unsealed, dir);
    }
    strlist_free(&frame_dirs);
    return ok;
}

bool custody_patterns(struct catalog *cat, struct strlist *out, char *err, size_t err_len)
{
    struct layout l = {.out = out};
    static const enum file_state on_disk[] = {FILE_LANDED, FILE_CHANGED, FILE_REJECTED};
    const struct strlist *both[] = {&l.seals.listed, &l.seals.pending};

    memset(out, 0, sizeof *out);
    bool ok = read_seals(cat, &l.seals);
    for (size_t i = 0; ok && i < sizeof system_patterns / sizeof *system_patterns; i++)
        ok = strlist_add(out, system_patterns[i]);
    if (ok && !sealed(&l.seals, "")) { /* "" is the root: its seal lists everything */
        ok = find_unsealed(cat, &l);
        for (size_t i = 0; ok && i < l.unsealed.count; i++)
            ok = add_pattern(&l, l.unsealed.items[i], true, false);
        for (size_t i = 0; ok && i < sizeof on_disk / sizeof *on_disk; i++)
            ok = add_loose_in(cat, &l, on_disk[i]);
        /* a sealed folder inside an unsealed one is listed: let it be seen */
        for (size_t b = 0; b < 2; b++)
            for (size_t i = 0; ok && i < both[b]->count; i++)
                if (strlist_holds_path(&l.unsealed, both[b]->items[i]))
                    ok = add_pattern(&l, both[b]->items[i], false, true);
    }
    if (!ok) {
        snprintf(err, err_len, "custody patterns: %s",
                 catalog_error(cat)[0] ? catalog_error(cat) : "out of memory");
        strlist_free(out);
    }
    seals_free(&l.seals);
    strlist_free(&l.unsealed);
    return ok;
}

/* ---- the generation ---- */

struct update {
    struct catalog *cat;
    struct mhl_draft *draft;
    struct seals seals;
    struct strlist paths; /* listed by the draft, for their rows' `recorded` */
    size_t failed;
    struct catalog_generation *generation; /* the one written */
};

static bool list_original(void *ctx, const struct catalog_file *f)
{
    struct update *u = ctx;
    if (f->recorded)
        return true; /* listed by an earlier seal (a folder sealed inside this one) */
    return mhl_draft_add(u->draft, f, "original") && strlist_add(&u->paths, f->path);
}

/* A listed file changed behind namfs's back: what the check found, as
 * failed. One without digests (removed, unreadable) is missing to every
 * verifier; nothing to record. */
static bool list_failed(void *ctx, const struct catalog_file *f)
{
    struct update *u = ctx;
    if (!sealed(&u->seals, f->path) || !f->digests.present)
        return true;
    u->failed++;
    return mhl_draft_add(u->draft, f, "failed") && strlist_add(&u->paths, f->path);
}

static bool list_entries(struct update *u)
{
    bool ok = true;

    for (size_t i = 0; ok && i < u->seals.pending.count; i++)
        ok = catalog_each_under(u->cat, u->seals.pending.items[i], FILE_LANDED, list_original, u);
    return ok && catalog_each_unrecorded(u->cat, FILE_CHANGED, list_failed, u);
}

/* The catalog learns which generation listed what. */
static bool record_generation(struct catalog *cat, void *ctx)
{
    const struct update *u = ctx;
    bool ok = catalog_add_generation(cat, u->generation);

    for (size_t i = 0; ok && i < u->paths.count; i++)
        ok = catalog_set_recorded(cat, u->paths.items[i], u->generation->sequence);
    for (size_t i = 0; ok && i < u->seals.pending.count; i++)
        ok = catalog_seal_listed(cat, u->seals.pending.items[i], u->generation->sequence);
    return ok;
}

static void update_free(struct update *u)
{
    mhl_draft_free(u->draft);
    seals_free(&u->seals);
    strlist_free(&u->paths);
}

bool custody_update(struct catalog *cat, int root_fd, const char *root_name, uint32_t algos,
                    int64_t now, struct catalog_generation *out, struct custody_counts *counts,
                    char *err, size_t err_len)
{
    struct strlist want, have;
    struct update u = {.cat = cat, .generation = out};
    int newest;

    memset(out, 0, sizeof *out);
    if (!custody_patterns(cat, &want, err, err_len))
        return false;
    if (!mhl_read_patterns(root_fd, &have, &newest, err, err_len)) {
        strlist_free(&want);
        return false;
    }
    bool ok = read_seals(cat, &u.seals) && (u.draft = mhl_draft_new(&want, algos, now)) &&
              list_entries(&u);
    bool needed = ok && (mhl_draft_count(u.draft) || !newest || !strlist_same_set(&want, &have));
    if (!ok)
        snprintf(err, err_len, "%s",
                 catalog_error(cat)[0] ? catalog_error(cat)
                 : u.draft             ? mhl_draft_error(u.draft)
                                       : "out of memory");
    else if (needed && mhl_draft_store(u.draft, root_fd, root_name, out, err, err_len) &&
             !catalog_transaction(cat, record_generation, &u)) {
        snprintf(err, err_len, "%s/%s written; the catalog cannot record it: %s", MHL_FOLDER,
                 out->file, catalog_error(cat));
        ok = false;
    } else if (needed && !out->sequence) {
        ok = false; /* mhl_draft_store said why */
    }
    if (ok && counts) {
        counts->failed = u.failed;
        counts->listed = u.paths.count - u.failed;
    }
    strlist_free(&want);
    strlist_free(&have);
    update_free(&u);
    return ok;
}
