/* What a delivery holds, per asset: frames landed, their range, the gaps
 * between them as ranges, refusals and bytes. One summary for every view
 * of it: .namfs/status (text), .namfs/status.json (for scripts, schema
 * STATUS_SCHEMA, documented field by field in namctl(1)) and namctl status.
 *
 * Filled from catalog rows: status_count_landed() for every landed file,
 * then status_count_refused() for every refused one (a refusal counts
 * against the asset of its folder), then status_finish(). Or, where the
 * frames are known already (the mount's sequence memory):
 * status_put_asset() for each asset, then status_count_tally() for each
 * of the catalog's tallies, then status_finish(): no row is read. */
#ifndef NAMFS_STATUS_H
#define NAMFS_STATUS_H

#include "namfs/catalog.h"
#include "namfs/strbuf.h"
#include "namfs/verdict.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The version of .namfs/status.json's layout: raised when a field changes
 * meaning or goes; new fields may come within a version. */
#define STATUS_SCHEMA 1

struct status_range {
    int64_t first, last;
};

struct status_asset {
    char key[CATALOG_PATH_MAX]; /* "folder/asset", as the catalog keys it */
    int64_t *frames;            /* sorted once finished; NULL when put */
    size_t count, cap;
    int64_t first, last;       /* 0 when no frame */
    struct status_range *gaps; /* frames missing between first and last */
    size_t gap_count;
    size_t refused;
    uint64_t bytes;
    bool textless; /* an insert (N3 nam-txtls): its gaps are no S2 failure (status_judge_s2) */
};

struct status {
    struct status_asset *assets;
    size_t count;
    size_t files, refused; /* landed files (frames or not), refused files */
    uint64_t bytes;
    bool failed; /* out of memory while counting */
};

/* One landed frame of asset: its number and size (not counted as a file:
 * the tallies count files, status_count_tally). */
bool status_count_frame(struct status *st, const char *asset, int64_t frame, uint64_t size);

/* catalog_file_fn's, ctx a struct status. */
bool status_count_landed(void *ctx, const struct catalog_file *f);
bool status_count_refused(void *ctx, const struct catalog_file *f);

/* An asset whose frames are counted already: count of them from first to
 * last, missing the gaps (taken: freed with st). False when out of memory
 * (gaps freed then too). */
bool status_put_asset(struct status *st, const char *key, size_t count, int64_t first, int64_t last,
                      struct status_range *gaps, size_t gap_count);

/* catalog_tally_fn: landed files and bytes, each put asset's bytes, and
 * refusals (against the assets of their folder). */
bool status_count_tally(void *ctx, const struct catalog_tally *t);

/* The frames missing between the sorted frame numbers (n of them), as
 * ranges appended to *gaps (realloc'd; *count of them). The one gap
 * finder: the mount's views and namctl check both use it. False when out
 * of memory. */
bool status_find_gaps(const int64_t *sorted, size_t n, struct status_range **gaps, size_t *count);
/* One gap, first-last, appended the same way. */
bool status_add_gap(struct status_range **gaps, size_t *count, int64_t first, int64_t last);

/* S2 over an asset's gaps: a texted asset's gaps fail it; a textless
 * insert (N3 nam-txtls) covers parts of its texted asset's range by
 * nature, so its gaps are expected and S4 judges it instead. Passes or
 * fails v; true when it passes. */
bool status_judge_s2(bool textless, int64_t first, int64_t last, const struct status_range *gaps,
                     size_t gap_count, struct verdict *v);

/* Sorts each asset's frames and finds its gaps (the counted ones), and
 * the assets by key. */
void status_finish(struct status *st);
void status_free(struct status *st);

/* One line per asset: "<asset>\t<n> frames\t<first>-<last>\t<g> gap(s)\t<r>
 * rejected\t<mb> MB". */
void status_text_assets(const struct status *st, struct strbuf *out);

/* The "assets" array of the JSON view: [{"asset", "textless", "frames",
 * "first", "last", "gaps": [[first, last], ...], "refused", "bytes"}, ...]. */
void status_json_assets(const struct status *st, struct strbuf *out);

#endif
