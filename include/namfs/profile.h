/* The delivery profile: the project-specific settings the rules read.
 * File format: INI (docs/namfs-profile.5); built-in default when none. */
#ifndef NAMFS_PROFILE_H
#define NAMFS_PROFILE_H

#include "namfs/frame.h"
#include "namfs/hash.h"
#include "namfs/verdict.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum colour_mode { COLOUR_CAMERA_NATIVE = 0, COLOUR_ACES };

#define PROFILE_UHD_WIDTH 3840
#define PROFILE_UHD_HEIGHT 2160

struct profile {
    char source[256]; /* the file it came from, or "built-in default" */

    bool allow_dpx, allow_exr;
    uint32_t width, height;             /* archival resolution; 0x0 = any at/above floor */
    uint32_t floor_width, floor_height; /* R1 floor: UHD unless [testing] lowers it */
    bool testing;                       /* a [testing] key is in force */
    bool allow_dpx10;                   /* R3 */
    uint32_t dpx_transfers;             /* R2: bit n set = transfer code n accepted */
    enum colour_mode colour;            /* R5 */
    bool aces_flag_required;            /* R5: acesImageContainerFlag must be 1 */
    uint32_t exr_codecs;                /* R4: bit n set = enum exr_codec n accepted */
    bool allow_quicktime;               /* R6 exception */
    bool reels;                         /* S2 per reel subfolder */
    uint64_t relaxed;                   /* bit n set = rule n not enforced */

    enum hash_algo checksum_hash; /* checksum.txt algorithm */
    uint32_t mhl_hashes;          /* bit n set = enum hash_algo n in the MHL */
};

/* The profile a new user gets: SPEC.md defaults, UHD floor, R9 strict. */
void profile_default(struct profile *p);

/* Loads and checks a profile file. On a mistake returns false and writes
 * one line naming file, line, key and what was expected into err. */
bool profile_load(const char *path, struct profile *p, char *err, size_t err_len);

/* Same, from text in memory (name is used in messages). */
bool profile_load_string(const char *name, const char *text, struct profile *p, char *err,
                         size_t err_len);

bool profile_enforces(const struct profile *p, enum rule_id rule);

bool profile_allows_codec(const struct profile *p, enum exr_codec codec);

/* "NONE, ZIP, ZIPS, PIZ": the accepted codecs, for messages. */
void profile_codec_list(const struct profile *p, char *out, size_t len);

/* "1, 3": the accepted DPX transfer codes, for messages. */
void profile_transfer_list(const struct profile *p, char *out, size_t len);

#endif
