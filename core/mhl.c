/* ASC MHL v2 (../shared/ascmhl): generation files and the chain file,
 * written with libxml2's xmlTextWriter and read with its xmlReader, so
 * escaping and encoding are the library's business, not string pasting. */
#include "namfs/manifest.h"

#include "namfs/text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MHL_NS "urn:ASC:MHL:v2.0"
#define CHAIN_NS "urn:ASC:MHL:DIRECTORY:v2.0"

/* Hash elements must appear in the schema's order. */
static const enum hash_algo schema_order[HASH_ALGO_COUNT] = {HASH_C4,     HASH_MD5,  HASH_SHA1,
                                                             HASH_XXH128, HASH_XXH3, HASH_XXH64};

/* Never part of the delivery: the history itself, and the hidden, system
 * and temp files SPEC.md N6 keeps out (gitignore syntax). */
static const char *const ignore_patterns[] = {
    "ascmhl", "ascmhl/", ".DS_Store", ".*",        "Thumbs.db", "desktop.ini", "*~",
    "*.swp",  "*.tmp",   "*.part",    "*.partial", "#*",        "~*",          "*.????????.temp.*"};

static void utc_text(int64_t seconds, char *out, size_t len)
{
    time_t t = (time_t)seconds;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static enum hash_algo algo_named(const char *name)
{
    for (int a = 0; a < HASH_ALGO_COUNT; a++)
        if (strcmp(name, hash_algo_name((enum hash_algo)a)) == 0)
            return (enum hash_algo)a;
    return HASH_ALGO_COUNT;
}

/* ---- reading ---- */

static int compare_items(const void *a, const void *b)
{
    return strcmp(((const struct mhl_item *)a)->path, ((const struct mhl_item *)b)->path);
}

static void sort_items(struct mhl_list *list)
{
    if (list->count) /* qsort wants an array, even of none */
        qsort(list->items, list->count, sizeof *list->items, compare_items);
}

const struct mhl_item *mhl_find(const struct mhl_list *list, const char *path)
{
    struct mhl_item key = {.path = (char *)path};
    return list->count ? bsearch(&key, list->items, list->count, sizeof key, compare_items) : NULL;
}

static void item_free(struct mhl_item *item)
{
    free(item->path);
    free(item->generation);
    memset(item, 0, sizeof *item);
}

static void list_free(struct mhl_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        item_free(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}

void mhl_history_free(struct mhl_history *h)
{
    list_free(&h->files);
    list_free(&h->gone);
}

/* Takes item over; false (item freed, list as it was) when it has no path
 * (a <hash> without <path>) or memory runs out. */
static bool push_item(struct mhl_list *list, struct mhl_item *item)
{
    struct mhl_item *grown =
        item->path ? realloc(list->items, (list->count + 1) * sizeof *grown) : NULL;
    if (!grown) {
        item_free(item);
        return false;
    }
    list->items = grown;
    list->items[list->count++] = *item;
    memset(item, 0, sizeof *item);
    return true;
}

/* Inside <hash>: <path size=..>text</path> and one element per digest. */
static void read_hash_child(xmlTextReaderPtr r, const char *name, struct mhl_item *item)
{
    char *text = (char *)xmlTextReaderReadString(r);
    enum hash_algo algo = algo_named(name);

    if (strcmp(name, "path") == 0) {
        char *size = (char *)xmlTextReaderGetAttribute(r, BAD_CAST "size");
        char *modified = (char *)xmlTextReaderGetAttribute(r, BAD_CAST "lastmodificationdate");
        item->size = size ? strtoull(size, NULL, 10) : 0;
        snprintf(item->modified, sizeof item->modified, "%s", modified ? modified : "");
        xmlFree(size);
        xmlFree(modified);
        free(item->path);
        item->path = strdup(text ? text : "");
    } else if (algo != HASH_ALGO_COUNT && text) {
        item->digests.present |= HASH_BIT(algo);
        snprintf(item->digests.text[algo], HASH_TEXT_MAX, "%s", text);
    }
    xmlFree(text);
}

/* gitignore syntax: a backslash takes the next character literally. */
static char *unescape_pattern(const char *pattern)
{
    char *out = malloc(strlen(pattern) + 1), *o = out;

    for (const char *p = pattern; out && *p; p++)
        *o++ = (*p == '\\' && p[1]) ? *++p : *p;
    if (out)
        *o = '\0';
    return out;
}

static bool has_wildcard(const char *pattern)
{
    for (const char *p = pattern; *p; p++) {
        if (*p == '\\' && p[1])
            p++;
        else if (strchr("*?[", *p))
            return true;
    }
    return false;
}

/* A root-anchored pattern without wildcards names one path: a file an
 * earlier generation listed that is gone (see mhl_history). */
static bool read_gone(const char *pattern, struct mhl_list *gone)
{
    if (pattern[0] != '/' || has_wildcard(pattern))
        return true;
    struct mhl_item item = {.path = unescape_pattern(pattern + 1)};
    return push_item(gone, &item);
}

struct generation_text {
    struct mhl_list files, gone;
};

static bool read_items(xmlTextReaderPtr r, struct generation_text *out)
{
    struct mhl_item item = {0};
    bool in_hash = false, ok = true;
    int rc;

    while (ok && (rc = xmlTextReaderRead(r)) == 1) {
        const char *name = (const char *)xmlTextReaderConstLocalName(r);
        int type = xmlTextReaderNodeType(r);
        if (type == XML_READER_TYPE_ELEMENT && strcmp(name, "hash") == 0)
            in_hash = true;
        else if (type == XML_READER_TYPE_END_ELEMENT && strcmp(name, "hash") == 0) {
            in_hash = false;
            ok = push_item(&out->files, &item);
        } else if (type == XML_READER_TYPE_ELEMENT && in_hash)
            read_hash_child(r, name, &item);
        else if (type == XML_READER_TYPE_ELEMENT && strcmp(name, "pattern") == 0) {
            char *text = (char *)xmlTextReaderReadString(r);
            ok = text && read_gone(text, &out->gone);
            xmlFree(text);
        }
    }
    item_free(&item);
    return ok && rc == 0;
}

static bool read_generation(int root_fd, const char *file, struct generation_text *out, char *err,
                            size_t err_len)
{
    char path[600];

    memset(out, 0, sizeof *out);
    snprintf(path, sizeof path, "%s/%s", MHL_FOLDER, file);
    int fd = openat(root_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    xmlTextReaderPtr r =
        fd >= 0 ? xmlReaderForFd(fd, path, NULL,
                                 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                : NULL;
    bool ok = r && read_items(r, out);
    xmlFreeTextReader(r);
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; ok && i < out->files.count; i++)
        ok = (out->files.items[i].generation = strdup(path)) != NULL;
    if (!ok) {
        snprintf(err, err_len, "%s: %s", path, fd < 0 ? strerror(errno) : "not a readable MHL");
        list_free(&out->files);
        list_free(&out->gone);
        return false;
    }
    sort_items(&out->files);
    sort_items(&out->gone);
    return true;
}

/* "0007_..." -> 7; 0 for names that are not generation files. */
static int sequence_of(const char *name)
{
    size_t digits = strspn(name, "0123456789");
    size_t len = strlen(name);

    if (digits < 4 || name[digits] != '_' || len < 4 || strcmp(name + len - 4, ".mhl") != 0)
        return 0;
    return atoi(name);
}

struct generation_file {
    int sequence;
    char name[256];
};

static int compare_sequence(const void *a, const void *b)
{
    return ((const struct generation_file *)a)->sequence -
           ((const struct generation_file *)b)->sequence;
}

/* The generation files of ascmhl/, oldest first; *count 0 without any. */
static bool list_generations(int root_fd, struct generation_file **out, size_t *count)
{
    int fd = openat(root_fd, MHL_FOLDER, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    bool ok = true;

    *out = NULL;
    *count = 0;
    if (!dir) {
        int error = errno;
        if (fd >= 0)
            close(fd);
        errno = error;
        return error == ENOENT;
    }
    while (ok && (e = readdir(dir))) {
        int seq = sequence_of(e->d_name);
        if (seq <= 0 || strlen(e->d_name) >= sizeof(*out)->name)
            continue;
        struct generation_file *grown = realloc(*out, (*count + 1) * sizeof *grown);
        ok = grown != NULL;
        if (ok) {
            *out = grown;
            grown[*count].sequence = seq;
            snprintf(grown[(*count)++].name, sizeof grown->name, "%s", e->d_name);
        }
    }
    closedir(dir);
    if (ok && *count) /* qsort wants an array, even of none */
        qsort(*out, *count, sizeof **out, compare_sequence);
    return ok;
}

/* files := files with newer's records replacing theirs (both sorted);
 * newer is emptied. */
static bool merge_newer(struct mhl_list *files, struct mhl_list *newer)
{
    size_t i = 0, j = 0, n = 0;
    struct mhl_item *merged = malloc((files->count + newer->count + 1) * sizeof *merged);

    if (!merged)
        return false;
    while (i < files->count || j < newer->count) {
        int order = i == files->count   ? 1
                    : j == newer->count ? -1
                                        : strcmp(files->items[i].path, newer->items[j].path);
        if (order == 0)
            item_free(&files->items[i++]);
        merged[n++] = order < 0 ? files->items[i++] : newer->items[j++];
    }
    free(files->items);
    free(newer->items);
    files->items = merged;
    files->count = n;
    memset(newer, 0, sizeof *newer);
    return true;
}

/* Drops from files every path in gone (both sorted). */
static void drop_gone(struct mhl_list *files, const struct mhl_list *gone)
{
    size_t kept = 0;

    for (size_t i = 0; i < files->count; i++) {
        if (mhl_find(gone, files->items[i].path))
            item_free(&files->items[i]);
        else
            files->items[kept++] = files->items[i];
    }
    files->count = kept;
}

bool mhl_read_history(int root_fd, struct mhl_history *out, char *err, size_t err_len)
{
    struct generation_file *gens;
    size_t count;
    bool ok;

    memset(out, 0, sizeof *out);
    if (!list_generations(root_fd, &gens, &count)) {
        snprintf(err, err_len, "%s: %s", MHL_FOLDER, strerror(errno));
        return false;
    }
    ok = true;
    for (size_t i = 0; ok && i < count; i++) {
        struct generation_text g;
        ok = read_generation(root_fd, gens[i].name, &g, err, err_len);
        if (ok && !merge_newer(&out->files, &g.files)) {
            snprintf(err, err_len, "%s", strerror(ENOMEM));
            ok = false;
        }
        list_free(&g.files);
        list_free(&out->gone); /* only the newest generation's count */
        out->gone = g.gone;
    }
    if (ok && count) {
        drop_gone(&out->files, &out->gone);
        out->sequence = gens[count - 1].sequence;
        snprintf(out->newest, sizeof out->newest, "%s", gens[count - 1].name);
    }
    free(gens);
    if (!ok)
        mhl_history_free(out);
    return ok;
}

/* ---- writing ---- */

struct writer {
    xmlBufferPtr buf;
    xmlTextWriterPtr w;
    bool ok;
};

static bool writer_start(struct writer *x)
{
    x->buf = xmlBufferCreate();
    x->w = x->buf ? xmlNewTextWriterMemory(x->buf, 0) : NULL;
    x->ok = x->w && xmlTextWriterSetIndent(x->w, 1) >= 0 &&
            xmlTextWriterSetIndentString(x->w, BAD_CAST "  ") >= 0 &&
            xmlTextWriterStartDocument(x->w, NULL, "UTF-8", NULL) >= 0;
    return x->ok;
}

static void start(struct writer *x, const char *name)
{
    x->ok = x->ok && xmlTextWriterStartElement(x->w, BAD_CAST name) >= 0;
}

static void end(struct writer *x)
{
    x->ok = x->ok && xmlTextWriterEndElement(x->w) >= 0;
}

static void attribute(struct writer *x, const char *name, const char *value)
{
    x->ok = x->ok && xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value) >= 0;
}

static void element(struct writer *x, const char *name, const char *text)
{
    x->ok = x->ok && xmlTextWriterWriteElement(x->w, BAD_CAST name, BAD_CAST text) >= 0;
}

/* Ends the document and hands back the bytes (valid until writer_free). */
static bool writer_finish(struct writer *x)
{
    x->ok = x->ok && xmlTextWriterEndDocument(x->w) >= 0;
    xmlFreeTextWriter(x->w); /* flushes into buf */
    x->w = NULL;
    return x->ok;
}

static void writer_free(struct writer *x)
{
    xmlFreeTextWriter(x->w);
    xmlBufferFree(x->buf);
}

/* gitignore syntax: wildcards, escapes, comments, negation and spaces
 * taken literally. */
static void write_exact_pattern(struct writer *x, const char *path)
{
    size_t len = strlen(path);
    char *pattern = malloc(2 * len + 2), *o = pattern;

    if (!pattern) {
        x->ok = false;
        return;
    }
    *o++ = '/'; /* anchored at the root */
    for (const char *p = path; *p; p++) {
        if (strchr("\\*?[]!# ", *p))
            *o++ = '\\';
        *o++ = *p;
    }
    *o = '\0';
    element(x, "pattern", pattern);
    free(pattern);
}

static void write_header(struct writer *x, int64_t now, const struct mhl_list *gone)
{
    char date[32], host[256] = "localhost";

    utc_text(now, date, sizeof date);
    gethostname(host, sizeof host - 1);
    start(x, "hashlist");
    attribute(x, "version", "2.0");
    attribute(x, "xmlns", MHL_NS);
    start(x, "creatorinfo");
    element(x, "creationdate", date);
    element(x, "hostname", host);
    start(x, "tool");
    attribute(x, "version", NAMFS_VERSION);
    x->ok = x->ok && xmlTextWriterWriteString(x->w, BAD_CAST "namfs") >= 0;
    end(x);
    end(x);
    start(x, "processinfo");
    element(x, "process", "in-place");
    start(x, "ignore");
    for (size_t i = 0; i < sizeof ignore_patterns / sizeof ignore_patterns[0]; i++)
        element(x, "pattern", ignore_patterns[i]);
    for (size_t i = 0; i < gone->count; i++)
        write_exact_pattern(x, gone->items[i].path);
    end(x);
    end(x);
}

struct generation {
    struct writer x;
    const struct mhl_history *history;
    struct mhl_list gone; /* files of the history no longer landed */
    uint32_t algos;
    bool changes_only;
    size_t files;
    char err[300];
};

/* A changed digest is a failed verification to namctl manifest, which
 * checks files it did not see written; the mount saw the new bytes come
 * in through it, so to its generations they are a new original. */
static const char *action_for(const struct mhl_item *before, enum hash_algo algo, const char *now,
                              bool seen_written)
{
    if (!before || !(before->digests.present & HASH_BIT(algo)))
        return "original";
    if (strcmp(before->digests.text[algo], now) == 0)
        return "verified";
    return seen_written ? "original" : "failed";
}

/* The history already records f as it is, in every format asked for. */
static bool recorded(const struct mhl_item *before, const struct catalog_file *f, uint32_t algos)
{
    char mtime[32];

    utc_text(f->mtime_ns / 1000000000, mtime, sizeof mtime);
    if (!before || before->size != f->size || strcmp(before->modified, mtime) != 0)
        return false;
    for (int a = 0; a < HASH_ALGO_COUNT; a++)
        if ((algos & HASH_BIT(a)) && (!(before->digests.present & HASH_BIT(a)) ||
                                      strcasecmp(before->digests.text[a], f->digests.text[a])))
            return false;
    return true;
}

static bool write_file_entry(void *ctx, const struct catalog_file *f)
{
    struct generation *g = ctx;
    char size[32], mtime[32], hashed[32];
    const struct mhl_item *before = mhl_find(&g->history->files, f->path);

    if (g->changes_only && recorded(before, f, g->algos))
        return true;
    if (g->files++ == 0)
        start(&g->x, "hashes"); /* only with entries: the schema wants one at least */
    snprintf(size, sizeof size, "%llu", (unsigned long long)f->size);
    utc_text(f->mtime_ns / 1000000000, mtime, sizeof mtime);
    utc_text(f->hashed_at, hashed, sizeof hashed);
    start(&g->x, "hash");
    start(&g->x, "path");
    attribute(&g->x, "size", size);
    attribute(&g->x, "lastmodificationdate", mtime);
    g->x.ok = g->x.ok && xmlTextWriterWriteString(g->x.w, BAD_CAST f->path) >= 0;
    end(&g->x);
    for (int i = 0; i < HASH_ALGO_COUNT; i++) {
        enum hash_algo a = schema_order[i];
        if (!(g->algos & HASH_BIT(a)))
            continue;
        if (!(f->digests.present & HASH_BIT(a))) {
            snprintf(g->err, sizeof g->err, "%s: no %s digest in the catalog", f->path,
                     hash_algo_name(a));
            return false;
        }
        start(&g->x, hash_algo_name(a));
        attribute(&g->x, "action", action_for(before, a, f->digests.text[a], g->changes_only));
        attribute(&g->x, "hashdate", hashed);
        g->x.ok = g->x.ok && xmlTextWriterWriteString(g->x.w, BAD_CAST f->digests.text[a]) >= 0;
        end(&g->x);
    }
    end(&g->x);
    return g->x.ok;
}

static bool render_generation(struct catalog *cat, struct generation *g, int64_t now)
{
    if (!writer_start(&g->x))
        return false;
    write_header(&g->x, now, &g->gone);
    bool ok = catalog_each_file(cat, NULL, FILE_LANDED, write_file_entry, g);
    if (!ok && !g->err[0])
        snprintf(g->err, sizeof g->err, "%s", catalog_error(cat));
    if (g->files)
        end(&g->x); /* hashes */
    end(&g->x);     /* hashlist */
    return ok && writer_finish(&g->x);
}

/* ---- the chain ---- */

struct chain_entry {
    int sequence;
    char path[512];
    char c4[HASH_TEXT_MAX];
};

struct chain {
    struct chain_entry *entries;
    size_t count;
};

static bool chain_add(struct chain *c, int sequence, const char *path, const char *c4)
{
    struct chain_entry *grown = realloc(c->entries, (c->count + 1) * sizeof *grown);
    if (!grown)
        return false;
    c->entries = grown;
    grown[c->count].sequence = sequence;
    snprintf(grown[c->count].path, sizeof grown->path, "%s", path);
    snprintf(grown[c->count].c4, sizeof grown->c4, "%s", c4);
    c->count++;
    return true;
}

/* Reads <hashlist sequencenr=N><path/><c4/></hashlist> entries; a missing
 * chain file is an empty chain. */
static bool chain_read(int root_fd, struct chain *c)
{
    int fd = openat(root_fd, MHL_FOLDER "/" MHL_CHAIN, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct chain_entry e = {0};
    bool ok = true;
    int rc = 0;

    memset(c, 0, sizeof *c);
    if (fd < 0)
        return errno == ENOENT;
    xmlTextReaderPtr r = xmlReaderForFd(fd, MHL_CHAIN, NULL,
                                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    while (ok && r && (rc = xmlTextReaderRead(r)) == 1) {
        const char *name = (const char *)xmlTextReaderConstLocalName(r);
        int type = xmlTextReaderNodeType(r);
        if (type == XML_READER_TYPE_ELEMENT && strcmp(name, "hashlist") == 0) {
            char *seq = (char *)xmlTextReaderGetAttribute(r, BAD_CAST "sequencenr");
            e.sequence = seq ? atoi(seq) : 0;
            xmlFree(seq);
        } else if (type == XML_READER_TYPE_ELEMENT &&
                   (strcmp(name, "path") == 0 || strcmp(name, "c4") == 0)) {
            char *text = (char *)xmlTextReaderReadString(r);
            if (name[0] == 'p')
                snprintf(e.path, sizeof e.path, "%s", text ? text : "");
            else
                snprintf(e.c4, sizeof e.c4, "%s", text ? text : "");
            xmlFree(text);
        } else if (type == XML_READER_TYPE_END_ELEMENT && strcmp(name, "hashlist") == 0) {
            ok = chain_add(c, e.sequence, e.path, e.c4);
        }
    }
    xmlFreeTextReader(r);
    close(fd);
    return ok && r && rc == 0;
}

static bool chain_write(int root_fd, const struct chain *c, char *err, size_t err_len)
{
    struct writer x;
    char seq[16];

    writer_start(&x);
    start(&x, "ascmhldirectory");
    attribute(&x, "xmlns", CHAIN_NS);
    for (size_t i = 0; i < c->count; i++) {
        snprintf(seq, sizeof seq, "%d", c->entries[i].sequence);
        start(&x, "hashlist");
        attribute(&x, "sequencenr", seq);
        element(&x, "path", c->entries[i].path);
        element(&x, "c4", c->entries[i].c4);
        end(&x);
    }
    end(&x);
    bool ok = writer_finish(&x) &&
              manifest_write_atomic(root_fd, MHL_FOLDER "/" MHL_CHAIN, xmlBufferContent(x.buf),
                                    (size_t)xmlBufferLength(x.buf), true, err, err_len);
    if (!x.ok)
        snprintf(err, err_len, "%s: cannot render the chain", MHL_CHAIN);
    writer_free(&x);
    return ok;
}

/* ---- a generation ---- */

static bool still_landed(struct catalog *cat, const char *path, struct catalog_file *row)
{
    return catalog_get_file(cat, path, row) && row->state == FILE_LANDED;
}

/* Files the history lists (or the newest generation already marks gone)
 * that are no longer landed: each generation names them all, so the
 * newest one alone tells what left the delivery. */
static bool find_gone(struct catalog *cat, const struct mhl_history *h, struct mhl_list *gone)
{
    const struct mhl_list *lists[] = {&h->files, &h->gone};
    struct catalog_file *row = malloc(sizeof *row);
    bool ok = row != NULL;

    memset(gone, 0, sizeof *gone);
    for (size_t l = 0; ok && l < 2; l++)
        for (size_t i = 0; ok && i < lists[l]->count; i++) {
            if (still_landed(cat, lists[l]->items[i].path, row))
                continue;
            struct mhl_item item = {.path = strdup(lists[l]->items[i].path)};
            ok = push_item(gone, &item);
        }
    free(row);
    if (ok)
        sort_items(gone);
    return ok;
}

static void generation_name(int sequence, const char *root_name, int64_t started, char *out,
                            size_t len)
{
    time_t t = (time_t)started;
    struct tm tm;
    char stamp[32], name[256];

    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d_%H%M%S", &tm);
    text_sanitize(root_name, name, sizeof name, '_'); /* a file name and XML text */
    snprintf(out, len, "%04d_%s_%sZ.mhl", sequence, name, stamp);
}

static void c4_of(const void *bytes, size_t len, char out[HASH_TEXT_MAX])
{
    struct digests d;
    struct hasher *h = hasher_new(HASH_BIT(HASH_C4));

    out[0] = '\0';
    if (!h)
        return;
    hasher_update(h, bytes, len);
    hasher_final(h, &d);
    snprintf(out, HASH_TEXT_MAX, "%s", d.text[HASH_C4]);
    hasher_free(h);
}

/* The chain is read before anything is written, so a damaged chain stops
 * the run without leaving an unchained generation behind. The generation
 * is created, never replaced. */
static bool store_generation(int root_fd, const struct generation *g,
                             struct catalog_generation *out, char *err, size_t err_len)
{
    char path[600];
    struct chain chain;

    if (!chain_read(root_fd, &chain)) {
        snprintf(err, err_len, "%s/%s: not a readable chain file", MHL_FOLDER, MHL_CHAIN);
        free(chain.entries);
        return false;
    }
    snprintf(path, sizeof path, "%s/%s", MHL_FOLDER, out->file);
    const xmlChar *bytes = xmlBufferContent(g->x.buf);
    size_t len = (size_t)xmlBufferLength(g->x.buf);
    c4_of(bytes, len, out->c4);
    bool ok = manifest_write_atomic(root_fd, path, bytes, len, false, err, err_len) &&
              chain_add(&chain, out->sequence, out->file, out->c4) &&
              chain_write(root_fd, &chain, err, err_len);
    free(chain.entries);
    return ok;
}

/* Generations are numbered by what ascmhl/ holds; one writer at a time. */
static int lock_history(int root_fd, char *err, size_t err_len)
{
    if (mkdirat(root_fd, MHL_FOLDER, 0755) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "%s: %s", MHL_FOLDER, strerror(errno));
        return -1;
    }
    int fd = openat(root_fd, MHL_FOLDER, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || flock(fd, LOCK_EX) != 0) {
        snprintf(err, err_len, "%s: %s", MHL_FOLDER, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static bool same_paths(const struct mhl_list *a, const struct mhl_list *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (strcmp(a->items[i].path, b->items[i].path) != 0)
            return false;
    return true;
}

bool mhl_write_generation(struct catalog *cat, int root_fd, const char *root_name, uint32_t algos,
                          bool changes_only, int64_t started, struct catalog_generation *out,
                          char *err, size_t err_len)
{
    struct mhl_history history;
    struct generation g = {.history = &history, .algos = algos, .changes_only = changes_only};

    memset(out, 0, sizeof *out);
    int lock = lock_history(root_fd, err, err_len);
    if (lock < 0)
        return false;
    if (!mhl_read_history(root_fd, &history, err, err_len)) {
        close(lock);
        return false;
    }
    out->created = started;
    out->sequence = history.sequence + 1;
    generation_name(out->sequence, root_name, started, out->file, sizeof out->file);
    bool ok = find_gone(cat, &history, &g.gone) && render_generation(cat, &g, started);
    if (!ok)
        snprintf(err, err_len, "%s", g.err[0] ? g.err : "cannot render the MHL");
    if (ok && changes_only && !g.files && same_paths(&g.gone, &history.gone))
        memset(out, 0, sizeof *out); /* nothing new to record */
    else
        ok = ok && store_generation(root_fd, &g, out, err, err_len);
    if (ok && out->sequence && !catalog_add_generation(cat, out)) {
        snprintf(err, err_len, "%s", catalog_error(cat));
        ok = false;
    }
    close(lock); /* releases the flock */
    writer_free(&g.x);
    list_free(&g.gone);
    mhl_history_free(&history);
    return ok;
}
