/* Handles on files of BACKING, and the landing protocol they drive
 * (namfs/landing.h): a handle that writes joins its inode's record; the
 * close() that leaves no handle writing the file settles it; the last
 * release makes a landed file durable. */
#include "stage_internal.h"

#include "namfs/naming.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A file deleted while open, reached through its handle: without a name
 * (path NULL) or under libfuse's hidden one. No part of the delivery. */
static bool deleted(const char *path)
{
    return !path || backing_hidden_by_fuse(path);
}

/* Who wrote r, for a log line: " (written by uid U, pid P)". Lock held. */
static void written_by(const struct landing *r, char *out, size_t len)
{
    if (r->writer_pid)
        snprintf(out, len, " (written by uid %u, pid %d)", (unsigned)r->writer_uid,
                 (int)r->writer_pid);
    else
        snprintf(out, len, " (written by uid %u)", (unsigned)r->writer_uid);
}

/* One info line per landing: what, how large, who wrote it. */
static void log_landed(struct stage *s, const char *path, int fd, const char *by)
{
    struct stat st;

    if (fstat(fd, &st) == 0)
        stage_log(s, LOG_INFO, "landed %s (%lld bytes)%s", stage_relative(path),
                  (long long)st.st_size, by);
}

/* Keeps the contiguous start of the file and judges the header as soon as
 * it is in, on the fields no writer patches later (rules.h JUDGE_EARLY).
 * The record's lock is held. */
void stage_judge_early(struct stage *s, struct landing *f, const char *path, const char *buf,
                       size_t n, uint64_t off)
{
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
    enum judge_outcome o = judge_file(stage_relative(path), &src, &s->profile, JUDGE_EARLY, &j);
    if (o == JUDGED_NEED_MORE && f->head_len < sizeof f->head)
        return;
    f->judged_early = true;
    if (o == JUDGED_PASS && j.info.format == FRAME_EXR && j.info.exr.table_offset) {
        f->table_at = j.info.exr.table_offset;
        f->table_len = 8 * (uint64_t)j.info.exr.chunk_count;
        leader_trail_start(&f->trail, f->table_at + f->table_len, j.info.exr.storage == EXR_TILED);
    }
    if (o == JUDGED_FAIL) {
        f->refused = true;
        f->verdict = j.verdict;
        char by[64];
        written_by(f, by, sizeof by);
        stage_note_refused(s, path, &j.verdict, by);
    }
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

/* A handle closed (or released without a close) no longer keeps another's
 * close() from settling the file; a write through it again does. The
 * record's lock is held. */
static void set_closed(struct stage_handle *h, bool closed)
{
    if (h->closed != closed)
        h->inode->unclosed += closed ? -1 : 1;
    h->closed = closed;
}

/* A handle that writes joins its file's record: the file settles at the
 * close() that leaves no handle writing it, so an older handle's close or
 * late release never judges (or quarantines) a file that a newer writer is
 * rewriting. */
int stage_join(struct stage *s, struct stage_handle *h, int fd, const struct stage_caller *who)
{
    h->fd = fd;
    h->closed = false;
    h->inode = landing_join(s->landings, fd, s->bare ? 0 : s->algos);
    if (!h->inode) {
        close(fd);
        return -ENOMEM;
    }
    pthread_mutex_lock(&h->inode->lock);
    h->inode->unclosed++;
    h->inode->writer_uid = who->uid;
    h->inode->writer_pid = who->pid;
    pthread_mutex_unlock(&h->inode->lock);
    return 0;
}

/* A change to a file being written (or settled already) waits out its
 * settlement and reopens a landed one; a refused one takes no more
 * changes (EINVAL: its bytes are in the quarantine). Lock held. */
static int may_write(struct landing *r)
{
    landing_reopen(r);
    return r->state == LANDING_REFUSED || r->refused ? -EINVAL : 0;
}

/* BACKING has cut or extended the file to size: the digest hears of it
 * whichever handle or path did it. */
int stage_cut_open(struct landing *r, int fd, off_t size)
{
    pthread_mutex_lock(&r->lock);
    int rc = may_write(r);
    rc = rc ? rc : ftruncate(fd, size) == 0 ? 0 : -errno;
    if (rc == 0)
        landing_cut(r, (uint64_t)size);
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* ---- writing ---- */

/* The close() that lands a file waits for its sync to disk; writeback of
 * what was written is started every WRITE_BEHIND bytes as the writes come,
 * so that little is left to wait for then. */
#define WRITE_BEHIND (8u << 20)

static void write_behind(int fd, uint64_t off, size_t n)
{
    uint64_t end = off + n, start = end - end % WRITE_BEHIND;
    if (start > off && start >= WRITE_BEHIND)
        sync_file_range(fd, (off_t)(start - WRITE_BEHIND), WRITE_BEHIND, SYNC_FILE_RANGE_WRITE);
}

/* The write and its hash update happen under the record's lock, so that
 * a truncate, another handle's write or a settlement of the same file
 * comes wholly before or after it: the cursor always follows BACKING. */
int stage_write(struct stage *s, struct stage_handle *h, const char *path, const char *buf,
                size_t size, off_t off)
{
    struct landing *r = h->inode;

    if (!r)
        return -EBADF; /* a handle that only reads */
    pthread_mutex_lock(&r->lock);
    /* a refused file's writer fails fast; the reason is in the log */
    int refused = may_write(r);
    set_closed(h, false); /* a write through a descriptor passed on, say */
    ssize_t n = refused ? -1 : pwrite(h->fd, buf, size, off);
    int error = refused ? EINVAL : errno;
    if (n >= 0 && r->hasher) {
        if (!deleted(path) && !naming_is_held(path)) /* held: judged at its rename */
            stage_judge_early(s, r, path, buf, (size_t)n, (uint64_t)off);
        hold_at_placeholder(r, buf, (size_t)n, (uint64_t)off);
        leader_trail_write(&r->trail, (const uint8_t *)buf, (size_t)n, (uint64_t)off);
        hash_cursor_write(&r->cursor, (uint64_t)off, buf, (size_t)n);
    }
    if (n >= 0) {
        r->written = true;
        error = r->refused ? EINVAL : 0; /* this write completed a bad header */
    }
    pthread_mutex_unlock(&r->lock);
    if (n > 0)
        write_behind(h->fd, (uint64_t)off, (size_t)n);
    return error ? -error : (int)n;
}

int stage_ftruncate(struct stage *s, struct stage_handle *h, const char *path, off_t size)
{
    int refused = deleted(path) ? 0 : stage_may_change(s, path);
    return refused ? refused : stage_cut_open(h->inode, h->fd, size);
}

int stage_fallocate(struct stage *s, struct stage_handle *h, int mode, off_t off, off_t len)
{
    struct landing *r = h->inode;

    (void)s;
    if (!r)
        return -EBADF;
    pthread_mutex_lock(&r->lock);
    int rc = may_write(r);
    rc = rc ? rc : fallocate(h->fd, mode, off, len) == 0 ? 0 : -errno;
    if (rc == 0) {
        r->written = true;
        if (mode != 0) { /* punched, zeroed, moved ranges change what was hashed */
            r->cursor.rewritten = true;
            leader_trail_changed(&r->trail, (uint64_t)off);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* ---- settling ---- */

/* A written file reaches the disk before it takes its name in BACKING and
 * before its manifests list it, so neither shows bytes a power cut could
 * still take (M3). */
static bool on_disk(struct stage *s, int fd, const char *path)
{
    if (fdatasync(fd) == 0 || errno == EINVAL)
        return true; /* EINVAL: BACKING's filesystem has nothing to sync */
    stage_log(s, LOG_ERR, "%s: not on disk (%s): not landed, write it again",
              path ? path : "(deleted file)", strerror(errno));
    return false;
}

static enum landing_state state_after(enum settlement s)
{
    return s == SETTLED_LANDED || s == SETTLED_HELD ? LANDING_LANDED
           : s == SETTLED_REFUSED                   ? LANDING_REFUSED
                                                    : LANDING_WRITING;
}

/* A file that settled as landed (or held) is made durable and takes its
 * name in BACKING before anyone is told: fdatasync, the rename from its
 * in-flight name, the folder's sync. False when it could not be: it did
 * not land (logged, forgotten), EIO for its writer. */
static bool make_durable(struct stage *s, struct stage_handle *h, const char *path)
{
    if (!on_disk(s, h->fd, path) || stage_place(s, h) != 0) {
        if (!s->bare)
            stage_not_on_disk(s, path);
        return false;
    }
    return true;
}

/* Settles a file this thread moved to SETTLING: judged whole, its frame
 * number reserved, its digest caught up; then landed (in the catalog, on
 * disk, under its name in BACKING) or refused (in the quarantine).
 * Whoever waits for the outcome is woken. */
static enum settlement settle(struct stage *s, const char *path, struct stage_handle *h)
{
    struct landing *r = h->inode;

    landing_set_unsynced(s->landings, r, true); /* no manifest before it is durable */
    backing_read_quietly(h->fd);                /* judging reads; the times are the writer's */
    char by[64];
    pthread_mutex_lock(&r->lock);
    written_by(r, by, sizeof by);
    pthread_mutex_unlock(&r->lock);
    enum settlement outcome = s->bare ? SETTLED_LANDED
                                      : stage_settle(s, path, h->fd, &r->cursor, &r->trail,
                                                     r->refused ? &r->verdict : NULL, by);
    /* an unrecorded file is put in place as close() returns, like a landed
     * one: its writer was told 0, and the unmount that may come before its
     * release must not leave it in flight */
    bool settled =
        outcome == SETTLED_LANDED || outcome == SETTLED_HELD || outcome == SETTLED_UNRECORDED;
    if (settled && !make_durable(s, h, path))
        outcome = SETTLED_FAILED;
    if (outcome == SETTLED_LANDED && !s->bare)
        log_landed(s, path, h->fd, by);
    pthread_mutex_lock(&r->lock);
    if (settled && outcome != SETTLED_FAILED)
        r->written = false; /* what settled is all there is until the next write */
    landing_end_settle(r, state_after(outcome));
    pthread_mutex_unlock(&r->lock);
    landing_set_unsynced(s->landings, r, false);
    return outcome;
}

/* The close() of a file's last writer decides its fate (namfs/landing.h):
 * 0 when it landed (its digest is there, and BACKING holds it, durable,
 * under its name, as close() returns), EINVAL when it broke a rule (it has
 * left the tree for the quarantine), EIO when it could not be read to hash
 * it or synced. While another handle writes the file (not closed since it
 * last wrote) it is not whole yet, and that close() returns 0. */
int stage_flush(struct stage *s, struct stage_handle *h, const char *path)
{
    struct landing *r = h->inode;

    if (!r)
        return 0;
    pthread_mutex_lock(&r->lock);
    landing_await(r, LANDING_WAIT_MS); /* a dup'd descriptor's close, settling it */
    set_closed(h, true);
    bool refused = r->state == LANDING_REFUSED, early = r->refused;
    bool settles = !refused && !deleted(path) && r->unclosed == 0 && landing_begin_settle(r);
    pthread_mutex_unlock(&r->lock);
    enum settlement outcome = refused   ? SETTLED_REFUSED
                              : settles ? settle(s, path, h) /* an early refusal moves it */
                                        : SETTLED_PENDING;
    if (outcome == SETTLED_REFUSED || early)
        return -EINVAL;
    if (outcome == SETTLED_FAILED)
        return -EIO;
    /* close() of a duplicate reports delayed write errors, as close would */
    int dup_fd = dup(h->fd);
    return dup_fd < 0 ? -errno : close(dup_fd) == 0 ? 0 : -errno;
}

/* The last writer's release. A file written after its last close() (an
 * mmap page, a descriptor passed on) is settled here, where no writer can
 * be told: logged, listed, quarantined if refused. A file deleted while
 * open is gone from the delivery. */
static void finish(struct stage *s, const char *path, struct stage_handle *h)
{
    struct landing *r = h->inode;

    pthread_mutex_lock(&r->lock);
    landing_await(r, LANDING_WAIT_MS);
    bool late = r->written && !deleted(path) && landing_begin_settle(r);
    pthread_mutex_unlock(&r->lock);
    if (late)
        settle(s, path, h);
}

void stage_release(struct stage *s, struct stage_handle *h, const char *path)
{
    struct landing *r = h->inode;

    if (r) {
        pthread_mutex_lock(&r->lock);
        set_closed(h, true);
        pthread_mutex_unlock(&r->lock);
        if (landing_leave(s->landings, r))
            finish(s, path, h);
        stage_let_go(s, h); /* the last one puts what never landed in place */
        landing_put(s->landings, r);
        h->inode = NULL;
    }
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
}

/* A file still open when the mount ends: landed at its close(), it is in
 * place already; still being written, it is named in the log and stays in
 * flight, for the next mount to move to the quarantine. */
static void finish_abandoned(struct stage *s, struct stage_handle *h)
{
    char link[64], where[4096];

    snprintf(link, sizeof link, "/proc/self/fd/%d", h->fd);
    ssize_t n = readlink(link, where, sizeof where - 1);
    where[n > 0 ? n : 0] = '\0';
    pthread_mutex_lock(&h->inode->lock);
    bool written = h->inode->written;
    pthread_mutex_unlock(&h->inode->lock);
    if (written)
        stage_log(s, LOG_WARNING,
                  "%s was still being written at unmount: not landed; it stays in flight "
                  "and the next mount moves it to the quarantine",
                  where);
    else
        stage_let_go(s, h);
}

void stage_abandon(struct stage *s, struct stage_handle *h)
{
    if (h->inode && landing_leave(s->landings, h->inode))
        finish_abandoned(s, h);
    else if (h->flight)
        inflight_leave(&s->flights, h->flight); /* not the last handle: the last one decides */
    h->flight = NULL; /* one still being written stays in flight (freed with the table) */
    if (h->inode)
        landing_put(s->landings, h->inode);
    h->inode = NULL;
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
}

/* ---- questions about files that may be settling ---- */

/* Whoever asks about a file that is settling waits for the outcome (at
 * most LANDING_WAIT_MS): never an answer from before it. Returns the state
 * of the file's record then, or -1 when nobody writes the file. */
static int settled_state(struct stage *s, const struct stat *st, bool *waited)
{
    struct landing *r = S_ISREG(st->st_mode) ? landing_find(s->landings, st) : NULL;
    *waited = false;
    if (!r)
        return -1;
    pthread_mutex_lock(&r->lock);
    *waited = r->state == LANDING_SETTLING;
    enum landing_state state = landing_await(r, LANDING_WAIT_MS);
    pthread_mutex_unlock(&r->lock);
    landing_put(s->landings, r);
    return (int)state;
}

/* lstat of what the mount's path names now: its file in flight, or, once
 * that has gone (refused), BACKING's file under the name, if any (the
 * landed frame a refused rewrite leaves). */
static int located_stat(struct stage *s, const char *path, struct stat *st)
{
    char at[PATH_MAX];
    int rc = backing_stat(&s->backing, stage_locate(s, path, at, sizeof at), st);
    return rc == -ENOENT && strcmp(at, path) != 0 ? backing_stat(&s->backing, path, st) : rc;
}

int stage_stat(struct stage *s, const char *path, struct stat *st)
{
    bool waited = false;
    int rc = located_stat(s, path, st);
    if (rc == 0 && settled_state(s, st, &waited) >= 0 && waited)
        rc = located_stat(s, path, st);
    return rc;
}

bool stage_entry_listed(struct stage *s, int dirfd, const char *name, const struct stat *st)
{
    struct stat now;
    bool waited = false;
    return settled_state(s, st, &waited) < 0 || !waited ||
           fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0;
}

int stage_digest_current(struct stage *s, const char *path)
{
    struct stat st;
    bool waited;
    int state = located_stat(s, path, &st) == 0 ? settled_state(s, &st, &waited) : -1;
    return state == LANDING_WRITING ? -ENODATA : state == LANDING_SETTLING ? -EAGAIN : 0;
}

bool stage_busy(struct stage *s, const char *path)
{
    struct stat st;
    char at[PATH_MAX];
    return backing_stat(&s->backing, stage_locate(s, path, at, sizeof at), &st) == 0 &&
           landing_busy(s->landings, &st);
}
