#ifndef NAMCTL_CHECK_H
#define NAMCTL_CHECK_H

#include "namfs/judge.h"
#include "namfs/sequence.h"
#include "walk.h"

struct file_result {
    enum judge_outcome outcome;
    struct verdict verdict;
};

/* Everything `namctl check` found, for the report. */
struct check_run {
    const char *root;
    const struct profile *profile;
    struct walk_list files;
    struct file_result *results; /* one per files.entries[i] */
    struct asset_report *assets;
    size_t asset_count;
    bool verbose;
};

int cmd_check(int argc, char **argv);

#endif
