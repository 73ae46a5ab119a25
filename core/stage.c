/* The stage: its life (open, close), its log, read-only when the catalog
 * cannot record, and the catalog's record of what lands, moves, goes and
 * is refused. Every function here that takes the model lock says so. */
#include "stage_internal.h"

#include "namfs/manifest.h"
#include "namfs/naming.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static void log_to_stderr(void *ctx, int priority, const char *message)
{
    (void)ctx;
    (void)priority;
    fprintf(stderr, "%s\n", message);
}

void stage_log(struct stage *s, int priority, const char *fmt, ...)
{
    char message[8192];
    va_list args;

    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    s->log(s->log_ctx, priority, message);
}

void stage_log_refusal(struct stage *s, const char *path, const struct verdict *v, const char *by)
{
    stage_log(s, LOG_WARNING, "%s: %s %s%s", path, rule_name(v->rule), v->message, by);
}

static bool remember_sealed(void *ctx, const char *folder, int generation)
{
    struct stage *s = ctx;
    (void)generation; /* listed or not, it takes no change */
    return sealed_add(&s->sealed, folder);
}

/* BACKING's own name (the MHL's root) and absolute path. */
static bool name_backing(struct stage *s, const char *backing, char *err, size_t err_len)
{
    size_t n = strlen(backing);

    while (n > 1 && backing[n - 1] == '/')
        n--;
    const char *base = memrchr(backing, '/', n);
    base = base ? base + 1 : backing;
    snprintf(s->root_name, sizeof s->root_name, "%.*s", (int)(backing + n - base), base);
    if (!realpath(backing, s->backing_path) || backing_init(&s->backing, s->backing_path) < 0) {
        snprintf(err, err_len, "%s: %s", backing, strerror(errno));
        return false;
    }
    return true;
}

/* The state folder, made 0700; absolute, since the daemon leaves its
 * working folder when it detaches. */
static bool open_state(struct stage *s, const char *backing, const char *state_dir,
                       const char *catalog, char *err, size_t err_len)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    size_t n = strlen(backing);

    while (n > 1 && backing[n - 1] == '/')
        n--;
    if (state_dir)
        snprintf(dir, sizeof dir, "%s", state_dir);
    else
        snprintf(dir, sizeof dir, "%.*s.namfs", (int)n, backing);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "state folder %s: %s (choose one with -o state=DIR)", dir,
                 strerror(errno));
        return false;
    }
    if (!realpath(dir, s->state_path)) {
        snprintf(err, err_len, "state folder %s: %s", dir, strerror(errno));
        return false;
    }
    /* a shared catalog's quarantine is every host's: beside BACKING, on
     * the storage they share */
    if (catalog_is_shared(catalog))
        snprintf(path, sizeof path, "%s.quarantine", s->backing_path);
    else
        snprintf(path, sizeof path, "%s/quarantine", s->state_path);
    if (!quarantine_open(&s->quarantine, path, err, err_len))
        return false;
    if (catalog)
        snprintf(s->catalog_where, sizeof s->catalog_where, "%s", catalog);
    else
        snprintf(s->catalog_where, sizeof s->catalog_where, "%s/catalog.sqlite", s->state_path);
    s->shared = catalog_is_shared(s->catalog_where);
    if (!(s->cat = catalog_open(s->catalog_where, err, err_len)))
        return false;
    /* this mount's own lease: while it stands, its files in flight are not
     * another host's to quarantine */
    char lease[32];
    bool held = false;
    snprintf(lease, sizeof lease, "mount:%s", s->owner);
    if (!catalog_lease(s->cat, lease, &held) || !held) {
        snprintf(err, err_len, "%s: %s", lease, held ? catalog_error(s->cat) : "taken already");
        return false;
    }
    if (!catalog_each_sealed(s->cat, remember_sealed, s)) {
        char where[600];
        catalog_describe(catalog, where, sizeof where);
        snprintf(err, err_len, "%s: %s", catalog ? where : s->catalog_where, catalog_error(s->cat));
        return false;
    }
    return true;
}

struct stage *stage_new(const struct stage_config *c, char *err, size_t err_len)
{
    struct stage *s = calloc(1, sizeof *s);

    if (!s) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    s->backing.root = -1;
    s->pid_fd = -1;
    s->profile = *c->profile;
    s->algos = c->profile->mhl_hashes | HASH_BIT(c->profile->checksum_hash);
    s->bare = c->bare;
    s->log = c->log ? c->log : log_to_stderr;
    s->log_ctx = c->log_ctx;
    s->quiet_after = c->quiet_seconds;
    pthread_rwlockattr_t writer_first;
    pthread_rwlockattr_init(&writer_first);
    /* the look-out must not starve behind a stream of renames */
    pthread_rwlockattr_setkind_np(&writer_first, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->changes, &writer_first);
    pthread_rwlockattr_destroy(&writer_first);
    pthread_mutex_init(&s->settling, NULL);
    pthread_mutex_init(&s->model, NULL);
    sealed_init(&s->sealed);
    inflight_init(&s->flights);
    checksum_view_init(&s->checksum_view);
    clock_gettime(CLOCK_MONOTONIC, &s->last_change);
    clock_gettime(CLOCK_REALTIME, &s->last_change_real);
    /* the first checkpoint writes what a crash kept from the last one
     * (manifests are written only where they changed) */
    s->dirty = true;
    uint32_t owner;
    if (getrandom(&owner, sizeof owner, 0) != sizeof owner)
        owner = (uint32_t)getpid() ^ (uint32_t)time(NULL);
    snprintf(s->owner, sizeof s->owner, "%08x", owner);
    s->landings = landing_table_new();
    s->seq = seqset_new();
    if (!s->landings || !s->seq || !name_backing(s, c->backing, err, err_len) ||
        !open_state(s, c->backing, c->state_dir, c->catalog, err, err_len)) {
        if (!s->landings || !s->seq)
            snprintf(err, err_len, "out of memory");
        stage_free(s);
        return NULL;
    }
    return s;
}

/* At unmount, refusals not recorded keep their files and reasons in the
 * quarantine; files not on disk are judged by the next mount. */
void stage_free(struct stage *s)
{
    if (!s)
        return;
    while (s->unrecorded_count)
        free(s->unrecorded[--s->unrecorded_count]);
    free(s->unrecorded);
    while (s->unsynced_count)
        free(s->unsynced[--s->unsynced_count]);
    free(s->unsynced);
    while (s->refused_count)
        free(s->refused_open[--s->refused_count].path);
    free(s->refused_open);
    catalog_close(s->cat);
    checksum_view_free(&s->checksum_view);
    checksum_memory_free(&s->checksums);
    for (size_t i = 0; i < sizeof s->views / sizeof *s->views; i++)
        free(s->views[i].text);
    if (s->pid_fd >= 0)
        close(s->pid_fd); /* after the last manifests: namctl unmount returns */
    seqset_free(s->seq);
    landing_table_free(s->landings);
    sealed_destroy(&s->sealed);
    inflight_destroy(&s->flights);
    backing_close(&s->backing);
    pthread_rwlock_destroy(&s->changes);
    pthread_mutex_destroy(&s->settling);
    pthread_mutex_destroy(&s->model);
    free(s);
}

const char *stage_locate(struct stage *s, const char *path, char *buf, size_t len)
{
    inflight_locate(&s->flights, path, buf, len);
    return buf;
}

int stage_open_path(struct stage *s, const char *path, int flags)
{
    char at[PATH_MAX];
    return backing_open(&s->backing, stage_locate(s, path, at, sizeof at), flags, 0);
}

void stage_each_in_flight(struct stage *s, const char *folder,
                          void (*each)(void *ctx, const char *name), void *ctx)
{
    inflight_each_in(&s->flights, folder, each, ctx);
}

bool stage_is_in_flight_name(const char *name)
{
    return inflight_is_name(name);
}

const struct backing *stage_backing(const struct stage *s)
{
    return &s->backing;
}

const struct profile *stage_profile(const struct stage *s)
{
    return &s->profile;
}

bool stage_bare(const struct stage *s)
{
    return s->bare;
}

void stage_changed_now(struct stage *s)
{
    s->dirty = true;
    clock_gettime(CLOCK_MONOTONIC, &s->last_change);
    clock_gettime(CLOCK_REALTIME, &s->last_change_real);
}

const char *stage_relative(const char *path)
{
    return path + strspn(path, "/");
}

bool stage_read_only(struct stage *s)
{
    return __atomic_load_n(&s->read_only, __ATOMIC_ACQUIRE);
}

/* The catalog could not record a change already made in BACKING. Rather
 * than go on changing what it cannot record (and list in manifests what
 * it never saw), the mount refuses changes until recover() finds the
 * catalog writable again. Called with the lock held. */
void stage_cannot_record(struct stage *s, const char *what, const char *path)
{
    stage_log(s, LOG_ERR, "%s %s: %s", what, path, catalog_error(s->cat));
    s->record_failures++;
    if (stage_read_only(s))
        return;
    snprintf(s->read_only_reason, sizeof s->read_only_reason, "%s", catalog_error(s->cat));
    s->read_only_since = time(NULL);
    __atomic_store_n(&s->read_only, true, __ATOMIC_RELEASE);
    char where[PATH_MAX + 64];
    stage_log(s, LOG_CRIT,
              "read-only from now on: the catalog %s cannot record changes (%s). "
              "%s; writing resumes by itself once the catalog records again. "
              "Nothing written so far is lost: files it could not record are judged and "
              "hashed again then.",
              stage_catalog_place(s, where, sizeof where), s->read_only_reason,
              stage_catalog_remedy(s));
}

const char *stage_catalog_place(const struct stage *s, char *buf, size_t len)
{
    char url[PATH_MAX + 32];

    if (!s->shared) {
        snprintf(buf, len, "in %s", s->state_path);
        return buf;
    }
    catalog_describe(s->catalog_where, url, sizeof url);
    snprintf(buf, len, "at %s", url);
    return buf;
}

const char *stage_catalog_remedy(const struct stage *s)
{
    return s->shared ? "Bring the PostgreSQL server, or the network to it, back (or free its disk)"
                     : "Free space there";
}

int64_t stage_ns(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

bool stage_unchanged_since(const struct catalog_file *row, const struct stat *st)
{
    return row->state == FILE_LANDED && row->size == (uint64_t)st->st_size &&
           row->mtime_ns == stage_ns(st->st_mtim) && row->ctime_ns == stage_ns(st->st_ctim);
}

bool stage_landed_as_is(struct stage *s, const char *path, int fd)
{
    struct catalog_file *row = malloc(sizeof *row);
    struct stat st;

    if (!row || fstat(fd, &st) != 0) {
        free(row);
        return false;
    }
    pthread_mutex_lock(&s->model);
    bool same =
        catalog_get_file(s->cat, stage_relative(path), row) && stage_unchanged_since(row, &st);
    pthread_mutex_unlock(&s->model);
    free(row);
    return same;
}

/* Files whose sync to disk failed at release (relative paths, under the
 * lock): the page cache may hold bytes the disk does not, so a
 * reconciliation must not land them from it; a new write does. */

long stage_unsynced_index(struct stage *s, const char *rel)
{
    for (size_t i = 0; i < s->unsynced_count; i++)
        if (strcmp(s->unsynced[i], rel) == 0)
            return (long)i;
    return -1;
}

void stage_not_on_disk(struct stage *s, const char *path)
{
    stage_removed(s, path);
    pthread_mutex_lock(&s->model);
    char **grown = stage_unsynced_index(s, stage_relative(path)) < 0
                       ? realloc(s->unsynced, (s->unsynced_count + 1) * sizeof *s->unsynced)
                       : NULL;
    if (grown) {
        s->unsynced = grown;
        if ((grown[s->unsynced_count] = strdup(stage_relative(path))))
            s->unsynced_count++;
    }
    pthread_mutex_unlock(&s->model);
}

/* Records a landing; a frame's number is reserved in the catalog as it
 * is (catalog_put_frame), so a frame another path holds there is refused
 * (S5, v) even where the sequence memory missed it. Called with the lock;
 * SETTLED_UNRECORDED when the catalog could not record it (the mount turns
 * read-only, and recover() meets the file afresh). */
enum settlement stage_record_landed(struct stage *s, const struct catalog_file *f,
                                    struct verdict *v)
{
    char holder[CATALOG_PATH_MAX];

    long stale = stage_unsynced_index(s, f->path); /* written again, and on disk now */
    if (stale >= 0) {
        free(s->unsynced[stale]);
        s->unsynced[stale] = s->unsynced[--s->unsynced_count];
    }
    if (!catalog_put_frame(s->cat, f, holder, sizeof holder)) {
        if (f->frame >= 0) /* not landed after all */
            seqset_remove(s->seq, f->asset, (uint64_t)f->frame);
        if (catalog_fault(s->cat) == CATALOG_FAULT_CONFLICT) {
            verdict_fail(v, RULE_S5,
                         "frame %lld of %s is already present as %s (the catalog's reservation)",
                         (long long)f->frame, f->asset, holder);
            return SETTLED_REFUSED;
        }
        stage_cannot_record(s, "recording", f->path);
        return SETTLED_UNRECORDED;
    }
    s->hashed_bytes += f->size;
    if (!s->first_landing)
        s->first_landing = time(NULL);
    stage_changed_now(s);
    return SETTLED_LANDED;
}

/* The frame the catalog has at rel leaves the sequence rules' memory (it
 * is deleted, moved or about to be rewritten). Called with the lock. */
void stage_forget_frame(struct stage *s, const char *rel)
{
    struct catalog_file *row = malloc(sizeof *row);

    if (row && catalog_get_file(s->cat, stage_relative(rel), row) && row->state == FILE_LANDED &&
        row->frame >= 0)
        seqset_remove(s->seq, row->asset, (uint64_t)row->frame);
    free(row);
}

void stage_removed(struct stage *s, const char *path)
{
    pthread_mutex_lock(&s->model);
    stage_forget_frame(s, path);
    if (!catalog_delete_file(s->cat, stage_relative(path)))
        stage_cannot_record(s, "forgetting", path);
    stage_changed_now(s);
    pthread_mutex_unlock(&s->model);
}

void stage_renamed(struct stage *s, const char *from, const char *to)
{
    pthread_mutex_lock(&s->model);
    if (!catalog_rename(s->cat, stage_relative(from), stage_relative(to)))
        stage_cannot_record(s, "renaming", from);
    stage_changed_now(s);
    pthread_mutex_unlock(&s->model);
}

bool stage_digest(struct stage *s, const char *path, enum hash_algo algo, char *out, size_t len)
{
    struct catalog_file *f = malloc(sizeof *f);
    bool found = false;

    if (!f)
        return false;
    pthread_mutex_lock(&s->model);
    found = catalog_get_file(s->cat, stage_relative(path), f) && f->state != FILE_CHANGED &&
            (f->digests.present & HASH_BIT(algo)); /* a changed file's bytes are nobody's record */
    pthread_mutex_unlock(&s->model);
    if (found)
        snprintf(out, len, "%s", f->digests.text[algo]);
    free(f);
    return found;
}

/* Moves path into the quarantine (namfs/quarantine.h). */
static int move_to_quarantine(struct stage *s, const char *path, const char *rel,
                              const struct verdict *v, char *target, size_t len)
{
    const char *name;
    char at[PATH_MAX];
    int dirfd = backing_parent(&s->backing, stage_locate(s, path, at, sizeof at), &name);
    if (dirfd < 0) {
        errno = -dirfd;
        return -1;
    }
    int rc = quarantine_move(&s->quarantine, dirfd, name, rel, v, target, len);
    int saved = errno;
    close(dirfd);
    errno = saved;
    return rc;
}

/* Refusals moved to the quarantine that the catalog could not record:
 * recorded by recover(), so that they stay listed as refused. */

/* Called with the lock. */
static void keep_unrecorded(struct stage *s, const struct catalog_file *f)
{
    struct catalog_file **grown = realloc(s->unrecorded, (s->unrecorded_count + 1) * sizeof *grown);
    struct catalog_file *copy = grown ? malloc(sizeof *copy) : NULL;

    if (grown)
        s->unrecorded = grown;
    if (copy) {
        *copy = *f;
        s->unrecorded[s->unrecorded_count++] = copy;
    }
}

/* Called with the lock; false when the catalog still cannot record them. */
bool stage_record_unrecorded(struct stage *s)
{
    while (s->unrecorded_count) {
        struct catalog_file *f = s->unrecorded[s->unrecorded_count - 1];
        if (!catalog_put_file(s->cat, f)) {
            stage_cannot_record(s, "recording", f->path);
            return false;
        }
        free(f);
        s->unrecorded_count--;
    }
    return true;
}

/* The catalog key of a refusal at path: path itself, unless the refused
 * bytes are a rewrite of a landed file that BACKING still holds (the
 * rewrite worked on a file in flight): then the landed row stays, and the
 * refusal is keyed by the in-flight name. Model lock held. */
static void refusal_key(struct stage *s, const char *path, char *key, size_t len)
{
    char at[PATH_MAX];
    struct catalog_file *row = malloc(sizeof *row);

    struct stat st;
    stage_locate(s, path, at, sizeof at);
    bool rewrite = strcmp(at, path) != 0 && backing_stat(&s->backing, path, &st) == 0 && row &&
                   catalog_get_file(s->cat, stage_relative(path), row) &&
                   row->state == FILE_LANDED && stage_unchanged_since(row, &st);
    snprintf(key, len, "%s", stage_relative(rewrite ? at : path));
    free(row);
}

void stage_refused(struct stage *s, const char *path, const struct verdict *v, const char *by)
{
    const char *rel = stage_relative(path);
    char target[PATH_MAX + 4200];
    struct catalog_file f;

    memset(&f, 0, sizeof f);
    pthread_mutex_lock(&s->model);
    refusal_key(s, path, f.path, sizeof f.path);
    pthread_mutex_unlock(&s->model);
    bool moved = move_to_quarantine(s, path, rel, v, target, sizeof target) == 0;
    if (!moved && errno == ENOENT)
        return; /* no longer there: an earlier settlement moved it */
    if (moved)
        stage_log(s, LOG_WARNING, "refused %s: %s %s%s; in the quarantine as %s", rel,
                  rule_name(v->rule), v->message, by, target);
    else
        stage_log(s, LOG_WARNING, "refused %s: %s %s%s; could not be moved, kept in place (%s)",
                  rel, rule_name(v->rule), v->message, by, strerror(errno));
    f.state = moved ? FILE_QUARANTINED : FILE_REJECTED;
    f.verdict = *v;
    f.frame = -1;
    pthread_mutex_lock(&s->model);
    if (!catalog_put_file(s->cat, &f)) {
        stage_cannot_record(s, "recording", path);
        if (moved)
            keep_unrecorded(s, &f);
    }
    stage_changed_now(s); /* a landed file it replaced leaves the manifests */
    pthread_mutex_unlock(&s->model);
}

bool stage_verdict(struct stage *s, const char *path, char *out, size_t len)
{
    struct catalog_file *f = malloc(sizeof *f);
    bool found = false;

    if (!f)
        return false;
    pthread_mutex_lock(&s->model);
    found = catalog_get_file(s->cat, stage_relative(path), f);
    pthread_mutex_unlock(&s->model);
    if (found && f->verdict.rule == RULE_NONE)
        snprintf(out, len, "pass");
    else if (found)
        snprintf(out, len, "%s: %s", rule_name(f->verdict.rule), f->verdict.message);
    free(f);
    return found;
}

void stage_note_refused(struct stage *s, const char *path, const struct verdict *v, const char *by)
{
    pthread_mutex_lock(&s->model);
    struct refused_open *grown =
        realloc(s->refused_open, (s->refused_count + 1) * sizeof *s->refused_open);
    if (grown) {
        s->refused_open = grown;
        grown[s->refused_count].path = strdup(path);
        grown[s->refused_count].verdict = *v;
        snprintf(grown[s->refused_count].by, sizeof grown[s->refused_count].by, "%s", by);
        if (grown[s->refused_count].path)
            s->refused_count++;
    }
    pthread_mutex_unlock(&s->model);
}

bool stage_unlink_refused(struct stage *s, const char *path)
{
    struct verdict v;
    char by[64];
    bool found = false;

    pthread_mutex_lock(&s->model);
    for (size_t i = 0; i < s->refused_count && !found; i++)
        if (strcmp(s->refused_open[i].path, path) == 0) {
            v = s->refused_open[i].verdict;
            memcpy(by, s->refused_open[i].by, sizeof by);
            free(s->refused_open[i].path);
            s->refused_open[i] = s->refused_open[--s->refused_count];
            found = true;
        }
    pthread_mutex_unlock(&s->model);
    if (found)
        stage_refused(s, path, &v, by);
    return found;
}
