/* checksum.txt as the mount shows it between checkpoints (M1): every
 * landed file of the folder as the catalog has it and BACKING still has it
 * (a stat each: a file changed behind the mount is left out at once, not
 * at the next look-out).
 *
 * Rendering is linear in the folder's files (150,000 stats and rows), so
 * the text is kept, in an unnamed file of the state folder (the page
 * cache's to keep or evict, not namfs's heap), and served again while
 *   - the folder's tally in the catalog has not moved (a row of it counted
 *     in or out: landed, refused, renamed, changed), and
 *   - inotify reported no change in BACKING's folder since the rendering
 *     began (a local writer behind the mount; one on another host of a
 *     shared file system is seen by the look-out only).
 * An open that gets the same text as the open before it lets the kernel
 * serve it from its page cache; a new text is read through direct I/O,
 * so that a size the kernel took from an older getattr cannot cut it.
 *
 * One folder's view is kept (the folder being read); each folder once
 * rendered stays watched. Rendering holds no lock: it reads a read-only
 * catalog connection of its own; the view is swapped in under the model
 * lock. */
#include "stage_internal.h"

#include "namfs/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a change of the folder's files in BACKING looks like to inotify. */
#define NOTICED                                                                                    \
    (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE |            \
     IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)

void checksum_view_init(struct checksum_view *v)
{
    memset(v, 0, sizeof *v);
    v->fd = v->watch = -1;
    v->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
}

void checksum_view_free(struct checksum_view *v)
{
    if (v->fd >= 0)
        close(v->fd);
    if (v->inotify >= 0)
        close(v->inotify);
    v->fd = v->inotify = -1;
    free(v->watches);
    v->watches = NULL;
    v->watch_count = 0;
}

/* Whether an inotify event may change what a view lists: not the
 * manifest's own rewrite, a hidden file or a file in flight (".namfs~"). */
static bool relevant(const struct inotify_event *e)
{
    if (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
        return true; /* the folder itself went */
    return e->len && e->name[0] && e->name[0] != '.' && strcmp(e->name, CHECKSUM_NAME) != 0;
}

/* The notices of watch wd (a folder once rendered stays watched: few
 * folders hold frames); NULL when out of memory. */
static struct folder_watch *watch_of(struct checksum_view *v, int wd)
{
    for (size_t i = 0; i < v->watch_count; i++)
        if (v->watches[i].wd == wd)
            return &v->watches[i];
    struct folder_watch *grown = realloc(v->watches, (v->watch_count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    v->watches = grown;
    grown[v->watch_count] = (struct folder_watch){wd, 0};
    return &grown[v->watch_count++];
}

/* Reads what inotify has queued, counting each folder's relevant notices.
 * Model lock held. */
static void drain(struct checksum_view *v)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    if (v->inotify < 0)
        return;
    while ((n = read(v->inotify, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)p;
            struct folder_watch *w = e->wd >= 0 ? watch_of(v, e->wd) : NULL;
            if (e->mask & IN_Q_OVERFLOW)
                v->overflows++; /* events lost: every view is in doubt */
            else if (w && relevant(e))
                w->notices++;
            p += sizeof *e + e->len;
        }
}

/* The view still shows dir as it is, at the folder's tally version. */
static bool current(struct checksum_view *v, const char *dir, uint64_t version)
{
    drain(v);
    struct folder_watch *w = v->watch >= 0 ? watch_of(v, v->watch) : NULL;
    return v->fd >= 0 && w && w->notices == v->notices_at && v->overflows == v->overflows_at &&
           v->version == version && strcmp(v->dir, dir) == 0;
}

/* The folder of path relative to BACKING; false when it is sealed
 * (BACKING's checksum.txt, listed in the MHL history as it is, is final). */
static bool unsealed_folder(struct stage *s, const char *path, char *dir, size_t len)
{
    const char *rel = stage_relative(path), *slash = strrchr(rel, '/');

    snprintf(dir, len, "%.*s", slash ? (int)(slash - rel) : 0, rel);
    return !sealed_covers(&s->sealed, dir);
}

struct folder_check {
    struct stage *s;
    int folder; /* BACKING's folder */
};

/* The file as catalogued, in BACKING's folder or in flight while it waits
 * for its release to take its name. */
static bool as_catalogued(void *ctx, const struct catalog_brief *f)
{
    struct folder_check *c = ctx;
    char mount_path[CATALOG_PATH_MAX + 1], at[PATH_MAX];
    struct stat now;

    snprintf(mount_path, sizeof mount_path, "/%s", f->path);
    stage_locate(c->s, mount_path, at, sizeof at);
    const char *slash = strrchr(at, '/');
    return fstatat(c->folder, slash ? slash + 1 : at, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
           f->size == (uint64_t)now.st_size && f->mtime_ns == stage_ns(now.st_mtim) &&
           f->ctime_ns == stage_ns(now.st_ctim);
}

/* An unnamed file in the state folder (a named one, unlinked at once,
 * where O_TMPFILE is not supported); in memory when the state folder
 * cannot hold it (full: the catalog is read-only then, and the view is
 * what still tells what landed). */
static int unnamed_file(const char *folder, bool in_memory)
{
    if (in_memory)
        return memfd_create("namfs-checksum-view", MFD_CLOEXEC);
    char path[PATH_MAX + 32];
    int fd = open(folder, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
        return fd;
    snprintf(path, sizeof path, "%s/checksum-view.XXXXXX", folder);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

/* A rendering of dir's view, not yet the view. */
struct rendering {
    int fd;
    size_t len;
    uint64_t version, notices_at, overflows_at;
    int watch;
};

/* Watches BACKING's folder before reading it, so that a change during the
 * rendering counts against it. Model lock held. */
static void watch_folder(struct stage *s, const char *dir, struct rendering *r)
{
    struct checksum_view *v = &s->checksum_view;
    char folder[PATH_MAX * 2];

    drain(v);
    snprintf(folder, sizeof folder, "%s%s%s", s->backing_path, *dir ? "/" : "", dir);
    r->watch = v->inotify >= 0 ? inotify_add_watch(v->inotify, folder, NOTICED | IN_ONLYDIR) : -1;
    struct folder_watch *w = r->watch >= 0 ? watch_of(v, r->watch) : NULL;
    r->watch = w ? r->watch : -1;
    r->notices_at = w ? w->notices : 0;
    r->overflows_at = v->overflows;
}

/* The checked text, from the catalog connection view, into r->fd. */
static bool render_into(struct stage *s, struct catalog *view, const char *dir,
                        struct folder_check *check, struct checksum_out *k, struct rendering *r)
{
    char err[300];

    memset(k, 0, sizeof *k);
    k->fd = r->fd;
    k->old = -1;
    errno = 0;
    bool ok = checksum_render_to(view, dir, s->profile.checksum_hash, as_catalogued, check,
                                 checksum_out_emit, k, err, sizeof err) &&
              checksum_out_flush(k);
    if (!ok && !k->failed)
        stage_log(s, LOG_ERR, "namfs: %s/%s as the mount shows it: %s", dir, CHECKSUM_NAME, err);
    r->len = k->total;
    return ok;
}

static int render(struct stage *s, const char *path, const char *dir, struct rendering *r)
{
    char db[PATH_MAX + 32], err[300];
    struct catalog_folder tally;
    const char *name;
    struct checksum_out *k = malloc(sizeof *k);

    snprintf(db, sizeof db, "%s/catalog.sqlite", s->state_path);
    struct catalog *view = catalog_open_view(db, err, sizeof err);
    struct folder_check check = {s, backing_parent(&s->backing, path, &name)};
    int rc = !k || !view ? -ENOMEM : check.folder < 0 ? check.folder : 0;
    if (rc == 0) {
        pthread_mutex_lock(&s->model);
        watch_folder(s, dir, r);
        pthread_mutex_unlock(&s->model);
        /* the version before the rows: a change between them renders again */
        rc = !catalog_folder_tally(view, dir, &tally) ? -EIO : tally.frames ? 0 : -ENOENT;
        r->version = tally.changes;
    }
    for (int in_memory = 0; rc == 0 && in_memory < 2; in_memory++) {
        if ((r->fd = unnamed_file(s->state_path, in_memory)) < 0)
            continue;
        if (render_into(s, view, dir, &check, k, r))
            break;
        close(r->fd);
        r->fd = -1;
        if (!k->failed)
            rc = -EIO; /* the catalog's trouble, logged: memory would not help */
    }
    if (rc == 0 && r->fd < 0)
        rc = -EIO;
    if (check.folder >= 0)
        close(check.folder);
    catalog_close(view);
    free(k);
    return rc;
}

/* The rendering becomes the view, current unless a notice came while it
 * was made. Model lock held. */
static void install(struct stage *s, const char *dir, const struct rendering *r)
{
    struct checksum_view *v = &s->checksum_view;

    drain(v);
    if (v->fd >= 0)
        close(v->fd);
    snprintf(v->dir, sizeof v->dir, "%s", dir);
    v->fd = r->fd;
    v->len = r->len;
    v->version = r->version;
    v->watch = r->watch;
    v->notices_at = r->notices_at;
    v->overflows_at = r->overflows_at;
    v->serial++;
}

/* The folder's tally version (model lock held); UINT64_MAX when the
 * catalog cannot tell, which no view has. */
static uint64_t folder_version(struct stage *s, const char *dir, struct catalog_folder *f)
{
    return catalog_folder_tally(s->cat, dir, f) ? f->changes : UINT64_MAX;
}

int stage_open_checksum(struct stage *s, const char *path, struct checksum_open *out)
{
    struct checksum_view *v = &s->checksum_view;
    struct catalog_folder tally;
    struct rendering r = {.fd = -1};
    char dir[CATALOG_PATH_MAX];

    if (!unsealed_folder(s, path, dir, sizeof dir))
        return -ENOENT;
    pthread_mutex_lock(&s->model);
    bool fresh = current(v, dir, folder_version(s, dir, &tally));
    pthread_mutex_unlock(&s->model);
    if (!fresh) {
        int rc = render(s, path, dir, &r);
        if (rc < 0)
            return rc;
    }
    pthread_mutex_lock(&s->model);
    if (!fresh)
        install(s, dir, &r);
    out->fd = fcntl(v->fd, F_DUPFD_CLOEXEC, 0);
    out->len = v->len;
    /* the same text as the open before: the kernel's pages of it are
     * right (the second open fills them, the third keeps them) */
    bool again = v->served == v->serial;
    out->direct = !again;
    out->keep_cache = again && v->opens_of_serial++ > 0;
    if (!again) {
        v->served = v->serial;
        v->opens_of_serial = 0;
    }
    pthread_mutex_unlock(&s->model);
    return out->fd >= 0 ? 0 : -errno;
}

long stage_checksum_length(struct stage *s, const char *path)
{
    struct checksum_view *v = &s->checksum_view;
    struct catalog_folder tally = {0};
    char dir[CATALOG_PATH_MAX];

    if (!unsealed_folder(s, path, dir, sizeof dir))
        return -1;
    pthread_mutex_lock(&s->model);
    uint64_t version = folder_version(s, dir, &tally);
    long len = !tally.frames              ? -1
               : current(v, dir, version) ? (long)v->len
               : stage_read_only(s)       ? -2 /* below */
                                          : checksum_length(s->cat, dir, s->profile.checksum_hash);
    pthread_mutex_unlock(&s->model);
    if (len != -2)
        return len;
    /* read-only: files changed behind the mount stay in the catalog, so
     * the length is the checked rendering's */
    struct checksum_open o;
    if (stage_open_checksum(s, path, &o) < 0)
        return -1;
    close(o.fd);
    return (long)o.len;
}

bool stage_folder_has_frames(struct stage *s, const char *path)
{
    struct catalog_folder tally = {0};

    pthread_mutex_lock(&s->model);
    bool known = catalog_folder_tally(s->cat, stage_relative(path), &tally);
    pthread_mutex_unlock(&s->model);
    return known && tally.frames > 0;
}
