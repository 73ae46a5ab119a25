/* Kernel requests onto the backing directory. Every path is resolved by
 * backing.c beneath BACKING without following symlinks; open files are
 * served from their own fd. Symlinks and hard links are refused: a
 * delivery holds regular files and folders only. */
#include "ops.h"

#include "backing.h"
#include "log.h"
#include "readahead.h"
#include "sealed.h"
#include "staging.h"

#include "namfs/hash_cursor.h"
#include "namfs/judge.h"
#include "namfs/landing.h"
#include "namfs/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* An open file: its fd and, for a handle that writes, the record of its
 * inode (namfs/landing.h), shared with every other handle on the file. */
struct open_file {
    int fd;     /* -1 for a .namfs/ file or checksum.txt, served from text, and folders */
    char *text; /* that text */
    DIR *dir;   /* an open folder of BACKING; NULL for the virtual .namfs/ */
    struct landing *inode;         /* NULL for a handle that only reads */
    bool closed;                   /* its close() came, and no write since (inode's lock) */
    struct open_file *prev, *next; /* every open backing file, for unmount */
};

#define NAMFS_XATTR "user.namfs."

/* The largest request the kernel sends (libfuse 3.14's buffer): cp sizes
 * its writes by st_blksize, so one request per MiB instead of per 128 KiB. */
#define IO_SIZE (1 << 20)

struct fuse *namfs_running;
bool namfs_bare;
/* Every file open for writing, one record per inode (namfs/landing.h):
 * made at init, before the first request. */
static struct landing_table *landings;
unsigned namfs_readahead_kb;
char namfs_mountpoint[4096];

static struct open_file *of(const struct fuse_file_info *fi)
{
    return (struct open_file *)(uintptr_t)fi->fh;
}

static int fail_errno(void)
{
    return -errno;
}

/* Keeps the contiguous start of the file and judges the header as soon as
 * it is in, on the fields no writer patches later (rules.h JUDGE_EARLY).
 * The record's lock is held. */
static void judge_early(struct landing *f, const char *path, const char *buf, size_t n,
                        uint64_t off)
{
    char name[4096];
    struct judgement j;

    if (f->judged_early || off > f->head_len || off + n <= f->head_len)
        return;
    size_t take = sizeof f->head - f->head_len;
    if (take > off + n - f->head_len)
        take = (size_t)(off + n - f->head_len);
    memcpy(f->head + f->head_len, buf + (f->head_len - off), take);
    f->head_len += take;
    /* Writers send headers in pieces (OpenEXR one attribute at a time), so
     * every growth of the start is judged again until there is a verdict. */
    struct frame_source src = {.head = f->head, .head_len = f->head_len};
    enum judge_outcome o = judge_file(staging_judged_name(path, name, sizeof name), &src,
                                      staging_profile(), JUDGE_EARLY, &j);
    if (o == JUDGED_NEED_MORE && f->head_len < sizeof f->head)
        return;
    f->judged_early = true;
    if (o == JUDGED_PASS && j.info.format == FRAME_EXR && j.info.exr.table_offset) {
        f->table_at = j.info.exr.table_offset;
        f->table_len = 8 * (uint64_t)j.info.exr.chunk_count;
    }
    if (o == JUDGED_FAIL) {
        f->refused = true;
        f->verdict = j.verdict;
        staging_log_refusal(path, &j.verdict);
        staging_note_refused(path, &j.verdict);
    }
}

/* The read-only .namfs/ folder at the root: status without another tool. */
#define STATUS_DIR "/.namfs"

enum virtual_kind {
    NOT_VIRTUAL,
    VIRTUAL_DIR,
    VIRTUAL_STATUS,
    VIRTUAL_STATUS_JSON,
    VIRTUAL_REJECTED,
    VIRTUAL_MISSING
};

static enum virtual_kind virtual_kind(const char *path)
{
    if (!path || strncmp(path, STATUS_DIR, strlen(STATUS_DIR)) != 0)
        return NOT_VIRTUAL;
    const char *rest = path + strlen(STATUS_DIR);
    if (!*rest)
        return VIRTUAL_DIR;
    if (strcmp(rest, "/status") == 0)
        return VIRTUAL_STATUS;
    if (strcmp(rest, "/status.json") == 0)
        return VIRTUAL_STATUS_JSON;
    if (strcmp(rest, "/rejected") == 0)
        return VIRTUAL_REJECTED;
    return rest[0] == '/' ? VIRTUAL_MISSING : NOT_VIRTUAL;
}

/* A folder's checksum.txt is shown as the catalog has it now, between the
 * checkpoints that write it to BACKING. */
static bool is_checksum(const char *path)
{
    const char *slash = strrchr(path, '/');
    return strcmp(slash ? slash + 1 : path, CHECKSUM_NAME) == 0;
}

static char *render(enum virtual_kind kind)
{
    return kind == VIRTUAL_STATUS        ? staging_render_status()
           : kind == VIRTUAL_STATUS_JSON ? staging_render_status_json()
                                         : staging_render_rejected();
}

static bool is_virtual_file(enum virtual_kind kind)
{
    return kind == VIRTUAL_STATUS || kind == VIRTUAL_STATUS_JSON || kind == VIRTUAL_REJECTED;
}

/* Attributes of something namfs shows but BACKING does not hold; inode
 * numbers far above BACKING's. */
static void shown_attr(struct stat *st, ino_t ino, mode_t mode, off_t size)
{
    memset(st, 0, sizeof *st);
    st->st_ino = ino;
    st->st_mode = mode;
    st->st_nlink = S_ISDIR(mode) ? 2 : 1;
    st->st_size = size;
    st->st_uid = getuid();
    st->st_gid = getgid();
    clock_gettime(CLOCK_REALTIME, &st->st_mtim);
    st->st_ctim = st->st_atim = st->st_mtim;
}

static int virtual_getattr(enum virtual_kind kind, struct stat *st)
{
    ino_t ino = ((ino_t)1 << 62) + kind;

    if (kind == VIRTUAL_DIR) {
        shown_attr(st, ino, S_IFDIR | 0555, 0);
        return 0;
    }
    if (!is_virtual_file(kind))
        return -ENOENT;
    char *text = render(kind);
    shown_attr(st, ino, S_IFREG | 0444, text ? (off_t)strlen(text) : 0);
    free(text);
    return 0;
}

/* checksum.txt files and the ascmhl/ history are namfs's to write: users
 * cannot create, change, move or delete them through the mount. */
static bool is_manifest(const char *path)
{
    if (virtual_kind(path) != NOT_VIRTUAL)
        return true; /* .namfs/ is read-only too */
    const char *rel = path + strspn(path, "/");
    const char *slash = strrchr(rel, '/');
    size_t n = strlen(MHL_FOLDER);
    return strcmp(slash ? slash + 1 : rel, CHECKSUM_NAME) == 0 ||
           (strncmp(rel, MHL_FOLDER, n) == 0 && (rel[n] == '\0' || rel[n] == '/'));
}

/* A file deleted while open, reached through its handle: without a name
 * (path NULL) or under libfuse's hidden one. No part of the delivery. */
static bool deleted(const char *path)
{
    return !path || backing_hidden_by_fuse(path);
}

/* A sealed asset is nobody's to change; nothing is while the catalog
 * cannot record changes (staging_read_only). A deleted file is no part
 * of either. */
static bool frozen(const char *path)
{
    return !deleted(path) && (sealed_covers(path) || staging_read_only());
}

/* Manifests and the names of files deleted while open are namfs's
 * (EPERM); frozen files are nobody's to change (EROFS). */
static int unchangeable(const char *path)
{
    return is_manifest(path) || backing_hidden_by_fuse(path) ? -EPERM : frozen(path) ? -EROFS : 0;
}

#define REFUSE_CHANGE(path)                                                                        \
    do {                                                                                           \
        int refused_ = unchangeable(path);                                                         \
        if (refused_)                                                                              \
            return refused_;                                                                       \
    } while (0)

static struct open_file *open_files;
static pthread_mutex_t open_files_lock = PTHREAD_MUTEX_INITIALIZER;

static void track_open(struct open_file *f, bool opened)
{
    pthread_mutex_lock(&open_files_lock);
    if (opened) {
        f->next = open_files;
        if (open_files)
            open_files->prev = f;
        open_files = f;
    } else {
        if (f->prev)
            f->prev->next = f->next;
        else
            open_files = f->next;
        if (f->next)
            f->next->prev = f->prev;
    }
    pthread_mutex_unlock(&open_files_lock);
}

/* Every handle is tracked, so that what the kernel never released when
 * the mount ends is closed and freed all the same. */
static void free_open_file(struct open_file *f)
{
    track_open(f, false);
    if (f->fd >= 0)
        close(f->fd);
    if (f->dir)
        closedir(f->dir);
    free(f->text);
    free(f);
}

/* A handle on a folder or a text, not on a file of BACKING. */
static struct open_file *kept_apart(struct fuse_file_info *fi, DIR *dir, char *text)
{
    struct open_file *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->fd = -1;
    f->dir = dir;
    f->text = text;
    track_open(f, true);
    fi->fh = (uintptr_t)f;
    return f;
}

static bool on_disk(int fd, const char *path);

/* Set when a landed file could not be synced at unmount: the last
 * manifests are not written then (M3), the next mount judges it again. */
static bool unsynced_at_unmount;

/* A file still open when the mount ends: landed at its close() and never
 * released, it is synced now; still being written, it is named in the log
 * and left for the next mount to judge, as a file changed while unmounted. */
static void finish_unreleased(int fd, const char *where, struct landing *r)
{
    pthread_mutex_lock(&r->lock);
    bool landed = r->state == LANDING_LANDED, written = r->written;
    pthread_mutex_unlock(&r->lock);
    if (written)
        namfs_log(LOG_WARNING,
                  "namfs: %s was still being written at unmount: not landed; the next mount "
                  "judges it",
                  where);
    else if (landed && on_disk(fd, where))
        landing_set_unsynced(landings, r, false);
    else if (landed)
        unsynced_at_unmount = true;
}

/* Files still open when the mount ends (SIGTERM, or the kernel gone) get
 * no release. */
static void close_unreleased(void)
{
    char link[64], where[4096];

    while (open_files) {
        struct open_file *f = open_files;
        snprintf(link, sizeof link, "/proc/self/fd/%d", f->fd);
        ssize_t n = f->fd >= 0 ? readlink(link, where, sizeof where - 1) : 0;
        where[n > 0 ? n : 0] = '\0';
        if (f->inode && landing_leave(landings, f->inode))
            finish_unreleased(f->fd, where, f->inode);
        if (f->inode)
            landing_put(landings, f->inode);
        free_open_file(f);
    }
}

/* A handle that writes joins its file's record (namfs/landing.h): the file
 * settles at the close() that leaves no handle writing it, so an older
 * handle's close or late release never judges (or quarantines) a file that
 * a newer writer is rewriting. */
static int keep_open(struct fuse_file_info *fi, int fd, bool writes)
{
    struct open_file *f = calloc(1, sizeof *f);

    if (f && writes && !(f->inode = landing_join(landings, fd, namfs_bare ? 0 : staging_algos()))) {
        free(f);
        f = NULL;
    }
    if (!f) {
        close(fd);
        return -ENOMEM;
    }
    f->fd = fd;
    if (f->inode) {
        pthread_mutex_lock(&f->inode->lock);
        f->inode->unclosed++;
        pthread_mutex_unlock(&f->inode->lock);
    }
    track_open(f, true);
    fi->fh = (uintptr_t)f;
    return 0;
}

/* A handle closed (or released without a close) no longer keeps another's
 * close() from settling the file; a write through it again does. Lock
 * held. */
static void set_closed(struct open_file *f, bool closed)
{
    if (f->closed != closed)
        f->inode->unclosed += closed ? -1 : 1;
    f->closed = closed;
}

/* A change to a file being written (or settled already) waits out its
 * settlement and reopens a landed one; a refused one takes no more
 * changes (EINVAL: its bytes are in the quarantine). Lock held. */
static int may_change(struct landing *r)
{
    landing_reopen(r);
    return r->state == LANDING_REFUSED || r->refused ? -EINVAL : 0;
}

/* BACKING has cut or extended the file to size: the digest hears of it
 * whichever handle or path did it. */
static int truncate_open(struct landing *r, int fd, off_t size)
{
    pthread_mutex_lock(&r->lock);
    int rc = may_change(r);
    rc = rc ? rc : ftruncate(fd, size) == 0 ? 0 : -errno;
    if (rc == 0)
        landing_cut(r, (uint64_t)size);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* Runs at(dirfd, name) on path's folder; returns 0 or -errno. */
#define AT_PARENT(path, call)                                                                      \
    do {                                                                                           \
        const char *name;                                                                          \
        int dirfd = backing_parent(path, &name);                                                   \
        if (dirfd < 0)                                                                             \
            return dirfd;                                                                          \
        int rc = (call) < 0 ? -errno : 0;                                                          \
        close(dirfd);                                                                              \
        return rc;                                                                                 \
    } while (0)

static bool being_written(const char *path);
static bool writers_open(void);
static bool landed_unsynced(void);

static void *namfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    /* The kernel would drop what it cached of a file on seeing the mtime
     * its own writes caused; namfs decides at each open instead (keep the
     * cache of a frame that landed and has not changed since). Bare mode
     * shares the setting, so it measures FUSE as namfs sets it up. */
    conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
    /* namfs hashes every byte written, so it needs them in its own memory:
     * splicing a write into a pipe first only adds a copy (cp of 40 UHD
     * frames, 4 writers: 10 % slower, 15 % more daemon CPU with it). */
    conn->want &= ~FUSE_CAP_SPLICE_READ;
    cfg->use_ino = 1;
    cfg->nullpath_ok = 0; /* paths on fh calls too: release records the current name */
    /* A file unlinked (or renamed over) while open keeps a hidden name in
     * BACKING until its last release, so that fstat of it still works
     * (libfuse 3.14 answers ESTALE for a nameless node before asking
     * namfs); to the delivery it is gone at once (backing_hidden_by_fuse). */
    cfg->hard_remove = 0;
    /* Names are looked up afresh each time: namfs moves refused files to the
     * quarantine behind the kernel's back, and libfuse 3.14's high-level
     * invalidation drops the inode, not the name. */
    cfg->entry_timeout = 0;
    landings = landing_table_new();
    staging_set_busy_check(being_written, writers_open, landed_unsynced);
    if (!namfs_bare)
        staging_start_quiet_thread();
    __atomic_store_n(&namfs_running, fuse_get_context()->fuse, __ATOMIC_RELEASE);
    return NULL;
}

/* Unmount: the last checkpoint, so BACKING alone is a valid delivery. */
static void namfs_destroy(void *private_data)
{
    (void)private_data;
    staging_stop_quiet_thread();
    close_unreleased();
    if (unsynced_at_unmount)
        namfs_log(LOG_ERR, "namfs: manifests not written at unmount: a landed file could not "
                           "be synced to disk; the next mount judges it again");
    else if (!namfs_bare)
        staging_checkpoint();
    landing_table_free(landings);
}

/* Whoever asks about a file that is settling waits for the outcome (at
 * most LANDING_WAIT_MS): never an answer from before it. Returns the state
 * of the file's record then, or -1 when nobody writes the file. */
static int settled_state(const struct stat *st, bool *waited)
{
    struct landing *r = S_ISREG(st->st_mode) ? landing_find(landings, st) : NULL;
    if (!r)
        return -1;
    pthread_mutex_lock(&r->lock);
    *waited = r->state == LANDING_SETTLING;
    enum landing_state state = landing_await(r, LANDING_WAIT_MS);
    pthread_mutex_unlock(&r->lock);
    landing_put(landings, r);
    return (int)state;
}

/* lstat of path once any settlement of it is over (a refused file is in
 * the quarantine by then: ENOENT). */
static int settled_stat(const char *path, struct stat *st)
{
    bool waited = false;
    int rc = backing_stat(path, st);
    if (rc == 0 && settled_state(st, &waited) >= 0 && waited)
        rc = backing_stat(path, st);
    return rc;
}

static int io_sized(int rc, struct stat *st)
{
    if (rc == 0 && S_ISREG(st->st_mode))
        st->st_blksize = IO_SIZE; /* cp and friends size their buffers by it */
    return rc;
}

/* An open file is answered from its own fd, also once it has lost its
 * name (unlinked or renamed over while open); the rest by path. */
static int namfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    if (fi && of(fi)->fd >= 0)
        return io_sized(fstat(of(fi)->fd, st) == 0 ? 0 : fail_errno(), st);
    if (!path)
        return -ESTALE; /* neither a name nor an fd to answer from */
    enum virtual_kind kind = virtual_kind(path);
    if (kind != NOT_VIRTUAL)
        return virtual_getattr(kind, st);
    char *checksum = is_checksum(path) ? staging_render_checksum(path, false) : NULL;
    if (checksum) {
        struct stat real;
        int rc = backing_stat(path, &real);
        shown_attr(st, rc == 0 ? real.st_ino : ((ino_t)1 << 61), S_IFREG | 0444,
                   (off_t)strlen(checksum));
        st->st_mtim = st->st_ctim = staging_changed_at(); /* stable while nothing lands */
        free(checksum);
        return 0;
    }
    return io_sized(settled_stat(path, st), st);
}

/* Folders are read through their own handle, opened once; the virtual
 * .namfs/ folder has none. */
static int namfs_opendir(const char *path, struct fuse_file_info *fi)
{
    enum virtual_kind kind = virtual_kind(path);
    if (kind != NOT_VIRTUAL)
        return kind != VIRTUAL_DIR ? -ENOTDIR : kept_apart(fi, NULL, NULL) ? 0 : -ENOMEM;
    int fd = backing_open(path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    DIR *dir = fdopendir(fd);
    if (!dir || !kept_apart(fi, dir, NULL)) {
        int error = dir ? ENOMEM : errno;
        if (dir)
            closedir(dir);
        else
            close(fd);
        return -error;
    }
    return 0;
}

/* A folder's entry once its settlement, if any, is over: a file refused
 * meanwhile has left for the quarantine. */
static bool still_here(int dirfd, const char *name, const struct stat *st)
{
    struct stat now;
    bool waited = false;
    return settled_state(st, &waited) < 0 || !waited ||
           fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0;
}

static int namfs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t offset,
                         struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    DIR *dir = of(fi)->dir;

    (void)offset;
    (void)flags;
    if (!dir) {
        fill(buf, ".", NULL, 0, 0);
        fill(buf, "..", NULL, 0, 0);
        fill(buf, "status", NULL, 0, 0);
        fill(buf, "status.json", NULL, 0, 0);
        fill(buf, "rejected", NULL, 0, 0);
        return 0;
    }
    bool listed_checksum = false;
    struct stat folder;
    if (fstat(dirfd(dir), &folder) != 0)
        return fail_errno();
    rewinddir(dir);
    for (struct dirent *e; (e = readdir(dir));) {
        struct stat st = {
            .st_dev = folder.st_dev, .st_ino = e->d_ino, .st_mode = (mode_t)DTTOIF(e->d_type)};
        if ((strcmp(path, "/") == 0 && strcmp(e->d_name, STATUS_DIR + 1) == 0) ||
            backing_hidden_by_fuse(e->d_name) || !still_here(dirfd(dir), e->d_name, &st))
            continue; /* shadowed by the virtual folder; deleted while open; refused */
        listed_checksum = listed_checksum || strcmp(e->d_name, CHECKSUM_NAME) == 0;
        if (fill(buf, e->d_name, &st, 0, 0))
            return 0;
    }
    /* shown before its first checkpoint writes it to BACKING */
    if (!listed_checksum && staging_folder_has_frames(path))
        fill(buf, CHECKSUM_NAME, NULL, 0, 0);
    if (strcmp(path, "/") == 0)
        fill(buf, STATUS_DIR + 1, NULL, 0, 0);
    return 0;
}

static int namfs_releasedir(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    free_open_file(of(fi));
    return 0;
}

/* New files and folders belong to whoever made them, as on a local
 * filesystem: the request's uid, and its gid unless the folder they are
 * made in is setgid (then the folder's group, which BACKING gave them).
 * namfs runs as root, so it sets the owner itself, on the new inode. */
static gid_t new_group(int dirfd)
{
    struct stat parent;
    bool inherits = fstat(dirfd, &parent) == 0 && (parent.st_mode & S_ISGID);
    return inherits ? (gid_t)-1 : fuse_get_context()->gid;
}

static int make_folder(int dirfd, const char *name, mode_t mode)
{
    if (mkdirat(dirfd, name, mode) != 0)
        return -1;
    return fchownat(dirfd, name, fuse_get_context()->uid, new_group(dirfd), AT_SYMLINK_NOFOLLOW);
}

static int namfs_mkdir(const char *path, mode_t mode)
{
    REFUSE_CHANGE(path);
    AT_PARENT(path, make_folder(dirfd, name, mode));
}

static int namfs_rmdir(const char *path)
{
    REFUSE_CHANGE(path);
    if (sealed_within(path))
        return -EROFS;
    AT_PARENT(path, unlinkat(dirfd, name, AT_REMOVEDIR));
}

static int unlink_at(const char *path)
{
    AT_PARENT(path, unlinkat(dirfd, name, 0));
}

/* The last release of a file deleted while open removes its hidden name
 * (libfuse does), whatever has been sealed or frozen since the delete. */
static int unlink_through(const char *path)
{
    if (backing_hidden_by_fuse(path))
        return unlink_at(path);
    REFUSE_CHANGE(path);
    if (staging_unlink_refused(path))
        return 0; /* refused data goes to the quarantine, not away */
    int rc = unlink_at(path);
    if (rc == 0)
        staging_removed(path);
    return rc;
}

static int namfs_unlink(const char *path)
{
    staging_changes_begin();
    int rc = unlink_through(path);
    staging_changes_end();
    return rc;
}

static int namfs_refuse_link(const char *from, const char *to)
{
    (void)from;
    (void)to;
    return -EPERM; /* a delivery holds regular files, not links */
}

/* A link planted in BACKING behind namfs's back is not followed either. */
static int namfs_readlink(const char *path, char *buf, size_t size)
{
    (void)path;
    (void)buf;
    (void)size;
    return -EPERM;
}

static bool being_written(const char *path)
{
    struct stat st;
    return backing_stat(path, &st) == 0 && landing_busy(landings, &st);
}

/* rsync -a, tar and cp -p set times (and rsync renames) after writing:
 * the content stays as it landed, so the catalog takes the new times
 * instead of a remount judging and hashing the file anew. */
static int metadata_changed(const char *path, int rc)
{
    if (rc == 0 && !namfs_bare && !deleted(path) && !being_written(path))
        staging_metadata_changed(path);
    return rc;
}

static bool is_folder(const char *path)
{
    struct stat st;
    return backing_stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Frames are judged under their path (N2-N4: a frame is named after its
 * folder), so a folder holding landed frames keeps its name: renaming it
 * would break every frame at once. Moving the frames one by one judges
 * each under its new name. */
static bool carries_landed_frames(const char *from, const char *to)
{
    if (!is_folder(from))
        return false;
    long count = staging_frames_beneath(from);
    if (count == 0)
        return false;
    struct verdict v = {.rule = RULE_N4};
    snprintf(v.message, sizeof v.message,
             "rename to %s refused: expected a folder without landed frames, found %ld; move its "
             "frames one by one under their new names",
             to, count);
    staging_log_refusal(from, &v);
    return true;
}

static int rename_in_backing(const char *from, const char *to, unsigned int flags)
{
    const char *from_name, *to_name;
    int from_dir = backing_parent(from, &from_name);
    if (from_dir < 0)
        return from_dir;
    int to_dir = backing_parent(to, &to_name);
    if (to_dir < 0) {
        close(from_dir);
        return to_dir;
    }
    int rc = renameat2(from_dir, from_name, to_dir, to_name, flags) == 0 ? 0 : -errno;
    close(from_dir);
    close(to_dir);
    return rc;
}

/* libfuse hides a file unlinked (or about to be renamed over) while open
 * under a hidden name until its last release: to the delivery that is the
 * delete, and refused data still goes to the quarantine, not away. */
static int hide_deleted(const char *from, const char *hidden)
{
    REFUSE_CHANGE(from);
    if (staging_unlink_refused(from))
        return 0;
    int rc = rename_in_backing(from, hidden, 0);
    if (rc == 0)
        staging_removed(from);
    return rc;
}

static int rename_through(const char *from, const char *to, unsigned int flags)
{
    if (backing_hidden_by_fuse(to) && !(flags & RENAME_EXCHANGE))
        return hide_deleted(from, to);
    REFUSE_CHANGE(from);
    REFUSE_CHANGE(to);
    if (sealed_within(from) || sealed_within(to))
        return -EROFS;
    if (carries_landed_frames(from, to) ||
        ((flags & RENAME_EXCHANGE) && carries_landed_frames(to, from)))
        return -EPERM;
    int rc = rename_in_backing(from, to, flags);
    if (rc == 0 && (flags & RENAME_EXCHANGE)) {
        staging_renamed(to, "\x01swap"); /* three moves swap the two catalog records */
        staging_renamed(from, to);
        staging_renamed("\x01swap", from);
        metadata_changed(from, 0); /* a rename changes ctime, not content */
        metadata_changed(to, 0);
    } else if (rc == 0) {
        char before[4096], after[4096];
        staging_replaced(to, from);
        staging_renamed(from, to);
        bool folder = is_folder(to);
        if (strcmp(staging_judged_name(from, before, sizeof before),
                   staging_judged_name(to, after, sizeof after)) != 0 &&
            !folder && !namfs_bare)
            staging_rejudge(to); /* the name decides naming and sequence rules */
        else if (!folder)
            metadata_changed(to, 0);
    }
    return rc;
}

/* Each change through the mount reaches BACKING and the catalog as one
 * step for the look-out for changes behind the mount's back. */
static int namfs_rename(const char *from, const char *to, unsigned int flags)
{
    staging_changes_begin();
    int rc = rename_through(from, to, flags);
    staging_changes_end();
    return rc;
}

/* An fd on path for a call that needs one, without following symlinks. */
static int with_fd(const char *path, struct fuse_file_info *fi, int *owned)
{
    *owned = -1;
    if (fi)
        return of(fi)->fd;
    int fd = backing_open(path, O_RDONLY | O_NONBLOCK, 0);
    if (fd >= 0)
        *owned = fd;
    return fd;
}

static int done(int owned, int result)
{
    int rc = result < 0 ? -errno : 0;
    if (owned >= 0)
        close(owned);
    return rc;
}

static int namfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    if (frozen(path))
        return -EROFS;
    int owned, fd = with_fd(path, fi, &owned);
    return fd < 0 ? fd : metadata_changed(path, done(owned, fchmod(fd, mode)));
}

static int namfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    if (frozen(path))
        return -EROFS;
    int owned, fd = with_fd(path, fi, &owned);
    return fd < 0 ? fd : metadata_changed(path, done(owned, fchown(fd, uid, gid)));
}

static int namfs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    if (frozen(path))
        return -EROFS;
    int owned, fd = with_fd(path, fi, &owned);
    return fd < 0 ? fd : metadata_changed(path, done(owned, futimens(fd, tv)));
}

/* A truncate by path: of a file being written, its record hears of it
 * (its last writer's close() settles it); of a closed file, judged and
 * hashed anew now. */
static int truncate_by_path(const char *path, off_t size)
{
    struct hash_cursor cursor;
    struct stat st;
    int fd = backing_open_quietly(path, O_RDWR);

    if (fd < 0)
        return fd;
    struct landing *r = fstat(fd, &st) == 0 ? landing_find(landings, &st) : NULL;
    if (r) {
        int rc = truncate_open(r, fd, size);
        landing_put(landings, r);
        close(fd);
        return rc;
    }
    int rc = ftruncate(fd, size) == 0 ? 0 : -errno;
    struct hasher *h = rc == 0 && !namfs_bare ? hasher_new(staging_algos()) : NULL;
    if (h) {
        hash_cursor_init(&cursor, h);
        staging_settle(path, fd, &cursor, NULL);
    }
    hasher_free(h);
    close(fd);
    return rc;
}

static int namfs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    if (fi && of(fi)->inode) {
        int refused = deleted(path) ? 0 : unchangeable(path);
        return refused ? refused : truncate_open(of(fi)->inode, of(fi)->fd, size);
    }
    REFUSE_CHANGE(path);
    staging_changes_begin();
    int rc = truncate_by_path(path, size);
    staging_changes_end();
    return rc;
}

/* Written files are opened for reading too: the digest catches up at
 * close by reading what the write stream skipped. */
/* A file the create made (not one that appeared meanwhile) gets its
 * maker's owner; a chown clears set-id bits, so the mode is set again. */
static int own_created(const char *path, int fd, mode_t mode)
{
    const char *name;
    int dirfd = backing_parent(path, &name);
    if (dirfd < 0)
        return dirfd;
    gid_t group = new_group(dirfd);
    close(dirfd);
    if (fchown(fd, fuse_get_context()->uid, group) != 0 ||
        ((mode & (S_ISUID | S_ISGID)) && fchmod(fd, mode & 07777) != 0))
        return -errno;
    return 0;
}

static int open_for_hashing(const char *path, int flags, mode_t mode)
{
    /* the kernel gives an appending write its offset (the end of the file
     * as it knows it); the digest follows that offset, so BACKING must too */
    flags &= ~O_APPEND;
    if ((flags & O_ACCMODE) != O_WRONLY)
        return backing_open(path, flags, mode);
    int fd = backing_open(path, (flags & ~O_ACCMODE) | O_RDWR, mode);
    return fd == -EACCES ? backing_open(path, flags, mode) : fd;
}

/* The create request: the file is made here (O_EXCL), and owned by its
 * maker; one that appeared since the kernel looked is opened as it is,
 * unless the caller asked for O_EXCL. */
static int create_for_hashing(const char *path, int flags, mode_t mode)
{
    int fd = open_for_hashing(path, flags | O_CREAT | O_EXCL, mode);
    if (fd == -EEXIST && !(flags & O_EXCL))
        return open_for_hashing(path, flags & ~O_CREAT, mode);
    int rc = fd < 0 ? 0 : own_created(path, fd, mode);
    if (rc < 0) {
        close(fd);
        unlink_at(path); /* a file its maker does not own stays nowhere */
        return rc;
    }
    return fd;
}

/* Inside the changes lock, so that the way back from read-only (staging.c)
 * finds either this writer open or its refusal to come. A file created or
 * truncated by the open has changed before any write: its record hears of
 * it, so even an empty new file lands. A handle that creates a file writes
 * it, whatever its access mode (flock(1) creates its lock file
 * O_RDONLY). */
static int open_for_change(const char *path, int flags, mode_t mode, struct fuse_file_info *fi)
{
    staging_changes_begin();
    int rc = unchangeable(path);
    int fd = rc                  ? rc
             : (flags & O_CREAT) ? create_for_hashing(path, flags, mode)
                                 : open_for_hashing(path, flags, mode);
    rc = fd < 0 ? fd : keep_open(fi, fd, true);
    struct landing *r = rc == 0 ? of(fi)->inode : NULL;
    if (r && (flags & (O_CREAT | O_TRUNC))) {
        pthread_mutex_lock(&r->lock);
        landing_reopen(r);
        landing_cut(r, 0);
        pthread_mutex_unlock(&r->lock);
    }
    staging_changes_end();
    return rc;
}

static int namfs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    return open_for_change(path, fi->flags | O_CREAT, mode, fi);
}

/* An open file served from text (taken over), not from BACKING. */
static int serve_text(char *text, struct fuse_file_info *fi)
{
    if (!text || !kept_apart(fi, NULL, text)) {
        free(text);
        return -ENOMEM;
    }
    fi->direct_io = 1; /* always the text of this open, whatever getattr said */
    return 0;
}

static int open_virtual(enum virtual_kind kind, struct fuse_file_info *fi)
{
    if (!is_virtual_file(kind))
        return -ENOENT;
    if ((fi->flags & O_ACCMODE) != O_RDONLY)
        return -EROFS;
    return serve_text(render(kind), fi);
}

/* 1 MiB of read-ahead (one READ request as large as the kernel sends)
 * instead of the kernel's 128 KiB: cold reads of UHD frames, 1 reader,
 * ~900 -> ~1300 MB/s. Done at the first open because by then the kernel
 * has the INIT reply, which would set it back. */
static void widen_readahead(void)
{
    if (namfs_readahead_kb && !readahead_set(namfs_mountpoint, namfs_readahead_kb))
        namfs_log(LOG_NOTICE, "namfs: read-ahead stays at the kernel's (%s)", strerror(errno));
}

static int namfs_open(const char *path, struct fuse_file_info *fi)
{
    static pthread_once_t readahead_once = PTHREAD_ONCE_INIT;

    pthread_once(&readahead_once, widen_readahead);
    if (virtual_kind(path) != NOT_VIRTUAL)
        return open_virtual(virtual_kind(path), fi);
    if (is_checksum(path) && (fi->flags & O_ACCMODE) == O_RDONLY) {
        char *text = staging_render_checksum(path, true);
        if (text)
            return serve_text(text, fi);
    }
    if ((fi->flags & (O_ACCMODE | O_TRUNC)) != O_RDONLY)
        return open_for_change(path, fi->flags & ~O_CREAT, 0, fi);
    int fd = open_for_hashing(path, fi->flags & ~O_CREAT, 0);
    int rc = fd < 0 ? fd : keep_open(fi, fd, false);
    /* A landed frame that has not changed since may be read from the
     * kernel's cache of it (written or read through the mount before). */
    if (rc == 0 && !namfs_bare)
        fi->keep_cache = staging_is_landed_as_is(path, fd);
    return rc;
}

static int namfs_read(const char *path, char *buf, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    struct open_file *f = of(fi);

    (void)path;
    if (f->fd < 0) {
        size_t len = strlen(f->text);
        size_t n = (size_t)off >= len ? 0 : len - (size_t)off < size ? len - (size_t)off : size;
        memcpy(buf, f->text + off, n);
        return (int)n;
    }
    ssize_t n = pread(f->fd, buf, size, off);
    return n < 0 ? fail_errno() : (int)n;
}

/* OpenEXR's writer puts zeros where the chunk offset table goes and fills
 * it in last. The hash holds there, so every byte is hashed once, at
 * close, instead of streamed and then all read again; a copy of a finished
 * file writes the real table and streams on. */
static void hold_at_placeholder(struct landing *f, const char *buf, size_t n, uint64_t off)
{
    uint64_t at = f->table_at;

    if (!at || f->cursor.held_from || off > at || off + n <= at || f->cursor.hashed_to != off)
        return;
    size_t from = (size_t)(at - off), len = n - from;
    if (len > f->table_len)
        len = (size_t)f->table_len;
    for (size_t i = 0; i < len; i++)
        if (buf[from + i])
            return;
    hash_cursor_hold(&f->cursor, at);
}

/* The write and its hash update happen under the record's lock, so that
 * a truncate, another handle's write or a settlement of the same file
 * comes wholly before or after it: the cursor always follows BACKING. */
static int namfs_write(const char *path, const char *buf, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    struct landing *r = of(fi)->inode;

    if (!r)
        return -EBADF; /* a handle that only reads */
    pthread_mutex_lock(&r->lock);
    /* a refused file's writer fails fast; the reason is in the log */
    int refused = may_change(r);
    set_closed(of(fi), false); /* a write through a descriptor passed on, say */
    ssize_t n = refused ? -1 : pwrite(of(fi)->fd, buf, size, off);
    int error = refused ? EINVAL : errno;
    if (n >= 0 && r->hasher) {
        if (!deleted(path))
            judge_early(r, path, buf, (size_t)n, (uint64_t)off);
        hold_at_placeholder(r, buf, (size_t)n, (uint64_t)off);
        hash_cursor_write(&r->cursor, (uint64_t)off, buf, (size_t)n);
    }
    if (n >= 0) {
        r->written = true;
        error = r->refused ? EINVAL : 0; /* this write completed a bad header */
    }
    pthread_mutex_unlock(&r->lock);
    return error ? -error : (int)n;
}

/* A written file reaches the disk before its manifests list it, so no
 * manifest lists bytes a power cut could still take (M3). It is also
 * namfs's write-behind: release runs after the writer's close() has
 * returned, and without it the kernel starts writing back only once a
 * tenth of memory is dirty (4 writers, time until on disk: 0.70 x native
 * without, 1.06 x with). */
static bool on_disk(int fd, const char *path)
{
    if (fdatasync(fd) == 0 || errno == EINVAL)
        return true; /* EINVAL: BACKING's filesystem has nothing to sync */
    namfs_log(LOG_ERR, "namfs: %s: not on disk (%s): not landed, write it again",
              path ? path : "(deleted file)", strerror(errno));
    return false;
}

static enum landing_state state_after(enum settlement s)
{
    return s == SETTLED_LANDED    ? LANDING_LANDED
           : s == SETTLED_REFUSED ? LANDING_REFUSED
                                  : LANDING_WRITING;
}

/* Settles a file this thread moved to SETTLING: judged whole, its frame
 * number reserved, its digest caught up; then landed (in the catalog, its
 * sync still to come) or refused (in the quarantine). Whoever waits for
 * the outcome is woken. */
static enum settlement settle(const char *path, int fd, struct landing *r)
{
    landing_set_unsynced(landings, r, true); /* no manifest before its sync */
    backing_read_quietly(fd);                /* judging reads; the times are the writer's */
    enum settlement s = namfs_bare
                            ? SETTLED_LANDED
                            : staging_settle(path, fd, &r->cursor, r->refused ? &r->verdict : NULL);
    pthread_mutex_lock(&r->lock);
    if (s == SETTLED_LANDED)
        r->written = false; /* what landed is all there is until the next write */
    landing_end_settle(r, state_after(s));
    pthread_mutex_unlock(&r->lock);
    if (s != SETTLED_LANDED)
        landing_set_unsynced(landings, r, false);
    return s;
}

/* The close() of a file's last writer decides its fate (namfs/landing.h):
 * 0 when it landed (its digest is there as close() returns), EINVAL when
 * it broke a rule (it has left the tree for the quarantine), EIO when it
 * could not be read to hash it. While another handle writes the file (not
 * closed since it last wrote) it is not whole yet, and that close()
 * returns 0. */
static int namfs_flush(const char *path, struct fuse_file_info *fi)
{
    struct open_file *f = of(fi);
    struct landing *r = f->inode;

    if (!r)
        return 0;
    pthread_mutex_lock(&r->lock);
    landing_await(r, LANDING_WAIT_MS); /* a dup'd descriptor's close, settling it */
    set_closed(f, true);
    bool refused = r->state == LANDING_REFUSED, early = r->refused;
    bool settles = !refused && !deleted(path) && r->unclosed == 0 && landing_begin_settle(r);
    pthread_mutex_unlock(&r->lock);
    enum settlement s = refused   ? SETTLED_REFUSED
                        : settles ? settle(path, f->fd, r) /* an early refusal moves it now */
                                  : SETTLED_PENDING;
    if (s == SETTLED_REFUSED || early)
        return -EINVAL;
    if (s == SETTLED_FAILED)
        return -EIO;
    /* close() of a duplicate reports delayed write errors, as close would */
    int dup_fd = dup(f->fd);
    return dup_fd < 0 ? fail_errno() : close(dup_fd) == 0 ? 0 : fail_errno();
}

/* The last writer's release. A file that landed at its close() is synced
 * to disk now, and manifests may list it. A file written after its last
 * close() (an mmap page, a descriptor passed on) is settled here, where no
 * writer can be told: logged, listed, quarantined if refused; it lands only
 * once on disk. A file deleted while open is gone from the delivery. */
static void finish(const char *path, int fd, struct landing *r)
{
    pthread_mutex_lock(&r->lock);
    landing_await(r, LANDING_WAIT_MS);
    bool landed = r->state == LANDING_LANDED && !r->written;
    bool late = r->written && !deleted(path) && landing_begin_settle(r);
    pthread_mutex_unlock(&r->lock);
    if (landed && !on_disk(fd, path) && !namfs_bare && !deleted(path))
        staging_not_on_disk(path);
    if (late && !on_disk(fd, path)) {
        if (!namfs_bare)
            staging_not_on_disk(path);
        pthread_mutex_lock(&r->lock);
        landing_end_settle(r, LANDING_WRITING);
        pthread_mutex_unlock(&r->lock);
    } else if (late) {
        settle(path, fd, r);
    }
    landing_set_unsynced(landings, r, false);
}

static int namfs_release(const char *path, struct fuse_file_info *fi)
{
    struct open_file *f = of(fi);

    if (f->inode) {
        pthread_mutex_lock(&f->inode->lock);
        set_closed(f, true);
        pthread_mutex_unlock(&f->inode->lock);
    }
    if (f->inode && landing_leave(landings, f->inode))
        finish(path, f->fd, f->inode);
    if (f->inode)
        landing_put(landings, f->inode);
    free_open_file(f);
    return 0;
}

static int namfs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    int rc = datasync ? fdatasync(of(fi)->fd) : fsync(of(fi)->fd);
    return rc == 0 ? 0 : fail_errno();
}

static int namfs_fallocate(const char *path, int mode, off_t off, off_t len,
                           struct fuse_file_info *fi)
{
    (void)path;
    struct landing *r = of(fi)->inode;
    if (!r)
        return -EBADF;
    pthread_mutex_lock(&r->lock);
    int rc = may_change(r);
    rc = rc ? rc : fallocate(of(fi)->fd, mode, off, len) == 0 ? 0 : -errno;
    if (rc == 0) {
        r->written = true;
        if (mode != 0) /* punched, zeroed, moved ranges change what was hashed */
            r->cursor.rewritten = true;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

static int namfs_statfs(const char *path, struct statvfs *st)
{
    int fd = backing_open(path, O_PATH, 0);
    return fd < 0 ? fd : done(fd, fstatvfs(fd, st));
}

static bool is_namfs_xattr(const char *name)
{
    return strncmp(name, NAMFS_XATTR, strlen(NAMFS_XATTR)) == 0;
}

static bool writers_open(void)
{
    return landing_any(landings);
}

static bool landed_unsynced(void)
{
    return landing_any_unsynced(landings);
}

/* namctl seal: setting user.namfs.seal on an asset folder. EBUSY when it
 * cannot be sealed yet; user.namfs.seal then says why. */
static int seal(const char *path)
{
    if (!is_folder(path))
        return -ENOTDIR;
    if (sealed_covers(path))
        return 0;
    if (staging_read_only())
        return -EROFS; /* user.namfs.seal says why */
    /* a file that landed at its close() is synced at its release, right
     * after: the seal's manifests wait for that, not for files still
     * being written (EBUSY, said by user.namfs.seal) */
    if (landing_await_quiet(landings, LANDING_WAIT_MS) != LANDING_QUIET)
        return -EBUSY;
    return staging_seal(path) ? 0 : -EBUSY;
}

/* The kernel asks for a file's capabilities before every write (to drop
 * them); a delivery holds no executables and namfs refuses to set any, so
 * the answer needs no trip to BACKING (one per write otherwise). */
static bool is_capability(const char *name)
{
    return strcmp(name, "security.capability") == 0;
}

static int namfs_setxattr(const char *path, const char *name, const char *value, size_t size,
                          int flags)
{
    if (strcmp(name, NAMFS_XATTR "seal") == 0)
        return seal(path);
    if (is_namfs_xattr(name) || is_capability(name))
        return -EPERM; /* namfs's own, read-only; no capabilities in a delivery */
    if (frozen(path))
        return -EROFS;
    int owned, fd = with_fd(path, NULL, &owned);
    return fd < 0 ? fd
                  : metadata_changed(path, done(owned, fsetxattr(fd, name, value, size, flags)));
}

static int size_or_errno(int owned, ssize_t n)
{
    int rc = n < 0 ? -errno : (int)n;
    close(owned);
    return rc;
}

/* Copies value into the caller's buffer as getxattr(2) does. */
static int xattr_value(const char *value, char *out, size_t size)
{
    size_t n = strlen(value);
    if (size == 0)
        return (int)n;
    if (size < n)
        return -ERANGE;
    memcpy(out, value, n);
    return (int)n;
}

/* "sealed", "sealable" or what stops sealing, for an asset folder. */
static int seal_state(const char *path, char *value, size_t size)
{
    if (!is_folder(path))
        return -ENODATA;
    char *state = !sealed_covers(path) && landing_await_quiet(landings, 0) == LANDING_BEING_WRITTEN
                      ? strdup("files are still being written in the mount; seal once they "
                               "are closed")
                      : staging_seal_state(path);
    if (!state)
        return -ENOMEM;
    if (strlen(state) > 4000)
        strcpy(state + 3990, " ...");
    int rc = xattr_value(state, value, size);
    free(state);
    return rc;
}

/* 0 when the catalog's digest and verdict of path are its current ones
 * (nobody writes it, or its close() settled it); ENODATA while it is being
 * written (never an older digest); EAGAIN when its settlement outlasted
 * LANDING_WAIT_MS. */
static int catalog_is_current(const char *path)
{
    struct stat st;
    bool waited;
    int state = backing_stat(path, &st) == 0 ? settled_state(&st, &waited) : -1;
    return state == LANDING_WRITING ? -ENODATA : state == LANDING_SETTLING ? -EAGAIN : 0;
}

static int namfs_getxattr(const char *path, const char *name, char *value, size_t size)
{
    if (virtual_kind(path) != NOT_VIRTUAL || is_capability(name))
        return -ENODATA;
    char digest[VERDICT_MESSAGE_MAX + 16];

    if (strcmp(name, NAMFS_XATTR "seal") == 0)
        return seal_state(path, value, size);
    int current = is_namfs_xattr(name) ? catalog_is_current(path) : 0;
    if (current)
        return current;
    if (strcmp(name, NAMFS_XATTR "verdict") == 0)
        return staging_verdict(path, digest, sizeof digest) ? xattr_value(digest, value, size)
                                                            : -ENODATA;
    if (is_namfs_xattr(name)) {
        const char *algo = name + strlen(NAMFS_XATTR);
        for (int a = 0; a < HASH_ALGO_COUNT; a++)
            if (strcmp(algo, hash_algo_name((enum hash_algo)a)) == 0 &&
                staging_digest(path, (enum hash_algo)a, digest, sizeof digest))
                return xattr_value(digest, value, size);
        return -ENODATA;
    }
    int owned, fd = with_fd(path, NULL, &owned);
    return fd < 0 ? fd : size_or_errno(owned, fgetxattr(fd, name, value, size));
}

static int namfs_listxattr(const char *path, char *list, size_t size)
{
    if (virtual_kind(path) != NOT_VIRTUAL)
        return 0;
    static const char ours[] = NAMFS_XATTR "xxh128\0" NAMFS_XATTR "verdict";
    char digest[HASH_TEXT_MAX];
    int owned, fd = with_fd(path, NULL, &owned);

    if (fd < 0)
        return fd;
    ssize_t n = flistxattr(fd, list, size);
    close(owned);
    if (n < 0)
        return -errno;
    int current = catalog_is_current(path);
    if (current == -EAGAIN)
        return current;
    if (current || !staging_digest(path, HASH_XXH128, digest, sizeof digest))
        return (int)n;
    if (size && (size_t)n + sizeof ours > size)
        return -ERANGE;
    if (size)
        memcpy(list + n, ours, sizeof ours);
    return (int)(n + (ssize_t)sizeof ours);
}

static int namfs_removexattr(const char *path, const char *name)
{
    if (is_namfs_xattr(name))
        return -EPERM;
    if (frozen(path))
        return -EROFS;
    int owned, fd = with_fd(path, NULL, &owned);
    return fd < 0 ? fd : metadata_changed(path, done(owned, fremovexattr(fd, name)));
}

/* No copy_file_range: the kernel then copies through read and write,
 * where every byte will be hashed, never around them. */
const struct fuse_operations namfs_operations = {
    .init = namfs_init,
    .destroy = namfs_destroy,
    .getattr = namfs_getattr,
    .opendir = namfs_opendir,
    .readdir = namfs_readdir,
    .releasedir = namfs_releasedir,
    .mkdir = namfs_mkdir,
    .rmdir = namfs_rmdir,
    .unlink = namfs_unlink,
    .symlink = namfs_refuse_link,
    .readlink = namfs_readlink,
    .link = namfs_refuse_link,
    .rename = namfs_rename,
    .chmod = namfs_chmod,
    .chown = namfs_chown,
    .utimens = namfs_utimens,
    .truncate = namfs_truncate,
    .create = namfs_create,
    .open = namfs_open,
    .read = namfs_read,
    .write = namfs_write,
    .flush = namfs_flush,
    .release = namfs_release,
    .fsync = namfs_fsync,
    .fallocate = namfs_fallocate,
    .statfs = namfs_statfs,
    .setxattr = namfs_setxattr,
    .getxattr = namfs_getxattr,
    .listxattr = namfs_listxattr,
    .removexattr = namfs_removexattr,
};
