/* The catalog against BACKING: at mount (files new while unmounted are
 * judged and hashed, rows of files gone dropped), behind the mount's back
 * while mounted (the look-out, every 5 s and before each checkpoint), and
 * on the way back from read-only. A landed file whose bytes changed
 * behind namfs's back is never re-baselined (SPEC M3): it becomes
 * FILE_CHANGED, is reported, leaves checksum.txt, and when its folder is
 * sealed the next generation records what was found as failed. */
#include "stage_internal.h"

#include "namfs/strlist.h"

#include "namfs/manifest.h"
#include "namfs/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool reconcile_file(struct stage *s, const char *rel, struct catalog_file *row);

/* Digests of the file at fd as it is now, in the formats the mount keeps. */
static bool digest_now(struct stage *s, int fd, struct digests *out)
{
    struct hasher *h = hasher_new(s->algos);
    bool ok = h && hasher_read_fd(h, fd, 0, NULL) >= 0;

    if (ok)
        hasher_final(h, out);
    hasher_free(h);
    return ok;
}

/* A landed file (row) found changed, or removed, in BACKING behind the
 * mount's back. The same bytes under new times keep their row; anything
 * else becomes FILE_CHANGED, reported and never listed as it is now. */
static void changed_behind(struct stage *s, const char *rel, struct catalog_file *row)
{
    char path[CATALOG_PATH_MAX + 1];
    struct digests now = {0};
    struct stat st;
    bool sealed = sealed_covers(&s->sealed, rel);

    snprintf(path, sizeof path, "/%s", rel);
    int fd = backing_open_quietly(&s->backing, path, O_RDONLY);
    bool read = fd >= 0 && fstat(fd, &st) == 0 && digest_now(s, fd, &now);
    if (fd >= 0)
        close(fd);
    if (!read && !sealed) {
        stage_log(s, LOG_WARNING, "%s was removed from BACKING behind the mount", path);
        stage_removed(s, path);
        return;
    }
    pthread_mutex_lock(&s->model);
    if (read && digests_agree(&row->digests, &now)) {
        row->mtime_ns = stage_ns(st.st_mtim); /* touched: the bytes are the ones listed */
        row->ctime_ns = stage_ns(st.st_ctim);
    } else {
        char was[HASH_TEXT_MAX + 8];
        snprintf(was, sizeof was, "%s", row->digests.text[HASH_XXH128]);
        stage_forget_frame(s, path); /* its number is free for a frame written again */
        row->state = FILE_CHANGED;
        row->recorded = 0;
        row->digests = now; /* what was found, for the failed record */
        if (read) {
            row->size = (uint64_t)st.st_size;
            row->mtime_ns = stage_ns(st.st_mtim);
            row->ctime_ns = stage_ns(st.st_ctim);
        }
        verdict_fail(&row->verdict, RULE_M3,
                     "%s in BACKING behind the mount%s: landed as xxh128 %s, found %s; %s",
                     read ? "changed" : "removed", sealed ? " after its folder was sealed" : "",
                     was, read ? now.text[HASH_XXH128] : "nothing",
                     sealed ? "recorded as failed in the MHL history"
                            : "out of checksum.txt until it is written again through the mount");
        stage_log(s, LOG_ERR, "%s: M3 %s", rel, row->verdict.message);
    }
    if (!catalog_put_file(s->cat, row))
        stage_cannot_record(s, "recording", path);
    stage_changed_now(s);
    pthread_mutex_unlock(&s->model);
}

/* The row still tells its file's bytes: BACKING has it with the same
 * size and times. */
static bool still_as_catalogued(struct stage *s, const struct catalog_file *f)
{
    char path[CATALOG_PATH_MAX + 1];
    struct stat now;

    snprintf(path, sizeof path, "/%s", f->path);
    return backing_stat(&s->backing, path, &now) == 0 && stage_unchanged_since(f, &now);
}

/* The look-out's walk: landed files that look changed, taken as the rows
 * stream by (no copy of every row: a 150,000-row snapshot cost 16 MB of
 * heap every 5 s). */
struct walk {
    struct stage *s;
    struct strlist suspects; /* relative paths */
    size_t walked;
    char last[CATALOG_PATH_MAX]; /* the last path walked */
};

/* BACKING no longer has f as the catalog had it. */
static bool differs(struct stage *s, const struct catalog_brief *f)
{
    char path[CATALOG_PATH_MAX + 1];
    struct stat now;

    snprintf(path, sizeof path, "/%s", f->path);
    return backing_stat(&s->backing, path, &now) != 0 || f->size != (uint64_t)now.st_size ||
           f->mtime_ns != stage_ns(now.st_mtim) || f->ctime_ns != stage_ns(now.st_ctim);
}

static bool note_if_differs(void *ctx, const struct catalog_brief *f)
{
    struct walk *w = ctx;

    w->walked++;
    snprintf(w->last, sizeof w->last, "%s", f->path);
    return stage_is_manifest(f->path) || !differs(w->s, f) || strlist_add(&w->suspects, f->path);
}

/* Walks up to `limit` landed files (0: all) after path `after` in order,
 * through a read-only connection of its own, so that no lock is held
 * while they are read and stat'ed (issue 17: with 100,000 files landed,
 * creates waited seconds on the look-out). */
static bool walk_landed(struct stage *s, const char *after, size_t limit, struct walk *w)
{
    char err[600];

    struct catalog *view = catalog_open_view(s->catalog_where, err, sizeof err);
    bool ok = view && catalog_each_brief_after(view, FILE_LANDED, after, limit, note_if_differs, w);
    if (!ok)
        stage_log(s, LOG_ERR, "looking out for changes behind the mount: %s",
                  view ? catalog_error(view) : err);
    catalog_close(view);
    return ok;
}

/* Another host's mount is landing rel now: its row is recorded before its
 * file in flight takes the name (namfs/inflight.h), so for that moment
 * BACKING has the row's file missing, or its old bytes; that is no
 * change behind the mount. Shared catalogs only. */
static bool landing_elsewhere(struct stage *s, const char *rel)
{
    char path[CATALOG_PATH_MAX + 1], shown[300], owner[9], lease[32];
    const char *name;

    snprintf(path, sizeof path, "/%s", rel);
    int dirfd = backing_parent(&s->backing, path, &name);
    DIR *dir = dirfd < 0 ? NULL : fdopendir(dirfd);
    bool found = false;
    for (struct dirent *e; !found && dir && (e = readdir(dir));) {
        inflight_shown_name(e->d_name, shown, sizeof shown);
        inflight_owner(e->d_name, owner, sizeof owner);
        if (!inflight_is_name(e->d_name) || strcmp(shown, name) != 0 ||
            strcmp(owner, s->owner) == 0)
            continue;
        bool alive = false;
        snprintf(lease, sizeof lease, "mount:%s", owner);
        pthread_mutex_lock(&s->model);
        found = owner[0] && catalog_lease_elsewhere(s->cat, lease, &alive) && alive;
        pthread_mutex_unlock(&s->model);
    }
    if (dir)
        closedir(dir);
    else if (dirfd >= 0)
        close(dirfd);
    return found;
}

/* Each suspect looked at again under the changes lock, against the
 * catalog's row of now (it may have been renamed or rewritten through the
 * mount meanwhile: a rename half done is not a change behind). False
 * while one is being rewritten through the mount, or through another
 * host's. */
static bool judge_suspects(struct stage *s, const struct strlist *suspects)
{
    struct catalog_file *row = malloc(sizeof *row);
    bool ready = row != NULL;

    for (size_t i = 0; ready && i < suspects->count; i++) {
        const char *rel = suspects->items[i];
        char path[CATALOG_PATH_MAX + 1];
        snprintf(path, sizeof path, "/%s", rel);
        pthread_rwlock_wrlock(&s->changes);
        pthread_mutex_lock(&s->model);
        bool landed = catalog_get_file(s->cat, rel, row) && row->state == FILE_LANDED;
        pthread_mutex_unlock(&s->model);
        if (stage_busy(s, path) || (s->shared && landed && landing_elsewhere(s, rel)))
            ready = false; /* being written, or in flight to its name, here or elsewhere */
        else if (landed && !still_as_catalogued(s, row))
            changed_behind(s, rel, row);
        pthread_rwlock_unlock(&s->changes);
    }
    free(row);
    return ready;
}

/* Landed files changed or removed in BACKING behind the mount's back are
 * reported (changed_behind) before a manifest lists them. False while one
 * is being rewritten through the mount: its own settlement will record
 * it, so the manifests wait. */
bool stage_refresh_landed(struct stage *s)
{
    struct walk w = {.s = s};
    bool ready = !stage_read_only(s) && walk_landed(s, "", 0, &w) && judge_suspects(s, &w.suspects);
    strlist_free(&w.suspects);
    return ready;
}

void stage_look_out(struct stage *s, size_t slice)
{
    struct walk w = {.s = s};

    if (stage_read_only(s) || !walk_landed(s, s->look_out_after, slice, &w))
        return;
    judge_suspects(s, &w.suspects);
    /* the next slice goes on from here; the end wraps around to the start */
    snprintf(s->look_out_after, sizeof s->look_out_after, "%s", w.walked < slice ? "" : w.last);
    strlist_free(&w.suspects);
}

/* Back to read-write once the catalog records again and the writers of
 * before are gone: as at mount, the sequence rules' memory is rebuilt
 * and BACKING reconciled with the catalog, so what changed while the
 * catalog could not record it is judged and hashed now. */
bool stage_recover(struct stage *s)
{
    if (!stage_read_only(s))
        return true;
    pthread_rwlock_wrlock(&s->changes); /* no writer opens meanwhile */
    if (!stage_read_only(s)) {          /* another caller recovered meanwhile */
        pthread_rwlock_unlock(&s->changes);
        return true;
    }
    bool writers = landing_any(s->landings);
    pthread_mutex_lock(&s->model);
    bool writable = !writers && catalog_probe(s->cat) && stage_record_unrecorded(s);
    unsigned failures = s->record_failures;
    if (writable) {
        seqset_free(s->seq);
        s->seq = seqset_new();
    }
    pthread_mutex_unlock(&s->model);
    size_t changed = 0;
    bool walked = writable && s->seq && stage_reconcile(s, false, &changed);
    pthread_mutex_lock(&s->model);
    bool recorded = walked && s->record_failures == failures;
    pthread_mutex_unlock(&s->model);
    if (recorded) {
        __atomic_store_n(&s->read_only, false, __ATOMIC_RELEASE);
        stage_log(s, LOG_NOTICE,
                  "read-write again: the catalog records changes; %zu file(s) "
                  "reconciled with BACKING",
                  changed);
    }
    pthread_rwlock_unlock(&s->changes);
    return recorded;
}

/* A file found in a sealed folder that no landing made: nothing lists it,
 * nothing may (the folder takes no change); reported, and it stops being
 * one once it is deleted from BACKING. */
static void added_behind(struct stage *s, const char *rel, struct catalog_file *row)
{
    memset(row, 0, sizeof *row);
    snprintf(row->path, sizeof row->path, "%s", rel);
    row->state = FILE_CHANGED;
    row->frame = -1;
    verdict_fail(&row->verdict, RULE_M3,
                 "added to BACKING behind the mount after its folder was sealed: in no "
                 "manifest; delete it from BACKING");
    stage_log(s, LOG_ERR, "%s: M3 %s", rel, row->verdict.message);
    pthread_mutex_lock(&s->model);
    if (!catalog_put_file(s->cat, row))
        stage_cannot_record(s, "recording", rel);
    stage_changed_now(s);
    pthread_mutex_unlock(&s->model);
}

/* One file of BACKING: keep its row, judge and hash it (new to the
 * catalog), or report it changed behind the mount (changed_behind). */
static bool reconcile_file(struct stage *s, const char *rel, struct catalog_file *row)
{
    char path[4100];
    struct stat st;
    struct hash_cursor cursor;

    snprintf(path, sizeof path, "/%s", rel);
    int fd = backing_open_quietly(&s->backing, path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0) {
        stage_log(s, LOG_ERR, "reconcile %s: %s", rel, strerror(fd < 0 ? -fd : errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    pthread_mutex_lock(&s->model);
    bool catalogued = catalog_get_file(s->cat, rel, row);
    bool known = catalogued && stage_unchanged_since(row, &st);
    bool unsynced_file = !known && stage_unsynced_index(s, rel) >= 0;
    pthread_mutex_unlock(&s->model);
    if (catalogued && row->state == FILE_CHANGED) {
        close(fd);
        return false; /* reported already; it stays so until written or deleted */
    }
    if (catalogued && !known && row->state == FILE_LANDED) {
        close(fd);
        changed_behind(s, rel, row);
        return true;
    }
    if (!catalogued && sealed_covers(&s->sealed, rel)) {
        close(fd);
        added_behind(s, rel, row);
        return true;
    }
    if (unsynced_file) {
        stage_log(s, LOG_WARNING, "%s not landed: its sync to disk failed; write it again", rel);
        close(fd);
        return false;
    }
    if (known)
        stage_remember_frame(s, path, fd);
    struct hasher *h = known ? NULL : hasher_new(s->algos);
    if (h) {
        hash_cursor_init(&cursor, h);
        stage_settle(s, path, fd, &cursor, NULL, NULL, "");
        hasher_free(h);
    }
    close(fd);
    return !known;
}

/* Rows of files that are no longer in BACKING (quarantined ones live in
 * the quarantine and keep their rows). */
static size_t drop_gone(struct stage *s, const struct walk_list *files)
{
    pthread_mutex_lock(&s->model);
    long dropped = catalog_drop_missing(s->cat, files,
                                        1u << FILE_LANDED | 1u << FILE_REJECTED | 1u << FILE_HELD |
                                            1u << FILE_CHANGED);
    if (dropped < 0)
        stage_cannot_record(s, "forgetting files gone from", s->backing_path);
    if (dropped > 0)
        stage_changed_now(s);
    pthread_mutex_unlock(&s->model);
    return dropped > 0 ? (size_t)dropped : 0;
}

/* A file a crash left in flight (namfs/inflight.h): its writer never
 * saw it land, so it is no part of the delivery; its bytes are kept in
 * the quarantine, under the name it was written as, and reported. */
static void quarantine_left_in_flight(struct stage *s, const char *rel)
{
    char path[4100], shown[300], as[4400];
    const char *slash = strrchr(rel, '/');
    struct verdict v;

    snprintf(path, sizeof path, "/%s", rel);
    inflight_shown_name(rel, shown, sizeof shown);
    snprintf(as, sizeof as, "%.*s%s", slash ? (int)(slash - rel + 1) : 0, rel,
             *shown  ? shown
             : slash ? slash + 1
                     : rel);
    verdict_fail(&v, RULE_R7,
                 "left in flight by a crash: written as %s, never closed, so never judged whole",
                 as);
    char target[PATH_MAX + 4200];
    const char *name;
    int dirfd = backing_parent(&s->backing, path, &name);
    int rc = dirfd < 0
                 ? -1
                 : quarantine_move(&s->quarantine, dirfd, name, as, &v, target, sizeof target);
    if (dirfd >= 0)
        close(dirfd);
    if (rc == 0) {
        stage_log(s, LOG_WARNING, "%s: %s; moved to the quarantine as %s", as, v.message, target);
        struct catalog_file f = {.state = FILE_QUARANTINED, .verdict = v, .frame = -1};
        snprintf(f.path, sizeof f.path, "%s",
                 rel); /* listed; the name it would take may be landed */
        pthread_mutex_lock(&s->model);
        if (!catalog_put_file(s->cat, &f))
            stage_cannot_record(s, "recording", rel);
        pthread_mutex_unlock(&s->model);
    } else
        stage_log(s, LOG_ERR,
                  "%s: left in flight by a crash; cannot move it to the "
                  "quarantine: %s",
                  rel, strerror(errno));
}

bool stage_left_in_flight(struct stage *s, const char *rel)
{
    char owner[9], lease[32];
    bool elsewhere = true;

    inflight_owner(rel, owner, sizeof owner);
    if (strcmp(owner, s->owner) == 0)
        return false;
    if (!s->shared || !owner[0])
        return true; /* one mount per catalog: whoever wrote it is gone */
    snprintf(lease, sizeof lease, "mount:%s", owner);
    pthread_mutex_lock(&s->model);
    bool asked = catalog_lease_elsewhere(s->cat, lease, &elsewhere);
    pthread_mutex_unlock(&s->model);
    if (!asked)
        stage_log(s, LOG_ERR, "%s: whose is it? %s", rel, catalog_error(s->cat));
    return asked && !elsewhere;
}

void stage_sweep_in_flight(struct stage *s)
{
    struct walk_list files;
    char err[4200];

    if (!walk_tree(s->backing_path, &files, err, sizeof err)) {
        stage_log(s, LOG_ERR, "looking for files left in flight: %s", err);
        return;
    }
    for (size_t i = 0; i < files.count; i++)
        if (inflight_is_name(files.entries[i].relpath) &&
            stage_left_in_flight(s, files.entries[i].relpath))
            quarantine_left_in_flight(s, files.entries[i].relpath);
    walk_free(&files);
}

/* A file deleted while open that a crash left under libfuse's hidden
 * name: its user deleted it, so it goes (at mount only: while mounted, it
 * may still be open). */
static void remove_left_hidden(struct stage *s, const char *rel)
{
    char path[4100];
    const char *name;

    snprintf(path, sizeof path, "/%s", rel);
    int dirfd = backing_parent(&s->backing, path, &name);
    int rc = dirfd < 0 ? dirfd : unlinkat(dirfd, name, 0) == 0 ? 0 : -errno;
    if (dirfd >= 0)
        close(dirfd);
    if (rc == 0)
        stage_log(s, LOG_NOTICE, "%s: removed (deleted while open before a crash)", rel);
    else
        stage_log(s, LOG_ERR, "%s: left from before a crash: %s", rel, strerror(-rc));
}

bool stage_reconcile(struct stage *s, bool at_mount, size_t *count)
{
    struct walk_list files;
    struct catalog_file *row = malloc(sizeof *row);
    char err[4200];
    size_t changed = 0;

    *count = 0;
    if (!row || !walk_tree(s->backing_path, &files, err, sizeof err)) {
        stage_log(s, LOG_ERR, "reconcile: %s", row ? err : "out of memory");
        free(row);
        return false;
    }
    for (size_t i = 0; i < files.count; i++) {
        const char *rel = files.entries[i].relpath;
        if (backing_hidden_by_fuse(rel) && at_mount && !s->shared)
            remove_left_hidden(s, rel); /* shared: it may be another host's, still open */
        else if (inflight_is_name(rel) && at_mount && stage_left_in_flight(s, rel))
            quarantine_left_in_flight(s, rel);
        else if (!files.entries[i].is_symlink && !stage_is_manifest(rel) &&
                 !backing_hidden_by_fuse(rel) && !inflight_is_name(rel))
            changed += reconcile_file(s, rel, row);
    }
    /* shared: a row without its file may be another host's landing that
     * is not in place yet; the look-out tells them apart (landing_elsewhere) */
    if (!s->shared)
        changed += drop_gone(s, &files);
    walk_free(&files);
    free(row);
    *count = changed;
    return true;
}
