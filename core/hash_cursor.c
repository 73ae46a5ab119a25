#include "namfs/hash_cursor.h"

#include <sys/stat.h>

void hash_cursor_init(struct hash_cursor *c, struct hasher *h)
{
    c->hasher = h;
    c->hashed_to = 0;
    c->rewritten = false;
    c->held_from = 0;
    hasher_reset(h);
}

void hash_cursor_write(struct hash_cursor *c, uint64_t off, const void *buf, size_t len)
{
    if (c->rewritten || len == 0)
        return;
    if (off < c->hashed_to) {
        c->rewritten = true; /* e.g. OpenEXR filling in its offset table */
        return;
    }
    if (off == c->hashed_to) {
        if (c->held_from && off + len > c->held_from)
            len = off < c->held_from ? (size_t)(c->held_from - off) : 0;
        hasher_update(c->hasher, buf, len);
        c->hashed_to += len;
    }
    /* off > hashed_to: out of order; caught up from the file at the end */
}

void hash_cursor_hold(struct hash_cursor *c, uint64_t at)
{
    if (at >= c->hashed_to)
        c->held_from = at;
}

void hash_cursor_truncate(struct hash_cursor *c, uint64_t size)
{
    if (size < c->hashed_to)
        c->rewritten = true;
}

int64_t hash_cursor_finish(struct hash_cursor *c, int fd, struct digests *out)
{
    struct stat st;

    /* a shrink nobody reported still invalidates the hashed prefix */
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < c->hashed_to)
        c->rewritten = true;
    if (c->rewritten) {
        hasher_reset(c->hasher);
        c->hashed_to = 0;
    }
    int64_t read = hasher_read_fd(c->hasher, fd, c->hashed_to, NULL);
    if (read >= 0)
        hasher_final(c->hasher, out);
    hash_cursor_init(c, c->hasher);
    return read;
}
