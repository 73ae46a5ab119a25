/* A file's life in the mount (DESIGN.md, "A file's life"): one record per
 * BACKING inode, shared by every handle that writes the file, by a truncate
 * by path or from a handle, by a rename and by whoever asks about it.
 *
 * STATES (landing.state)
 *
 *   (none)    No record: nobody writes the file. Its truth is the catalog.
 *
 *   WRITING   One or more handles write it. Bytes are hashed as they pass,
 *             by one cursor for the inode, caught up from BACKING when they
 *             did not stream; the header is judged as soon as it is whole.
 *             Its digest is not known yet: asked for it, the mount answers
 *             ENODATA, never an older one.
 *
 *   SETTLING  The FLUSH (close()) of its only writer is deciding its fate:
 *             the hash caught up, the whole file judged, its frame number
 *             reserved in the catalog. Whoever asks about the file meanwhile
 *             waits for the outcome (landing_await(), at most
 *             LANDING_WAIT_MS); a write waits too.
 *
 *   LANDED    It passed: it is in the catalog with its digest, on disk
 *             (fdatasync) and under its own name in BACKING (renamed from
 *             its in-flight name, namfs/inflight.h, the folder synced)
 *             before that close() returned 0. A held file (N6) ends here
 *             too, recorded as held.
 *
 *   REFUSED   It broke a rule: it left the tree (to the quarantine), and
 *             that close() failed with the refusal's errno.
 *
 * TRANSITIONS
 *
 *   (none) -> WRITING     the first open for writing, a create or a
 *                         truncating open (landing_join)
 *   WRITING -> SETTLING   the FLUSH of the last handle not closed since it
 *                         wrote, once written (landing_begin_settle)
 *   SETTLING -> LANDED | REFUSED, or back to WRITING when nothing could be
 *                         decided yet (an empty frame its writer comes back
 *                         to) (landing_end_settle)
 *   LANDED | REFUSED -> WRITING
 *                         a write after that FLUSH (an mmap page, a
 *                         descriptor passed on): the file is reopened and
 *                         settled again at RELEASE, where no writer can be
 *                         told (landing_reopen)
 *   any -> (none)         the last RELEASE (landing_put of the last
 *                         reference); a file in flight that never landed
 *                         (an empty frame) takes its name then
 *
 * INVARIANTS
 *
 *   - The cursor has seen, in the order BACKING took them, every write of
 *     the file since the record last restarted, or it is marked rewritten
 *     (the catch-up then reads the whole file): a write and its hash update
 *     happen under the record's lock, and a truncate is told to the cursor
 *     after BACKING did it.
 *   - One thread at a time settles an inode: the one that moved it to
 *     SETTLING, and only it leaves SETTLING.
 *   - Nobody is answered about a file in SETTLING before it leaves it
 *     (or the wait times out: then the answer is EAGAIN, never a guess).
 *   - generation grows by one at every restart: a reader that saw a state
 *     can tell whether it is still the same writing of the file.
 *
 * LOCKS
 *
 *   The table's lock guards the list and each record's counts (writers,
 *   refs); it is held briefly and never while taking a record's lock. A
 *   record's lock guards the rest of it; it is held across a write's
 *   pwrite and hash update and a truncate, never across a settlement
 *   (SETTLING is the settlement's claim; waiters sleep on the condition).
 */
#ifndef NAMFS_LANDING_H
#define NAMFS_LANDING_H

#include "namfs/hash_cursor.h"
#include "namfs/leader_trail.h"
#include "namfs/verdict.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* How long a question about a settling file waits for its outcome. A
 * settlement reads the file once at most (a UHD frame: ~50 MB from the
 * page cache) and judges it: far below this even on a loaded disk. */
#define LANDING_WAIT_MS 5000

enum landing_state { LANDING_WRITING, LANDING_SETTLING, LANDING_LANDED, LANDING_REFUSED };

struct landing {
    struct landing_table *table;
    dev_t dev;
    ino_t ino;
    int writers;   /* handles open for writing (table lock) */
    int refs;      /* writers, settlements and finders holding it (table lock) */
    bool unsynced; /* landed, its sync to disk still to come (table lock) */
    pthread_mutex_t lock;
    pthread_cond_t changed; /* state left SETTLING */
    /* the rest under lock */
    enum landing_state state;
    uint64_t generation;
    struct hasher *hasher; /* NULL when nothing is hashed (bare mode) */
    struct hash_cursor cursor;
    bool written; /* changed through the mount since it last settled */
    int unclosed; /* writing handles not closed since they last wrote: while
                   * any is, a close() of another decides nothing */
    /* the first bytes, kept until the header can be judged (early refusal) */
    uint8_t head[4096];
    size_t head_len;
    bool judged_early;
    uint64_t table_at, table_len; /* an EXR's chunk offset table, once judged */
    struct leader_trail trail;    /* an EXR's chunk leaders as they were written */
    bool refused;                 /* early: every later write and close fails */
    uid_t writer_uid;             /* who opened it for writing last (its refusal's log) */
    pid_t writer_pid;             /* 0: not known */
    struct verdict verdict;
    struct landing *next;
};

struct landing_table;

struct landing_table *landing_table_new(void);
/* Frees the table; records still in it are freed too. */
void landing_table_free(struct landing_table *t);

/* The record of fd's file, created (with a hasher for algos; none when
 * algos is 0) or joined, counted as one more writer. NULL with errno set. */
struct landing *landing_join(struct landing_table *t, int fd, uint32_t algos);

/* One writer fewer; true when it was the last. The caller's reference
 * stays its own until it puts it. */
bool landing_leave(struct landing_table *t, struct landing *r);

/* The record of the file st describes, held until landing_put(); NULL when
 * nobody writes it. */
struct landing *landing_find(struct landing_table *t, const struct stat *st);

/* Lets go of a reference from landing_join() or landing_find(); the last
 * one frees the record. */
void landing_put(struct landing_table *t, struct landing *r);

/* Somebody writes (or settles) the file st describes; anybody any file. */
bool landing_busy(struct landing_table *t, const struct stat *st);
bool landing_any(struct landing_table *t);

/* A file settling, whose sync to disk and name in BACKING are still to
 * come, or no longer: no manifest is written while any such file exists
 * (M3). */
void landing_set_unsynced(struct landing_table *t, struct landing *r, bool unsynced);
bool landing_any_unsynced(struct landing_table *t);

/* Whether the delivery is quiet: no file WRITING or SETTLING, and every
 * landed one synced. This waits for a settlement to end, at most ms, but
 * not for a file still being written (namctl seal answers EBUSY then). */
enum landing_quiet { LANDING_QUIET, LANDING_BEING_WRITTEN, LANDING_STILL_SYNCING };
enum landing_quiet landing_await_quiet(struct landing_table *t, int ms);

/* ---- the record's own state; its lock held for each ---- */

/* Records a truncate (or extend) to size that BACKING has already done. */
void landing_cut(struct landing *r, uint64_t size);

/* WRITING -> SETTLING, when written; false (nothing to settle) otherwise. */
bool landing_begin_settle(struct landing *r);

/* SETTLING -> outcome, waking whoever waits. */
void landing_end_settle(struct landing *r, enum landing_state outcome);

/* Waits while r is SETTLING, at most ms (the lock is let go meanwhile);
 * returns the state then (still SETTLING: timed out). */
enum landing_state landing_await(struct landing *r, int ms);

/* A write is about to change r: waits out a settlement, and a file already
 * settled (LANDED, REFUSED) is writing again, to be settled anew. */
void landing_reopen(struct landing *r);

/* Starts the record over for a new writing of the file: fresh cursor and
 * early judgement, generation + 1, state WRITING. */
void landing_restart(struct landing *r);

#endif
