/* File digests for manifests: XXH3-128 (the default), XXH64, XXH3-64
 * (libxxhash), MD5, SHA-1 and C4 (SHA-512 in base58; libcrypto), as
 * lowercase text exactly as xxhsum, md5sum and the ASC MHL write them. */
#ifndef NAMFS_HASH_H
#define NAMFS_HASH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ASC MHL names (SPEC.md). checksum.txt labels xxh64 "xxh64be". */
enum hash_algo {
    HASH_XXH128 = 0,
    HASH_XXH64,
    HASH_XXH3,
    HASH_MD5,
    HASH_SHA1,
    HASH_C4,
    HASH_ALGO_COUNT
};

#define HASH_BIT(algo) (1u << (algo))
#define HASH_TEXT_MAX 91 /* C4: "c4" + 88 base58 digits, NUL */

struct digests {
    uint32_t present; /* HASH_BIT(algo) set = text[algo] filled */
    char text[HASH_ALGO_COUNT][HASH_TEXT_MAX];
};

const char *hash_algo_name(enum hash_algo algo);

/* a and b share at least one format and agree in every one they share
 * (hex compared in any case): the same bytes. */
bool digests_agree(const struct digests *a, const struct digests *b);

/* A streaming digest of one byte stream in any set of algorithms. */
struct hasher;

struct hasher *hasher_new(uint32_t algos); /* NULL when out of memory */
void hasher_reset(struct hasher *h);
void hasher_update(struct hasher *h, const void *buf, size_t len);
void hasher_final(struct hasher *h, struct digests *out); /* the hasher is reset after */
void hasher_free(struct hasher *h);

/* Feeds the bytes of fd from offset `from` to its end, in large reads,
 * adding each read's size to *progress when it is set. Returns the bytes
 * read, or -1 with errno set. */
int64_t hasher_read_fd(struct hasher *h, int fd, uint64_t from, atomic_uint_fast64_t *progress);

/* C4 id text of a SHA-512 digest. */
void hash_c4_text(const uint8_t sha512[64], char out[HASH_TEXT_MAX]);

#endif
