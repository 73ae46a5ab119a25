/* A set of frame numbers: open addressing on uint64, because render farms
 * add frames in any order and a sorted array would be rewritten on every
 * out-of-order insert. */
#include "frameset.h"

#include <stdlib.h>

#define EMPTY UINT64_MAX /* frame numbers are at most 18 digits, never this */

static size_t slot_of(uint64_t frame, size_t cap)
{
    frame ^= frame >> 33;
    frame *= 0xff51afd7ed558ccdULL;
    frame ^= frame >> 33;
    return (size_t)frame & (cap - 1);
}

static bool grow(struct frameset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    uint64_t *slots = malloc(cap * sizeof *slots);

    if (!slots)
        return false;
    for (size_t i = 0; i < cap; i++)
        slots[i] = EMPTY;
    for (size_t i = 0; i < s->cap; i++) {
        if (s->slots[i] == EMPTY)
            continue;
        size_t j = slot_of(s->slots[i], cap);
        while (slots[j] != EMPTY)
            j = (j + 1) & (cap - 1);
        slots[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    return true;
}

bool frameset_contains(const struct frameset *s, uint64_t frame)
{
    if (!s->cap)
        return false;
    for (size_t j = slot_of(frame, s->cap); s->slots[j] != EMPTY; j = (j + 1) & (s->cap - 1))
        if (s->slots[j] == frame)
            return true;
    return false;
}

bool frameset_add(struct frameset *s, uint64_t frame)
{
    if ((s->count + 1) * 2 > s->cap && !grow(s))
        return false;
    size_t j = slot_of(frame, s->cap);
    while (s->slots[j] != EMPTY && s->slots[j] != frame)
        j = (j + 1) & (s->cap - 1);
    if (s->slots[j] == EMPTY) {
        s->slots[j] = frame;
        s->count++;
        if (s->count == 1 || frame < s->min)
            s->min = frame;
        if (s->count == 1 || frame > s->max)
            s->max = frame;
    }
    return true;
}

/* Backward-shift deletion: later entries of the probe run move up, so
 * lookups never stop early at the hole. */
void frameset_remove(struct frameset *s, uint64_t frame)
{
    if (!s->cap)
        return;
    size_t j = slot_of(frame, s->cap);
    while (s->slots[j] != EMPTY && s->slots[j] != frame)
        j = (j + 1) & (s->cap - 1);
    if (s->slots[j] == EMPTY)
        return;
    s->slots[j] = EMPTY;
    s->count--;
    for (size_t k = (j + 1) & (s->cap - 1); s->slots[k] != EMPTY; k = (k + 1) & (s->cap - 1)) {
        size_t home = slot_of(s->slots[k], s->cap);
        /* move k into the hole j unless its home lies cyclically in (j, k] */
        bool stays = j < k ? (home > j && home <= k) : (home > j || home <= k);
        if (!stays) {
            s->slots[j] = s->slots[k];
            s->slots[k] = EMPTY;
            j = k;
        }
    }
    if (s->count && (frame == s->min || frame == s->max)) {
        bool first = true;
        for (size_t i = 0; i < s->cap; i++) {
            if (s->slots[i] == EMPTY)
                continue;
            if (first || s->slots[i] < s->min)
                s->min = s->slots[i];
            if (first || s->slots[i] > s->max)
                s->max = s->slots[i];
            first = false;
        }
    }
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t *frameset_sorted(const struct frameset *s)
{
    uint64_t *out = malloc((s->count ? s->count : 1) * sizeof *out);
    size_t n = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i] != EMPTY)
            out[n++] = s->slots[i];
    qsort(out, n, sizeof *out, compare_u64);
    return out;
}

void frameset_free(struct frameset *s)
{
    free(s->slots);
    s->slots = NULL;
    s->cap = s->count = 0;
}
