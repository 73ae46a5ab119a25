/* One file's verdict: naming (N*), container (R6), magic vs name (R8),
 * header and frame rules (R*). Sequence rules come after, in sequence. */
#ifndef NAMFS_JUDGE_H
#define NAMFS_JUDGE_H

#include "namfs/frame.h"
#include "namfs/naming.h"
#include "namfs/profile.h"
#include "namfs/rules.h"
#include "namfs/verdict.h"

enum judge_outcome {
    JUDGED_PASS,
    JUDGED_FAIL,      /* verdict says which rule */
    JUDGED_SKIP,      /* not delivery content: manifests, relaxed system files */
    JUDGED_NEED_MORE, /* JUDGE_EARLY only: the head is too short yet */
};

struct judgement {
    enum judge_outcome outcome;
    struct frame_name name;
    struct frame_info info;
    bool is_frame; /* info holds a parsed frame header */
    size_t need;   /* with JUDGED_NEED_MORE: head bytes wanted */
    struct verdict verdict;
};

/* True when judge_file would skip relpath by its name alone, without its
 * bytes: a manifest, a manifest's temp file, a system file. Such a file
 * need not be opened (another run's temp file may be gone by then). */
bool judge_skips_by_name(const char *relpath, const struct profile *p);

/* Judges relpath (relative to the delivery root) whose bytes are in src. */
enum judge_outcome judge_file(const char *relpath, const struct frame_source *src,
                              const struct profile *p, enum judge_stage stage,
                              struct judgement *out);

/* "pass", "fail", "skip", "pending". */
const char *judge_outcome_name(enum judge_outcome outcome);

#endif
