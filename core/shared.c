/* A mount that shares its catalog with other hosts' mounts of one BACKING
 * (-o catalog=postgresql://...): what it does besides what every mount
 * does.
 *
 * THE MANIFESTS LEASE
 *
 *   One mount at a time writes checksum.txt files and MHL generations:
 *   the holder of the catalog's "manifests" lease, a session lock that a
 *   host which dies (kill -9, power) loses with its database session.
 *   Every mount asks for it each SHARED_ROUND_MS, so another takes over
 *   within about a second of the holder's end.
 *
 * WHAT CHANGED, AND WHAT THE MANIFESTS SAY
 *
 *   The catalog's state, as far as the manifests go, is summed up by one
 *   number that only grows: every row counted into or out of a tally
 *   (a landing, a refusal, a removal, a rename), every sealed folder and
 *   every sealed folder listed by a generation (shared_signature). The
 *   holder writes manifests whenever it moved, from any host, and then
 *   puts the number it wrote from as the catalog's "manifests" mark. A
 *   mount that does not hold the lease (namctl sync, seal) waits until
 *   the mark reaches the number it saw: the holder's manifests then
 *   include everything it asked about.
 *
 * FILES LEFT IN FLIGHT
 *
 *   Each mount holds a lease of its own ("mount:" and its owner tag, the
 *   one in its in-flight names). The holder of the manifests lease walks
 *   BACKING for in-flight files whose mount's lease is gone, and
 *   quarantines them as a crash's leftovers (as every mount does at its
 *   start): the host that died never saw them land. It walks when it
 *   takes the lease (the holder died) and every SWEEP_ROUNDS rounds (any
 *   other mount may have).
 *
 * THE SEQUENCE RULES
 *
 *   Each mount judges S1 and S3 against its own memory of what landed,
 *   which another host's landings do not reach. What those rules hang on
 *   is what an asset's first frame fixed (its properties) and what a
 *   title's first frame fixed (its numbering): the first host to land
 *   one claims it in the catalog (catalog_claim), and every other host
 *   adopts the claim before it judges its own first frame of that asset
 *   or title. Two names for one frame (S5) are kept apart by the
 *   catalog's reservation (catalog_put_frame).
 *
 * SEALS
 *
 *   A folder sealed through any host is sealed on all of them: the
 *   sealed set is read again from the catalog before every change is
 *   allowed, and every round (sealing only adds). */
#include "stage_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Rounds between the lease holder's walks for files left in flight: one
 * walk of BACKING's names every 10 s, on one host. */
#define SWEEP_ROUNDS 10

static bool add_tally(void *ctx, const struct catalog_tally *t)
{
    *(int64_t *)ctx += (int64_t)t->changes;
    return true;
}

static bool add_sealed(void *ctx, const char *folder, int generation)
{
    (void)folder;
    *(int64_t *)ctx += 1 + (generation > 0);
    return true;
}

/* Model lock held. False when the catalog could not be read. */
static bool shared_signature(struct stage *s, int64_t *out)
{
    *out = 0;
    return catalog_each_tally(s->cat, add_tally, out) &&
           catalog_each_sealed(s->cat, add_sealed, out);
}

static bool remember_sealed(void *ctx, const char *folder, int generation)
{
    (void)generation;
    return sealed_add(&((struct stage *)ctx)->sealed, folder);
}

/* Model lock held. */
static void read_seals(struct stage *s)
{
    if (!catalog_each_sealed(s->cat, remember_sealed, s))
        stage_log(s, LOG_ERR, "reading sealed folders: %s", catalog_error(s->cat));
}

void stage_shared_seals(struct stage *s)
{
    pthread_mutex_lock(&s->model);
    read_seals(s);
    pthread_mutex_unlock(&s->model);
}

/* Model lock held. */
static void take_lease(struct stage *s)
{
    bool held = false;

    if (!catalog_lease(s->cat, "manifests", &held)) {
        stage_log(s, LOG_ERR, "the manifests lease: %s", catalog_error(s->cat));
        held = false;
    }
    if (held && !s->lease_held) {
        stage_log(s, LOG_NOTICE,
                  "this mount writes the manifests now (it holds the catalog's manifests lease)");
        s->dirty = true;     /* whatever the last holder left unwritten */
        s->sweep_due = true; /* and what a mount that died left in flight */
    } else if (!held && s->lease_held) {
        stage_log(s, LOG_WARNING, "this mount lost the manifests lease; another writes them");
    }
    s->lease_held = held;
}

void stage_shared_round(struct stage *s)
{
    int64_t signature;

    if (!s->shared || stage_read_only(s))
        return;
    pthread_mutex_lock(&s->model);
    take_lease(s);
    if (shared_signature(s, &signature) && signature != s->signature_seen) {
        s->signature_seen = signature;
        if (s->lease_held) {
            s->dirty = true; /* another host's change: the quiet period starts over */
            clock_gettime(CLOCK_MONOTONIC, &s->last_change);
        }
    }
    read_seals(s);
    if (s->lease_held && ++s->rounds_since_sweep >= SWEEP_ROUNDS)
        s->sweep_due = true;
    bool sweep = s->sweep_due;
    s->sweep_due = false;
    if (sweep)
        s->rounds_since_sweep = 0;
    pthread_mutex_unlock(&s->model);
    if (sweep)
        stage_sweep_in_flight(s);
}

/* The claim standing under key (text: this frame's), in standing; false
 * when the catalog could not be asked (logged). Model lock held. */
static bool claimed(struct stage *s, const char *kind, const char *name, const char *landed_asset,
                    const char *text, char *standing, size_t len)
{
    char key[CATALOG_PATH_MAX + 16];

    snprintf(key, sizeof key, "%s:%s", kind, name);
    if (catalog_claim(s->cat, key, landed_asset, text, standing, len))
        return true;
    stage_log(s, LOG_ERR, "%s %s: what its first frame fixed: %s", kind, name,
              catalog_error(s->cat));
    return false;
}

void stage_shared_sequence(struct stage *s, const struct frame_name *name,
                           const struct frame_info *info)
{
    bool asset, title;
    struct frame_props mine, theirs;
    int exact, at_most, their_exact = -1, their_most = 0;
    char text[512], standing[512];

    if (!s->shared || seqset_knows(s->seq, name, &asset, &title))
        return;
    seqset_first_of(name, info, &mine, &exact, &at_most);
    frame_props_encode(&mine, text, sizeof text);
    bool adopt_props =
        !asset && claimed(s, "asset", name->asset, name->asset, text, standing, sizeof standing) &&
        strcmp(standing, text) != 0 && frame_props_decode(standing, &theirs);
    snprintf(text, sizeof text, "%d %d", exact, at_most);
    if (!title && claimed(s, "title", name->title, NULL, text, standing, sizeof standing) &&
        strcmp(standing, text) != 0 && sscanf(standing, "%d %d", &their_exact, &their_most) != 2)
        their_exact = -1;
    if (!seqset_adopt(s->seq, name, adopt_props ? &theirs : NULL, their_exact, their_most))
        stage_log(s, LOG_ERR, "%s: out of memory", name->asset);
}

/* Asked again right before writing: a mount back from an outage may have
 * lost the lease to another without a round seeing it yet. */
bool stage_writes_manifests(struct stage *s)
{
    if (s->shared)
        take_lease(s);
    return !s->shared || s->lease_held;
}

bool stage_shared_signature(struct stage *s, int64_t *out)
{
    return !s->shared || shared_signature(s, out);
}

void stage_shared_written(struct stage *s, int64_t signature)
{
    if (s->shared && !catalog_put_mark(s->cat, "manifests", signature))
        stage_log(s, LOG_ERR, "recording the manifests written: %s", catalog_error(s->cat));
}

int stage_shared_sync(struct stage *s)
{
    int64_t wanted = 0, written = 0;

    pthread_mutex_lock(&s->model);
    bool ok = shared_signature(s, &wanted);
    pthread_mutex_unlock(&s->model);
    for (int waited_ms = 0; ok; waited_ms += 100) {
        stage_shared_round(s);
        pthread_mutex_lock(&s->model);
        bool holder = s->lease_held;
        ok = holder || catalog_get_mark(s->cat, "manifests", &written);
        pthread_mutex_unlock(&s->model);
        if (holder)
            return 1; /* this mount writes them: the caller's checkpoint does */
        if (ok && written >= wanted)
            return 0;
        if (stage_read_only(s))
            return -EROFS;
        if (waited_ms >= 60000)
            return -EAGAIN;
        nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    stage_log(s, LOG_ERR, "waiting for the manifests: %s", catalog_error(s->cat));
    return -EIO;
}
