/* The MHL history as a custody record (SPEC M2, M3, M5): what the history
 * must say, derived from the catalog, and the one generation that brings
 * it there.
 *
 * The model. A file is listed in the history once its folder is sealed
 * (the handoff), never before:
 *   - an asset folder (one holding landed frames) that is not sealed is
 *     kept out by one ignore pattern, "** /<folder>/" (ignore_pattern_for),
 *     written when the folder first appears, not at every pause;
 *   - a file outside every asset folder is kept out by a pattern of its
 *     own until the delivery root is sealed;
 *   - sealing a folder writes one generation listing every landed file at
 *     or below it that no generation lists yet, each once, as "original",
 *     with the digests taken as it was written (its checksum.txt
 *     included), and lifts its pattern;
 *   - a listed file changed behind namfs's back is recorded as "failed"
 *     (what the check found), never as a new original;
 *   - the hidden, system and temp names of SPEC N6 are always ignored.
 * A generation is written only when one of these changes what the
 * history says: a new pattern, a seal, a failure. */
#ifndef NAMFS_CUSTODY_H
#define NAMFS_CUSTODY_H

#include "namfs/catalog.h"
#include "namfs/mhl.h"

#include <stdbool.h>
#include <stddef.h>

/* The ignore patterns the history must carry now. */
bool custody_patterns(struct catalog *cat, struct strlist *out, char *err, size_t err_len);

/* How many files a generation listed as original, and as failed. */
struct custody_counts {
    size_t listed, failed;
};

/* Writes the generation the catalog calls for, if any, and records it in
 * the catalog: sealed folders' files listed, failures recorded. `algos`
 * are the formats listed; root_name and now name the generation.
 * out->sequence is 0 when the history already says what it must. counts
 * may be NULL. */
bool custody_update(struct catalog *cat, int root_fd, const char *root_name, uint32_t algos,
                    int64_t now, struct catalog_generation *out, struct custody_counts *counts,
                    char *err, size_t err_len);

#endif
