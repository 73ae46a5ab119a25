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
 * While frames land the tally moves with each; when all that changed in
 * the folder since the text was made are files whose names sort after
 * every name it was made from (the catalog's change numbers tell which,
 * its tally that nothing else went, inotify's names that nothing else
 * changed in BACKING), their lines are appended instead: a read while
 * frames land costs what landed since the last read, not the folder.
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

/* What a change of the folder's files in BACKING looks like to inotify.
 * Not IN_CLOSE_WRITE: a writer behind the mount has caused IN_MODIFY
 * already, and the daemon's own release of a landed frame, after its
 * line is shown, would count against the view. */
#define NOTICED                                                                                    \
    (IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE |                 \
     IN_DELETE_SELF | IN_MOVE_SELF)

/* Names kept for one folder's notices at most; beyond, a full rendering. */
#define NOTICED_MAX 4096
/* Rows appended to a view at most, under the model lock; beyond, a full
 * rendering, off the lock. */
#define APPEND_MAX 4096
/* Changes anywhere in the catalog since the view at most, for an append
 * to read through (the change numbers are the catalog's, not the
 * folder's); beyond, a full rendering. */
#define APPEND_SCAN_MAX 16384

static void end_forget(struct view_end *e)
{
    for (size_t i = 0; i < e->after_count; i++)
        free(e->after[i]);
    e->after_count = 0;
}

/* Row path shown (its line is the text's last now) or left out. */
static void end_add(struct view_end *e, const char *path, bool shown)
{
    if (shown) {
        end_forget(e); /* rows left out before it are in the middle now */
        snprintf(e->shown, sizeof e->shown, "%s", path);
    } else if (e->after_count < VIEW_AFTER_MAX && (e->after[e->after_count] = strdup(path))) {
        e->after_count++;
    }
}

static bool end_after(const struct view_end *e, const char *path)
{
    for (size_t i = 0; i < e->after_count; i++)
        if (strcmp(e->after[i], path) == 0)
            return true;
    return false;
}

void checksum_view_init(struct checksum_view *v)
{
    memset(v, 0, sizeof *v);
    v->fd = v->watch = v->noticed.wd = -1;
    v->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
}

/* Forgets the names of notices before the folder's count `upto`, so that
 * the list starts there; with wd another folder's, all of them. A list
 * that was incomplete stays so (its count falls short of the folder's),
 * until a rendering installed at the folder's count starts it afresh. */
static void forget_noticed(struct noticed *n, int wd, uint64_t upto)
{
    size_t keep = n->wd == wd && upto >= n->from && upto - n->from < n->count
                      ? n->count - (size_t)(upto - n->from)
                      : 0;
    size_t drop = n->count - keep;

    for (size_t i = 0; i < drop; i++)
        free(n->names[i]);
    if (drop && keep)
        memmove(n->names, n->names + drop, keep * sizeof *n->names);
    n->count = keep;
    n->from = upto;
    n->wd = wd;
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
    forget_noticed(&v->noticed, -1, 0);
    free(v->noticed.names);
    v->noticed.names = NULL;
    end_forget(&v->end);
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
static struct folder_watch *found_watch(const struct checksum_view *v, int wd)
{
    for (size_t i = 0; i < v->watch_count; i++)
        if (v->watches[i].wd == wd)
            return &v->watches[i];
    return NULL;
}

static struct folder_watch *watch_of(struct checksum_view *v, int wd)
{
    struct folder_watch *found = found_watch(v, wd);
    if (found)
        return found;
    struct folder_watch *grown = realloc(v->watches, (v->watch_count + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    v->watches = grown;
    grown[v->watch_count] = (struct folder_watch){wd, 0};
    return &grown[v->watch_count++];
}

/* A relevant notice in folder w; its name kept when it is the noticed
 * folder's (a name not kept leaves the list incomplete: no append). */
static void note(struct noticed *n, struct folder_watch *w, const struct inotify_event *e)
{
    bool complete = n->from + n->count == w->notices;
    w->notices++;
    if (w->wd != n->wd || !complete || n->count >= NOTICED_MAX)
        return;
    char **grown = n->count % 64 ? n->names : realloc(n->names, (n->count + 64) * sizeof *grown);
    if (grown)
        n->names = grown;
    if (grown && (grown[n->count] = strdup(e->len ? e->name : "")))
        n->count++;
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
                note(&v->noticed, w, e);
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
    int folder;       /* BACKING's folder */
    uint64_t visited; /* rows checked, shown or left out */
    struct view_end end;
};

/* The file as catalogued, in BACKING's folder or in flight while it waits
 * for its release to take its name. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static bool in_backing_as_catalogued(struct folder_check *c, const struct catalog_brief *f)
{
    char mount_path[CATALOG_PATH_MAX + 1], at[PATH_MAX];
    struct stat now;

    snprintf(mount_path, sizeof mount_path, "/%s", f->path);
    stage_locate(c->s, mount_path, at, sizeof at);
    if (strcmp(at, mount_path) != 0)
        return false; /* still in flight: its close() has not returned */
    return fstatat(c->folder, base_name(at), &now, AT_SYMLINK_NOFOLLOW) == 0 &&
           f->size == (uint64_t)now.st_size && f->mtime_ns == stage_ns(now.st_mtim) &&
           f->ctime_ns == stage_ns(now.st_ctim);
}

/* A rendering's keep(): rows come in path order. */
static bool as_catalogued(void *ctx, const struct catalog_brief *f)
{
    struct folder_check *c = ctx;
    bool shown = in_backing_as_catalogued(c, f);

    c->visited++;
    end_add(&c->end, f->path, shown);
    return shown;
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
    int64_t change;
    uint64_t listed;
    struct view_end end;
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
    if (w && v->noticed.wd != r->watch) /* names from here on, for appends to this view */
        forget_noticed(&v->noticed, r->watch, w->notices);
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
        stage_log(s, LOG_ERR, "%s/%s as the mount shows it: %s", dir, CHECKSUM_NAME, err);
    r->len = k->total;
    return ok;
}

static int render(struct stage *s, const char *path, const char *dir, struct rendering *r)
{
    char err[600];
    struct catalog_folder tally;
    const char *name;
    struct checksum_out *k = malloc(sizeof *k);

    struct catalog *view = catalog_open_view(s->catalog_where, err, sizeof err);
    struct folder_check check = {.s = s, .folder = backing_parent(&s->backing, path, &name)};
    int rc = !k || !view ? -ENOMEM : check.folder < 0 ? check.folder : 0;
    if (rc == 0) {
        pthread_mutex_lock(&s->model);
        watch_folder(s, dir, r);
        pthread_mutex_unlock(&s->model);
        /* one snapshot: the change number, the tally and the rows agree */
        rc = !catalog_snapshot(view) || !catalog_last_change(view, &r->change) ||
                     !catalog_folder_tally(view, dir, &tally)
                 ? -EIO
             : tally.frames ? 0
                            : -ENOENT;
        r->version = tally.changes;
    }
    for (int in_memory = 0; rc == 0 && in_memory < 2; in_memory++) {
        if ((r->fd = unnamed_file(s->state_path, in_memory)) < 0)
            continue;
        check.visited = 0;
        end_forget(&check.end);
        check.end.shown[0] = '\0';
        if (render_into(s, view, dir, &check, k, r))
            break;
        close(r->fd);
        r->fd = -1;
        if (!k->failed)
            rc = -EIO; /* the catalog's trouble, logged: memory would not help */
    }
    if (rc == 0 && r->fd < 0)
        rc = -EIO;
    r->listed = check.visited;
    r->end = check.end; /* its names are the rendering's now */
    if (view)
        catalog_commit(view); /* the snapshot's end */
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
    v->change = r->change;
    v->listed = r->listed;
    end_forget(&v->end);
    v->end = r->end;
    forget_noticed(&v->noticed, v->watch, v->notices_at);
    v->serial++;
}

/* ---- appending what landed since ---- */

/* A row changed since the view was made, owned. */
struct appended_row {
    char *path, *digest;
    uint64_t size;
    int64_t mtime_ns, ctime_ns;
};

struct appending {
    const struct checksum_view *v;
    struct appended_row *rows;
    size_t count;
};

static void free_appending(struct appending *a)
{
    for (size_t i = 0; i < a->count; i++) {
        free(a->rows[i].path);
        free(a->rows[i].digest);
    }
    free(a->rows);
}

/* Keeps a changed row that the view can take as an appended line: landed,
 * with its digest, after the view's last line; stops at any other (false:
 * render anew). */
static bool appendable(void *ctx, const struct catalog_brief *b)
{
    struct appending *a = ctx;

    if (b->state != FILE_LANDED || !b->digest || strcmp(b->path, a->v->end.shown) <= 0 ||
        a->count >= APPEND_MAX)
        return false;
    if (a->count % 64 == 0) {
        struct appended_row *grown = realloc(a->rows, (a->count + 64) * sizeof *grown);
        if (!grown)
            return false;
        a->rows = grown;
    }
    struct appended_row *r = &a->rows[a->count];
    *r = (struct appended_row){strdup(b->path), strdup(b->digest), b->size, b->mtime_ns,
                               b->ctime_ns};
    if (!r->path || !r->digest) {
        free(r->path);
        free(r->digest);
        return false;
    }
    a->count++;
    return true;
}

/* Whether path is among the rows (in path order). */
static bool bsearch_row(const struct appending *a, const char *path)
{
    size_t lo = 0, hi = a->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(a->rows[mid].path, path);
        if (cmp == 0)
            return true;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Every notice in the view's folder since it was made names one of the
 * rows to append (their landings': a change behind the mount to another
 * file renders anew). */
static bool notices_explained(const struct checksum_view *v, const struct appending *a)
{
    const struct noticed *n = &v->noticed;
    const struct folder_watch *w = found_watch(v, v->watch);

    if (!w || n->wd != v->watch || n->from > v->notices_at || n->from + n->count != w->notices ||
        v->overflows != v->overflows_at)
        return false;
    char path[CATALOG_PATH_MAX * 2];
    for (size_t i = (size_t)(v->notices_at - n->from); i < n->count; i++) {
        snprintf(path, sizeof path, "%s%s%s", v->dir, *v->dir ? "/" : "", n->names[i]);
        if (!bsearch_row(a, path) && !end_after(&v->end, path))
            return false; /* a row left out at the end may change: it is not shown */
    }
    return true;
}

/* The lines of the rows BACKING has as catalogued, at the view's end, up
 * to the first it does not (that one and those after it are left out
 * for a later append: lines stay in path order); end becomes the text's
 * new end. False when they could not be written (the view is as it was). */
static bool append_lines(struct stage *s, int folder, const struct appending *a, size_t *len,
                         struct view_end *end)
{
    struct checksum_view *v = &s->checksum_view;
    struct folder_check check = {.s = s, .folder = folder};
    char line[CATALOG_PATH_MAX + 160];
    struct checksum_out *k = malloc(sizeof *k);
    bool gap = false;

    if (!k)
        return false;
    memset(k, 0, sizeof *k);
    k->fd = v->fd;
    k->old = -1;
    snprintf(end->shown, sizeof end->shown, "%s", v->end.shown);
    for (size_t i = 0; i < v->end.after_count; i++) /* still left out, unless appended now */
        if (!bsearch_row(a, v->end.after[i]))
            end_add(end, v->end.after[i], false);
    bool ok = lseek(v->fd, (off_t)v->len, SEEK_SET) >= 0;
    for (size_t i = 0; ok && i < a->count; i++) {
        const struct appended_row *r = &a->rows[i];
        struct catalog_brief b = {
            .path = r->path, .size = r->size, .mtime_ns = r->mtime_ns, .ctime_ns = r->ctime_ns};
        gap = gap || !in_backing_as_catalogued(&check, &b);
        if (!gap) {
            int n = checksum_line(line, sizeof line, base_name(r->path), r->size,
                                  s->profile.checksum_hash, r->digest);
            ok = n >= 0 && checksum_out_emit(k, line, (size_t)n);
        }
        end_add(end, r->path, !gap);
    }
    ok = ok && checksum_out_flush(k);
    *len = (size_t)k->total;
    free(k);
    return ok;
}

/* The view made current by appending what landed in its folder since it
 * was made, when that is all that changed there. Model lock held; few
 * rows (APPEND_MAX), each a stat. */
static bool appended(struct stage *s, const char *path, const char *dir,
                     const struct catalog_folder *tally)
{
    struct checksum_view *v = &s->checksum_view;
    struct appending a = {.v = v};
    int64_t change;
    const char *name;
    size_t added = 0;

    if (v->fd < 0 || strcmp(v->dir, dir) != 0 || !catalog_last_change(s->cat, &change) ||
        change - v->change > APPEND_SCAN_MAX ||
        !catalog_each_change_in(s->cat, dir, v->change, s->profile.checksum_hash, appendable, &a)) {
        free_appending(&a);
        return false;
    }
    size_t again = 0; /* rows left out at the end before, changed since: not new */
    for (size_t i = 0; i < a.count; i++)
        again += end_after(&v->end, a.rows[i].path);
    /* nothing else came or went: a row deleted or moved away leaves no
     * change number, but the count */
    if (tally->listed != v->listed + a.count - again || !notices_explained(v, &a)) {
        free_appending(&a);
        return false;
    }
    struct view_end end = {.after_count = 0};
    int folder = backing_parent(&s->backing, path, &name);
    bool ok = folder >= 0 && append_lines(s, folder, &a, &added, &end);
    if (folder >= 0)
        close(folder);
    if (!ok)
        end_forget(&end);
    if (ok) {
        v->len += added;
        v->change = change;
        v->listed += a.count - again;
        end_forget(&v->end);
        v->end = end;
        v->version = tally->changes;
        v->notices_at = found_watch(v, v->watch)->notices; /* notices_explained found it */
        forget_noticed(&v->noticed, v->watch, v->notices_at);
        v->serial++;
    }
    free_appending(&a);
    return ok;
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
    uint64_t version = folder_version(s, dir, &tally);
    bool fresh =
        current(v, dir, version) || (version != UINT64_MAX && appended(s, path, dir, &tally));
    pthread_mutex_unlock(&s->model);
    if (!fresh) {
        int rc = render(s, path, dir, &r);
        if (rc < 0) {
            end_forget(&r.end);
            return rc;
        }
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
