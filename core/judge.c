/* The per-file pipeline shared by `namctl check` and the mount: name,
 * container signature, magic, header, frame rules, in that order, so the
 * verdict names the most basic thing wrong. */
#include "namfs/judge.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

enum container { CONTAINER_NONE, CONTAINER_ARCHIVE, CONTAINER_MOVIE };

struct signature {
    size_t offset;
    const char *bytes;
    size_t len;
    enum container kind;
};

/* R6: archives are never a delivery; QuickTime/MXF only by exception. */
static const struct signature signatures[] = {
    {0, "PK\x03\x04", 4, CONTAINER_ARCHIVE},
    {0, "PK\x05\x06", 4, CONTAINER_ARCHIVE},
    {0, "\x1f\x8b", 2, CONTAINER_ARCHIVE},
    {0, "BZh", 3, CONTAINER_ARCHIVE},
    {0,
     "\xfd"
     "7zXZ",
     5, CONTAINER_ARCHIVE},
    {0, "7z\xbc\xaf", 4, CONTAINER_ARCHIVE},
    {0, "Rar!", 4, CONTAINER_ARCHIVE},
    {0, "\x28\xb5\x2f\xfd", 4, CONTAINER_ARCHIVE},
    {257, "ustar", 5, CONTAINER_ARCHIVE},
    {4, "ftyp", 4, CONTAINER_MOVIE},
    {4, "moov", 4, CONTAINER_MOVIE},
    {4, "mdat", 4, CONTAINER_MOVIE},
    {4, "wide", 4, CONTAINER_MOVIE},
    {0, "\x06\x0e\x2b\x34", 4, CONTAINER_MOVIE},
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

static enum container sniff_container(const char *relpath, const uint8_t *head, size_t len)
{
    for (size_t i = 0; i < COUNT(signatures); i++) {
        const struct signature *s = &signatures[i];
        if (len >= s->offset + s->len && memcmp(head + s->offset, s->bytes, s->len) == 0)
            return s->kind;
    }
    if (has_extension(relpath, archive_extensions, COUNT(archive_extensions)))
        return CONTAINER_ARCHIVE;
    if (has_extension(relpath, movie_extensions, COUNT(movie_extensions)))
        return CONTAINER_MOVIE;
    return CONTAINER_NONE;
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

/* R6 and R8: what the bytes are against what the name says. */
static bool content_matches_name(const char *relpath, const struct frame_source *src,
                                 const struct profile *p, struct judgement *out)
{
    enum container c = sniff_container(relpath, src->head, src->head_len);
    enum frame_format is = frame_sniff(src->head, src->head_len);
    enum frame_format named = out->name.named_format;

    if (c == CONTAINER_ARCHIVE)
        return verdict_fail(&out->verdict, RULE_R6,
                            "expected image frames, found an archive "
                            "(deliveries are never zipped)");
    if (c == CONTAINER_MOVIE && !p->allow_quicktime)
        return verdict_fail(&out->verdict, RULE_R6,
                            "expected image frames, found a QuickTime/MXF "
                            "file (not allowed by the profile)");
    if (named != FRAME_UNKNOWN && is != named)
        return verdict_fail(&out->verdict, RULE_R8,
                            "name says %s, expected its magic number, "
                            "found %s",
                            frame_format_name(named),
                            is == FRAME_UNKNOWN ? (src->head_len < 4 ? "a file shorter than 4 bytes"
                                                                     : "other content")
                                                : frame_format_name(is));
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
        verdict_fail(&out->verdict, res.truncated ? RULE_R7 : RULE_R9, "%s%s",
                     res.truncated ? "incomplete frame: " : "", res.message);
        return fail(out);
    case PARSE_OK:
        break;
    }
    out->is_frame = true;
    if (!rules_judge_frame(&out->info, p, &out->name.declared, stage, &out->verdict))
        return fail(out);
    return out->outcome = JUDGED_PASS;
}

enum judge_outcome judge_file(const char *relpath, const struct frame_source *src,
                              const struct profile *p, enum judge_stage stage,
                              struct judgement *out)
{
    memset(out, 0, sizeof *out);
    if (!naming_parse(relpath, p, &out->name, &out->verdict))
        return fail(out);
    if (out->name.kind == NAME_MANIFEST || out->name.kind == NAME_SYSTEM)
        return out->outcome = JUDGED_SKIP;
    if (src->head_len < 512 && !src->complete)
        return need_more(out, 512); /* enough for every signature */
    if (!content_matches_name(relpath, src, p, out))
        return fail(out);
    if (out->name.kind != NAME_FRAME)
        return out->outcome = JUDGED_PASS; /* other files pass through unjudged */
    return judge_header(src, p, stage, out);
}
