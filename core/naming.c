/* Delivery naming (SPEC.md N1-N6), from the partner's folder convention:
 *   <title>_<episode>_<nam|nam-txtls>_<10b|16b>_<sdr|hdr>_<aces version>_
 *   <colour space>_<transfer>_<YYYYMMDD>_<aspect>_<W>x<H>/<folder>.<frame>.<dpx|exr>
 * Titles may contain '_', so the ten fixed fields are taken from the right. */
#include "namfs/naming.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define N3_FIXED_FIELDS 10

static bool all_chars(const char *s, const char *set)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(set, *s))
            return false;
    return true;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* OpenImageIO writes "stem.<8 characters>.temp.ext" and renames it. */
static bool oiio_temp(const char *name)
{
    const char *temp = strstr(name, ".temp.");
    return temp && temp - name > 9 && temp[-9] == '.';
}

bool naming_is_system(const char *name)
{
    size_t n = strlen(name);

    if (name[0] == '.' || name[0] == '#' || name[0] == '~')
        return true; /* dot files (.DS_Store, ._x, rsync temps), emacs autosaves, Office locks */
    if (strcasecmp(name, "Thumbs.db") == 0 || strcasecmp(name, "desktop.ini") == 0 ||
        strcasecmp(name, "Icon\r") == 0)
        return true;
    if (n > 1 && name[n - 1] == '~')
        return true; /* editor backups */
    const char *ext = strrchr(name, '.');
    return oiio_temp(name) ||
           (ext && (strcasecmp(ext, ".swp") == 0 || strcasecmp(ext, ".tmp") == 0 ||
                    strcasecmp(ext, ".part") == 0 || strcasecmp(ext, ".partial") == 0));
}

bool naming_is_held(const char *relpath)
{
    char buf[NAMING_KEY_MAX];
    char *save = NULL;

    snprintf(buf, sizeof buf, "%s", relpath + strspn(relpath, "/"));
    for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save))
        if (naming_is_system(c))
            return true;
    return false;
}

/* N1 on every component, N6 on every component. */
static bool check_components(const char *relpath, const struct profile *p, struct frame_name *out,
                             struct verdict *v)
{
    char buf[NAMING_KEY_MAX];
    char *save = NULL;

    snprintf(buf, sizeof buf, "%s", relpath);
    for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (naming_is_system(c)) {
            out->kind = NAME_SYSTEM;
            if (profile_enforces(p, RULE_N6))
                return verdict_fail(v, RULE_N6,
                                    "'%s' is a hidden, system or temp file: expected none in "
                                    "a delivery",
                                    c);
            return true;
        }
        if (!all_chars(c, "._-") && profile_enforces(p, RULE_N1))
            return verdict_fail(
                v, RULE_N1, "'%s': expected only A-Z a-z 0-9 . _ -, found another character", c);
    }
    return true;
}

static bool valid_date(const char *s)
{
    static const int days_in[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (strlen(s) != 8 || !all_digits(s))
        return false;
    int year = atoi(s) / 10000;
    int month = (s[4] - '0') * 10 + (s[5] - '0');
    int day = (s[6] - '0') * 10 + (s[7] - '0');
    if (month < 1 || month > 12 || day < 1 || day > days_in[month - 1])
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month != 2 || day <= 28 || leap;
}

static bool field_error(char *why, size_t len, int index, const char *field, const char *want,
                        const char *found)
{
    snprintf(why, len, "field %d (%s): expected %s, found '%s'", index, field, want, found);
    return false;
}

/* fields[0..9] are the ten fixed fields, left to right. */
static bool check_fixed_fields(char **f, struct declared *d, char *why, size_t len)
{
    if (!*f[0] || !all_chars(f[0], "-"))
        return field_error(why, len, 2, "season-episode or segment", "sNNeNN or a segment", f[0]);
    if (strcmp(f[1], "nam") != 0 && strcmp(f[1], "nam-txtls") != 0)
        return field_error(why, len, 3, "asset type", "nam or nam-txtls", f[1]);
    if (strcmp(f[2], "10b") != 0 && strcmp(f[2], "16b") != 0)
        return field_error(why, len, 4, "bit depth", "10b or 16b", f[2]);
    if (strcmp(f[3], "sdr") != 0 && strcmp(f[3], "hdr") != 0)
        return field_error(why, len, 5, "dynamic range", "sdr or hdr", f[3]);
    for (int i = 4; i <= 6; i++)
        if (!*f[i] || !all_chars(f[i], "-.")) {
            static const char *const names[] = {"aces version", "colour space", "transfer"};
            return field_error(why, len, i + 2, names[i - 4], "a non-empty token", f[i]);
        }
    if (!valid_date(f[7]))
        return field_error(why, len, 9, "date", "YYYYMMDD", f[7]);
    if (!*f[8] || !all_chars(f[8], ".") || strspn(f[8], "0123456789.") != strlen(f[8]))
        return field_error(why, len, 10, "aspect ratio", "digits such as 178 or 239", f[8]);
    if (!frame_parse_size(f[9], &d->width, &d->height))
        return field_error(why, len, 11, "resolution", "WIDTHxHEIGHT", f[9]);
    d->textless = strcmp(f[1], "nam-txtls") == 0;
    d->bit_depth = f[2][0] == '1' && f[2][1] == '6' ? 16 : 10;
    snprintf(d->episode, sizeof d->episode, "%s", f[0]);
    snprintf(d->range, sizeof d->range, "%s", f[3]);
    snprintf(d->aces_version, sizeof d->aces_version, "%s", f[4]);
    snprintf(d->colour_space, sizeof d->colour_space, "%s", f[5]);
    snprintf(d->transfer, sizeof d->transfer, "%s", f[6]);
    snprintf(d->date, sizeof d->date, "%s", f[7]);
    snprintf(d->aspect, sizeof d->aspect, "%s", f[8]);
    return true;
}

bool naming_parse_folder(const char *folder, struct declared *d, char *why, size_t why_len)
{
    char buf[NAMING_KEY_MAX];
    char *fields[N3_FIXED_FIELDS];

    memset(d, 0, sizeof *d);
    snprintf(buf, sizeof buf, "%s", folder);
    for (int i = N3_FIXED_FIELDS - 1; i >= 0; i--) {
        char *sep = strrchr(buf, '_');
        if (!sep) {
            snprintf(why, why_len,
                     "expected <title>_<episode>_<nam|nam-txtls>_<bit depth>_<range>_<aces "
                     "version>_<colour space>_<transfer>_<YYYYMMDD>_<aspect>_<W>x<H>, found "
                     "%d fields",
                     N3_FIXED_FIELDS - i);
            return false;
        }
        fields[i] = sep + 1;
        *sep = '\0';
    }
    if (!buf[0]) {
        snprintf(why, why_len, "field 1 (title): expected a title, found nothing");
        return false;
    }
    snprintf(d->title, sizeof d->title, "%s", buf);
    if (!check_fixed_fields(fields, d, why, why_len))
        return false;
    d->present = true;
    return true;
}

static enum frame_format format_of_extension(const char *ext)
{
    if (strcasecmp(ext, "dpx") == 0)
        return FRAME_DPX;
    if (strcasecmp(ext, "exr") == 0)
        return FRAME_EXR;
    return FRAME_UNKNOWN;
}

/* Splits "<stem>.<digits>.<ext>"; with no such form, takes trailing digits
 * of the stem so that relaxed naming still finds a frame number. */
static bool split_frame_name(const char *name, char *stem, size_t stem_len, uint64_t *frame,
                             int *padding, bool *canonical)
{
    const char *ext = strrchr(name, '.');
    size_t base_len = (size_t)(ext - name);
    const char *digits = base_len ? name + base_len : name;

    while (digits > name && isdigit((unsigned char)digits[-1]))
        digits--;
    *padding = (int)(name + base_len - digits);
    if (*padding == 0 || *padding > 18)
        return false;
    *frame = strtoull(digits, NULL, 10);
    *canonical = digits > name + 1 && digits[-1] == '.';
    size_t keep = (size_t)(digits - name) - (*canonical ? 1 : 0);
    snprintf(stem, stem_len, "%.*s", (int)keep, name);
    return true;
}

/* The folder that carries the N3 name: the frame's folder, or with reels
 * the one above the reel folder. */
static const char *sequence_folder(const char *dir, const struct profile *p, char *buf, size_t len)
{
    snprintf(buf, len, "%s", dir);
    char *last = strrchr(buf, '/');
    if (p->reels && last) {
        *last = '\0';
        last = strrchr(buf, '/');
    } else if (p->reels) {
        buf[0] = '\0';
    }
    return last ? last + 1 : buf;
}

static void texted_key(const struct frame_name *out, char *key, size_t len)
{
    const char *txt = "_nam-txtls_";
    char tmp[NAMING_KEY_MAX];
    size_t used = 0;

    snprintf(tmp, sizeof tmp, "%s", out->asset);
    key[0] = '\0';
    for (char *p = tmp, *hit; used < len; p = hit + strlen(txt)) {
        hit = strstr(p, txt);
        if (!hit) {
            snprintf(key + used, len - used, "%s", p);
            break;
        }
        used += (size_t)snprintf(key + used, len - used, "%.*s_nam_", (int)(hit - p), p);
    }
}

/* N3 on the sequence folder, N4 on the file name: each enforced on its
 * own, so relaxing one still checks the other. */
static bool check_sequence_name(const char *dir, const char *stem, const char *name,
                                const struct profile *p, struct frame_name *out, struct verdict *v)
{
    char buf[NAMING_KEY_MAX], why[240];
    const char *folder = sequence_folder(dir, p, buf, sizeof buf);

    if (!*folder) {
        snprintf(why, sizeof why,
                 "expected the frame inside its sequence folder, found it at "
                 "the delivery root");
        if (profile_enforces(p, RULE_N3))
            return verdict_fail(v, RULE_N3, "%s: %s", name, why);
        return true;
    }
    if (!naming_parse_folder(folder, &out->declared, why, sizeof why) &&
        profile_enforces(p, RULE_N3))
        return verdict_fail(v, RULE_N3, "sequence folder '%s': %s", folder, why);
    if (strcmp(stem, folder) != 0 && profile_enforces(p, RULE_N4))
        return verdict_fail(v, RULE_N4, "'%s': expected the name %s.<frame>.%s, found stem '%s'",
                            name, folder, out->named_format == FRAME_DPX ? "dpx" : "exr", stem);
    return true;
}

static bool parse_frame(const char *relpath, const char *name, const struct profile *p,
                        struct frame_name *out, struct verdict *v)
{
    char dir[NAMING_KEY_MAX], stem[NAMING_KEY_MAX];
    bool canonical = false;
    const char *ext = strrchr(name, '.') + 1;

    snprintf(dir, sizeof dir, "%.*s", (int)(name - relpath ? name - relpath - 1 : 0), relpath);
    if (!split_frame_name(name, stem, sizeof stem, &out->frame, &out->padding, &canonical))
        return verdict_fail(v, RULE_S5, "'%s': expected one frame number before .%s, found none",
                            name, ext);
    snprintf(out->asset, sizeof out->asset, "%s%s%s", dir, *dir ? "/" : "", stem);
    bool lower_ext = strcmp(ext, "dpx") == 0 || strcmp(ext, "exr") == 0;
    if ((!canonical || !lower_ext) && profile_enforces(p, RULE_N4))
        return verdict_fail(v, RULE_N4, "'%s': expected <name>.<frame>.dpx or .exr", name);
    if (!check_sequence_name(dir, stem, name, p, out, v))
        return false;
    snprintf(out->title, sizeof out->title, "%s",
             out->declared.present ? out->declared.title : out->asset);
    out->textless = out->declared.textless;
    if (out->textless)
        texted_key(out, out->texted_asset, sizeof out->texted_asset);
    return true;
}

bool naming_parse(const char *relpath, const struct profile *p, struct frame_name *out,
                  struct verdict *v)
{
    const char *slash = strrchr(relpath, '/');
    const char *name = slash ? slash + 1 : relpath;
    const char *ext = strrchr(name, '.');

    memset(out, 0, sizeof *out);
    verdict_pass(v);
    out->kind = NAME_OTHER;
    out->named_format = ext ? format_of_extension(ext + 1) : FRAME_UNKNOWN;
    if (strcmp(name, "checksum.txt") == 0 || strncmp(relpath, "ascmhl/", 7) == 0 ||
        strncmp(name, ".namfs-tmp.", 11) == 0) {
        out->kind = NAME_MANIFEST;
        return true;
    }
    if (strlen(relpath) > NAMING_PATH_MAX && profile_enforces(p, RULE_N2))
        return verdict_fail(v, RULE_N2, "path is %zu characters: expected at most %d",
                            strlen(relpath), NAMING_PATH_MAX);
    if (!check_components(relpath, p, out, v) || out->kind == NAME_SYSTEM)
        return verdict_passed(v);
    if (out->named_format == FRAME_UNKNOWN)
        return true;
    out->kind = NAME_FRAME;
    return parse_frame(relpath, name, p, out, v);
}
