/* The ASC MHL v2 history at the delivery root (../shared/ascmhl): read the
 * way the ASC's reference tool reads it, and appended to one generation at
 * a time. Both use libxml2 (xmlTextWriter, xmlReader), so escaping and
 * encoding are the library's business, not string pasting.
 *
 * The reference tool's reading, which namctl verify follows (SPEC M2, M5;
 * ../shared/tools/README.md):
 *   - a path's first hash entry with action "original", in generation
 *     order, is the truth for that path forever; a later original for the
 *     same path does not replace it, and a "failed" entry is never a
 *     reference (it only says what a check found);
 *   - a record with <previousPath> is a rename: the new path is checked
 *     against the previous path's original, and the previous path is no
 *     longer expected;
 *   - only the newest generation's ignore patterns apply (namfs/ignore.h).
 * Generations are never changed once written; each is chained by its C4
 * in ascmhl_chain.xml. */
#ifndef NAMFS_MHL_H
#define NAMFS_MHL_H

#include "namfs/catalog.h"
#include "namfs/hash.h"
#include "namfs/manifest.h"
#include "namfs/strlist.h"

#include <stdbool.h>
#include <stddef.h>

/* One path as the history knows it. */
struct mhl_item {
    char *path;            /* as recorded */
    char *previous;        /* its first record's <previousPath>, NULL without one */
    char *generation;      /* "ascmhl/NNNN_....mhl" whose original is the truth */
    uint64_t size;         /* as that original recorded it */
    struct digests truth;  /* each format's first original; none when only failed */
    char *failed_in;       /* the newest generation recording it failed, NULL when none */
    struct digests failed; /* what that failed record found */
};

struct mhl_list {
    struct mhl_item *items; /* sorted by path */
    size_t count;
};

struct mhl_history {
    struct mhl_list files;
    struct strlist patterns; /* the newest generation's ignore patterns */
    char newest[256];        /* newest generation file; "" when there is none */
    int sequence;            /* its number, 0 when none */
};

bool mhl_read_history(int root_fd, struct mhl_history *out, char *err, size_t err_len);

/* The chain as the reference tool checks it before anything else: present
 * beside the generations, each generation it lists there and with the C4
 * it lists. False with err naming the file. */
bool mhl_check_chain(int root_fd, char *err, size_t err_len);
void mhl_history_free(struct mhl_history *h);
const struct mhl_item *mhl_find(const struct mhl_list *list, const char *path);

/* The paths the history expects on disk: every recorded path, a renamed
 * one replaced by its new path. malloc'd, sorted, each a pointer into h. */
const char **mhl_expected_paths(const struct mhl_history *h, size_t *count);

/* The record whose truth checks path: path's own, or, when its first
 * record names a previous path, that one's. NULL when the history has no
 * original for it (a new file to the reference tool). */
const struct mhl_item *mhl_truth_for(const struct mhl_history *h, const char *path);

/* Only the newest generation's ignore patterns and number: what the mount
 * compares at each pause, without reading the hashes of the history. */
bool mhl_read_patterns(int root_fd, struct strlist *out, int *sequence, char *err, size_t err_len);

/* A generation being put together: its ignore patterns first, then one
 * entry per file, then stored as the next generation. */
struct mhl_draft;
struct mhl_draft *mhl_draft_new(const struct strlist *patterns, uint32_t algos, int64_t started);
/* action "original" (the digests as landed) or "failed" (what a check of
 * a listed file found). False, with the reason kept for store, when f
 * lacks a digest in algos or memory runs out. */
bool mhl_draft_add(struct mhl_draft *d, const struct catalog_file *f, const char *action);
size_t mhl_draft_count(const struct mhl_draft *d);
/* Why the last mhl_draft_add failed; "" when none did. */
const char *mhl_draft_error(const struct mhl_draft *d);
/* Numbers the draft after the newest generation ascmhl/ holds (one writer
 * at a time: flock on ascmhl/), writes it (never replacing a file) and the
 * chain file. `root_name` and `started` name it. */
bool mhl_draft_store(struct mhl_draft *d, int root_fd, const char *root_name,
                     struct catalog_generation *out, char *err, size_t err_len);
void mhl_draft_free(struct mhl_draft *d);

#endif
