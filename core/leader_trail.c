/* Following an OpenEXR's chunk chain through its writes (leader_trail.h).
 *
 * States: idle (chunks_at 0: not an EXR, or not judged yet); following,
 * every chunk byte from chunks_at to written_to written in order and the
 * next leader due at next (possibly begun in partial); stopped, after a
 * write out of order: the leaders kept are those that end before every
 * chunk-area write since, so each is what the file holds. A leader
 * whose size is nonsense only sends next astray: the check finds no leader
 * at the offsets the table names and reads them from the file. */
#include "namfs/leader_trail.h"

#include <stdlib.h>
#include <string.h>

#define SEEN_MAX (1u << 20) /* leaders kept per file; a UHD frame has at most ~8,700 */

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

void leader_trail_reset(struct leader_trail *t)
{
    free(t->seen);
    memset(t, 0, sizeof *t);
}

void leader_trail_start(struct leader_trail *t, uint64_t chunks_at, bool tiled)
{
    leader_trail_reset(t);
    t->chunks_at = t->next = t->written_to = chunks_at;
    t->leader = tiled ? 20 : 8;
    t->following = true;
}

/* Keeps only the leaders that end before off: a write there may have
 * changed any after it. */
static void forget_from(struct leader_trail *t, uint64_t off)
{
    while (t->count && t->seen[t->count - 1].offset + t->leader > off)
        t->count--;
}

static void keep(struct leader_trail *t, uint64_t at, const uint8_t *bytes)
{
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        struct seen_leader *grown = cap <= SEEN_MAX ? realloc(t->seen, cap * sizeof *grown) : NULL;
        if (!grown) {
            t->following = false; /* the check reads the rest */
            return;
        }
        t->seen = grown;
        t->cap = cap;
    }
    struct seen_leader *s = &t->seen[t->count++];
    s->offset = at;
    memcpy(s->bytes, bytes, t->leader);
    t->next = at + t->leader + le32(bytes + t->leader - 4);
}

void leader_trail_write(struct leader_trail *t, const uint8_t *buf, size_t n, uint64_t off)
{
    uint64_t end = off + n, start = off > t->chunks_at ? off : t->chunks_at;

    if (!t->chunks_at || end <= t->chunks_at)
        return; /* the header or table, rewritten or not */
    if (!t->following || start != t->written_to) {
        t->following = false; /* out of order: the check reads what it lacks */
        forget_from(t, start);
        return;
    }
    while (t->following && t->next < end) {
        uint64_t at = t->next + t->partial_len; /* the leader's next byte */
        size_t take = t->leader - t->partial_len;
        if (take > end - at)
            take = (size_t)(end - at);
        memcpy(t->partial + t->partial_len, buf + (at - off), take);
        t->partial_len += take;
        if (t->partial_len < t->leader)
            break; /* the rest of it comes with the next write */
        t->partial_len = 0;
        keep(t, t->next, t->partial);
    }
    t->written_to = end;
}

void leader_trail_cut(struct leader_trail *t, uint64_t size)
{
    if (!t->chunks_at)
        return;
    forget_from(t, size);
    if (size <= t->chunks_at) { /* every chunk byte is to come again */
        t->next = t->written_to = t->chunks_at;
        t->partial_len = 0;
        t->count = 0;
        t->following = true;
    } else if (size < t->written_to) {
        t->following = false;
    }
}

void leader_trail_changed(struct leader_trail *t, uint64_t off)
{
    if (!t->chunks_at)
        return;
    t->following = false;
    forget_from(t, off);
}

const uint8_t *leader_trail_find(const struct leader_trail *t, uint64_t offset)
{
    size_t lo = 0, hi = t->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->seen[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->count && t->seen[lo].offset == offset ? t->seen[lo].bytes : NULL;
}
