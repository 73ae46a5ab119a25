/* Files open for writing through the mount: one record per BACKING inode,
 * shared by every handle on it, by a truncate by path and by a rename of
 * it. The digest of a file is of the bytes BACKING holds when it lands,
 * whatever mix of handles and truncates produced them, so there is one
 * hash cursor per inode, never one per handle.
 *
 * Life of a record:
 *   open_inode_join()    the first writer creates it; later writers (and
 *                        handles opened on the same file by another name)
 *                        join it. writers counts their handles.
 *   open_inode_leave()   a writer's handle is released; the one that takes
 *                        writers to 0 settles the file (lands or refuses it)
 *                        with the record locked, resets it for the next
 *                        write (open_inode_restart()), then lets go of it:
 *   open_inode_put()     frees the record unless a new writer joined it
 *                        meanwhile or a truncate by path holds it.
 * A record exists from its first writer's open until its settlement is
 * over: the file is "being written" for that whole time.
 *
 * Locks: the table's lock is taken alone and only briefly (find, count);
 * a record's own lock is held across each write's pwrite and hash update,
 * a truncate's hash update and the settlement. Lock order: a record's lock
 * may be taken with no other namfs lock held, and staging.c's locks may be
 * taken inside it (settling); never the table's lock inside a record's. */
#ifndef NAMFS_OPEN_INODE_H
#define NAMFS_OPEN_INODE_H

#include "namfs/hash_cursor.h"
#include "namfs/verdict.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

struct open_inode {
    dev_t dev;
    ino_t ino;
    int writers; /* handles open for writing (table lock) */
    int refs;    /* writers, settlements under way and finders (table lock) */
    pthread_mutex_t lock;
    /* the rest under lock */
    struct hasher *hasher; /* NULL in bare mode */
    struct hash_cursor cursor;
    bool written; /* changed through the mount since it last settled */
    /* the first bytes, kept until the header can be judged (early refusal) */
    uint8_t head[4096];
    size_t head_len;
    bool judged_early;
    uint64_t table_at, table_len; /* an EXR's chunk offset table, once judged */
    bool refused;
    struct verdict verdict;
    struct open_inode *next;
};

/* The record of fd's file, created (with a hasher for algos, none when
 * algos is 0) or joined, counted as one more writer. NULL: out of memory
 * or fd cannot be stat'ed (errno set). */
struct open_inode *open_inode_join(int fd, uint32_t algos);

/* One writer fewer. True when it was the last: the caller settles the
 * file with the record locked, calls open_inode_restart() before it
 * unlocks, then open_inode_put(). Either way the caller's reference
 * stays its own until it puts it. */
bool open_inode_leave(struct open_inode *r);
/* After a settlement: the next write starts a new judgement and digest.
 * Lock held. */
void open_inode_restart(struct open_inode *r);

/* The record of the file st describes, held against freeing until
 * open_inode_put(); NULL when nobody writes it. */
struct open_inode *open_inode_find(const struct stat *st);
/* Lets go of a reference from open_inode_join() or _find(); the last one
 * frees the record. */
void open_inode_put(struct open_inode *r);

/* Handles writing r now. */
int open_inode_writers(struct open_inode *r);

/* A file is being written (or settling) through the mount. */
bool open_inode_busy(const struct stat *st);
bool open_inode_any(void);

/* Records a truncate (or extend) to size that BACKING has already done.
 * Lock held. */
void open_inode_cut(struct open_inode *r, uint64_t size);

#endif
