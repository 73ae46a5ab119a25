/* What a path inside a delivery says: which sequence and frame it is, and
 * what its folder name declares (N1-N6). Paths are relative to the
 * delivery root and use '/'. */
#ifndef NAMFS_NAMING_H
#define NAMFS_NAMING_H

#include "namfs/frame.h"
#include "namfs/profile.h"
#include "namfs/verdict.h"

#include <stdbool.h>
#include <stdint.h>

#define NAMING_PATH_MAX 256 /* N2 */
#define NAMING_KEY_MAX 512

enum name_kind {
    NAME_FRAME,    /* .dpx / .exr */
    NAME_MANIFEST, /* checksum.txt, ascmhl/: namfs's own output */
    NAME_SYSTEM,   /* hidden, system and editor temp files (N6) */
    NAME_OTHER,    /* anything else */
};

/* The fields an N3 sequence folder name declares. */
struct declared {
    bool present;
    char title[128];
    char episode[32];
    bool textless;
    int bit_depth; /* 10 or 16 */
    char range[8];
    char aces_version[32];
    char colour_space[32];
    char transfer[32];
    char date[16];
    char aspect[16];
    uint32_t width, height;
};

struct frame_name {
    enum name_kind kind;
    enum frame_format named_format;    /* what the extension says */
    char asset[NAMING_KEY_MAX];        /* sequence key: folder + '/' + name stem */
    char title[NAMING_KEY_MAX];        /* S3 group: declared title, else the asset */
    char texted_asset[NAMING_KEY_MAX]; /* for a textless asset: its texted asset's key */
    uint64_t frame;
    int padding;   /* digits in the frame number */
    bool textless; /* N3 asset type nam-txtls */
    struct declared declared;
};

/* Classifies relpath and checks N1-N4 and N6 as far as the profile
 * enforces them. Returns false with the failed rule in v. out is filled
 * as far as the name could be read even on failure. */
bool naming_parse(const char *relpath, const struct profile *p, struct frame_name *out,
                  struct verdict *v);

/* Splits an N3 folder name into its fields; false with why on a mistake. */
bool naming_parse_folder(const char *folder, struct declared *d, char *why, size_t why_len);

/* N6: hidden, system or temp file name (one path component): dot files
 * (rsync's ".name.XXXXXX" among them), Thumbs.db, desktop.ini, editor
 * backups and swap files, "*.tmp", "*.part" (curl), "*.partial" (rclone),
 * OpenImageIO's "stem.XXXXXXXX.temp.ext". The MHL's ignore patterns cover
 * the same names (mhl.c). */
bool naming_is_system(const char *name);

/* N6 in the mount: a file under such a name, or in a folder with such a
 * name, is held: written, renamed and deleted freely, never judged as a
 * frame or listed in a manifest, until it is renamed to a final name (then
 * judged under it) or deleted. relpath may start with '/'. */
bool naming_is_held(const char *relpath);

#endif
