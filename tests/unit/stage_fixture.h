/* The staging engine's test fixture, shared by test_stage.c and
 * test_reconcile.c: a temporary BACKING and state folder, the integration
 * suites' testing profile and asset folder, whole DPX frames, the engine's
 * log captured, and assertions on what BACKING holds. */
#ifndef NAMFS_TEST_STAGE_FIXTURE_H
#define NAMFS_TEST_STAGE_FIXTURE_H

#include "dpx_fixture.h"
#include "namfs/stage.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

/* The integration suites' asset folder (harness.py SEQ) and their testing
 * profile (harness.small_profile), which lowers the R1 floor to 64x32. */
#define SEQ "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32"
#define PROFILE_TEXT                                                                               \
    "[delivery]\nformats = dpx, exr\nresolution = any\n"                                           \
    "colour = camera-native\n[testing]\nresolution_floor = 64x32\n"

#define FRAME_MAX (FIXTURE_DPX_HEADER + 64 * 32 * 4 * 2) /* 64x32 RGBA 16-bit at most */
#define LOG_MAX (1 << 16)
#define PATH_LEN 512
#define DIGEST_LEN 64

struct frame {
    uint8_t bytes[FRAME_MAX];
    size_t len;
};

struct fixture {
    char dir[64];
    char backing[96];
    char state[96];
    struct profile profile;
    struct stage *stage;
    struct stage_caller who;
    pthread_mutex_t log_lock; /* the S5 race logs from two threads */
    size_t log_len;
    char log[LOG_MAX];
};

static inline void capture_log(void *ctx, int priority, const char *message)
{
    struct fixture *f = ctx;

    (void)priority;
    pthread_mutex_lock(&f->log_lock);
    int n = snprintf(f->log + f->log_len, sizeof f->log - f->log_len, "%s\n", message);
    if (n > 0)
        f->log_len +=
            (size_t)n < sizeof f->log - f->log_len ? (size_t)n : sizeof f->log - 1 - f->log_len;
    pthread_mutex_unlock(&f->log_lock);
}

static inline bool write_text(const char *path, const char *text)
{
    FILE *out = fopen(path, "w");
    bool ok = out && fputs(text, out) >= 0;
    return out && fclose(out) == 0 && ok;
}

/* A stage on the fixture's folders: a mount's start, before serving. */
static inline bool open_stage(struct fixture *f)
{
    char err[300];
    struct stage_config c = {.backing = f->backing,
                             .state_dir = f->state,
                             .profile = &f->profile,
                             .log = capture_log,
                             .log_ctx = f};

    f->stage = stage_new(&c, err, sizeof err);
    if (!f->stage)
        fprintf(stderr, "stage_new: %s\n", err);
    return f->stage != NULL;
}

static inline int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static inline int fixture_teardown(void **state)
{
    struct fixture *f = *state;

    stage_free(f->stage);
    int rc = nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    pthread_mutex_destroy(&f->log_lock);
    free(f);
    return rc;
}

/* tmp/delivery is BACKING, tmp/state the state folder, tmp/small.ini the
 * profile; the asset folder is made through the stage, as a mkdir would.
 * name tells the temporary folders of each suite apart. */
static inline int fixture_setup(void **state, const char *name)
{
    char profile_path[128], err[300] = "";
    struct fixture *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    *state = f;
    pthread_mutex_init(&f->log_lock, NULL);
    snprintf(f->dir, sizeof f->dir, "/tmp/namfs-%s-XXXXXX", name);
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->backing, sizeof f->backing, "%s/delivery", f->dir);
    snprintf(f->state, sizeof f->state, "%s/state", f->dir);
    snprintf(profile_path, sizeof profile_path, "%s/small.ini", f->dir);
    f->who = (struct stage_caller){getuid(), getgid(), getpid()};
    bool ok = mkdir(f->backing, 0755) == 0 && write_text(profile_path, PROFILE_TEXT) &&
              profile_load(profile_path, &f->profile, err, sizeof err) && open_stage(f) &&
              stage_mkdir(f->stage, "/" SEQ, 0755, &f->who) == 0;
    if (!ok) {
        fprintf(stderr, "setup: %s\n", err);
        fixture_teardown(state);
    }
    return ok ? 0 : -1;
}

/* A whole valid 64x32 16-bit log DPX (dpx_fixture.h) whose pixels depend
 * on seed, so two seeds give two frames of one size. */
static inline void make_frame(struct frame *fr, const struct dpx_spec *spec, uint32_t seed)
{
    make_dpx_header(fr->bytes, spec);
    fr->len = FIXTURE_DPX_HEADER + dpx_spec_data_bytes(spec);
    assert_true(fr->len <= sizeof fr->bytes);
    for (size_t i = FIXTURE_DPX_HEADER; i < fr->len; i++) {
        seed = seed * 1103515245u + 12345u;
        fr->bytes[i] = (uint8_t)(seed >> 16);
    }
}

static inline void good_frame(struct frame *fr, uint32_t seed)
{
    struct dpx_spec spec = dpx_spec_default();
    make_frame(fr, &spec, seed);
}

/* The mount's path of frame n of the asset, zero-padded to pad digits
 * (N4: the folder name, the number, the extension). */
static inline void frame_path(char *out, unsigned n, int pad)
{
    snprintf(out, PATH_LEN, "/" SEQ "/" SEQ ".%0*u.dpx", pad, n);
}

static inline void in_backing(const struct fixture *f, const char *path, char *out)
{
    snprintf(out, PATH_LEN, "%s%s", f->backing, path);
}

/* XXH3-128 as xxhsum -H2 prints it: the high half, then the low half,
 * big-endian hex (core/hash.c writes the canonical form). */
static inline void xxh128_text(const void *bytes, size_t len, char *out)
{
    XXH128_hash_t h = XXH3_128bits(bytes, len);
    snprintf(out, DIGEST_LEN, "%016" PRIx64 "%016" PRIx64, (uint64_t)h.high64, (uint64_t)h.low64);
}

static inline bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* A whole file read with stdio; "" when empty, NULL when absent. */
static inline char *slurp(const char *path)
{
    FILE *in = fopen(path, "r");
    char *text = NULL;
    size_t cap = 0;

    if (!in)
        return NULL;
    if (getdelim(&text, &cap, '\0', in) < 0) {
        free(text);
        text = strdup("");
    }
    fclose(in);
    return text;
}

static inline void assert_contains(const char *text, const char *needle)
{
    if (!text || !strstr(text, needle))
        fail_msg("expected '%s' in '%s'", needle, text ? text : "(nothing)");
}

/* Some line of the engine's log names both a and b. */
static inline void assert_logged(struct fixture *f, const char *a, const char *b)
{
    bool found = false;

    pthread_mutex_lock(&f->log_lock);
    for (const char *line = f->log; *line && !found;) {
        const char *end = strchrnul(line, '\n');
        size_t n = (size_t)(end - line);
        found = memmem(line, n, a, strlen(a)) && memmem(line, n, b, strlen(b));
        line = *end ? end + 1 : end;
    }
    pthread_mutex_unlock(&f->log_lock);
    if (!found)
        fail_msg("no log line names '%s' and '%s'; the log:\n%s", a, b, f->log);
}

static inline void assert_digest(struct fixture *f, const char *path, const char *expected)
{
    char digest[DIGEST_LEN];

    assert_int_equal(stage_digest_current(f->stage, path), 0);
    assert_true(stage_digest(f->stage, path, HASH_XXH128, digest, sizeof digest));
    assert_string_equal(digest, expected);
}

static inline char *checksum_txt(struct fixture *f)
{
    char path[PATH_LEN];

    snprintf(path, sizeof path, "%s/" SEQ "/checksum.txt", f->backing);
    return slurp(path);
}

#endif
