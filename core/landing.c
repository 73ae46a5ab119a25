#include "namfs/landing.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

/* Few files are open for writing at once (a writer per farm node), so a
 * list does; its lock guards the list and every record's counts. */
struct landing_table {
    pthread_mutex_t lock;
    pthread_cond_t quieter; /* unsynced or unsettled went down */
    struct landing *records;
    int unsynced;  /* records with unsynced set */
    int unsettled; /* records WRITING or SETTLING */
};

static bool is_unsettled(enum landing_state s)
{
    return s == LANDING_WRITING || s == LANDING_SETTLING;
}

/* Every change of a record's state goes through here, so the table knows
 * how many files are being written. Record lock held; takes the table's. */
static void set_state(struct landing *r, enum landing_state to)
{
    int delta = (int)is_unsettled(to) - (int)is_unsettled(r->state);
    r->state = to;
    if (!delta)
        return;
    pthread_mutex_lock(&r->table->lock);
    r->table->unsettled += delta;
    if (delta < 0)
        pthread_cond_broadcast(&r->table->quieter);
    pthread_mutex_unlock(&r->table->lock);
}

struct landing_table *landing_table_new(void)
{
    struct landing_table *t = calloc(1, sizeof *t);
    if (t) {
        pthread_mutex_init(&t->lock, NULL);
        pthread_cond_init(&t->quieter, NULL);
    }
    return t;
}

static void free_record(struct landing *r)
{
    hasher_free(r->hasher);
    leader_trail_reset(&r->trail);
    pthread_cond_destroy(&r->changed);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void landing_table_free(struct landing_table *t)
{
    if (!t)
        return;
    while (t->records) {
        struct landing *r = t->records;
        t->records = r->next;
        free_record(r);
    }
    pthread_cond_destroy(&t->quieter);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* Table lock held. */
static struct landing *lookup(struct landing_table *t, dev_t dev, ino_t ino)
{
    struct landing *r = t->records;
    while (r && (r->dev != dev || r->ino != ino))
        r = r->next;
    return r;
}

/* A new record, WRITING (counted by the caller, under the table lock). */
static struct landing *created(struct landing_table *t, const struct stat *st, uint32_t algos)
{
    struct landing *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (algos && !(r->hasher = hasher_new(algos))) {
        free(r);
        return NULL;
    }
    r->table = t;
    r->dev = st->st_dev;
    r->ino = st->st_ino;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
    r->state = LANDING_WRITING;
    landing_restart(r);
    return r;
}

struct landing *landing_join(struct landing_table *t, int fd, uint32_t algos)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return NULL;
    pthread_mutex_lock(&t->lock);
    struct landing *r = lookup(t, st.st_dev, st.st_ino);
    if (!r && (r = created(t, &st, algos))) {
        r->next = t->records;
        t->records = r;
        t->unsettled++;
    }
    if (r) {
        r->writers++;
        r->refs++;
    } else {
        errno = ENOMEM;
    }
    pthread_mutex_unlock(&t->lock);
    return r;
}

bool landing_leave(struct landing_table *t, struct landing *r)
{
    pthread_mutex_lock(&t->lock);
    bool last = --r->writers == 0;
    pthread_mutex_unlock(&t->lock);
    return last;
}

struct landing *landing_find(struct landing_table *t, const struct stat *st)
{
    pthread_mutex_lock(&t->lock);
    struct landing *r = lookup(t, st->st_dev, st->st_ino);
    if (r)
        r->refs++;
    pthread_mutex_unlock(&t->lock);
    return r;
}

void landing_put(struct landing_table *t, struct landing *r)
{
    pthread_mutex_lock(&t->lock);
    bool gone = --r->refs == 0;
    if (gone) {
        t->unsynced -= r->unsynced;
        t->unsettled -= is_unsettled(r->state);
        pthread_cond_broadcast(&t->quieter);
        struct landing **at = &t->records;
        while (*at != r)
            at = &(*at)->next;
        *at = r->next;
    }
    pthread_mutex_unlock(&t->lock);
    if (gone)
        free_record(r);
}

bool landing_busy(struct landing_table *t, const struct stat *st)
{
    pthread_mutex_lock(&t->lock);
    bool busy = lookup(t, st->st_dev, st->st_ino) != NULL;
    pthread_mutex_unlock(&t->lock);
    return busy;
}

bool landing_any(struct landing_table *t)
{
    pthread_mutex_lock(&t->lock);
    bool any = t->records != NULL;
    pthread_mutex_unlock(&t->lock);
    return any;
}

void landing_set_unsynced(struct landing_table *t, struct landing *r, bool unsynced)
{
    pthread_mutex_lock(&t->lock);
    t->unsynced += (int)unsynced - (int)r->unsynced;
    r->unsynced = unsynced;
    if (!unsynced)
        pthread_cond_broadcast(&t->quieter);
    pthread_mutex_unlock(&t->lock);
}

bool landing_any_unsynced(struct landing_table *t)
{
    pthread_mutex_lock(&t->lock);
    bool any = t->unsynced > 0;
    pthread_mutex_unlock(&t->lock);
    return any;
}

void landing_cut(struct landing *r, uint64_t size)
{
    if (r->hasher)
        hash_cursor_truncate(&r->cursor, size);
    leader_trail_cut(&r->trail, size);
    r->written = true;
}

bool landing_begin_settle(struct landing *r)
{
    if (r->state != LANDING_WRITING || !r->written)
        return false;
    set_state(r, LANDING_SETTLING);
    return true;
}

void landing_end_settle(struct landing *r, enum landing_state outcome)
{
    set_state(r, outcome);
    pthread_cond_broadcast(&r->changed);
}

enum landing_quiet landing_await_quiet(struct landing_table *t, int ms)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000 + (until.tv_nsec + (long)(ms % 1000) * 1000000) / 1000000000;
    until.tv_nsec = (until.tv_nsec + (long)(ms % 1000) * 1000000) % 1000000000;
    pthread_mutex_lock(&t->lock);
    while (!t->unsettled && t->unsynced &&
           pthread_cond_timedwait(&t->quieter, &t->lock, &until) != ETIMEDOUT)
        ;
    enum landing_quiet q = t->unsettled  ? LANDING_BEING_WRITTEN
                           : t->unsynced ? LANDING_STILL_SYNCING
                                         : LANDING_QUIET;
    pthread_mutex_unlock(&t->lock);
    return q;
}

enum landing_state landing_await(struct landing *r, int ms)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    while (r->state == LANDING_SETTLING &&
           pthread_cond_timedwait(&r->changed, &r->lock, &until) != ETIMEDOUT)
        ;
    return r->state;
}

void landing_reopen(struct landing *r)
{
    while (r->state == LANDING_SETTLING)
        pthread_cond_wait(&r->changed, &r->lock);
    if (r->state == LANDING_LANDED)
        landing_restart(r);
}

void landing_restart(struct landing *r)
{
    if (r->hasher)
        hash_cursor_init(&r->cursor, r->hasher);
    set_state(r, LANDING_WRITING);
    r->generation++;
    r->written = false;
    r->head_len = 0;
    r->judged_early = false;
    r->table_at = r->table_len = 0;
    leader_trail_reset(&r->trail);
    r->refused = false;
}
