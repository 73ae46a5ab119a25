/* Internal: a set of frame numbers with min and max. */
#ifndef NAMFS_CORE_FRAMESET_H
#define NAMFS_CORE_FRAMESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct frameset {
    uint64_t *slots;
    size_t cap, count;
    uint64_t min, max;
};

bool frameset_contains(const struct frameset *s, uint64_t frame);
bool frameset_add(struct frameset *s, uint64_t frame); /* false: out of memory */
void frameset_remove(struct frameset *s, uint64_t frame);
uint64_t *frameset_sorted(const struct frameset *s); /* malloc'd, count entries */
void frameset_free(struct frameset *s);

#endif
