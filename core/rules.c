/* The frame rules as a table: each check knows its rule and whether the
 * fields it reads are final in the first bytes a writer sends (SPEC.md:
 * writers patch DPX offsets and sizes and EXR chunk tables at the end). */
#include "namfs/rules.h"

#include "namfs/dpx.h"
#include "namfs/exr.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct rule_input {
    const struct frame_info *info;
    const struct profile *p;
    const struct declared *declared; /* NULL when the name declares nothing */
};

struct rule_check {
    bool early; /* reads only writer-stable header fields */
    bool (*passes)(const struct rule_input *in, struct verdict *v);
};

static const float ap0[8] = {0.7347f, 0.2653f, 0.0f, 1.0f, 0.0001f, -0.077f, 0.32168f, 0.33767f};

bool rules_is_ap0(const struct frame_info *info)
{
    if (info->format != FRAME_EXR || !info->exr.has_chromaticities)
        return false;
    for (int i = 0; i < 8; i++)
        if (fabsf(info->exr.chromaticities[i] - ap0[i]) > 1e-4f)
            return false;
    return true;
}

static bool format_allowed(const struct rule_input *in, struct verdict *v)
{
    const struct frame_info *f = in->info;

    if (f->format == FRAME_DPX && !in->p->allow_dpx)
        return verdict_fail(v, RULE_R4, "expected OpenEXR frames (profile formats), found DPX");
    if (f->format == FRAME_EXR && !in->p->allow_exr)
        return verdict_fail(v, RULE_R2, "expected DPX frames (profile formats), found OpenEXR");
    return true;
}

static bool resolution(const struct rule_input *in, struct verdict *v)
{
    const struct frame_info *f = in->info;
    const struct profile *p = in->p;

    if (f->width < p->floor_width || f->height < p->floor_height)
        return verdict_fail(v, RULE_R1, "expected at least %ux%u, found %ux%u", p->floor_width,
                            p->floor_height, f->width, f->height);
    if (p->width && (f->width != p->width || f->height != p->height))
        return verdict_fail(v, RULE_R1, "expected the archival resolution %ux%u, found %ux%u",
                            p->width, p->height, f->width, f->height);
    if (f->format == FRAME_EXR &&
        memcmp(f->exr.data_window, f->exr.display_window, sizeof f->exr.data_window) != 0) {
        const int32_t *w = f->exr.data_window, *d = f->exr.display_window;
        return verdict_fail(v, RULE_R1,
                            "expected the data window to be the display window %d,%d-%d,%d, "
                            "found %d,%d-%d,%d",
                            d[0], d[1], d[2], d[3], w[0], w[1], w[2], w[3]);
    }
    if (f->format == FRAME_EXR) {
        const int32_t *d = f->exr.display_window;
        int64_t dw = (int64_t)d[2] - d[0] + 1, dh = (int64_t)d[3] - d[1] + 1;
        if (dw < p->floor_width || dh < p->floor_height)
            return verdict_fail(v, RULE_R1,
                                "expected a display window of at least %ux%u, "
                                "found %lldx%lld",
                                p->floor_width, p->floor_height, (long long)dw, (long long)dh);
    }
    return true;
}

static bool dpx_bit_depth(const struct rule_input *in, struct verdict *v)
{
    const struct frame_info *f = in->info;

    if (f->format != FRAME_DPX || f->dpx.bit_size == 16)
        return true;
    if (f->dpx.bit_size == 10 && !in->p->allow_dpx10)
        return verdict_fail(v, RULE_R3,
                            "expected 16-bit DPX (10-bit needs allow_dpx10 in the "
                            "profile), found 10-bit");
    if (f->dpx.bit_size != 10)
        return verdict_fail(v, RULE_R2, "expected 16-bit DPX%s, found %d-bit",
                            in->p->allow_dpx10 ? " (or 10-bit)" : "", f->dpx.bit_size);
    return true;
}

/* A NAM is an RGB picture: luma-only, alpha-only or YCbCr elements are not. */
static bool dpx_descriptor(const struct rule_input *in, struct verdict *v)
{
    const struct frame_info *f = in->info;

    if (f->format != FRAME_DPX || f->dpx.descriptor == 50 || f->dpx.descriptor == 51)
        return true;
    return verdict_fail(v, RULE_R2,
                        "expected an RGB or RGBA image element (descriptor 50 or 51), found %u "
                        "(%s)",
                        f->dpx.descriptor, dpx_descriptor_name(f->dpx.descriptor));
}

static bool dpx_transfer(const struct rule_input *in, struct verdict *v)
{
    const struct frame_info *f = in->info;
    char allowed[64];

    if (f->format != FRAME_DPX ||
        (f->dpx.transfer < 32 && (in->p->dpx_transfers & (1u << f->dpx.transfer))))
        return true;
    profile_transfer_list(in->p, allowed, sizeof allowed);
    return verdict_fail(v, RULE_R2,
                        "expected a log DPX transfer characteristic (%s), found %u (%s)", allowed,
                        f->dpx.transfer, dpx_transfer_name(f->dpx.transfer));
}

static bool exr_layout(const struct rule_input *in, struct verdict *v)
{
    const struct exr_fields *e = &in->info->exr;

    if (in->info->format != FRAME_EXR)
        return true;
    if (e->parts != 1)
        return verdict_fail(v, RULE_R4, "expected a single-part OpenEXR, found %d parts", e->parts);
    if (e->storage != EXR_SCANLINE && e->storage != EXR_TILED)
        return verdict_fail(v, RULE_R4, "expected scanline or tiled image data, found deep data");
    return true;
}

static bool is_picture_channel(const char *name)
{
    return strcmp(name, "R") == 0 || strcmp(name, "G") == 0 || strcmp(name, "B") == 0 ||
           strcmp(name, "A") == 0;
}

static bool exr_channels(const struct rule_input *in, struct verdict *v)
{
    const struct exr_fields *e = &in->info->exr;
    int rgb = 0;

    if (in->info->format != FRAME_EXR)
        return true;
    for (int i = 0; i < e->channel_count; i++) {
        if (!is_picture_channel(e->channels[i].name))
            return verdict_fail(v, RULE_R4, "expected channels R, G, B (and A), found %s",
                                e->channels[i].name);
        rgb += e->channels[i].name[0] != 'A';
        if (e->channels[i].sample != EXR_SAMPLE_HALF)
            return verdict_fail(v, RULE_R4, "expected every channel HALF, found channel %s %s",
                                e->channels[i].name, exr_sample_name(e->channels[i].sample));
    }
    if (rgb != 3 || in->info->components != e->channel_count)
        return verdict_fail(v, RULE_R4, "expected channels R, G, B (and A), found %d channels",
                            in->info->components);
    return true;
}

static bool exr_compression(const struct rule_input *in, struct verdict *v)
{
    char allowed[96];

    if (in->info->format != FRAME_EXR || profile_allows_codec(in->p, in->info->exr.codec))
        return true;
    profile_codec_list(in->p, allowed, sizeof allowed);
    return verdict_fail(v, RULE_R4, "expected compression %s, found %s", allowed,
                        exr_codec_name(in->info->exr.codec));
}

static bool aces(const struct rule_input *in, struct verdict *v)
{
    const struct frame_info *f = in->info;

    if (in->p->colour != COLOUR_ACES)
        return true;
    if (f->format != FRAME_EXR)
        return verdict_fail(v, RULE_R5, "expected linear AP0 OpenEXR (ACES project), found DPX");
    if (!f->exr.has_chromaticities)
        return verdict_fail(v, RULE_R5,
                            "expected AP0 chromaticities (ACES project), found none "
                            "(Rec. 709 implied)");
    if (!rules_is_ap0(f))
        return verdict_fail(v, RULE_R5,
                            "expected AP0 chromaticities (ACES project), found red "
                            "%.4f,%.4f green %.4f,%.4f",
                            f->exr.chromaticities[0], f->exr.chromaticities[1],
                            f->exr.chromaticities[2], f->exr.chromaticities[3]);
    if (f->exr.aces_container_flag > 1 ||
        (in->p->aces_flag_required && f->exr.aces_container_flag != 1))
        return verdict_fail(v, RULE_R5, "expected acesImageContainerFlag 1, found %s",
                            f->exr.aces_container_flag < 0 ? "none" : "another value");
    return true;
}

static bool declared_format(const struct rule_input *in, struct verdict *v)
{
    const struct declared *d = in->declared;
    const struct frame_info *f = in->info;

    if (!d || !profile_enforces(in->p, RULE_N5))
        return true;
    if (d->bit_depth != f->bit_depth)
        return verdict_fail(v, RULE_N5, "name declares %db, found %d-bit %s", d->bit_depth,
                            f->bit_depth, frame_format_name(f->format));
    if (d->width != f->width || d->height != f->height)
        return verdict_fail(v, RULE_N5, "name declares %ux%u, found %ux%u", d->width, d->height,
                            f->width, f->height);
    if (f->format == FRAME_DPX && strcmp(d->transfer, "linear") == 0)
        return verdict_fail(v, RULE_N5, "name declares linear (OpenEXR), found DPX");
    if (f->format == FRAME_EXR && strcmp(d->transfer, "log") == 0)
        return verdict_fail(v, RULE_N5, "name declares log (DPX), found OpenEXR");
    return true;
}

static bool declared_colour(const struct rule_input *in, struct verdict *v)
{
    const struct declared *d = in->declared;

    if (!d || !profile_enforces(in->p, RULE_N5) || strcmp(d->colour_space, "ap0") != 0 ||
        in->info->format != FRAME_EXR || rules_is_ap0(in->info))
        return true;
    return verdict_fail(v, RULE_N5, "name declares ap0, found %s chromaticities",
                        in->info->exr.has_chromaticities ? "non-AP0" : "no (Rec. 709)");
}

static bool complete(const struct rule_input *in, struct verdict *v)
{
    if (in->info->completeness != COMPLETENESS_NO)
        return true;
    return verdict_fail(v, RULE_R7, "incomplete frame: %s", in->info->incomplete_why);
}

/* R9 structure: without it the image data cannot be located or sized,
 * so relaxing R9 does not turn these off. */
static bool dpx_structure(const struct dpx_fields *d, struct verdict *v)
{
    if (d->element_count != 1)
        return verdict_fail(v, RULE_R9, "expected 1 image element, found %u", d->element_count);
    if (d->data_sign != 0)
        return verdict_fail(v, RULE_R9, "expected unsigned image data, found data sign %u",
                            d->data_sign);
    if (d->encryption_key != 0xffffffffu && d->encryption_key != 0)
        return verdict_fail(v, RULE_R9, "expected no encryption, found key 0x%08x",
                            d->encryption_key);
    if (d->encoding != 0)
        return verdict_fail(v, RULE_R9, "expected encoding 0 (none), found %u%s", d->encoding,
                            d->encoding == 1 ? " (RLE)" : "");
    if (d->image_bytes == 0)
        return verdict_fail(v, RULE_R9, "expected a defined layout, found %u-bit packing %u",
                            d->bit_size, d->packing);
    if (d->data_offset < DPX_GENERIC_HEADER)
        return verdict_fail(v, RULE_R9,
                            "expected image data after the %d-byte generic header, found "
                            "offset %u",
                            DPX_GENERIC_HEADER, d->data_offset);
    if (d->data_offset != d->header_data_offset)
        return verdict_fail(v, RULE_R9,
                            "expected the file and element data offsets to agree, found %u "
                            "and %u",
                            d->header_data_offset, d->data_offset);
    return true;
}

/* R9 bookkeeping fields: what `relax = R9` relaxes (ImageMagick 6 writes
 * a wrong file-size field). */
static bool dpx_bookkeeping(const struct frame_info *f, struct verdict *v)
{
    const struct dpx_fields *d = &f->dpx;

    if (strcmp(d->version, "V1.0") != 0 && strcmp(d->version, "V2.0") != 0)
        return verdict_fail(v, RULE_R9, "expected version V1.0 or V2.0, found '%.8s'", d->version);
    if (f->file_size && d->file_size_field != f->file_size)
        return verdict_fail(v, RULE_R9, "expected file size field %llu (the real size), found %u",
                            (unsigned long long)f->file_size, d->file_size_field);
    return true;
}

static bool dpx_consistent(const struct rule_input *in, struct verdict *v)
{
    const struct frame_info *f = in->info;

    if (f->format != FRAME_DPX)
        return true;
    return dpx_structure(&f->dpx, v) &&
           (!profile_enforces(in->p, RULE_R9) || dpx_bookkeeping(f, v));
}

/* Order matters: the first failure is the one reported, so the most
 * fundamental rules come first. */
static const struct rule_check checks[] = {
    {true, format_allowed},   {true, exr_layout}, /* R4 layout before R1 (SPEC) */
    {true, resolution},       {true, dpx_bit_depth},
    {true, dpx_descriptor},   {true, exr_channels},
    {true, exr_compression},  {true, declared_format},
    {false, dpx_transfer},    {true, aces},
    {false, declared_colour}, {false, complete},
    {false, dpx_consistent},
};

bool rules_judge_frame(const struct frame_info *info, const struct profile *p,
                       const struct declared *declared, enum judge_stage stage, struct verdict *v)
{
    const struct rule_input in = {info, p, declared && declared->present ? declared : NULL};

    verdict_pass(v);
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (stage == JUDGE_EARLY && !checks[i].early)
            continue;
        if (!checks[i].passes(&in, v))
            return false;
    }
    return true;
}
