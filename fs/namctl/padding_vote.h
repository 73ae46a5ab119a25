/* S3 offline: the padding most of a title's frames use (SPEC S3). */
#ifndef NAMCTL_PADDING_VOTE_H
#define NAMCTL_PADDING_VOTE_H

#include "namfs/profile.h"
#include "namfs/sequence.h"
#include "namfs/walk.h"

/* Reads every frame name in files and tells seq, per title, the padding
 * width that the most frame numbers fit. False when out of memory. */
bool padding_vote(const struct walk_list *files, const struct profile *p, struct seqset *seq);

#endif
