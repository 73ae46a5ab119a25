/* Frame rules (SPEC.md R1-R9, N5): frame_info + profile (+ what the name
 * declares) -> verdict. Pure: no I/O. */
#ifndef NAMFS_RULES_H
#define NAMFS_RULES_H

#include "namfs/frame.h"
#include "namfs/naming.h"
#include "namfs/profile.h"
#include "namfs/verdict.h"

enum judge_stage {
    /* Only the header's first bytes are in: judge just the fields no
     * writer patches later (magic, size, bit size, descriptor, EXR
     * channels, compression and, once the whole EXR header is in, its
     * chromaticities: R5). */
    JUDGE_EARLY,
    /* The whole file is there: every rule. */
    JUDGE_COMPLETE,
};

/* declared may be NULL (no N3 name). Returns true when every rule of the
 * stage passes; otherwise the first failed rule is in v. */
bool rules_judge_frame(const struct frame_info *info, const struct profile *p,
                       const struct declared *declared, enum judge_stage stage, struct verdict *v);

/* True when the EXR chromaticities are ACES AP0 within 1e-4 (R5). */
bool rules_is_ap0(const struct frame_info *info);

#endif
