/* `namctl info`: what namfs reads in a frame's header, so a vendor can see
 * why a frame is judged the way it is. */
#include "info.h"

#include "frame_file.h"
#include "json.h"
#include "namfs/dpx.h"
#include "namfs/exr.h"
#include "namfs/rules.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHANNEL_TEXT_MAX 65536 /* room for hundreds of long channel names */

static const char *completeness_name(enum completeness c)
{
    return c == COMPLETENESS_YES ? "complete" : c == COMPLETENESS_NO ? "incomplete" : "unknown";
}

/* Every channel, "B half G half ...": read through the library again,
 * since frame_info keeps only the first few. */
struct channel_text {
    char *out;
    size_t len, used;
};

static void add_channel(void *ctx, const char *name, enum exr_sample sample)
{
    struct channel_text *t = ctx;

    if (t->used < t->len)
        t->used += (size_t)snprintf(t->out + t->used, t->len - t->used, "%s%s:%s",
                                    t->used ? " " : "", name, exr_sample_name(sample));
}

static int channel_list(const struct frame_source *src, char *out, size_t len)
{
    struct channel_text t = {out, len, 0};

    out[0] = '\0';
    return exr_each_channel(src, add_channel, &t);
}

static const char *storage_name(enum exr_storage storage)
{
    switch (storage) {
    case EXR_SCANLINE:
        return "scanline";
    case EXR_TILED:
        return "tiled";
    case EXR_DEEP_SCANLINE:
        return "deep scanline";
    case EXR_DEEP_TILED:
        return "deep tiled";
    }
    return "unknown";
}

static const char *chromaticities_name(const struct frame_info *f)
{
    return !f->exr.has_chromaticities ? "absent" : rules_is_ap0(f) ? "AP0" : "other";
}

static void print_dpx_text(const struct dpx_fields *d)
{
    printf("  %s-endian, version %s, descriptor %u (%s), transfer %u (%s), colorimetric %u "
           "(%s)\n  packing %u (%s), encoding %u (%s), data offset %u, image data %llu bytes, "
           "file size field %u\n",
           d->big_endian ? "big" : "little", d->version, d->descriptor,
           dpx_descriptor_name(d->descriptor), d->transfer, dpx_transfer_name(d->transfer),
           d->colorimetric, dpx_colorimetric_name(d->colorimetric), d->packing,
           dpx_packing_name(d->packing), d->encoding,
           d->encoding == 0   ? "none"
           : d->encoding == 1 ? "RLE"
                              : "undefined",
           d->data_offset, (unsigned long long)d->image_bytes, d->file_size_field);
}

static void print_exr_text(const struct frame_info *f, const char *channels, int channel_count)
{
    const struct exr_fields *e = &f->exr;
    char flag[16] = "absent";

    if (e->aces_container_flag >= 0)
        snprintf(flag, sizeof flag, "%d", e->aces_container_flag);
    printf("  %d part(s), %s, %s, %d chunks\n  %d channels: %s\n", e->parts,
           storage_name(e->storage), exr_codec_name(e->codec), e->chunk_count, channel_count,
           channels);
    printf("  data window %d,%d-%d,%d, display window %d,%d-%d,%d, chromaticities %s, "
           "acesImageContainerFlag %s\n",
           e->data_window[0], e->data_window[1], e->data_window[2], e->data_window[3],
           e->display_window[0], e->display_window[1], e->display_window[2], e->display_window[3],
           chromaticities_name(f), flag);
}

static void print_text(const char *path, const struct frame_info *f, const char *channels,
                       int channel_count)
{
    printf("%s: %s %ux%u, %d components, %d-bit, %llu bytes, %s\n", path,
           frame_format_name(f->format), f->width, f->height, f->components, f->bit_depth,
           (unsigned long long)f->file_size, completeness_name(f->completeness));
    if (f->format == FRAME_DPX)
        print_dpx_text(&f->dpx);
    else
        print_exr_text(f, channels, channel_count);
    if (f->completeness == COMPLETENESS_NO)
        printf("  incomplete: %s\n", f->incomplete_why);
}

static void print_dpx_json(const struct dpx_fields *d)
{
    printf(", \"big_endian\": %s, \"version\": ", d->big_endian ? "true" : "false");
    json_string(stdout, d->version);
    printf(", \"descriptor\": %u, \"descriptor_name\": \"%s\", \"transfer\": %u, "
           "\"transfer_name\": \"%s\", \"colorimetric\": %u, \"colorimetric_name\": \"%s\", "
           "\"packing\": %u, \"packing_name\": \"%s\", \"encoding\": %u, \"data_offset\": %u, "
           "\"image_bytes\": %llu, \"file_size_field\": %u}",
           d->descriptor, dpx_descriptor_name(d->descriptor), d->transfer,
           dpx_transfer_name(d->transfer), d->colorimetric, dpx_colorimetric_name(d->colorimetric),
           d->packing, dpx_packing_name(d->packing), d->encoding, d->data_offset,
           (unsigned long long)d->image_bytes, d->file_size_field);
}

static void print_exr_json(const struct frame_info *f, const char *channels, int channel_count)
{
    const struct exr_fields *e = &f->exr;

    printf(", \"parts\": %d, \"storage\": \"%s\", \"tiled\": %s, \"compression\": \"%s\", "
           "\"channel_count\": %d, \"channels\": ",
           e->parts, storage_name(e->storage), e->storage == EXR_TILED ? "true" : "false",
           exr_codec_name(e->codec), channel_count);
    json_string(stdout, channels);
    printf(", \"chunks\": %d, \"chromaticities\": \"%s\", \"ap0\": %s, \"aces_container_flag\": ",
           e->chunk_count, chromaticities_name(f), rules_is_ap0(f) ? "true" : "false");
    if (e->aces_container_flag < 0)
        fputs("null}", stdout);
    else
        printf("%d}", e->aces_container_flag);
}

static void print_json(const char *path, const struct frame_info *f, const char *channels,
                       int channel_count, bool first)
{
    printf("%s  {\"path\": ", first ? "" : ",\n");
    json_string(stdout, path);
    printf(", \"format\": \"%s\", \"width\": %u, \"height\": %u, \"components\": %d, "
           "\"bit_depth\": %d, \"file_size\": %llu, \"completeness\": \"%s\"",
           frame_format_name(f->format), f->width, f->height, f->components, f->bit_depth,
           (unsigned long long)f->file_size, completeness_name(f->completeness));
    if (f->completeness == COMPLETENESS_NO) {
        fputs(", \"incomplete\": ", stdout);
        json_string(stdout, f->incomplete_why);
    }
    if (f->format == FRAME_DPX)
        print_dpx_json(&f->dpx);
    else
        print_exr_json(f, channels, channel_count);
}

static bool info_one(const char *path, bool json, bool first)
{
    struct frame_file f;
    struct frame_info info;
    struct parse_result res;
    char err[4200];

    if (!frame_file_open(AT_FDCWD, path, &f, err, sizeof err)) {
        fprintf(stderr, "namctl info: %s\n", err);
        return false;
    }
    f.src.chunks = CHUNKS_LIBRARY; /* one file: the thorough completeness check */
    enum parse_status st = frame_parse(&f.src, &info, &res);
    char *channels = malloc(CHANNEL_TEXT_MAX);
    int channel_count = 0;
    if (st == PARSE_OK && info.format == FRAME_EXR && channels)
        channel_count = channel_list(&f.src, channels, CHANNEL_TEXT_MAX);
    frame_file_close(&f);
    if (st != PARSE_OK) {
        free(channels);
        fprintf(stderr, "namctl info: %s: %s\n", path,
                st == PARSE_INVALID ? res.message : "file too short for a header");
        return false;
    }
    if (json)
        print_json(path, &info, channels ? channels : "", channel_count, first);
    else
        print_text(path, &info, channels ? channels : "", channel_count);
    free(channels);
    return true;
}

int cmd_info(int argc, char **argv)
{
    bool json = false, ok = true;
    int c;
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};

    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        if (c == 'j') {
            json = true;
            continue;
        }
        fputs("usage: namctl info [--json] FILE...\n"
              "Prints what namfs reads in each frame's header: format, size, depth, every\n"
              "channel, compression, chunks, DPX codes with their names.\n"
              "  --json      one JSON object per file (namctl(1) lists its fields)\n"
              "  -h, --help  this\n"
              "Exit status: 0 every file read, 2 usage, or a file that cannot be read.\n",
              c == 'h' ? stdout : stderr);
        return c == 'h' ? 0 : 2;
    }
    if (optind == argc) {
        fputs("namctl info: expected at least one FILE\n", stderr);
        return 2;
    }
    if (json)
        puts("[");
    for (int i = optind, printed = 0; i < argc; i++)
        if (info_one(argv[i], json, printed == 0))
            printed++;
        else
            ok = false;
    if (json)
        puts("\n]");
    return ok ? 0 : 2;
}
