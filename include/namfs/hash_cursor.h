/* Hashing a file as it is written, in whatever order the writer chooses.
 * Writes that continue the hashed prefix are hashed at once; anything
 * else is left to a catch-up read at the end, of only what the stream
 * missed, or of the whole file once an already-hashed byte changed. */
#ifndef NAMFS_HASH_CURSOR_H
#define NAMFS_HASH_CURSOR_H

#include "namfs/hash.h"

struct hash_cursor {
    struct hasher *hasher;
    uint64_t hashed_to; /* bytes [0, hashed_to) are in the hasher */
    bool rewritten;     /* a hashed byte was written again or cut off */
    uint64_t held_from; /* nothing from here on is hashed as it comes (0: no hold) */
};

void hash_cursor_init(struct hash_cursor *c, struct hasher *h);

/* Records a write of len bytes at off (buf holds them). */
void hash_cursor_write(struct hash_cursor *c, uint64_t off, const void *buf, size_t len);

/* Hashes nothing at or beyond at until the end: for a region the writer
 * will fill in later (OpenEXR's zeroed offset table), so it is hashed
 * once, at the end, instead of streamed and then all read again. Ignored
 * when bytes beyond at are hashed already. */
void hash_cursor_hold(struct hash_cursor *c, uint64_t at);

/* Records a truncate or extend to size. */
void hash_cursor_truncate(struct hash_cursor *c, uint64_t size);

/* Reads from fd what the stream missed (to its end), and finalises into
 * out. Returns the bytes it had to read, or -1 with errno set. The
 * cursor starts over afterwards. */
int64_t hash_cursor_finish(struct hash_cursor *c, int fd, struct digests *out);

#endif
