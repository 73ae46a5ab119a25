/* Digests through libxxhash and libcrypto (EVP). XXH3-64 and XXH3-128
 * share one streaming state: the library accumulates both the same way
 * and differs only at digest time, so asking for both costs one pass. */
#include "namfs/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <xxhash.h>

#define READ_CHUNK (1u << 20)

struct hasher {
    uint32_t algos;
    XXH3_state_t *xxh3; /* xxh128 and xxh3 */
    XXH64_state_t *xxh64;
    EVP_MD_CTX *evp[3]; /* md5, sha1, sha512 for c4 */
};

static const char *const names[HASH_ALGO_COUNT] = {"xxh128", "xxh64", "xxh3", "md5", "sha1", "c4"};

const char *hash_algo_name(enum hash_algo algo)
{
    return (unsigned)algo < HASH_ALGO_COUNT ? names[algo] : "?";
}

static const EVP_MD *evp_md(int i)
{
    return i == 0 ? EVP_md5() : i == 1 ? EVP_sha1() : EVP_sha512();
}

static bool wants_evp(uint32_t algos, int i)
{
    static const enum hash_algo evp_algos[3] = {HASH_MD5, HASH_SHA1, HASH_C4};
    return algos & HASH_BIT(evp_algos[i]);
}

void hasher_reset(struct hasher *h)
{
    if (h->xxh3)
        XXH3_128bits_reset(h->xxh3);
    if (h->xxh64)
        XXH64_reset(h->xxh64, 0);
    for (int i = 0; i < 3; i++)
        if (h->evp[i])
            EVP_DigestInit_ex(h->evp[i], evp_md(i), NULL);
}

struct hasher *hasher_new(uint32_t algos)
{
    struct hasher *h = calloc(1, sizeof *h);
    bool ok = h != NULL;

    if (!ok)
        return NULL;
    h->algos = algos;
    if (algos & (HASH_BIT(HASH_XXH128) | HASH_BIT(HASH_XXH3)))
        ok = (h->xxh3 = XXH3_createState()) != NULL;
    if (ok && (algos & HASH_BIT(HASH_XXH64)))
        ok = (h->xxh64 = XXH64_createState()) != NULL;
    for (int i = 0; ok && i < 3; i++)
        if (wants_evp(algos, i))
            ok = (h->evp[i] = EVP_MD_CTX_new()) != NULL;
    if (!ok) {
        hasher_free(h);
        return NULL;
    }
    hasher_reset(h);
    return h;
}

void hasher_free(struct hasher *h)
{
    if (!h)
        return;
    XXH3_freeState(h->xxh3);
    XXH64_freeState(h->xxh64);
    for (int i = 0; i < 3; i++)
        EVP_MD_CTX_free(h->evp[i]);
    free(h);
}

void hasher_update(struct hasher *h, const void *buf, size_t len)
{
    if (h->xxh3)
        XXH3_128bits_update(h->xxh3, buf, len);
    if (h->xxh64)
        XXH64_update(h->xxh64, buf, len);
    for (int i = 0; i < 3; i++)
        if (h->evp[i])
            EVP_DigestUpdate(h->evp[i], buf, len);
}

static void hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/* C4 (SMPTE ST 2114): the SHA-512 digest as one big-endian number in
 * base58, left-padded with '1' to 88 digits, prefixed "c4". */
void hash_c4_text(const uint8_t sha512[64], char out[HASH_TEXT_MAX])
{
    static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    uint8_t n[64];
    char digits[88];

    memcpy(n, sha512, sizeof n);
    for (int d = 87; d >= 0; d--) { /* divide the 512-bit number by 58, 88 times */
        unsigned rem = 0;
        for (int i = 0; i < 64; i++) {
            unsigned cur = rem << 8 | n[i];
            n[i] = (uint8_t)(cur / 58);
            rem = cur % 58;
        }
        digits[d] = alphabet[rem];
    }
    out[0] = 'c';
    out[1] = '4';
    memcpy(out + 2, digits, sizeof digits);
    out[90] = '\0';
}

static void final_xxh(struct hasher *h, struct digests *out)
{
    if (h->algos & HASH_BIT(HASH_XXH128)) {
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h->xxh3));
        hex(c.digest, sizeof c.digest, out->text[HASH_XXH128]);
    }
    if (h->algos & HASH_BIT(HASH_XXH3)) {
        XXH64_canonical_t c;
        XXH64_canonicalFromHash(&c, XXH3_64bits_digest(h->xxh3));
        hex(c.digest, sizeof c.digest, out->text[HASH_XXH3]);
    }
    if (h->algos & HASH_BIT(HASH_XXH64)) {
        XXH64_canonical_t c;
        XXH64_canonicalFromHash(&c, XXH64_digest(h->xxh64));
        hex(c.digest, sizeof c.digest, out->text[HASH_XXH64]);
    }
}

void hasher_final(struct hasher *h, struct digests *out)
{
    static const enum hash_algo evp_algos[3] = {HASH_MD5, HASH_SHA1, HASH_C4};
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned len;

    memset(out, 0, sizeof *out);
    out->present = h->algos;
    final_xxh(h, out);
    for (int i = 0; i < 3; i++) {
        if (!h->evp[i] || !EVP_DigestFinal_ex(h->evp[i], md, &len))
            continue;
        if (evp_algos[i] == HASH_C4)
            hash_c4_text(md, out->text[HASH_C4]);
        else
            hex(md, len, out->text[evp_algos[i]]);
    }
    hasher_reset(h);
}

bool digests_agree(const struct digests *a, const struct digests *b)
{
    uint32_t shared = a->present & b->present;

    for (int x = 0; x < HASH_ALGO_COUNT; x++)
        if ((shared & HASH_BIT(x)) && strcasecmp(a->text[x], b->text[x]) != 0)
            return false;
    return shared != 0;
}

int64_t hasher_read_fd(struct hasher *h, int fd, uint64_t from, atomic_uint_fast64_t *progress)
{
    uint8_t *buf = malloc(READ_CHUNK);
    int64_t total = 0;

    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    posix_fadvise(fd, (off_t)from, 0, POSIX_FADV_SEQUENTIAL);
    for (;;) {
        ssize_t n = pread(fd, buf, READ_CHUNK, (off_t)(from + (uint64_t)total));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            return n < 0 ? -1 : total;
        }
        hasher_update(h, buf, (size_t)n);
        total += n;
        if (progress)
            atomic_fetch_add(progress, (uint64_t)n);
    }
}
