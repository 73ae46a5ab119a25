#include "open_inode.h"

#include <errno.h>
#include <stdlib.h>

/* Few files are open for writing at once (a writer per farm node), so a
 * list does; its lock guards the list and every record's counts. */
static struct open_inode *records;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

/* Lock held. */
static struct open_inode *lookup(dev_t dev, ino_t ino)
{
    struct open_inode *r = records;
    while (r && (r->dev != dev || r->ino != ino))
        r = r->next;
    return r;
}

static struct open_inode *created(const struct stat *st, uint32_t algos)
{
    struct open_inode *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (algos && !(r->hasher = hasher_new(algos))) {
        free(r);
        return NULL;
    }
    r->dev = st->st_dev;
    r->ino = st->st_ino;
    pthread_mutex_init(&r->lock, NULL);
    if (r->hasher)
        hash_cursor_init(&r->cursor, r->hasher);
    return r;
}

struct open_inode *open_inode_join(int fd, uint32_t algos)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return NULL;
    pthread_mutex_lock(&table_lock);
    struct open_inode *r = lookup(st.st_dev, st.st_ino);
    if (!r && (r = created(&st, algos))) {
        r->next = records;
        records = r;
    }
    if (r) {
        r->writers++;
        r->refs++;
    } else {
        errno = ENOMEM;
    }
    pthread_mutex_unlock(&table_lock);
    return r;
}

bool open_inode_leave(struct open_inode *r)
{
    pthread_mutex_lock(&table_lock);
    bool last = --r->writers == 0;
    pthread_mutex_unlock(&table_lock);
    return last;
}

void open_inode_restart(struct open_inode *r)
{
    if (r->hasher)
        hash_cursor_init(&r->cursor, r->hasher);
    r->written = false;
    r->head_len = 0;
    r->judged_early = false;
    r->table_at = r->table_len = 0;
    r->refused = false;
}

/* Table lock held. */
static void unlink_record(struct open_inode *r)
{
    struct open_inode **at = &records;
    while (*at != r)
        at = &(*at)->next;
    *at = r->next;
}

void open_inode_put(struct open_inode *r)
{
    pthread_mutex_lock(&table_lock);
    bool gone = --r->refs == 0;
    if (gone)
        unlink_record(r);
    pthread_mutex_unlock(&table_lock);
    if (!gone)
        return;
    hasher_free(r->hasher);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

struct open_inode *open_inode_find(const struct stat *st)
{
    pthread_mutex_lock(&table_lock);
    struct open_inode *r = lookup(st->st_dev, st->st_ino);
    if (r)
        r->refs++;
    pthread_mutex_unlock(&table_lock);
    return r;
}

int open_inode_writers(struct open_inode *r)
{
    pthread_mutex_lock(&table_lock);
    int writers = r->writers;
    pthread_mutex_unlock(&table_lock);
    return writers;
}

bool open_inode_busy(const struct stat *st)
{
    pthread_mutex_lock(&table_lock);
    bool busy = lookup(st->st_dev, st->st_ino) != NULL;
    pthread_mutex_unlock(&table_lock);
    return busy;
}

bool open_inode_any(void)
{
    pthread_mutex_lock(&table_lock);
    bool any = records != NULL;
    pthread_mutex_unlock(&table_lock);
    return any;
}

void open_inode_cut(struct open_inode *r, uint64_t size)
{
    if (r->hasher)
        hash_cursor_truncate(&r->cursor, size);
    r->written = true;
}
