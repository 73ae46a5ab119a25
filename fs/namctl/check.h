#ifndef NAMCTL_CHECK_H
#define NAMCTL_CHECK_H

#include "namfs/judge.h"
#include "namfs/sequence.h"
#include "namfs/walk.h"

struct file_result {
    enum judge_outcome outcome;
    struct verdict verdict;
    int64_t frame;   /* frame number, -1 when not named as a frame */
    char *asset;     /* a refused frame's asset key (its range counts it), else NULL */
    bool unreadable; /* could not be read: listed, verdict without a rule */
};

enum report_format { FORMAT_TEXT = 0, FORMAT_TSV, FORMAT_JSON };

#define CHECK_JOBS_MAX 64

/* The cores online, at least 1 and at most CHECK_JOBS_MAX. */
int check_default_jobs(void);

/* Everything `namctl check` found, for the report. */
struct check_run {
    const char *root;
    const struct profile *profile;
    struct walk_list files;
    struct file_result *results; /* one per files.entries[i] */
    struct asset_report *assets;
    size_t asset_count;
    struct seqset *seq;
    bool verbose;
    enum chunk_check chunks; /* EXR R7: leaders (default), --quick table, --deep library */
    size_t io_errors;        /* files that could not be read (listed, verdict without a rule) */
    int jobs;                /* threads judging files; up to CHECK_JOBS_MAX */
};

/* Walks run->root and judges every file, then the sequences. Prints the
 * reason and returns false on an I/O error. */
bool check_folder(struct check_run *run);
void check_run_free(struct check_run *run);

/* The profile at path, or the built-in default when path is NULL. */
bool check_load_profile(const char *path, struct profile *p);

int cmd_check(int argc, char **argv);

#endif
