/* What `namctl check` found, arranged for its reports: by sequence folder,
 * each asset with every frame that names it (passed or refused), and the
 * files' verdicts grouped where they repeat. */
#ifndef NAMCTL_SUMMARY_H
#define NAMCTL_SUMMARY_H

#include "check.h"

/* Files of one folder with the same outcome, rule and message. */
struct verdict_group {
    const struct file_result *first; /* its outcome and verdict stand for all */
    size_t *members;                 /* indexes into run->files, in walk order */
    size_t count;
    struct status_range *frames; /* the members' frame numbers, as ranges */
    size_t range_count;
    size_t frame_count; /* members that are frames; the others are listed by name */
};

/* An asset: the frames that passed (report, from the sequence rules) and
 * those that were refused, one range over both. */
struct asset_summary {
    const char *key;
    const struct asset_report *report; /* NULL when no frame of it passed */
    size_t passed, refused;
    int64_t first, last;
    struct status_range *gaps; /* numbers no file has */
    size_t gap_count;
    struct status_range *refused_frames;
    size_t refused_range_count;
    struct verdict issue; /* S2, then the refusals, then S4; else pass */
};

struct folder_summary {
    char *folder; /* relative to the root; "" for the root itself */
    struct asset_summary *assets;
    size_t asset_count;
    struct verdict_group *groups;
    size_t group_count;
};

struct summary {
    struct folder_summary *folders;
    size_t count;
};

/* Arranges run's results; with all, passing files are grouped too (else
 * only failures). False when out of memory. */
bool summary_build(const struct check_run *run, bool all, struct summary *out);
void summary_free(struct summary *s);

/* "1004, 1010-1012" with sep ", " */
void summary_ranges(const struct status_range *r, size_t n, const char *sep, char *out, size_t len);

/* The file name part of a relative path. */
const char *summary_base_name(const char *relpath);

#endif
