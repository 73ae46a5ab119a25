/* What the stage's modules share (stage.c, settle.c, handle.c, changes.c,
 * reconcile.c, checkpoint.c, stage_views.c); no one outside core sees it.
 * Lock order: namfs/stage.h. */
#ifndef NAMFS_STAGE_INTERNAL_H
#define NAMFS_STAGE_INTERNAL_H

#include "namfs/backing.h"
#include "namfs/catalog.h"
#include "namfs/inflight.h"
#include "namfs/judge.h"
#include "namfs/landing.h"
#include "namfs/manifest.h"
#include "namfs/quarantine.h"
#include "namfs/sealed.h"
#include "namfs/sequence.h"
#include "namfs/stage.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <syslog.h>
#include <time.h>

/* How a settlement ended. */
enum settlement {
    SETTLED_LANDED,     /* in the catalog with its digest */
    SETTLED_HELD,       /* under an N6 name: in the catalog with its digest, held (FILE_HELD) */
    SETTLED_REFUSED,    /* in the quarantine (or kept in place), listed as rejected */
    SETTLED_PENDING,    /* nothing to decide yet: an empty frame, or the file moved away */
    SETTLED_UNRECORDED, /* sound, but the catalog could not record it (the mount turned
                           read-only): put in place all the same, for recover() to land */
    SETTLED_FAILED,     /* it could not be read to hash it: neither landed nor refused */
};

/* Where a checksum.txt view's lines end: the last row it shows, and the
 * rows after it that it left out (BACKING did not have them as catalogued:
 * most often a landing between its record and its rename), which an
 * append may still show. At most VIEW_AFTER_MAX are remembered; one
 * forgotten makes the next append fail its count, and render anew. */
#define VIEW_AFTER_MAX 16
struct view_end {
    char shown[CATALOG_PATH_MAX]; /* "" none */
    char *after[VIEW_AFTER_MAX];
    size_t after_count;
};

/* A refused file still open: if its writer deletes it, it goes to the
 * quarantine instead. */
struct refused_open {
    char *path;
    struct verdict verdict;
    char by[64]; /* who wrote it, for the one log line of its refusal */
};

struct stage {
    struct profile profile;
    uint32_t algos; /* the digests every landed file carries */
    bool bare;
    stage_log_fn log;
    void *log_ctx;
    char root_name[256];               /* BACKING's own name, the MHL's root */
    char backing_path[PATH_MAX];       /* absolute */
    char state_path[PATH_MAX];         /* absolute */
    char catalog_where[PATH_MAX + 32]; /* the catalog's SQLite file, or its URL */
    bool shared;                       /* the catalog is shared with other hosts' mounts */
    char owner[9];                     /* this mount's in in-flight names (namfs/inflight.h) */
    bool sweep_due;                    /* model lock: look for others' files left in flight */
    unsigned rounds_since_sweep;       /* model lock: shared.c's rounds since the last */
    bool lease_held;                   /* model lock: this mount writes the manifests (shared.c) */
    int64_t signature_seen;            /* model lock: the catalog's state at the last round */
    struct backing backing;
    struct quarantine quarantine;
    struct sealed_set sealed;
    struct landing_table *landings;
    struct inflight_table flights; /* files in flight (namfs/inflight.h) */

    pthread_rwlock_t changes;
    pthread_mutex_t settling;
    pthread_mutex_t model; /* the rest below */
    struct catalog *cat;
    struct seqset *seq;             /* the sequence rules' memory of what landed */
    bool dirty;                     /* something landed, moved or went since the last checkpoint */
    struct timespec last_change;    /* CLOCK_MONOTONIC: for the checkpoint thread */
    struct timespec checkpoint_due; /* CLOCK_MONOTONIC: not before (a deferred checksum.txt) */
    struct checksum_memory checksums; /* what each folder's checksum.txt was written from */
    struct timespec last_change_real; /* CLOCK_REALTIME: checksum.txt's mtime */
    double quiet_after;
    uint64_t hashed_bytes; /* landed through this mount, for the hash rate */
    time_t first_landing;
    unsigned record_failures;
    char read_only_reason[600];
    time_t read_only_since;
    char **unsynced; /* files whose sync failed at release (relative) */
    size_t unsynced_count;
    struct catalog_file **unrecorded; /* quarantined, not recorded: recover() does */
    size_t unrecorded_count;
    struct refused_open *refused_open;
    size_t refused_count;

    bool read_only;                        /* __atomic: the catalog cannot record changes */
    bool running;                          /* __atomic: the checkpoint thread runs */
    char look_out_after[CATALOG_PATH_MAX]; /* checkpoint thread: where the next round starts */
    pthread_t thread;
    int pid_fd;             /* namfs.pid, flock'd while the daemon lives; -1 */
    bool checkpoint_failed; /* the last checkpoint could not write (model lock) */
    struct checksum_view {
        char dir[CATALOG_PATH_MAX];
        uint64_t version; /* the folder's tally's when rendered */
        int fd;           /* the text, in an unnamed file of the state folder; -1 none */
        size_t len;
        int64_t change;      /* the catalog's last change number the text includes */
        uint64_t listed;     /* the folder's rows it was made from, shown or left out */
        struct view_end end; /* where its lines end */
        struct noticed {     /* the names of one folder's relevant notices */
            int wd;          /* -1: none kept */
            uint64_t from;   /* the folder's notice count the first one had */
            char **names;
            size_t count; /* complete while from + count is the folder's notice count */
        } noticed;
        uint64_t serial, served; /* renderings made; the one the last open got */
        unsigned opens_of_serial;
        int inotify; /* -1: no notices, every open renders */
        int watch;   /* the view's folder in BACKING; -1 */
        struct folder_watch {
            int wd;
            uint64_t notices; /* relevant inotify events in the folder */
        } * watches;
        size_t watch_count;
        uint64_t overflows;                /* inotify queue overflows */
        uint64_t notices_at, overflows_at; /* the view's folder's when its rendering began */
    } checksum_view;                       /* model lock: checksum_view.c */
    struct view_cache {
        uint64_t version; /* catalog_writes() it was rendered at */
        time_t second;    /* the hash rate moves with the clock */
        bool dirty, read_only;
        char *text; /* NULL: nothing cached */
    } views[2];     /* model lock: .namfs/status and status.json as last rendered */
};

/* stage.c */
/* The BACKING path the mount's path names now (its in-flight file's while
 * in flight), in buf; returns buf. */
const char *stage_locate(struct stage *s, const char *path, char *buf, size_t len);
void stage_log(struct stage *s, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* by: who wrote it, " (written by uid U, pid P)", or "" */
void stage_log_refusal(struct stage *s, const char *path, const struct verdict *v, const char *by);
const char *stage_relative(const char *path);
bool stage_read_only(struct stage *s);
void stage_changed_now(struct stage *s);                                       /* model held */
void stage_cannot_record(struct stage *s, const char *what, const char *path); /* model held */
/* Where the catalog is, for a message: "in STATE" or "at URL" (no
 * password); and what brings it back ("Free space there"). */
const char *stage_catalog_place(const struct stage *s, char *buf, size_t len);
const char *stage_catalog_remedy(const struct stage *s);
int64_t stage_ns(struct timespec t);
bool stage_unchanged_since(const struct catalog_file *row, const struct stat *st);
void stage_removed(struct stage *s, const char *path);
void stage_renamed(struct stage *s, const char *from, const char *to);
/* The refusal's one log line (by: who wrote it, or ""), the quarantine and
 * the catalog's record. */
void stage_refused(struct stage *s, const char *path, const struct verdict *v, const char *by);
/* Refused early, still open: remembered until its close or unlink. */
void stage_note_refused(struct stage *s, const char *path, const struct verdict *v, const char *by);
bool stage_unlink_refused(struct stage *s, const char *path);
void stage_not_on_disk(struct stage *s, const char *path);
long stage_unsynced_index(struct stage *s, const char *rel); /* model held */
enum settlement stage_record_landed(struct stage *s, const struct catalog_file *f,
                                    struct verdict *v);     /* model held */
void stage_forget_frame(struct stage *s, const char *path); /* model held */
bool stage_landed_as_is(struct stage *s, const char *path, int fd);
long stage_frames_beneath(struct stage *s, const char *path);
bool stage_record_unrecorded(struct stage *s); /* model held */
bool stage_busy(struct stage *s, const char *path);

/* settle.c */
/* chunks: how far R7 goes; trail: the EXR chunk leaders seen as it was
 * written (NULL: read them) */
bool stage_judge_whole(struct stage *s, int fd, const char *path, enum chunk_check chunks,
                       const struct leader_trail *trail, struct judgement *j);
/* by: who wrote it, for the log (stage_log_refusal) */
enum settlement stage_settle(struct stage *s, const char *path, int fd, struct hash_cursor *cursor,
                             const struct leader_trail *trail, const struct verdict *early,
                             const char *by);
void stage_remember_frame(struct stage *s, const char *path, int fd);
void stage_rejudge(struct stage *s, const char *path);
/* A regular file at from, open at fd, renamed to a final name to: judged
 * under to first (whole, sequence rules, reservation), then renamed in
 * BACKING (flags: renameat2's). -EINVAL when refused: nothing moved, the
 * refusal logged (and kept in a held file's row). */
int stage_land_renamed(struct stage *s, const char *from, const char *to, unsigned flags, int fd);

/* changes.c */
/* path's landed (or held) row takes its file's times now: a rename of it
 * moved its ctime, its content stayed. */
void stage_retimed(struct stage *s, const char *path);
int stage_rename_in_backing(struct stage *s, const char *from, const char *to, unsigned flags);
int stage_rename_shown(struct stage *s, const char *from, const char *to, unsigned flags);

/* handle.c */
void stage_judge_early(struct stage *s, struct landing *f, const char *path, const char *buf,
                       size_t n, uint64_t off);
int stage_cut_open(struct landing *r, int fd, off_t size);
/* h, opened on fd, joins its file's record (closes fd when it cannot). */
int stage_join(struct stage *s, struct stage_handle *h, int fd, const struct stage_caller *who);
/* The handle's file in flight takes its shown name now (it landed and is
 * on disk): 0 or -errno (open.c). */
int stage_place(struct stage *s, struct stage_handle *h);
/* The handle lets go of its file in flight; the last one puts it in place
 * if it is not yet (open.c). */
void stage_let_go(struct stage *s, struct stage_handle *h);

/* open.c */
gid_t stage_new_group(int dirfd, const struct stage_caller *who);

/* checksum_view.c */
void checksum_view_init(struct checksum_view *v);
void checksum_view_free(struct checksum_view *v);

/* shared.c: a mount sharing its catalog (-o catalog=postgresql://...) */
/* Each SHARED_ROUND_MS: the manifests lease, other hosts' changes, seals. */
#define SHARED_ROUND_MS 1000
void stage_shared_round(struct stage *s);
/* Before a frame is judged against the sequence memory: what another
 * host's first frame of its asset or title fixed, adopted (model held). */
void stage_shared_sequence(struct stage *s, const struct frame_name *name,
                           const struct frame_info *info);
/* The sealed set, read again from the catalog (model lock taken). */
void stage_shared_seals(struct stage *s);
bool stage_writes_manifests(struct stage *s);                  /* model held */
bool stage_shared_signature(struct stage *s, int64_t *out);    /* model held */
void stage_shared_written(struct stage *s, int64_t signature); /* model held */
/* namctl sync on a shared catalog: 1 when this mount holds the lease (its
 * own checkpoint writes them), 0 once the holder's manifests include what
 * the catalog held at the call, or -EROFS, -EAGAIN, -EIO. */
int stage_shared_sync(struct stage *s);

/* reconcile.c */
bool stage_recover(struct stage *s);
/* An in-flight file (relative path) whose mount is gone: this mount's
 * never; another host's while its mount's lease stands never. */
bool stage_left_in_flight(struct stage *s, const char *rel);
/* Every file in BACKING left in flight by a mount that is gone, moved to
 * the quarantine and reported (a shared catalog's new lease holder). */
void stage_sweep_in_flight(struct stage *s);
/* Every landed file against BACKING (before a checkpoint lists them). */
bool stage_refresh_landed(struct stage *s);

#endif
