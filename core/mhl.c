/* ASC MHL v2 histories, read as the ASC's reference tool reads them and
 * appended to one generation at a time (namfs/mhl.h). */
#include "namfs/mhl.h"

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
#define READER_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/* Hash elements must appear in the schema's order. */
static const enum hash_algo schema_order[HASH_ALGO_COUNT] = {HASH_C4,     HASH_MD5,  HASH_SHA1,
                                                             HASH_XXH128, HASH_XXH3, HASH_XXH64};

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

/* ---- one generation's records ---- */

/* A <hash> element as written: one file's entry in one generation. */
struct record {
    char *path, *previous;
    uint64_t size;
    int generation; /* index into the history's generation list */
    struct digests original, failed;
};

struct records {
    struct record *items;
    size_t count;
};

static void record_free(struct record *r)
{
    free(r->path);
    free(r->previous);
    memset(r, 0, sizeof *r);
}

/* Takes r over; false (r freed) when it has no path (a <hash> without
 * <path>) or memory runs out. */
static bool push_record(struct records *list, struct record *r)
{
    struct record *grown = r->path ? realloc(list->items, (list->count + 1) * sizeof *grown) : NULL;
    if (!grown) {
        record_free(r);
        return false;
    }
    list->items = grown;
    list->items[list->count++] = *r;
    memset(r, 0, sizeof *r);
    return true;
}

static char *reader_text(xmlTextReaderPtr r)
{
    xmlChar *text = xmlTextReaderReadString(r);
    char *copy = strdup(text ? (const char *)text : "");
    xmlFree(text);
    return copy;
}

/* Inside <hash>: <path size=..>, <previousPath>, one element per digest. */
static void read_hash_child(xmlTextReaderPtr r, const char *name, struct record *rec)
{
    enum hash_algo algo = algo_named(name);

    if (strcmp(name, "path") == 0) {
        xmlChar *size = xmlTextReaderGetAttribute(r, BAD_CAST "size");
        rec->size = size ? strtoull((const char *)size, NULL, 10) : 0;
        xmlFree(size);
        free(rec->path);
        rec->path = reader_text(r);
    } else if (strcmp(name, "previousPath") == 0) {
        free(rec->previous);
        rec->previous = reader_text(r);
    } else if (algo != HASH_ALGO_COUNT) {
        xmlChar *action = xmlTextReaderGetAttribute(r, BAD_CAST "action");
        xmlChar *text = xmlTextReaderReadString(r);
        struct digests *into = !action                                         ? NULL
                               : strcmp((const char *)action, "original") == 0 ? &rec->original
                               : strcmp((const char *)action, "failed") == 0   ? &rec->failed
                                                                               : NULL;
        if (into && text) {
            into->present |= HASH_BIT(algo);
            snprintf(into->text[algo], HASH_TEXT_MAX, "%s", (const char *)text);
        }
        xmlFree(action);
        xmlFree(text);
    }
}

/* Reads one generation: its <hash> records into recs (when not NULL) and
 * its ignore patterns into patterns (when not NULL); stops after the
 * patterns when recs is NULL. */
static bool read_elements(xmlTextReaderPtr r, int generation, struct records *recs,
                          struct strlist *patterns)
{
    struct record rec = {.generation = generation};
    bool in_hash = false, ok = true;
    int rc;

    while (ok && (rc = xmlTextReaderRead(r)) == 1) {
        const char *name = (const char *)xmlTextReaderConstLocalName(r);
        int type = xmlTextReaderNodeType(r);
        if (type == XML_READER_TYPE_END_ELEMENT && strcmp(name, "ignore") == 0 && !recs)
            return true;
        if (type == XML_READER_TYPE_ELEMENT && strcmp(name, "hash") == 0) {
            in_hash = true;
        } else if (type == XML_READER_TYPE_END_ELEMENT && strcmp(name, "hash") == 0) {
            in_hash = false;
            rec.generation = generation;
            ok = !recs || push_record(recs, &rec);
            record_free(&rec);
        } else if (type == XML_READER_TYPE_ELEMENT && in_hash && recs) {
            read_hash_child(r, name, &rec);
        } else if (type == XML_READER_TYPE_ELEMENT && strcmp(name, "pattern") == 0 && patterns) {
            char *text = reader_text(r);
            ok = text && strlist_add(patterns, text);
            free(text);
        }
    }
    record_free(&rec);
    return ok && rc == 0;
}

static bool read_generation(int root_fd, const char *file, int generation, struct records *recs,
                            struct strlist *patterns, char *err, size_t err_len)
{
    char path[600];

    snprintf(path, sizeof path, "%s/%s", MHL_FOLDER, file);
    int fd = openat(root_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    xmlTextReaderPtr r = fd >= 0 ? xmlReaderForFd(fd, path, NULL, READER_OPTIONS) : NULL;
    bool ok = r && read_elements(r, generation, recs, patterns);
    xmlFreeTextReader(r);
    if (fd >= 0)
        close(fd);
    if (!ok)
        snprintf(err, err_len, "%s: %s", path, fd < 0 ? strerror(errno) : "not a readable MHL");
    return ok;
}

/* ---- the generation files ---- */

/* "0007_..." -> 7; 0 for names that are not generation files. The
 * reference tool's rule: ".mhl" after at least four digits, alone or
 * followed by '_' and a name; "._" copies of macOS are not. */
static int sequence_of(const char *name)
{
    size_t digits = strspn(name, "0123456789");
    size_t len = strlen(name);

    if (digits < 4 || len < digits + 4 || strcmp(name + len - 4, ".mhl") != 0)
        return 0;
    if (digits + 4 != len && (name[digits] != '_' || len < digits + 6))
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

bool mhl_read_patterns(int root_fd, struct strlist *out, int *sequence, char *err, size_t err_len)
{
    struct generation_file *gens;
    size_t count;

    memset(out, 0, sizeof *out);
    *sequence = 0;
    if (!list_generations(root_fd, &gens, &count)) {
        snprintf(err, err_len, "%s: %s", MHL_FOLDER, strerror(errno));
        return false;
    }
    bool ok = !count || read_generation(root_fd, gens[count - 1].name, (int)count - 1, NULL, out,
                                        err, err_len);
    if (ok && count)
        *sequence = gens[count - 1].sequence;
    if (!ok)
        strlist_free(out);
    free(gens);
    return ok;
}

/* ---- the history as a whole ---- */

static int compare_records(const void *a, const void *b)
{
    const struct record *x = a, *y = b;
    int order = strcmp(x->path, y->path);
    return order ? order : x->generation - y->generation;
}

static int compare_items(const void *a, const void *b)
{
    return strcmp(((const struct mhl_item *)a)->path, ((const struct mhl_item *)b)->path);
}

const struct mhl_item *mhl_find(const struct mhl_list *list, const char *path)
{
    struct mhl_item key = {.path = (char *)path};
    return list->count ? bsearch(&key, list->items, list->count, sizeof key, compare_items) : NULL;
}

static void item_free(struct mhl_item *item)
{
    free(item->path);
    free(item->previous);
    free(item->generation);
    free(item->failed_in);
}

void mhl_history_free(struct mhl_history *h)
{
    for (size_t i = 0; i < h->files.count; i++)
        item_free(&h->files.items[i]);
    free(h->files.items);
    strlist_free(&h->patterns);
    memset(h, 0, sizeof *h);
}

static char *generation_path(const struct generation_file *g)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", MHL_FOLDER, g->name);
    return strdup(path);
}

/* Folds one path's records, oldest first, into its item: the first
 * record's previous path, each format's first original, the newest
 * failed record. */
static bool fold(struct mhl_item *item, struct record *recs, size_t n,
                 const struct generation_file *gens)
{
    memset(item, 0, sizeof *item);
    item->path = recs[0].path;
    item->previous = recs[0].previous;
    recs[0].path = recs[0].previous = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct record *r = &recs[i];
        for (int a = 0; a < HASH_ALGO_COUNT; a++) {
            if ((r->original.present & HASH_BIT(a)) && !(item->truth.present & HASH_BIT(a))) {
                item->truth.present |= HASH_BIT(a);
                memcpy(item->truth.text[a], r->original.text[a], HASH_TEXT_MAX);
                if (!item->generation) {
                    item->size = r->size;
                    item->generation = generation_path(&gens[r->generation]);
                    if (!item->generation)
                        return false;
                }
            }
        }
        if (r->failed.present) {
            free(item->failed_in);
            item->failed = r->failed;
            if (!(item->failed_in = generation_path(&gens[r->generation])))
                return false;
        }
    }
    return true;
}

static bool build_items(struct mhl_history *out, struct records *recs,
                        const struct generation_file *gens)
{
    if (recs->count)
        qsort(recs->items, recs->count, sizeof *recs->items, compare_records);
    out->files.items = calloc(recs->count + 1, sizeof *out->files.items);
    if (!out->files.items)
        return false;
    for (size_t i = 0, j; i < recs->count; i = j) {
        for (j = i + 1; j < recs->count && strcmp(recs->items[j].path, recs->items[i].path) == 0;)
            j++;
        if (!fold(&out->files.items[out->files.count++], &recs->items[i], j - i, gens))
            return false;
    }
    return true;
}

bool mhl_read_history(int root_fd, struct mhl_history *out, char *err, size_t err_len)
{
    struct generation_file *gens;
    struct records recs = {0};
    size_t count;

    memset(out, 0, sizeof *out);
    if (!list_generations(root_fd, &gens, &count)) {
        snprintf(err, err_len, "%s: %s", MHL_FOLDER, strerror(errno));
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < count; i++) {
        strlist_free(&out->patterns); /* only the newest generation's count */
        ok = read_generation(root_fd, gens[i].name, (int)i, &recs, &out->patterns, err, err_len);
    }
    if (ok && !build_items(out, &recs, gens)) {
        snprintf(err, err_len, "%s", strerror(ENOMEM));
        ok = false;
    }
    if (ok && count) {
        out->sequence = gens[count - 1].sequence;
        snprintf(out->newest, sizeof out->newest, "%s", gens[count - 1].name);
    }
    for (size_t i = 0; i < recs.count; i++)
        record_free(&recs.items[i]);
    free(recs.items);
    free(gens);
    if (!ok)
        mhl_history_free(out);
    return ok;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **mhl_expected_paths(const struct mhl_history *h, size_t *count)
{
    const char **renamed = calloc(h->files.count + 1, sizeof *renamed);
    const char **out = calloc(h->files.count + 1, sizeof *out);
    size_t n = 0;

    *count = 0;
    if (!renamed || !out) {
        free(renamed);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < h->files.count; i++)
        if (h->files.items[i].previous)
            renamed[n++] = h->files.items[i].previous;
    if (n)
        qsort(renamed, n, sizeof *renamed, compare_strings);
    for (size_t i = 0; i < h->files.count; i++) {
        const char *path = h->files.items[i].path;
        if (!n || !bsearch(&path, renamed, n, sizeof *renamed, compare_strings))
            out[(*count)++] = path; /* a renamed path is expected under its new name */
    }
    free(renamed);
    return out;
}

const struct mhl_item *mhl_truth_for(const struct mhl_history *h, const char *path)
{
    const struct mhl_item *item = mhl_find(&h->files, path);

    if (item && item->previous)
        item = mhl_find(&h->files, item->previous);
    return item && item->truth.present ? item : NULL;
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

struct mhl_draft {
    struct writer x;
    uint32_t algos;
    int64_t started;
    size_t files;
    char err[300];
};

static void write_header(struct writer *x, int64_t now, const struct strlist *patterns)
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
    for (size_t i = 0; i < patterns->count; i++)
        element(x, "pattern", patterns->items[i]);
    end(x);
    end(x);
}

struct mhl_draft *mhl_draft_new(const struct strlist *patterns, uint32_t algos, int64_t started)
{
    struct mhl_draft *d = calloc(1, sizeof *d);

    if (!d)
        return NULL;
    d->algos = algos;
    d->started = started;
    if (writer_start(&d->x))
        write_header(&d->x, started, patterns);
    if (!d->x.ok) {
        mhl_draft_free(d);
        return NULL;
    }
    return d;
}

static void write_digest(struct mhl_draft *d, enum hash_algo a, const char *action,
                         const char *hashed, const char *digest)
{
    start(&d->x, hash_algo_name(a));
    attribute(&d->x, "action", action);
    attribute(&d->x, "hashdate", hashed);
    d->x.ok = d->x.ok && xmlTextWriterWriteString(d->x.w, BAD_CAST digest) >= 0;
    end(&d->x);
}

bool mhl_draft_add(struct mhl_draft *d, const struct catalog_file *f, const char *action)
{
    char size[32], mtime[32], hashed[32];

    for (int a = 0; a < HASH_ALGO_COUNT; a++)
        if ((d->algos & HASH_BIT(a)) && !(f->digests.present & HASH_BIT(a))) {
            snprintf(d->err, sizeof d->err, "%s: no %s digest in the catalog", f->path,
                     hash_algo_name((enum hash_algo)a));
            return false;
        }
    if (d->files++ == 0)
        start(&d->x, "hashes"); /* only with entries: it may not be empty */
    snprintf(size, sizeof size, "%llu", (unsigned long long)f->size);
    utc_text(f->mtime_ns / 1000000000, mtime, sizeof mtime);
    utc_text(f->hashed_at, hashed, sizeof hashed);
    start(&d->x, "hash");
    start(&d->x, "path");
    attribute(&d->x, "size", size);
    attribute(&d->x, "lastmodificationdate", mtime);
    d->x.ok = d->x.ok && xmlTextWriterWriteString(d->x.w, BAD_CAST f->path) >= 0;
    end(&d->x);
    for (int i = 0; i < HASH_ALGO_COUNT; i++)
        if (d->algos & HASH_BIT(schema_order[i]))
            write_digest(d, schema_order[i], action, hashed, f->digests.text[schema_order[i]]);
    end(&d->x);
    if (!d->x.ok)
        snprintf(d->err, sizeof d->err, "%s: cannot render its MHL entry", f->path);
    return d->x.ok;
}

size_t mhl_draft_count(const struct mhl_draft *d)
{
    return d->files;
}

const char *mhl_draft_error(const struct mhl_draft *d)
{
    return d->err;
}

void mhl_draft_free(struct mhl_draft *d)
{
    if (!d)
        return;
    writer_free(&d->x);
    free(d);
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

static int newest_sequence(int root_fd)
{
    struct generation_file *gens;
    size_t count;

    if (!list_generations(root_fd, &gens, &count))
        return -1;
    int newest = count ? gens[count - 1].sequence : 0;
    free(gens);
    return newest;
}

/* The chain is read before anything is written, so a damaged chain stops
 * the run without leaving an unchained generation behind. The generation
 * is created, never replaced. */
static bool store(struct mhl_draft *d, int root_fd, struct catalog_generation *out, char *err,
                  size_t err_len)
{
    char path[600];
    struct chain chain;

    if (!chain_read(root_fd, &chain)) {
        snprintf(err, err_len, "%s/%s: not a readable chain file", MHL_FOLDER, MHL_CHAIN);
        free(chain.entries);
        return false;
    }
    snprintf(path, sizeof path, "%s/%s", MHL_FOLDER, out->file);
    const xmlChar *bytes = xmlBufferContent(d->x.buf);
    size_t len = (size_t)xmlBufferLength(d->x.buf);
    c4_of(bytes, len, out->c4);
    bool ok = manifest_write_atomic(root_fd, path, bytes, len, false, err, err_len) &&
              chain_add(&chain, out->sequence, out->file, out->c4) &&
              chain_write(root_fd, &chain, err, err_len);
    free(chain.entries);
    return ok;
}

bool mhl_draft_store(struct mhl_draft *d, int root_fd, const char *root_name,
                     struct catalog_generation *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (d->err[0]) {
        snprintf(err, err_len, "%s", d->err);
        return false;
    }
    if (d->files)
        end(&d->x); /* hashes */
    end(&d->x);     /* hashlist */
    if (!writer_finish(&d->x)) {
        snprintf(err, err_len, "cannot render the MHL generation");
        return false;
    }
    int lock = lock_history(root_fd, err, err_len);
    if (lock < 0)
        return false;
    int newest = newest_sequence(root_fd);
    bool ok = newest >= 0;
    if (!ok)
        snprintf(err, err_len, "%s: %s", MHL_FOLDER, strerror(errno));
    out->sequence = newest + 1;
    out->created = d->started;
    generation_name(out->sequence, root_name, d->started, out->file, sizeof out->file);
    ok = ok && store(d, root_fd, out, err, err_len);
    close(lock); /* releases the flock */
    if (!ok)
        memset(out, 0, sizeof *out);
    return ok;
}

/* ---- the chain as the reference tool checks it ---- */

/* The C4 id of a generation file as it is on disk; "" when unreadable. */
static void c4_of_file(int root_fd, const char *name, char out[HASH_TEXT_MAX])
{
    char path[700];
    struct hasher *h = hasher_new(HASH_BIT(HASH_C4));
    struct digests d;

    out[0] = '\0';
    snprintf(path, sizeof path, "%s/%s", MHL_FOLDER, name);
    int fd = openat(root_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && h && hasher_read_fd(h, fd, 0, NULL) >= 0) {
        hasher_final(h, &d);
        snprintf(out, HASH_TEXT_MAX, "%s", d.text[HASH_C4]);
    }
    if (fd >= 0)
        close(fd);
    hasher_free(h);
}

bool mhl_check_chain(int root_fd, char *err, size_t err_len)
{
    struct chain chain;
    struct stat st;
    char c4[HASH_TEXT_MAX];

    if (fstatat(root_fd, MHL_FOLDER, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return true; /* no history: nothing to chain */
    if (fstatat(root_fd, MHL_FOLDER "/" MHL_CHAIN, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        snprintf(err, err_len, "%s/%s: missing (the reference tool stops: no chain)", MHL_FOLDER,
                 MHL_CHAIN);
        return false;
    }
    bool ok = chain_read(root_fd, &chain);
    if (!ok)
        snprintf(err, err_len, "%s/%s: not a readable chain file", MHL_FOLDER, MHL_CHAIN);
    for (size_t i = 0; ok && i < chain.count; i++) {
        c4_of_file(root_fd, chain.entries[i].path, c4);
        if (!c4[0] || strcmp(c4, chain.entries[i].c4) != 0) {
            snprintf(err, err_len, "%s/%s: %s (the chain has C4 %s)", MHL_FOLDER,
                     chain.entries[i].path, c4[0] ? "changed since it was chained" : "missing",
                     chain.entries[i].c4);
            ok = false;
        }
    }
    free(chain.entries);
    return ok;
}
