/* The staging engine: what the mount does, with no FUSE in it. One `stage`
 * owns BACKING's fd, the catalog connection, the sequence rules' memory,
 * the quarantine, the sealed folders, the record of every file being
 * written (namfs/landing.h) and the checkpoint thread. fs/namfs maps each
 * kernel request onto one call here; a unit test makes the same calls on a
 * temporary folder.
 *
 * Paths are the mount's ("/asset/x.0001.dpx"). Calls answer 0 or -errno as
 * a FUSE operation does; the errnos a writer can see are in namfs(8):
 * EINVAL (refused: the rule is in the log and .namfs/rejected), EROFS
 * (sealed, or the catalog cannot record), EPERM (namfs's own names and
 * files; links; a folder carrying landed frames), EIO (the file could not
 * be read back to hash it, or synced), EAGAIN (a settlement outlasted
 * LANDING_WAIT_MS), ENODATA (no digest yet: the file is being written).
 *
 * THREADS
 *
 *   Requests come on any thread, side by side. The checkpoint thread
 *   (stage_start) writes manifests once landings pause and looks out for
 *   changes made in BACKING behind the mount's back.
 *
 * LOCKS, in the order they are taken
 *
 *   changes   (rwlock) every change through the mount holds it shared, so
 *             that it reaches BACKING and the catalog as one step; the
 *             look-out for changes behind the mount, and the way back from
 *             read-only, hold it exclusive.
 *   settling  one settlement at a time (a late release and a truncate of
 *             one file must not land and refuse it in the wrong order).
 *   a landing record's lock (namfs/landing.h).
 *   model     the catalog connection, the sequence memory and the counters
 *             beside them; never held across I/O on a frame's bytes,
 *             never while taking another lock above.
 *   The landing table's lock and the sealed set's are leaves.
 */
#ifndef NAMFS_STAGE_H
#define NAMFS_STAGE_H

#include "namfs/backing.h"
#include "namfs/landing.h"
#include "namfs/profile.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

struct stage;

/* Where the engine's messages go (the daemon: syslog and standard error;
 * a test: a buffer). message carries no newline. */
typedef void (*stage_log_fn)(void *ctx, int priority, const char *message);

struct stage_config {
    const char *backing;           /* the BACKING folder */
    const char *state_dir;         /* NULL: "<BACKING>.namfs" beside it */
    const char *catalog;           /* NULL: catalog.sqlite in the state folder; or a
                                      PostgreSQL URL that every host's mount shares */
    const struct profile *profile; /* copied */
    double quiet_seconds;          /* pause in landings before manifests are written */
    bool bare;                     /* a plain passthrough: no hashing, judging or manifests */
    stage_log_fn log;              /* NULL: standard error */
    void *log_ctx;
};

/* Opens BACKING, the state folder (made 0700) with its catalog and
 * quarantine. NULL with the reason in err. */
struct stage *stage_new(const struct stage_config *c, char *err, size_t err_len);
void stage_free(struct stage *s);

const struct backing *stage_backing(const struct stage *s);
const struct profile *stage_profile(const struct stage *s);
bool stage_bare(const struct stage *s);

/* ---- a mount's life ---- */

/* Brings the catalog up to date with BACKING before serving: files new or
 * changed while unmounted (size, mtime or ctime) are judged and hashed
 * anew, rows of files gone are dropped; *changed says how many. at_mount:
 * files a crash left under libfuse's hidden names are removed. False when
 * BACKING could not be walked (reconcile.c). */
bool stage_reconcile(struct stage *s, bool at_mount, size_t *changed);

/* Starts the checkpoint thread (not in bare mode), and records the
 * daemon's pid in the state folder (namfs.pid, flock'd until the process
 * ends: namctl unmount waits on that lock). */
void stage_start(struct stage *s);

/* namctl sync: returns once BACKING's manifests say what the catalog
 * says (new files still being written are not waited for; a landed file
 * being rewritten is, as the checkpoint waits for it): 0, -EROFS while the
 * catalog cannot record, -EIO when they cannot be written (logged),
 * -EAGAIN after a minute of that rewrite or of landed files not yet on
 * disk. */
int stage_sync(struct stage *s);

/* The state folder (absolute), for namctl unmount. */
const char *stage_state_folder(const struct stage *s);

/* Writes checksum.txt files and a new MHL generation to BACKING when
 * anything changed since the last one, every landed file is on disk and
 * none changed behind the mount's back unjudged (M3). */
void stage_checkpoint(struct stage *s);

/* The look-out's round: the next `slice` landed files (the checkpoint
 * thread's: LOOK_OUT_SLICE every 5 s), so that a round's cost stays flat
 * however many landed (150,000 frames: walked whole every 30 s; a
 * checkpoint walks them all). One caller at a time: it keeps where the
 * next round starts. */
#define LOOK_OUT_SLICE 25000
void stage_look_out(struct stage *s, size_t slice);

/* Unmount: stops the thread and writes the last manifests, so BACKING
 * alone is a valid delivery (landed files are on disk from their close()). */
void stage_stop(struct stage *s);

/* ---- handles ---- */

/* Who asks: new files and folders are theirs (DESIGN.md). */
struct stage_caller {
    uid_t uid;
    gid_t gid;
    pid_t pid; /* 0: not known */
};

/* An open file of BACKING. A handle that writes, creates or truncates
 * joins its inode's record (inode); one that only reads has none. */
struct stage_handle {
    int fd;
    struct landing *inode;
    struct inflight *flight; /* the file in flight it writes (namfs/inflight.h) */
    bool closed;             /* its close() came, and no write since (inode's lock) */
};

/* Opens path as the request asks (fi->flags): O_CREAT makes the file,
 * owned by who, unless it appeared meanwhile and O_EXCL was not asked.
 * *cacheable: a landed file unchanged since, whose pages the kernel may
 * keep. 0 or -errno (EPERM, EROFS for a change refused). */
int stage_open(struct stage *s, const char *path, int flags, mode_t mode,
               const struct stage_caller *who, struct stage_handle *h, bool *cacheable);

/* A write through h: n bytes or -errno (EINVAL once the header is refused;
 * every later write fails as well). */
int stage_write(struct stage *s, struct stage_handle *h, const char *path, const char *buf,
                size_t n, off_t off);

/* Truncate or fallocate through h; 0 or -errno. */
int stage_ftruncate(struct stage *s, struct stage_handle *h, const char *path, off_t size);
int stage_fallocate(struct stage *s, struct stage_handle *h, int mode, off_t off, off_t len);

/* A close() of a descriptor of h (FLUSH). When no other handle writes the
 * file, it settles now: 0 when it landed (its digest is in the catalog),
 * -EINVAL when it was refused (it has left the tree for the quarantine),
 * -EIO when it could not be read to hash it. */
int stage_flush(struct stage *s, struct stage_handle *h, const char *path);

/* The handle's last release: a landed file is synced to disk; one written
 * after its last close() is settled here, where no writer can be told.
 * Closes h->fd. path is NULL or hidden for a file deleted while open. */
void stage_release(struct stage *s, struct stage_handle *h, const char *path);

/* A handle the kernel never released when the mount ends (SIGTERM, the
 * kernel gone): a landed file is synced; one still being written is named
 * in the log and left for the next mount. Closes h->fd. */
void stage_abandon(struct stage *s, struct stage_handle *h);

/* An fd on the file the mount's path names now (its in-flight file while
 * it is being written), for calls on it by path; or -errno. */
int stage_open_path(struct stage *s, const char *path, int flags);

/* ---- questions ---- */

/* The names of files in flight in the folder (mount path): readdir shows
 * them under these names, and never their in-flight names. */
void stage_each_in_flight(struct stage *s, const char *folder,
                          void (*each)(void *ctx, const char *name), void *ctx);
/* name is an in-flight name (namfs/inflight.h): hidden from readdir. */
bool stage_is_in_flight_name(const char *name);

/* lstat of path once any settlement of it is over (a refused file is in
 * the quarantine by then: -ENOENT). */
int stage_stat(struct stage *s, const char *path, struct stat *st);

/* The entry `name` of the folder open at dirfd, st from readdir, once any
 * settlement of it is over: false when it left the tree (refused). */
bool stage_entry_listed(struct stage *s, int dirfd, const char *name, const struct stat *st);

/* 0 when the catalog's digest and verdict of path are its current ones;
 * -ENODATA while it is being written; -EAGAIN when its settlement
 * outlasted LANDING_WAIT_MS. */
int stage_digest_current(struct stage *s, const char *path);

/* The catalogued digest of path in algo, and its verdict ("pass" or
 * "<rule>: <message>"); false when there is none. */
bool stage_digest(struct stage *s, const char *path, enum hash_algo algo, char *out, size_t len);
bool stage_verdict(struct stage *s, const char *path, char *out, size_t len);

/* ---- changes by name ---- */

/* 0 when path may change; -EPERM for manifests (checksum.txt, ascmhl/)
 * and libfuse's hidden names; -EROFS in a sealed folder or while the
 * catalog cannot record. */
int stage_may_change(struct stage *s, const char *path);

/* -EROFS when path is sealed or nothing may change; else 0. For changes
 * of times, mode, owner and attributes. */
int stage_frozen(struct stage *s, const char *path);

/* Times, mode, owner or attributes of path changed (rc 0), its content did
 * not: a landed file's row takes its new times, so a remount does not hash
 * it anew. Returns rc. */
int stage_touched(struct stage *s, const char *path, int rc);

int stage_mkdir(struct stage *s, const char *path, mode_t mode, const struct stage_caller *who);
int stage_rmdir(struct stage *s, const char *path);
/* A refused file's writer deleting it (OpenEXR's does on a write error)
 * sends it to the quarantine instead: refused data is never lost. */
int stage_unlink(struct stage *s, const char *path);
/* renameat2 flags. A folder holding landed frames keeps its name (N4: -EPERM);
 * to a libfuse hidden name it is the delete of a file still open. */
int stage_rename(struct stage *s, const char *from, const char *to, unsigned flags);
/* A truncate by path: of a file being written, its record hears of it; of
 * a closed file, judged and hashed anew now. */
int stage_truncate(struct stage *s, const char *path, off_t size);

/* namctl seal of the asset folder at path, or of the delivery root ("/":
 * every file of it): 0 sealed, with the generation listing its files
 * written; -ENOTDIR, -EROFS (the catalog cannot record), -EBUSY (a file is
 * being written, a gap (S2), a held or changed file or an unreplaced
 * refusal: stage_seal_state says which). */
int stage_seal(struct stage *s, const char *path);
/* "sealed", "sealable" or what stops it (malloc'd; NULL out of memory). */
char *stage_seal_state(struct stage *s, const char *path);

/* ---- views (stage_views.c), malloc'd text ---- */

/* .namfs/status, .namfs/status.json (schema STATUS_SCHEMA, namctl(1)) and
 * .namfs/rejected (path, rule, message, where: one line per refusal). */
char *stage_render_status(struct stage *s);
char *stage_render_status_json(struct stage *s);
char *stage_render_rejected(struct stage *s);

/* checksum.txt as the mount shows it in path's folder (M1), between
 * checkpoints: every landed file BACKING still has as catalogued (a stat
 * each, when rendered; kept until the folder changes: checksum_view.c).
 * 0 and *out, or -ENOENT when the folder shows BACKING's own (no frame
 * landed there, or it is sealed: its checksum.txt is final). */
struct checksum_open {
    int fd; /* the text, from offset 0; the caller closes it */
    size_t len;
    bool direct;     /* a text the kernel has not seen: read it through */
    bool keep_cache; /* the text of the open before, whose pages the kernel has */
};
int stage_open_checksum(struct stage *s, const char *path, struct checksum_open *out);
/* Its length without a rendering (the catalog's tally, or the view kept;
 * on a read-only mount the checked rendering's); -1 when there is none
 * to show. */
long stage_checksum_length(struct stage *s, const char *path);

/* A frame landed in the folder at path: it has a checksum.txt (M1). */
bool stage_folder_has_frames(struct stage *s, const char *path);

/* When the catalog last changed (wall clock): the mtime the mount shows
 * for a checksum.txt rendered from it. */
struct timespec stage_changed_at(struct stage *s);

/* checksum.txt and the ascmhl/ history: namfs's to write. */
bool stage_is_manifest(const char *path);

#endif
