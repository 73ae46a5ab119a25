#include "namfs/verify.h"

#include "namfs/ignore.h"
#include "namfs/manifest.h"
#include "namfs/mhl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* One line of a checksum.txt, with the folder prepended to its name. */
struct checksum_entry {
    char *path;
    const char *source; /* the checksum.txt it came from */
    uint64_t size;
    enum hash_algo algo;
    char digest[HASH_TEXT_MAX];
};

struct expectations {
    struct mhl_history mhl;
    struct ignore_spec *ignore;     /* the newest generation's patterns */
    char root[4096];                /* the delivery's absolute path, as the patterns see it */
    char generation[600];           /* the newest generation, "" without an MHL history */
    struct checksum_entry *entries; /* sorted by path */
    size_t count;
    char **sources;
    size_t source_count;
    uint32_t algos;
};

const char *verify_problem_name(enum verify_problem problem)
{
    static const char *const names[] = {"missing", "extra", "size changed", "hash changed"};
    return names[problem];
}

static bool label_algo(const char *label, enum hash_algo *algo)
{
    static const enum hash_algo algos[] = {HASH_XXH128, HASH_XXH64, HASH_MD5};
    for (size_t i = 0; i < 3; i++)
        if (strcmp(label, checksum_label(algos[i])) == 0) {
            *algo = algos[i];
            return true;
        }
    return false;
}

static bool parse_line(struct expectations *e, const char *source, const char *dir, char *line,
                       char *err, size_t err_len, int lineno)
{
    char *fields[4], *save = NULL;
    int n = 0;

    for (char *f = strtok_r(line, "\t", &save); f && n < 4; f = strtok_r(NULL, "\t", &save))
        fields[n++] = f;
    struct checksum_entry c = {.source = source};
    char *end = NULL;
    if (n == 4)
        c.size = strtoull(fields[1], &end, 10);
    if (n != 4 || !label_algo(fields[2], &c.algo) || end == fields[1] || *end) {
        snprintf(err, err_len, "%s:%d: expected <name>\\t<size>\\t<xxh128|xxh64be|md5>\\t<hex>",
                 source, lineno);
        return false;
    }
    snprintf(c.digest, sizeof c.digest, "%s", fields[3]);
    size_t len = strlen(dir) + strlen(fields[0]) + 2;
    c.path = malloc(len);
    struct checksum_entry *grown = realloc(e->entries, (e->count + 1) * sizeof *grown);
    if (!c.path || !grown) {
        free(c.path);
        snprintf(err, err_len, "out of memory reading %s", source);
        return false;
    }
    snprintf(c.path, len, "%s%s%s", dir, *dir ? "/" : "", fields[0]);
    e->entries = grown;
    e->entries[e->count++] = c;
    e->algos |= HASH_BIT(c.algo);
    return true;
}

static bool load_checksum(struct expectations *e, int root_fd, const char *path, char *err,
                          size_t err_len)
{
    char dir[CATALOG_PATH_MAX], line[CATALOG_PATH_MAX + 200];
    const char *slash = strrchr(path, '/');
    int fd = openat(root_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    char **grown = realloc(e->sources, (e->source_count + 1) * sizeof *grown);
    bool ok = f && grown;

    if (grown)
        e->sources = grown;
    if (!ok || !(e->sources[e->source_count] = strdup(path))) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno ? errno : ENOMEM));
        if (f)
            fclose(f);
        else if (fd >= 0)
            close(fd);
        return false;
    }
    const char *source = e->sources[e->source_count++];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 0, path);
    for (int lineno = 1; ok && fgets(line, sizeof line, f); lineno++) {
        line[strcspn(line, "\r\n")] = '\0'; /* CRLF from an editor too */
        if (line[0])
            ok = parse_line(e, source, dir, line, err, err_len, lineno);
    }
    fclose(f);
    return ok;
}

static int compare_entries(const void *a, const void *b)
{
    return strcmp(((const struct checksum_entry *)a)->path,
                  ((const struct checksum_entry *)b)->path);
}

static bool is_checksum_file(const char *path)
{
    const char *slash = strrchr(path, '/');
    return strcmp(slash ? slash + 1 : path, CHECKSUM_NAME) == 0;
}

struct expectations *verify_load(int root_fd, const char *root_abs, const char *const *paths,
                                 size_t count, char *err, size_t err_len)
{
    struct expectations *e = calloc(1, sizeof *e);
    bool ok = e != NULL && mhl_check_chain(root_fd, err, err_len) &&
              mhl_read_history(root_fd, &e->mhl, err, err_len);

    /* the reference tool's own list when the newest generation has none */
    static const char *const tool_defaults[] = {".DS_Store", MHL_FOLDER, MHL_FOLDER "/"};
    for (size_t i = 0; ok && !e->mhl.patterns.count && e->mhl.sequence && i < 3; i++)
        ok = strlist_add(&e->mhl.patterns, tool_defaults[i]);
    if (ok) {
        snprintf(e->root, sizeof e->root, "%s", root_abs);
        ok = (e->ignore = ignore_compile(&e->mhl.patterns, err, err_len)) != NULL;
    }
    if (ok && e->mhl.sequence)
        snprintf(e->generation, sizeof e->generation, "%s/%s", MHL_FOLDER, e->mhl.newest);
    for (size_t i = 0; ok && i < e->mhl.files.count; i++)
        e->algos |= e->mhl.files.items[i].truth.present;
    for (size_t i = 0; ok && i < count; i++)
        if (is_checksum_file(paths[i]))
            ok = load_checksum(e, root_fd, paths[i], err, err_len);
    if (ok && !e->generation[0] && !e->source_count) {
        snprintf(err, err_len, "no manifests to verify against: neither %s/ nor any %s", MHL_FOLDER,
                 CHECKSUM_NAME);
        ok = false;
    }
    if (!ok) {
        verify_free(e);
        return NULL;
    }
    if (e->count) /* qsort wants an array, even of none */
        qsort(e->entries, e->count, sizeof *e->entries, compare_entries);
    return e;
}

void verify_free(struct expectations *e)
{
    if (!e)
        return;
    mhl_history_free(&e->mhl);
    ignore_free(e->ignore);
    for (size_t i = 0; i < e->count; i++)
        free(e->entries[i].path);
    for (size_t i = 0; i < e->source_count; i++)
        free(e->sources[i]);
    free(e->entries);
    free(e->sources);
    free(e);
}

uint32_t verify_algos(const struct expectations *e)
{
    return e->algos;
}

const char *verify_generation(const struct expectations *e)
{
    return e->generation;
}

struct comparer {
    const struct expectations *e;
    verify_report_fn report;
    void *ctx;
    struct verify_counts counts;
};

static void issue(struct comparer *c, enum verify_problem problem, const char *path,
                  const char *source, const char *expected, const char *found)
{
    struct verify_issue i = {.problem = problem, .path = path, .source = source};

    snprintf(i.expected, sizeof i.expected, "%s", expected);
    snprintf(i.found, sizeof i.found, "%s", found);
    c->report(c->ctx, &i);
    c->counts.issues++;
}

/* As the reference tool asks: against the delivery's absolute path. */
static bool ignored(const struct expectations *e, const char *path)
{
    char abs[8300];

    snprintf(abs, sizeof abs, "%s/%s", e->root, path);
    return ignore_matches(e->ignore, abs);
}

static void compare_size(struct comparer *c, const struct hash_job *f, const char *source,
                         uint64_t size)
{
    char want[32], got[32];

    snprintf(want, sizeof want, "%llu bytes", (unsigned long long)size);
    snprintf(got, sizeof got, "%llu bytes", (unsigned long long)f->size);
    issue(c, VERIFY_SIZE, f->path, source, want, got);
}

/* Hand-edited manifests may carry uppercase hex; digests are numbers. */
static bool same_digest(const char *want, const char *got)
{
    return strcasecmp(want, got) == 0;
}

/* The history's truth for f: the first original of its path (or of the
 * path it was renamed from); never a failed record. */
static void against_mhl(struct comparer *c, const struct hash_job *f)
{
    if (!c->e->generation[0])
        return;
    if (ignored(c->e, f->path)) {
        c->counts.unsealed++;
        return;
    }
    const struct mhl_item *truth = mhl_truth_for(&c->e->mhl, f->path);
    if (!truth) {
        issue(c, VERIFY_EXTRA, f->path, c->e->generation, "listed (a file no seal recorded)",
              "present");
        return;
    }
    c->counts.sealed++;
    if (truth->size != f->size) {
        compare_size(c, f, truth->generation, truth->size);
        return;
    }
    for (int a = 0; a < HASH_ALGO_COUNT; a++)
        if ((truth->truth.present & HASH_BIT(a)) &&
            !same_digest(truth->truth.text[a], f->digests.text[a])) {
            const struct mhl_item *own = mhl_find(&c->e->mhl.files, f->path);
            char found[HASH_TEXT_MAX + 400];
            snprintf(found, sizeof found, "%s%s%s", f->digests.text[a],
                     own && own->failed_in ? "; recorded as failed in " : "",
                     own && own->failed_in ? own->failed_in : "");
            issue(c, VERIFY_HASH, f->path, truth->generation, truth->truth.text[a], found);
            return; /* one line per file, whichever digests disagree */
        }
}

static const char *checksum_in_folder(const struct expectations *e, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) : 0;

    for (size_t i = 0; i < e->source_count; i++) {
        const char *s = e->sources[i], *sslash = strrchr(s, '/');
        size_t s_len = sslash ? (size_t)(sslash - s) : 0;
        if (s_len == dir_len && strncmp(s, path, dir_len) == 0)
            return s;
    }
    return NULL;
}

static void against_checksums(struct comparer *c, const struct hash_job *f)
{
    struct checksum_entry key = {.path = (char *)f->path};
    const struct checksum_entry *entry =
        c->e->count ? bsearch(&key, c->e->entries, c->e->count, sizeof key, compare_entries) : NULL;
    const char *source = checksum_in_folder(c->e, f->path);

    if (entry && entry->size != f->size)
        compare_size(c, f, entry->source, entry->size);
    else if (entry && !same_digest(entry->digest, f->digests.text[entry->algo]))
        issue(c, VERIFY_HASH, f->path, entry->source, entry->digest, f->digests.text[entry->algo]);
    else if (!entry && source && !is_checksum_file(f->path))
        issue(c, VERIFY_EXTRA, f->path, source, "not listed", "present");
    c->counts.in_checksum += entry != NULL;
}

static int compare_job_path(const void *key, const void *job)
{
    return strcmp(key, ((const struct hash_job *)job)->path);
}

static bool on_disk(const struct hash_job *files, size_t count, const char *path)
{
    return count && bsearch(path, files, count, sizeof *files, compare_job_path) != NULL;
}

size_t verify_compare(const struct expectations *e, const struct hash_job *files, size_t count,
                      verify_report_fn report, void *ctx, struct verify_counts *counts)
{
    struct comparer c = {e, report, ctx, {0}};
    size_t expected_count = 0;
    const char **expected = mhl_expected_paths(&e->mhl, &expected_count);

    for (size_t i = 0; i < count; i++) {
        if (files[i].error)
            continue; /* the caller reports it; it is there, so not missing */
        against_mhl(&c, &files[i]);
        against_checksums(&c, &files[i]);
    }
    for (size_t i = 0; i < expected_count; i++) {
        const struct mhl_item *truth = mhl_truth_for(&e->mhl, expected[i]);
        if (truth && !on_disk(files, count, expected[i]) && !ignored(e, expected[i]))
            issue(&c, VERIFY_MISSING, expected[i], truth->generation, "present", "absent");
    }
    for (size_t i = 0; i < e->count; i++)
        if (!on_disk(files, count, e->entries[i].path))
            issue(&c, VERIFY_MISSING, e->entries[i].path, e->entries[i].source, "present",
                  "absent");
    free(expected);
    if (counts)
        *counts = c.counts;
    return c.counts.issues;
}
