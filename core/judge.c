/* The per-file pipeline shared by `namctl check` and the mount: name,
 * container signature, magic, header, frame rules, in that order, so the
 * verdict names the most basic thing wrong. */
#include "namfs/judge.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

enum container { CONTAINER_NONE, CONTAINER_ARCHIVE, CONTAINER_MOVIE, CONTAINER_IMAGE };

struct signature {
    size_t offset;
    const char *bytes;
    size_t len;
    enum container kind;
    const char *name;
};

/* R6: archives are never a delivery; movies only by the QuickTime/MXF
 * exception; other image formats are not NAM frames at all. */
static const struct signature signatures[] = {
    {0, "PK\x03\x04", 4, CONTAINER_ARCHIVE, "a zip archive"},
    {0, "PK\x05\x06", 4, CONTAINER_ARCHIVE, "a zip archive"},
    {0, "\x1f\x8b", 2, CONTAINER_ARCHIVE, "a gzip archive"},
    {0, "BZh", 3, CONTAINER_ARCHIVE, "a bzip2 archive"},
    {0,
     "\xfd"
     "7zXZ",
     5, CONTAINER_ARCHIVE, "an xz archive"},
    {0, "7z\xbc\xaf", 4, CONTAINER_ARCHIVE, "a 7-Zip archive"},
    {0, "Rar!", 4, CONTAINER_ARCHIVE, "a RAR archive"},
    {0, "\x28\xb5\x2f\xfd", 4, CONTAINER_ARCHIVE, "a zstd archive"},
    {257, "ustar", 5, CONTAINER_ARCHIVE, "a tar archive"},
    {4, "ftyp", 4, CONTAINER_MOVIE, "a QuickTime/MP4 movie"},
    {4, "moov", 4, CONTAINER_MOVIE, "a QuickTime movie"},
    {4, "mdat", 4, CONTAINER_MOVIE, "a QuickTime movie"},
    {4, "wide", 4, CONTAINER_MOVIE, "a QuickTime movie"},
    {0, "\x06\x0e\x2b\x34", 4, CONTAINER_MOVIE, "an MXF file"},
    {0, "\x1a\x45\xdf\xa3", 4, CONTAINER_IMAGE, "a Matroska movie"},
    {0, "RIFF", 4, CONTAINER_IMAGE, "a RIFF (AVI/WAV) file"},
    {0, "II*\0", 4, CONTAINER_IMAGE, "a TIFF image"},
    {0, "MM\0*", 4, CONTAINER_IMAGE, "a TIFF image"},
    {0, "\x89PNG", 4, CONTAINER_IMAGE, "a PNG image"},
    {0, "\xff\xd8\xff", 3, CONTAINER_IMAGE, "a JPEG image"},
    {4, "jP  ", 4, CONTAINER_IMAGE, "a JPEG 2000 image"},
};

static const char *const archive_extensions[] = {".zip", ".tar", ".tgz", ".gz", ".bz2",
                                                 ".xz",  ".7z",  ".rar", ".zst"};
static const char *const movie_extensions[] = {".mov", ".mp4", ".mxf", ".m4v"};

const char *judge_outcome_name(enum judge_outcome outcome)
{
    static const char *const names[] = {"pass", "fail", "skip", "pending"};
    return names[outcome];
}

static bool has_extension(const char *path, const char *const *exts, size_t n)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < n; i++)
        if (strcasecmp(dot, exts[i]) == 0)
            return true;
    return false;
}

/* Frame magic wins: an EXR may hold "ustar" at byte 257 in its header. */
static const struct signature *sniff_container(const char *relpath, const uint8_t *head, size_t len)
{
    static const struct signature by_name[] = {{0, "", 0, CONTAINER_ARCHIVE, "an archive"},
                                               {0, "", 0, CONTAINER_MOVIE, "a movie"}};

    if (frame_sniff(head, len) != FRAME_UNKNOWN)
        return NULL;
    for (size_t i = 0; i < COUNT(signatures); i++) {
        const struct signature *s = &signatures[i];
        if (len >= s->offset + s->len && memcmp(head + s->offset, s->bytes, s->len) == 0)
            return s;
    }
    if (has_extension(relpath, archive_extensions, COUNT(archive_extensions)))
        return &by_name[0];
    if (has_extension(relpath, movie_extensions, COUNT(movie_extensions)))
        return &by_name[1];
    return NULL;
}

static enum judge_outcome fail(struct judgement *out)
{
    return out->outcome = JUDGED_FAIL;
}

static enum judge_outcome need_more(struct judgement *out, size_t need)
{
    out->need = need;
    return out->outcome = JUDGED_NEED_MORE;
}

/* R8 before every other rule for a file named as a frame (SPEC: a PNG or
 * a zip named .dpx is not what its name says); then R6 for files named as
 * what they are; R7 for a frame too short to hold a magic number. */
static bool content_matches_name(const char *relpath, const struct frame_source *src,
                                 const struct profile *p, struct judgement *out)
{
    const struct signature *c = sniff_container(relpath, src->head, src->head_len);
    enum frame_format is = frame_sniff(src->head, src->head_len);
    enum frame_format named = out->name.named_format;

    if (named != FRAME_UNKNOWN && src->head_len < 4)
        return verdict_fail(&out->verdict, RULE_R7, "incomplete frame: the file holds %zu bytes",
                            src->head_len);
    if (named != FRAME_UNKNOWN && is != named)
        return verdict_fail(&out->verdict, RULE_R8,
                            "not what its name says: name says %s, expected its magic number, "
                            "found %s",
                            frame_format_name(named),
                            is != FRAME_UNKNOWN ? frame_format_name(is)
                            : c && c->len       ? c->name
                                                : "other content");
    if (c && c->kind == CONTAINER_ARCHIVE)
        return verdict_fail(&out->verdict, RULE_R6,
                            "expected image frames, found %s (deliveries are never zipped)",
                            c->name);
    if (c && (c->kind == CONTAINER_IMAGE || !p->allow_quicktime))
        return verdict_fail(&out->verdict, RULE_R6, "expected DPX or OpenEXR frames, found %s%s",
                            c->name,
                            c->kind == CONTAINER_MOVIE ? " (not allowed by the profile)" : "");
    if (named == FRAME_UNKNOWN && is != FRAME_UNKNOWN)
        return verdict_fail(&out->verdict, RULE_R8, "content is %s, expected a .%s name",
                            frame_format_name(is), is == FRAME_DPX ? "dpx" : "exr");
    return true;
}

static enum judge_outcome judge_header(const struct frame_source *src, const struct profile *p,
                                       enum judge_stage stage, struct judgement *out)
{
    struct parse_result res;

    switch (frame_parse(src, &out->info, &res)) {
    case PARSE_NEED_MORE:
        return need_more(out, res.need);
    case PARSE_INVALID:
        /* SPEC R9: an EXR header the library cannot read to its end is R9
         * however the read ended; a DPX cut inside its header is R7. */
        if (res.truncated && frame_sniff(src->head, src->head_len) == FRAME_DPX)
            verdict_fail(&out->verdict, RULE_R7, "incomplete frame: %s", res.message);
        else
            verdict_fail(&out->verdict, RULE_R9, "%s%s", res.message,
                         res.truncated ? " (the file ends inside its header)" : "");
        return fail(out);
    case PARSE_OK:
        break;
    }
    out->is_frame = true;
    if (!rules_judge_frame(&out->info, p, &out->name.declared, stage, &out->verdict))
        return fail(out);
    return out->outcome = JUDGED_PASS;
}

bool judge_skips_by_name(const char *relpath, const struct profile *p)
{
    struct frame_name name;
    struct verdict v;

    return naming_parse(relpath, p, &name, &v) &&
           (name.kind == NAME_MANIFEST || name.kind == NAME_SYSTEM);
}

enum judge_outcome judge_file(const char *relpath, const struct frame_source *src,
                              const struct profile *p, enum judge_stage stage,
                              struct judgement *out)
{
    memset(out, 0, sizeof *out);
    /* Naming is judged on the complete file only: a writer's first bytes
     * must not fail for a name it is about to fix with a rename. */
    if (!naming_parse(relpath, p, &out->name, &out->verdict) && stage == JUDGE_COMPLETE)
        return fail(out);
    verdict_pass(&out->verdict);
    if (out->name.kind == NAME_MANIFEST || out->name.kind == NAME_SYSTEM)
        return out->outcome = stage == JUDGE_EARLY ? JUDGED_NEED_MORE : JUDGED_SKIP;
    /* Frame magic decides at once; anything else waits for enough bytes
     * for every signature (tar's sits at 257). */
    if (!src->complete && src->head_len < 512 &&
        frame_sniff(src->head, src->head_len) == FRAME_UNKNOWN)
        return need_more(out, src->head_len < 4 ? 4 : 512);
    if (!content_matches_name(relpath, src, p, out))
        return fail(out);
    if (out->name.kind != NAME_FRAME)
        return out->outcome = JUDGED_PASS; /* other files pass through unjudged */
    return judge_header(src, p, stage, out);
}
