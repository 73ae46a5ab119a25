#include "staging.h"

#include "backing.h"
#include "log.h"
#include "sealed.h"

#include "namfs/judge.h"
#include "namfs/manifest.h"
#include "namfs/naming.h"
#include "namfs/quarantine.h"
#include "namfs/sequence.h"
#include "namfs/status.h"
#include "namfs/strbuf.h"
#include "namfs/text.h"
#include "namfs/walk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct catalog *cat;
static struct seqset *seq;          /* the sequence rules' memory of what landed */
static bool dirty;                  /* something landed, moved or went since the last checkpoint */
static struct timespec last_change; /* CLOCK_MONOTONIC: for the quiet thread */
static struct timespec last_change_real; /* CLOCK_REALTIME: shown as checksum.txt's mtime */
static double quiet_after = 0.5;         /* seconds without changes before a checkpoint */
static char root_name[256];
static char backing_path[PATH_MAX];
static uint64_t hashed_bytes; /* landed through this mount, for the hash rate */
static time_t first_landing;
static pthread_t quiet_thread;
static bool quiet_running;
static const struct profile *profile;
static struct quarantine quarantine;
static bool (*busy)(const char *path);  /* a file open for writing through the mount */
static bool (*any_busy)(void);          /* any file open for writing */
static bool (*unsynced_landings)(void); /* a file landed at close() waits for its sync */
/* Set when the catalog failed to record a change (its disk full, say):
 * the mount then refuses changes until it can record them again. */
static bool read_only;
static char read_only_reason[600];
static time_t read_only_since;
static unsigned record_failures; /* counted under the lock */
static char state_path[PATH_MAX];
/* Changes through the mount (readers, side by side) against the look-out
 * for changes behind it (the writer; it must not starve behind a stream
 * of renames). */
static pthread_rwlock_t changes = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t algos;

static bool remember_sealed(void *ctx, const char *folder)
{
    (void)ctx;
    return sealed_add(folder);
}

bool staging_open(const char *backing, const char *state_dir, const struct profile *p,
                  double quiet_seconds, char *err, size_t err_len)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    size_t n = strlen(backing);

    while (n > 1 && backing[n - 1] == '/')
        n--;
    const char *base = memrchr(backing, '/', n);
    base = base ? base + 1 : backing;
    snprintf(root_name, sizeof root_name, "%.*s", (int)(backing + n - base), base);
    if (!realpath(backing, backing_path)) {
        snprintf(err, err_len, "%s: %s", backing, strerror(errno));
        return false;
    }
    quiet_after = quiet_seconds;
    clock_gettime(CLOCK_MONOTONIC, &last_change);
    clock_gettime(CLOCK_REALTIME, &last_change_real);
    if (state_dir)
        snprintf(dir, sizeof dir, "%s", state_dir);
    else
        snprintf(dir, sizeof dir, "%.*s.namfs", (int)n, backing);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "state folder %s: %s (choose one with -o state=DIR)", dir,
                 strerror(errno));
        return false;
    }
    /* absolute: the daemon leaves its working folder when it detaches */
    char real[PATH_MAX];
    if (!realpath(dir, real)) {
        snprintf(err, err_len, "state folder %s: %s", dir, strerror(errno));
        return false;
    }
    snprintf(dir, sizeof dir, "%s", real);
    snprintf(state_path, sizeof state_path, "%s", real);
    snprintf(path, sizeof path, "%s/quarantine", dir);
    if (!quarantine_open(&quarantine, path, err, err_len))
        return false;
    snprintf(path, sizeof path, "%s/catalog.sqlite", dir);
    cat = catalog_open(path, err, err_len);
    seq = seqset_new();
    profile = p;
    algos = p->mhl_hashes | HASH_BIT(p->checksum_hash);
    return cat && catalog_each_sealed(cat, remember_sealed, NULL);
}

static void free_pending(void);

void staging_close(void)
{
    free_pending();
    catalog_close(cat);
    cat = NULL;
    seqset_free(seq);
    seq = NULL;
    sealed_clear();
}

uint32_t staging_algos(void)
{
    return algos;
}

const struct profile *staging_profile(void)
{
    return profile;
}

/* Called with the lock held. */
static void changed_now(void)
{
    dirty = true;
    clock_gettime(CLOCK_MONOTONIC, &last_change);
    clock_gettime(CLOCK_REALTIME, &last_change_real);
}

static const char *relative(const char *path)
{
    return path + strspn(path, "/");
}

bool staging_read_only(void)
{
    return __atomic_load_n(&read_only, __ATOMIC_ACQUIRE);
}

/* The catalog could not record a change already made in BACKING. Rather
 * than go on changing what it cannot record (and list in manifests what
 * it never saw), the mount refuses changes until recover() finds the
 * catalog writable again. Called with the lock held. */
static void cannot_record(const char *what, const char *path)
{
    namfs_log(LOG_ERR, "namfs: %s %s: %s", what, path, catalog_error(cat));
    record_failures++;
    if (staging_read_only())
        return;
    snprintf(read_only_reason, sizeof read_only_reason, "%s", catalog_error(cat));
    read_only_since = time(NULL);
    __atomic_store_n(&read_only, true, __ATOMIC_RELEASE);
    namfs_log(LOG_CRIT,
              "namfs: read-only from now on: the catalog in %s cannot record changes (%s). "
              "Free space there; writing resumes by itself once the catalog records again. "
              "Nothing written so far is lost: files it could not record are judged and "
              "hashed again then.",
              state_path, read_only_reason);
}

static int64_t nanoseconds(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static bool unchanged_since(const struct catalog_file *row, const struct stat *st)
{
    return row->state == FILE_LANDED && row->size == (uint64_t)st->st_size &&
           row->mtime_ns == nanoseconds(st->st_mtim) && row->ctime_ns == nanoseconds(st->st_ctim);
}

void staging_metadata_changed(const char *path)
{
    struct catalog_file *row = malloc(sizeof *row);
    struct stat st;
    bool found = row && backing_stat(path, &st) == 0;

    pthread_mutex_lock(&lock);
    if (found && catalog_get_file(cat, relative(path), row) && row->state == FILE_LANDED &&
        row->size == (uint64_t)st.st_size) {
        bool new_mtime = nanoseconds(st.st_mtim) != row->mtime_ns; /* the MHL records it */
        row->mtime_ns = nanoseconds(st.st_mtim);
        row->ctime_ns = nanoseconds(st.st_ctim);
        if (!catalog_put_file(cat, row))
            cannot_record("recording", path);
        if (new_mtime)
            changed_now();
    }
    pthread_mutex_unlock(&lock);
    free(row);
}

bool staging_is_landed_as_is(const char *path, int fd)
{
    struct catalog_file *row = malloc(sizeof *row);
    struct stat st;

    if (!row || fstat(fd, &st) != 0) {
        free(row);
        return false;
    }
    pthread_mutex_lock(&lock);
    bool same = catalog_get_file(cat, relative(path), row) && unchanged_since(row, &st);
    pthread_mutex_unlock(&lock);
    free(row);
    return same;
}

/* The catalog row of the file behind fd, landed at path with digests d;
 * false when path no longer names that file (moved or refused meanwhile:
 * what is at path now settles on its own). */
static bool landed_row(const char *path, int fd, const struct digests *d, int64_t frame,
                       const char *asset, struct catalog_file *f)
{
    struct stat st, here;
    if (fstat(fd, &st) != 0 || backing_stat(path, &here) != 0 || here.st_ino != st.st_ino ||
        here.st_dev != st.st_dev)
        return false;
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", relative(path));
    f->size = (uint64_t)st.st_size;
    f->mtime_ns = nanoseconds(st.st_mtim);
    f->ctime_ns = nanoseconds(st.st_ctim);
    f->hashed_at = time(NULL);
    f->digests = *d;
    f->state = FILE_LANDED;
    f->frame = frame;
    snprintf(f->asset, sizeof f->asset, "%s", asset);
    return true;
}

/* Files whose sync to disk failed at release (relative paths, under the
 * lock): the page cache may hold bytes the disk does not, so a
 * reconciliation must not land them from it; a new write does. */
static char **unsynced;
static size_t unsynced_count;

static long unsynced_index(const char *rel)
{
    for (size_t i = 0; i < unsynced_count; i++)
        if (strcmp(unsynced[i], rel) == 0)
            return (long)i;
    return -1;
}

void staging_not_on_disk(const char *path)
{
    staging_removed(path);
    pthread_mutex_lock(&lock);
    char **grown = unsynced_index(relative(path)) < 0
                       ? realloc(unsynced, (unsynced_count + 1) * sizeof *unsynced)
                       : NULL;
    if (grown) {
        unsynced = grown;
        if ((grown[unsynced_count] = strdup(relative(path))))
            unsynced_count++;
    }
    pthread_mutex_unlock(&lock);
}

/* Records a landing; a frame's number is reserved in the catalog as it
 * is (catalog_put_frame), so a frame another path holds there is refused
 * (S5, v) even where the sequence memory missed it. Called with the lock;
 * SETTLED_PENDING when the catalog could not record it (the mount turns
 * read-only, and recover() meets the file afresh). */
static enum settlement record_landed(const struct catalog_file *f, struct verdict *v)
{
    char holder[CATALOG_PATH_MAX];

    long stale = unsynced_index(f->path); /* written again, and on disk now */
    if (stale >= 0) {
        free(unsynced[stale]);
        unsynced[stale] = unsynced[--unsynced_count];
    }
    char final[CATALOG_PATH_MAX]; /* a writer's temp file may land beside its target */
    bool temp = naming_final_name(f->path, final, sizeof final);
    if (!catalog_put_frame(cat, f, temp ? final : NULL, holder, sizeof holder)) {
        if (f->frame >= 0) /* not landed after all */
            seqset_remove(seq, f->asset, (uint64_t)f->frame);
        if (catalog_fault(cat) == CATALOG_FAULT_CONFLICT) {
            verdict_fail(v, RULE_S5,
                         "frame %lld of %s is already present as %s (the catalog's reservation)",
                         (long long)f->frame, f->asset, holder);
            return SETTLED_REFUSED;
        }
        cannot_record("recording", f->path);
        return SETTLED_PENDING;
    }
    hashed_bytes += f->size;
    if (!first_landing)
        first_landing = time(NULL);
    changed_now();
    return SETTLED_LANDED;
}

/* The frame the catalog has at rel leaves the sequence rules' memory (it
 * is deleted, moved or about to be rewritten). Called with the lock. */
static void forget_frame(const char *rel)
{
    struct catalog_file *row = malloc(sizeof *row);

    if (row && catalog_get_file(cat, rel, row) && row->state == FILE_LANDED && row->frame >= 0)
        seqset_remove(seq, row->asset, (uint64_t)row->frame);
    free(row);
}

/* What a file landing at path replaces: its own earlier content, and for
 * a writer's temp file the file it will be renamed over. Lock held. */
static void forget_replaced(const char *path)
{
    char final[4096];

    forget_frame(relative(path));
    if (naming_final_name(relative(path), final, sizeof final))
        forget_frame(final);
}

/* Both rows landed frames of the same asset and number: the same frame. */
static bool same_frame(const struct catalog_file *a, const struct catalog_file *b)
{
    return a->state == FILE_LANDED && b->state == FILE_LANDED && a->frame >= 0 &&
           a->frame == b->frame && strcmp(a->asset, b->asset) == 0;
}

void staging_replaced(const char *to, const char *from)
{
    struct catalog_file *a = malloc(sizeof *a), *b = malloc(sizeof *b);

    pthread_mutex_lock(&lock);
    bool known = a && b && catalog_get_file(cat, relative(to), a);
    /* an rsync temp moving over its target keeps the frame it already holds */
    if (known && !(catalog_get_file(cat, relative(from), b) && same_frame(a, b)))
        forget_frame(relative(to));
    if (known && !catalog_delete_file(cat, relative(to)))
        cannot_record("forgetting", to);
    if (known)
        changed_now();
    pthread_mutex_unlock(&lock);
    free(a);
    free(b);
}

void staging_removed(const char *path)
{
    pthread_mutex_lock(&lock);
    forget_frame(relative(path));
    if (!catalog_delete_file(cat, relative(path)))
        cannot_record("forgetting", path);
    changed_now();
    pthread_mutex_unlock(&lock);
}

void staging_renamed(const char *from, const char *to)
{
    pthread_mutex_lock(&lock);
    if (!catalog_rename(cat, relative(from), relative(to)))
        cannot_record("renaming", from);
    changed_now();
    pthread_mutex_unlock(&lock);
}

bool staging_digest(const char *path, enum hash_algo algo, char *out, size_t len)
{
    struct catalog_file *f = malloc(sizeof *f);
    bool found = false;

    if (!f)
        return false;
    pthread_mutex_lock(&lock);
    found = catalog_get_file(cat, relative(path), f) && (f->digests.present & HASH_BIT(algo));
    pthread_mutex_unlock(&lock);
    if (found)
        snprintf(out, len, "%s", f->digests.text[algo]);
    free(f);
    return found;
}

/* Moves path into the quarantine (namfs/quarantine.h). */
static int move_to_quarantine(const char *path, const char *rel, const struct verdict *v,
                              char *target, size_t len)
{
    const char *name;
    int dirfd = backing_parent(path, &name);
    if (dirfd < 0) {
        errno = -dirfd;
        return -1;
    }
    int rc = quarantine_move(&quarantine, dirfd, name, rel, v, target, len);
    int saved = errno;
    close(dirfd);
    errno = saved;
    return rc;
}

/* Refusals moved to the quarantine that the catalog could not record:
 * recorded by recover(), so that they stay listed as refused. */
static struct catalog_file **unrecorded;
static size_t unrecorded_count;

/* Called with the lock. */
static void keep_unrecorded(const struct catalog_file *f)
{
    struct catalog_file **grown = realloc(unrecorded, (unrecorded_count + 1) * sizeof *grown);
    struct catalog_file *copy = grown ? malloc(sizeof *copy) : NULL;

    if (grown)
        unrecorded = grown;
    if (copy) {
        *copy = *f;
        unrecorded[unrecorded_count++] = copy;
    }
}

/* At unmount (refusals not recorded keep their files and reasons in the
 * quarantine; files not on disk are judged by the next mount). */
static void free_pending(void)
{
    while (unrecorded_count)
        free(unrecorded[--unrecorded_count]);
    free(unrecorded);
    unrecorded = NULL;
    while (unsynced_count)
        free(unsynced[--unsynced_count]);
    free(unsynced);
    unsynced = NULL;
}

/* Called with the lock; false when the catalog still cannot record them. */
static bool record_unrecorded(void)
{
    while (unrecorded_count) {
        struct catalog_file *f = unrecorded[unrecorded_count - 1];
        if (!catalog_put_file(cat, f)) {
            cannot_record("recording", f->path);
            return false;
        }
        free(f);
        unrecorded_count--;
    }
    return true;
}

void staging_refused(const char *path, const struct verdict *v)
{
    const char *rel = relative(path);
    char target[PATH_MAX + 4200];
    struct catalog_file f;

    bool moved = move_to_quarantine(path, rel, v, target, sizeof target) == 0;
    if (!moved && errno == ENOENT)
        return; /* no longer there: an earlier settlement moved it */
    namfs_log(LOG_WARNING, "namfs: refused %s: %s %s%s", rel, rule_name(v->rule), v->message,
              moved ? " (moved to the quarantine)" : " (could not be moved; kept in place)");
    memset(&f, 0, sizeof f);
    snprintf(f.path, sizeof f.path, "%s", rel);
    f.state = moved ? FILE_QUARANTINED : FILE_REJECTED;
    f.verdict = *v;
    f.frame = -1;
    pthread_mutex_lock(&lock);
    if (!catalog_put_file(cat, &f)) {
        cannot_record("recording", path);
        if (moved)
            keep_unrecorded(&f);
    }
    changed_now(); /* a landed file it replaced leaves the manifests */
    pthread_mutex_unlock(&lock);
}

bool staging_verdict(const char *path, char *out, size_t len)
{
    struct catalog_file *f = malloc(sizeof *f);
    bool found = false;

    if (!f)
        return false;
    pthread_mutex_lock(&lock);
    found = catalog_get_file(cat, relative(path), f);
    pthread_mutex_unlock(&lock);
    if (found && f->verdict.rule == RULE_NONE)
        snprintf(out, len, "pass");
    else if (found)
        snprintf(out, len, "%s: %s", rule_name(f->verdict.rule), f->verdict.message);
    free(f);
    return found;
}

struct refused_open {
    char *path;
    struct verdict verdict;
};

static struct refused_open *refused_open;
static size_t refused_count;

void staging_note_refused(const char *path, const struct verdict *v)
{
    pthread_mutex_lock(&lock);
    struct refused_open *grown = realloc(refused_open, (refused_count + 1) * sizeof *refused_open);
    if (grown) {
        refused_open = grown;
        grown[refused_count].path = strdup(path);
        grown[refused_count].verdict = *v;
        if (grown[refused_count].path)
            refused_count++;
    }
    pthread_mutex_unlock(&lock);
}

bool staging_unlink_refused(const char *path)
{
    struct verdict v;
    bool found = false;

    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < refused_count && !found; i++)
        if (strcmp(refused_open[i].path, path) == 0) {
            v = refused_open[i].verdict;
            free(refused_open[i].path);
            refused_open[i] = refused_open[--refused_count];
            found = true;
        }
    pthread_mutex_unlock(&lock);
    if (found)
        staging_refused(path, &v);
    return found;
}

static bool reconcile_file(const char *rel, struct catalog_file *row);
static bool is_manifest_path(const char *rel);

struct stale {
    char (*paths)[CATALOG_PATH_MAX];
    size_t count;
};

/* The row still tells its file's bytes: BACKING has it with the same
 * size and times. */
static bool still_as_catalogued(void *ctx, const struct catalog_file *f)
{
    char path[CATALOG_PATH_MAX + 1];
    struct stat now;

    (void)ctx;
    snprintf(path, sizeof path, "/%s", f->path);
    return backing_stat(path, &now) == 0 && unchanged_since(f, &now);
}

static bool note_stale(void *ctx, const struct catalog_file *f)
{
    struct stale *st = ctx;

    if (is_manifest_path(f->path) || still_as_catalogued(NULL, f))
        return true;
    char(*grown)[CATALOG_PATH_MAX] = realloc(st->paths, (st->count + 1) * sizeof *grown);
    if (!grown)
        return false;
    st->paths = grown;
    snprintf(grown[st->count++], CATALOG_PATH_MAX, "%s", f->path);
    return true;
}

/* Landed files changed or removed in BACKING behind the mount's back are
 * judged and hashed again, or forgotten, before a manifest lists them.
 * False while one is being rewritten through the mount: its own
 * settlement will record it, so the manifests wait for it. */
static bool refresh_landed(void)
{
    struct stale st = {0};
    struct catalog_file *row = malloc(sizeof *row);
    bool ready = row != NULL && !staging_read_only(); /* recover() does it then */

    pthread_rwlock_wrlock(&changes); /* a rename half done is not a change behind */
    pthread_mutex_lock(&lock);
    ready = ready && catalog_each_file(cat, NULL, FILE_LANDED, note_stale, &st);
    pthread_mutex_unlock(&lock);
    for (size_t i = 0; ready && i < st.count; i++) {
        char path[CATALOG_PATH_MAX + 1];
        struct stat now;
        snprintf(path, sizeof path, "/%s", st.paths[i]);
        if (backing_stat(path, &now) != 0) {
            namfs_log(LOG_WARNING, "namfs: %s was removed from BACKING behind the mount", path);
            staging_removed(path);
        } else if (busy && busy(path)) {
            ready = false;
        } else {
            namfs_log(LOG_WARNING, "namfs: %s changed in BACKING behind the mount: judged anew",
                      path);
            reconcile_file(st.paths[i], row);
        }
    }
    pthread_rwlock_unlock(&changes);
    free(st.paths);
    free(row);
    return ready;
}

void staging_changes_begin(void)
{
    pthread_rwlock_rdlock(&changes);
}

void staging_changes_end(void)
{
    pthread_rwlock_unlock(&changes);
}

/* Back to read-write once the catalog records again and the writers of
 * before are gone: as at mount, the sequence rules' memory is rebuilt
 * and BACKING reconciled with the catalog, so what changed while the
 * catalog could not record it is judged and hashed now. */
static bool recover(void)
{
    if (!staging_read_only())
        return true;
    pthread_rwlock_wrlock(&changes); /* no writer opens meanwhile */
    if (!staging_read_only()) {      /* another caller recovered meanwhile */
        pthread_rwlock_unlock(&changes);
        return true;
    }
    bool writers = any_busy && any_busy();
    pthread_mutex_lock(&lock);
    bool writable = !writers && catalog_probe(cat) && record_unrecorded();
    unsigned failures = record_failures;
    if (writable) {
        seqset_free(seq);
        seq = seqset_new();
    }
    pthread_mutex_unlock(&lock);
    size_t changed = 0;
    bool walked = writable && seq && staging_reconcile(false, &changed);
    pthread_mutex_lock(&lock);
    bool recorded = walked && record_failures == failures;
    pthread_mutex_unlock(&lock);
    if (recorded) {
        __atomic_store_n(&read_only, false, __ATOMIC_RELEASE);
        namfs_log(LOG_NOTICE,
                  "namfs: read-write again: the catalog records changes; %zu file(s) "
                  "reconciled with BACKING",
                  changed);
    }
    pthread_rwlock_unlock(&changes);
    return recorded;
}

void staging_checkpoint(void)
{
    struct catalog_generation g;
    char err[4400];

    if (!recover()) {
        namfs_log(LOG_ERR,
                  "namfs: manifests not written: the catalog in %s cannot record "
                  "changes; they are written once it can, at the latest by the next "
                  "mount",
                  state_path);
        return;
    }
    if ((unsynced_landings && unsynced_landings()) || !refresh_landed())
        return; /* a landed file is not on disk yet: the next pause writes them */
    pthread_mutex_lock(&lock);
    if (dirty && !staging_read_only()) { /* not from a catalog that just missed a change */
        bool ok = checksum_write_all(cat, backing_root(), profile->checksum_hash, algos, err,
                                     sizeof err) &&
                  mhl_write_generation(cat, backing_root(), root_name, profile->mhl_hashes, true,
                                       time(NULL), &g, err, sizeof err);
        if (!ok)
            namfs_log(LOG_ERR, "namfs: writing manifests: %s", err);
        else if (g.sequence)
            namfs_log(LOG_INFO, "namfs: manifests written, %s/%s", MHL_FOLDER, g.file);
        dirty = !ok;
    }
    pthread_mutex_unlock(&lock);
}

void staging_set_busy_check(bool (*being_written)(const char *path), bool (*writers_open)(void),
                            bool (*landed_unsynced)(void))
{
    busy = being_written;
    any_busy = writers_open;
    unsynced_landings = landed_unsynced;
}

struct timespec staging_changed_at(void)
{
    pthread_mutex_lock(&lock);
    struct timespec at = last_change_real;
    pthread_mutex_unlock(&lock);
    return at;
}

static double seconds_since(const struct timespec *then)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - then->tv_sec) + (double)(now.tv_nsec - then->tv_nsec) / 1e9;
}

/* Polls often enough that a checkpoint follows the pause within 50 ms;
 * every 5 s it also looks for landed files changed behind the mount's
 * back, so that they leave checksum.txt as the mount shows it and the
 * next manifests. */
static void *quiet_loop(void *arg)
{
    unsigned ticks = 0;

    (void)arg;
    while (__atomic_load_n(&quiet_running, __ATOMIC_ACQUIRE)) {
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        if (++ticks % 100 == 0 && recover())
            refresh_landed();
        pthread_mutex_lock(&lock);
        bool due = dirty && seconds_since(&last_change) >= quiet_after && !staging_read_only();
        pthread_mutex_unlock(&lock);
        if (due)
            staging_checkpoint();
    }
    return NULL;
}

void staging_start_quiet_thread(void)
{
    __atomic_store_n(&quiet_running, true, __ATOMIC_RELEASE);
    if (pthread_create(&quiet_thread, NULL, quiet_loop, NULL) != 0)
        __atomic_store_n(&quiet_running, false, __ATOMIC_RELEASE);
}

void staging_stop_quiet_thread(void)
{
    if (!__atomic_exchange_n(&quiet_running, false, __ATOMIC_ACQ_REL))
        return;
    pthread_join(quiet_thread, NULL);
}

/* ---- judging what lands ---- */

/* Frames are judged under the name a writer's temp file will get. */
const char *staging_judged_name(const char *path, char *buf, size_t len)
{
    const char *rel = path + strspn(path, "/");
    return naming_final_name(rel, buf, len) ? buf : rel;
}

void staging_log_refusal(const char *path, const struct verdict *v)
{
    namfs_log(LOG_WARNING, "namfs: %s: %s %s", path, rule_name(v->rule), v->message);
}

static ssize_t pread_fd(void *ctx, void *buf, size_t n, uint64_t off)
{
    return pread(*(int *)ctx, buf, n, (off_t)off);
}

/* The whole file as it is now: completeness (R7), the rest of the frame
 * rules and naming. Returns false, with the verdict, when it breaks one. */
/* An empty file under a frame name is a frame not written yet, not a
 * broken one: ImageMagick opens its target twice with O_TRUNC and leaves
 * it empty in between (SPEC.md). It is neither refused nor landed. */
static bool empty_frame(int fd, const char *judged)
{
    struct stat st;
    const char *ext = strrchr(judged, '.');

    return fstat(fd, &st) == 0 && st.st_size == 0 && ext &&
           (strcasecmp(ext, ".dpx") == 0 || strcasecmp(ext, ".exr") == 0);
}

bool staging_judge_whole(int fd, const char *path, struct judgement *j)
{
    char name[4096];
    uint8_t head[4096];
    struct stat st;

    memset(j, 0, sizeof *j);
    if (fstat(fd, &st) != 0 || empty_frame(fd, staging_judged_name(path, name, sizeof name)))
        return true; /* nothing to judge now */
    ssize_t n = pread(fd, head, sizeof head, 0);
    struct frame_source src = {.head = head,
                               .head_len = n < 0 ? 0 : (size_t)n,
                               .complete = true,
                               .file_size = (uint64_t)st.st_size,
                               .read = pread_fd,
                               .read_ctx = &fd};
    return judge_file(staging_judged_name(path, name, sizeof name), &src, staging_profile(),
                      JUDGE_COMPLETE, j) != JUDGED_FAIL;
}

/* A landed frame joins the sequence rules' memory again (its header is
 * read, not its pixels): found unchanged at start, or left in place by a
 * refused writer's temp file. */
static void remember_frame(const char *path, int fd)
{
    struct judgement j;
    struct verdict v;

    if (!staging_judge_whole(fd, path, &j) || !j.is_frame)
        return;
    pthread_mutex_lock(&lock);
    if (!seqset_add(seq, &j.name, &j.info, &v))
        namfs_log(LOG_WARNING, "namfs: %s: %s %s (landed before; left as it is)", path,
                  rule_name(v.rule), v.message);
    pthread_mutex_unlock(&lock);
}

/* A writer's temp file refused at settling gave way for nothing: the
 * landed target it would have replaced is remembered again. */
static void remember_target(const char *path)
{
    char final[4096], target[4100];
    struct catalog_file *row = malloc(sizeof *row);

    if (!row || !naming_final_name(relative(path), final, sizeof final)) {
        free(row);
        return;
    }
    pthread_mutex_lock(&lock);
    bool landed = catalog_get_file(cat, final, row) && row->state == FILE_LANDED;
    pthread_mutex_unlock(&lock);
    free(row);
    snprintf(target, sizeof target, "/%s", final);
    int fd = landed ? backing_open_quietly(target, O_RDONLY) : -1;
    if (fd >= 0) {
        remember_frame(target, fd);
        close(fd);
    }
}

/* A written file settles: refused ones go to the quarantine, the others
 * land with their digest. */
static enum settlement settle_locked(const char *path, int fd, struct hash_cursor *cursor,
                                     const struct verdict *early)
{
    struct judgement j;
    struct digests d;

    char name[4096];

    if (empty_frame(fd, staging_judged_name(path, name, sizeof name)))
        return SETTLED_PENDING; /* its writer comes back for it */
    if (early && early->rule != RULE_NONE) {
        if (!staging_unlink_refused(path)) /* moves it, once */
            staging_refused(path, early);
        return SETTLED_REFUSED;
    }
    struct verdict v;
    if (!staging_judge_whole(fd, path, &j)) {
        staging_log_refusal(path, &j.verdict);
        staging_refused(path, &j.verdict);
        return SETTLED_REFUSED;
    }
    if (hash_cursor_finish(cursor, fd, &d) < 0) {
        namfs_log(LOG_ERR, "namfs: %s: cannot hash: %s: not landed, write it again", path,
                  strerror(errno));
        return SETTLED_FAILED;
    }
    struct catalog_file *row = malloc(sizeof *row);
    if (!row)
        return SETTLED_FAILED;
    if (!landed_row(path, fd, &d, j.is_frame ? (int64_t)j.name.frame : -1,
                    j.is_frame ? j.name.asset : "", row)) {
        free(row);
        return SETTLED_PENDING; /* moved meanwhile: it settles where it is now */
    }
    /* The sequence rules' memory and the catalog change together: a
     * rewrite judged meanwhile finds the frame in both or in neither. */
    pthread_mutex_lock(&lock);
    enum settlement outcome = SETTLED_LANDED;
    if (j.is_frame) {
        forget_replaced(path); /* a rewrite, or a temp file's target, gives way */
        outcome = seqset_add(seq, &j.name, &j.info, &v) ? SETTLED_LANDED : SETTLED_REFUSED;
    }
    if (outcome == SETTLED_LANDED)
        outcome = record_landed(row, &v);
    pthread_mutex_unlock(&lock);
    free(row);
    if (outcome == SETTLED_REFUSED) {
        staging_log_refusal(path, &v);
        staging_refused(path, &v);
        remember_target(path);
    }
    return outcome;
}

/* One settlement at a time: a late release and a truncate of the same file
 * must not land and refuse it in the wrong order. (A per-path lock would
 * let unrelated files settle in parallel; see issue 6.) */
enum settlement staging_settle(const char *path, int fd, struct hash_cursor *cursor,
                               const struct verdict *early)
{
    static pthread_mutex_t settling = PTHREAD_MUTEX_INITIALIZER;

    pthread_mutex_lock(&settling);
    enum settlement outcome = settle_locked(path, fd, cursor, early);
    pthread_mutex_unlock(&settling);
    return outcome;
}

/* ---- reconciling with BACKING at start ---- */

/* One file of BACKING: keep its row, or judge and hash it anew. */
static bool reconcile_file(const char *rel, struct catalog_file *row)
{
    char path[4100];
    struct stat st;
    struct hash_cursor cursor;

    snprintf(path, sizeof path, "/%s", rel);
    int fd = backing_open_quietly(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0) {
        namfs_log(LOG_ERR, "namfs: reconcile %s: %s", rel, strerror(fd < 0 ? -fd : errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    pthread_mutex_lock(&lock);
    bool known = catalog_get_file(cat, rel, row) && unchanged_since(row, &st);
    bool unsynced_file = !known && unsynced_index(rel) >= 0;
    pthread_mutex_unlock(&lock);
    if (unsynced_file) {
        namfs_log(LOG_WARNING, "namfs: %s not landed: its sync to disk failed; write it again",
                  rel);
        close(fd);
        return false;
    }
    if (known)
        remember_frame(path, fd);
    struct hasher *h = known ? NULL : hasher_new(algos);
    if (h) {
        hash_cursor_init(&cursor, h);
        staging_settle(path, fd, &cursor, NULL);
        hasher_free(h);
    }
    close(fd);
    return !known;
}

/* Rows of files that are no longer in BACKING (quarantined ones live in
 * the quarantine and keep their rows). */
static size_t drop_gone(const struct walk_list *files)
{
    pthread_mutex_lock(&lock);
    long dropped = catalog_drop_missing(cat, files, 1u << FILE_LANDED | 1u << FILE_REJECTED);
    if (dropped < 0)
        cannot_record("forgetting files gone from", backing_path);
    if (dropped > 0)
        changed_now();
    pthread_mutex_unlock(&lock);
    return dropped > 0 ? (size_t)dropped : 0;
}

static bool is_manifest_path(const char *rel)
{
    const char *slash = strrchr(rel, '/');
    return strcmp(slash ? slash + 1 : rel, CHECKSUM_NAME) == 0 ||
           strncmp(rel, MHL_FOLDER "/", strlen(MHL_FOLDER) + 1) == 0;
}

/* A file deleted while open that a crash left under libfuse's hidden
 * name: its user deleted it, so it goes (at mount only: while mounted, it
 * may still be open). */
static void remove_left_hidden(const char *rel)
{
    char path[4100];
    const char *name;

    snprintf(path, sizeof path, "/%s", rel);
    int dirfd = backing_parent(path, &name);
    int rc = dirfd < 0 ? dirfd : unlinkat(dirfd, name, 0) == 0 ? 0 : -errno;
    if (dirfd >= 0)
        close(dirfd);
    if (rc == 0)
        namfs_log(LOG_NOTICE, "namfs: %s: removed (deleted while open before a crash)", rel);
    else
        namfs_log(LOG_ERR, "namfs: %s: left from before a crash: %s", rel, strerror(-rc));
}

bool staging_reconcile(bool at_mount, size_t *count)
{
    struct walk_list files;
    struct catalog_file *row = malloc(sizeof *row);
    char err[4200];
    size_t changed = 0;

    *count = 0;
    if (!row || !walk_tree(backing_path, &files, err, sizeof err)) {
        namfs_log(LOG_ERR, "namfs: reconcile: %s", row ? err : "out of memory");
        free(row);
        return false;
    }
    for (size_t i = 0; i < files.count; i++) {
        const char *rel = files.entries[i].relpath;
        if (backing_hidden_by_fuse(rel) && at_mount)
            remove_left_hidden(rel);
        else if (!files.entries[i].is_symlink && !is_manifest_path(rel) &&
                 !backing_hidden_by_fuse(rel))
            changed += reconcile_file(rel, row);
    }
    changed += drop_gone(&files);
    walk_free(&files);
    free(row);
    *count = changed;
    return true;
}

/* ---- .namfs/status, status.json and rejected ---- */

/* The delivery as the catalog has it now; the lock held. */
static void count_delivery(struct status *st)
{
    catalog_each_file(cat, NULL, FILE_LANDED, status_count_landed, st);
    catalog_each_file(cat, NULL, FILE_QUARANTINED, status_count_refused, st);
    catalog_each_file(cat, NULL, FILE_REJECTED, status_count_refused, st);
    status_finish(st);
}

/* What the views say beside the assets, taken under the lock. */
struct mount_facts {
    bool pending;
    uint64_t hashed;
    time_t first_landing;
    bool read_only;
    char read_only_reason[sizeof read_only_reason];
    time_t read_only_since;
};

static struct mount_facts mount_facts(void)
{
    struct mount_facts m = {.pending = dirty,
                            .hashed = hashed_bytes,
                            .first_landing = first_landing,
                            .read_only = staging_read_only(),
                            .read_only_since = read_only_since};
    snprintf(m.read_only_reason, sizeof m.read_only_reason, "%s", read_only_reason);
    return m;
}

static double hash_rate(const struct mount_facts *m)
{
    double seconds = m->first_landing ? difftime(time(NULL), m->first_landing) : 0;
    return seconds >= 1 ? (double)m->hashed / 1e6 / seconds : (double)m->hashed / 1e6;
}

char *staging_render_status(void)
{
    struct status st = {0};
    struct strbuf t = {0};
    char at[32];

    pthread_mutex_lock(&lock);
    count_delivery(&st);
    struct mount_facts m = mount_facts();
    pthread_mutex_unlock(&lock);
    strbuf_add(&t, "namfs staging area %s (profile: %s)\n", backing_path, profile->source);
    strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S", localtime_r(&m.read_only_since, &(struct tm){0}));
    if (m.read_only)
        strbuf_add(&t,
                   "READ-ONLY since %s: the catalog in %s cannot record changes (%s); free "
                   "space there and writing resumes by itself\n",
                   at, state_path, m.read_only_reason);
    strbuf_add(&t, "ASSET\tFRAMES\tRANGE\tGAPS\tREJECTED\tBYTES\n");
    status_text_assets(&st, &t);
    strbuf_add(&t,
               "%zu files landed (%.1f MB), %zu refused; hashed %.1f MB through this mount, "
               "%.0f MB/s since the first landing; manifests %s\n",
               st.files, (double)st.bytes / 1e6, st.refused, (double)m.hashed / 1e6, hash_rate(&m),
               m.pending ? "pending (written once landings pause)" : "current");
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
               f->state == FILE_QUARANTINED ? "quarantined" : "kept in place");
    return true;
}

char *staging_render_rejected(void)
{
    struct strbuf t = {0};

    strbuf_add(&t, "%s", "");
    pthread_mutex_lock(&lock);
    catalog_each_file(cat, NULL, FILE_QUARANTINED, list_refused, &t);
    catalog_each_file(cat, NULL, FILE_REJECTED, list_refused, &t);
    pthread_mutex_unlock(&lock);
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
    strbuf_add(l->out, ", \"rule\": ");
    strbuf_json(l->out, rule_name(f->verdict.rule));
    strbuf_add(l->out, ", \"message\": ");
    strbuf_json(l->out, f->verdict.message);
    strbuf_add(l->out, ", \"where\": \"%s\"}",
               f->state == FILE_QUARANTINED ? "quarantine" : "in place");
    l->first = false;
    return true;
}

char *staging_render_status_json(void)
{
    struct status st = {0};
    struct strbuf t = {0};
    struct json_list rejected = {&t, true};

    strbuf_add(&t, "{\n  \"schema\": %d,\n  \"staging_area\": ", STATUS_SCHEMA);
    strbuf_json(&t, backing_path);
    strbuf_add(&t, ",\n  \"profile\": ");
    strbuf_json(&t, profile->source);
    pthread_mutex_lock(&lock);
    count_delivery(&st);
    struct mount_facts m = mount_facts();
    strbuf_add(&t, ",\n  \"rejected\": [");
    catalog_each_file(cat, NULL, FILE_QUARANTINED, list_refused_json, &rejected);
    catalog_each_file(cat, NULL, FILE_REJECTED, list_refused_json, &rejected);
    pthread_mutex_unlock(&lock);
    strbuf_add(&t, rejected.first ? "],\n  \"read_only\": " : "\n  ],\n  \"read_only\": ");
    if (m.read_only) {
        strbuf_add(&t, "{\"since\": %lld, \"reason\": ", (long long)m.read_only_since);
        strbuf_json(&t, m.read_only_reason);
        strbuf_add(&t, ", \"state_folder\": ");
        strbuf_json(&t, state_path);
        strbuf_add(&t, "}");
    } else {
        strbuf_add(&t, "null");
    }
    strbuf_add(&t, ",\n  \"assets\": ");
    status_json_assets(&st, &t);
    strbuf_add(&t,
               ",\n  \"totals\": {\"files\": %zu, \"bytes\": %llu, \"refused\": %zu},\n"
               "  \"hashed_bytes\": %llu,\n  \"hash_rate_mb_per_s\": %.1f,\n"
               "  \"manifests\": \"%s\"\n}\n",
               st.files, (unsigned long long)st.bytes, st.refused, (unsigned long long)m.hashed,
               hash_rate(&m), m.pending ? "pending" : "current");
    status_free(&st);
    return strbuf_take(&t);
}

void staging_rejudge(const char *path)
{
    struct hash_cursor cursor;
    int fd = backing_open_quietly(path, O_RDONLY);
    struct hasher *h = fd >= 0 ? hasher_new(algos) : NULL;

    if (h) {
        hash_cursor_init(&cursor, h);
        staging_settle(path, fd, &cursor, NULL);
    }
    hasher_free(h);
    if (fd >= 0)
        close(fd);
}

static bool is_frame(void *ctx, const struct catalog_file *f)
{
    *(bool *)ctx = f->frame >= 0;
    return f->frame < 0; /* one frame is enough */
}

/* checksum.txt belongs beside image sequences (M1), so it is shown and
 * written only where a frame landed. Called with the lock held. */
static bool holds_frames(const char *dir)
{
    bool found = false;
    catalog_each_file(cat, dir, FILE_LANDED, is_frame, &found);
    return found;
}

bool staging_folder_has_frames(const char *path)
{
    pthread_mutex_lock(&lock);
    bool found = holds_frames(relative(path));
    pthread_mutex_unlock(&lock);
    return found;
}

long staging_frames_beneath(const char *path)
{
    pthread_mutex_lock(&lock);
    long count = catalog_count_frames_under(cat, relative(path));
    pthread_mutex_unlock(&lock);
    return count;
}

/* still_as_catalogued() for a file of the folder open at *ctx: one
 * fstatat each, which a checksum.txt of 100,000 frames can afford. */
static bool as_catalogued_in(void *ctx, const struct catalog_file *f)
{
    const char *slash = strrchr(f->path, '/');
    struct stat now;

    return fstatat(*(int *)ctx, slash ? slash + 1 : f->path, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
           unchanged_since(f, &now);
}

char *staging_render_checksum(const char *path, bool checked)
{
    char dir[4096], err[300];
    const char *rel = relative(path), *slash = strrchr(rel, '/'), *name;

    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - rel) : 0, rel);
    bool filtered = checked || staging_read_only();
    int folder = filtered ? backing_parent(path, &name) : -1;
    if (filtered && folder < 0)
        return NULL; /* the folder itself is gone */
    catalog_file_fn keep = filtered ? as_catalogued_in : NULL;
    pthread_mutex_lock(&lock);
    char *text = holds_frames(dir) ? checksum_render_if(cat, dir, profile->checksum_hash, keep,
                                                        &folder, err, sizeof err)
                                   : NULL;
    pthread_mutex_unlock(&lock);
    if (folder >= 0)
        close(folder);
    if (text && !*text) {
        free(text);
        return NULL;
    }
    return text;
}

/* Gaps in one asset's frames (S2), the first few named. A textless
 * insert covers parts of its texted asset's range by nature: its gaps do
 * not stop it, as namctl check does not count them (S4 judges it). */
static void add_gaps(struct strbuf *why, const struct status_asset *a)
{
    for (size_t g = 0; !a->textless && g < a->gap_count && g < 3; g++) {
        const struct status_range *r = &a->gaps[g];
        if (r->first == r->last)
            strbuf_add(why, "S2: %s: frame %lld missing; ", a->key, (long long)r->first);
        else
            strbuf_add(why, "S2: %s: frames %lld-%lld missing; ", a->key, (long long)r->first,
                       (long long)r->last);
    }
    if (!a->textless && a->gap_count > 3)
        strbuf_add(why, "S2: %s: %zu more gap(s); ", a->key, a->gap_count - 3);
}

static bool add_refused(void *ctx, const struct catalog_file *f)
{
    strbuf_add(ctx, "%s: %s refused (%s), not yet replaced by a frame that passes; ", f->path,
               rule_name(f->verdict.rule),
               f->state == FILE_QUARANTINED ? "quarantined" : "kept in place");
    return true;
}

/* What stops the folder rel from being sealed; empty when nothing does.
 * Called with the lock held. */
static void seal_obstacles(const char *rel, struct strbuf *why)
{
    struct status st = {0};

    if (!*rel)
        strbuf_add(why, "the delivery root is not an asset: seal its asset folders; ");
    if (staging_read_only())
        strbuf_add(why, "the mount is read-only: the catalog cannot record changes (%s); ",
                   read_only_reason);
    catalog_each_file(cat, rel, FILE_LANDED, status_count_landed, &st);
    status_finish(&st);
    if (*rel && st.count == 0)
        strbuf_add(why, "no frame has landed in %s; ", rel);
    for (size_t i = 0; i < st.count; i++)
        add_gaps(why, &st.assets[i]);
    status_free(&st);
    catalog_each_file(cat, rel, FILE_QUARANTINED, add_refused, why);
    catalog_each_file(cat, rel, FILE_REJECTED, add_refused, why);
    if (why->len >= 2)
        why->data[why->len -= 2] = '\0'; /* the last "; " */
}

char *staging_seal_state(const char *path)
{
    struct strbuf why = {0};

    if (sealed_covers(path)) {
        strbuf_add(&why, "sealed");
        return strbuf_take(&why);
    }
    pthread_mutex_lock(&lock);
    seal_obstacles(relative(path), &why);
    pthread_mutex_unlock(&lock);
    if (!why.len)
        strbuf_add(&why, "sealable");
    return strbuf_take(&why);
}

bool staging_seal(const char *path)
{
    struct strbuf why = {0};
    const char *rel = relative(path);

    if (sealed_covers(path))
        return true;
    pthread_mutex_lock(&lock);
    seal_obstacles(rel, &why);
    bool recorded = !why.len && catalog_seal(cat, rel, time(NULL));
    bool ok = recorded && sealed_add(rel);
    if (why.len)
        namfs_log(LOG_WARNING, "namfs: %s not sealed: %s", rel, why.data);
    else if (!recorded)
        cannot_record("sealing", rel);
    pthread_mutex_unlock(&lock);
    free(why.data);
    if (ok) {
        staging_checkpoint(); /* the final manifests, unless already current */
        namfs_log(LOG_INFO, "namfs: %s sealed: no change is accepted in it any more", rel);
    }
    return ok;
}
