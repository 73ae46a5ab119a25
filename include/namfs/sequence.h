/* Sequence rules across frames (SPEC.md S1-S5): per asset, the first frame
 * fixes the image properties; frame numbers, gaps and duplicates. */
#ifndef NAMFS_SEQUENCE_H
#define NAMFS_SEQUENCE_H

#include "namfs/frame.h"
#include "namfs/naming.h"
#include "namfs/status.h"
#include "namfs/verdict.h"

#include <stddef.h>
#include <stdint.h>

/* The image properties S1 and S4 compare. */
struct frame_props {
    enum frame_format format;
    uint32_t width, height;
    int bit_depth;
    int components;
    char channels[96];       /* EXR "B:half G:half R:half"; DPX descriptor */
    int codec;               /* EXR compression, -1 for DPX */
    int packing;             /* DPX packing, -1 for EXR */
    int transfer;            /* DPX transfer code, -1 for EXR */
    int colorimetric;        /* DPX colorimetric code, -1 for EXR */
    float chromaticities[8]; /* EXR; all zero when absent */
};

void frame_props_from_info(const struct frame_info *info, struct frame_props *props);

/* One line such as "EXR 3840x2160 half B:half G:half R:half PIZ". */
void frame_props_describe(const struct frame_props *props, char *out, size_t len);

/* Every field as one line of text, for a catalog shared between hosts,
 * and back; false for text that is not one. */
void frame_props_encode(const struct frame_props *props, char *out, size_t len);
bool frame_props_decode(const char *text, struct frame_props *props);

/* Writes the first difference ("bit depth: expected 16, found 10") and
 * returns false, or returns true when equal. */
bool frame_props_same(const struct frame_props *want, const struct frame_props *got, char *why,
                      size_t len);

struct seqset;

struct asset_report {
    const char *asset;
    bool textless;
    struct frame_props props;
    int padding;
    uint64_t first, last, count;
    size_t gap_count;
    struct status_range *gaps; /* caller frees; namfs/status.h finds them */
    struct verdict issue;      /* S2 (gaps) or S4 (textless vs texted), else pass */
};

struct seqset *seqset_new(void);
void seqset_free(struct seqset *set);

/* Judges S1, S3, S4 (properties) and S5 for a frame that passed the frame
 * rules, and records it when it passes. */
bool seqset_add(struct seqset *set, const struct frame_name *name, const struct frame_info *info,
                struct verdict *v);

/* The same judgement without recording anything. */
bool seqset_fits(const struct seqset *set, const struct frame_name *name,
                 const struct frame_info *info, struct verdict *v);

/* Forgets one frame of an asset (deleted, moved or rewritten); an asset
 * left without frames is forgotten too. */
void seqset_remove(struct seqset *set, const char *asset, uint64_t frame);

/* S3 where every frame is known at once (namctl check): the title's
 * frame numbers are padded to digits, as most of its frames are, before
 * any is added, so the few that differ fail and not the many (SPEC S3).
 * The mount instead lets the first landed frame decide. */
bool seqset_expect_padding(struct seqset *set, const char *title, int digits);

/* How a frame number written with digits digits constrains the padding:
 * zero-padded, it fixes the width (returns digits); unpadded, the width
 * is at most digits (returns -digits). */
int seqset_padding_fits(int digits, uint64_t frame);

/* What a frame fixes when it lands first: its asset's properties (S1)
 * and its title's numbering (S3: exact width when zero-padded, else the
 * width at most). */
void seqset_first_of(const struct frame_name *name, const struct frame_info *info,
                     struct frame_props *props, int *exact, int *at_most);

/* Whether the memory knows the frame's asset and its title already. */
bool seqset_knows(const struct seqset *set, const struct frame_name *name, bool *asset,
                  bool *title);

/* What another host's first frame fixed, taken as this memory's own: the
 * asset's properties (props NULL: not given) and the title's numbering
 * (exact -1: not given), each only where nothing is known yet. False when
 * out of memory. */
bool seqset_adopt(struct seqset *set, const struct frame_name *name,
                  const struct frame_props *props, int exact, int at_most);

size_t seqset_asset_count(const struct seqset *set);

/* Fills out for asset i (in order of first appearance), including its
 * gaps (S2) and the textless checks that need every frame (S4). Returns
 * false when out of memory. */
bool seqset_report(const struct seqset *set, size_t i, struct asset_report *out);

#endif
