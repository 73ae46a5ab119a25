/* `namctl info`: what namfs reads in a frame's header, so a vendor can see
 * why a frame is judged the way it is. */
#include "info.h"

#include "frame_file.h"
#include "json.h"
#include "namfs/exr.h"
#include "namfs/rules.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *completeness_name(enum completeness c)
{
    return c == COMPLETENESS_YES ? "complete" : c == COMPLETENESS_NO ? "incomplete" : "unknown";
}

static void channel_list(const struct exr_fields *e, char *out, size_t len)
{
    size_t used = 0;

    out[0] = '\0';
    for (int i = 0; i < e->channel_count && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s:%s", i ? " " : "",
                                 e->channels[i].name, exr_sample_name(e->channels[i].sample));
}

static void print_text(const char *path, const struct frame_info *f)
{
    char channels[200];

    printf("%s: %s %ux%u, %d components, %d-bit, %llu bytes, %s\n", path,
           frame_format_name(f->format), f->width, f->height, f->components, f->bit_depth,
           (unsigned long long)f->file_size, completeness_name(f->completeness));
    if (f->format == FRAME_DPX) {
        const struct dpx_fields *d = &f->dpx;
        printf("  %s-endian, version %s, descriptor %u, transfer %u, colorimetric %u, packing "
               "%u, encoding %u\n  data offset %u, image data %llu bytes, file size field %u\n",
               d->big_endian ? "big" : "little", d->version, d->descriptor, d->transfer,
               d->colorimetric, d->packing, d->encoding, d->data_offset,
               (unsigned long long)d->image_bytes, d->file_size_field);
    } else {
        const struct exr_fields *e = &f->exr;
        channel_list(e, channels, sizeof channels);
        printf("  %d part(s), %s, %s, channels %s, %d chunks\n", e->parts,
               e->storage == EXR_TILED      ? "tiled"
               : e->storage == EXR_SCANLINE ? "scanline"
                                            : "deep",
               exr_codec_name(e->codec), channels, e->chunk_count);
        printf("  data window %d,%d-%d,%d, display window %d,%d-%d,%d, chromaticities %s, "
               "acesImageContainerFlag %d\n",
               e->data_window[0], e->data_window[1], e->data_window[2], e->data_window[3],
               e->display_window[0], e->display_window[1], e->display_window[2],
               e->display_window[3],
               !e->has_chromaticities ? "none"
               : rules_is_ap0(f)      ? "AP0"
                                      : "other",
               e->aces_container_flag);
    }
    if (f->completeness == COMPLETENESS_NO)
        printf("  incomplete: %s\n", f->incomplete_why);
}

static void print_json(const char *path, const struct frame_info *f, bool first)
{
    char channels[200];

    printf("%s  {\"path\": ", first ? "" : ",\n");
    json_string(stdout, path);
    printf(", \"format\": \"%s\", \"width\": %u, \"height\": %u, \"components\": %d, "
           "\"bit_depth\": %d, \"file_size\": %llu, \"completeness\": \"%s\"",
           frame_format_name(f->format), f->width, f->height, f->components, f->bit_depth,
           (unsigned long long)f->file_size, completeness_name(f->completeness));
    if (f->format == FRAME_DPX) {
        const struct dpx_fields *d = &f->dpx;
        printf(", \"big_endian\": %s, \"version\": ", d->big_endian ? "true" : "false");
        json_string(stdout, d->version);
        printf(", \"descriptor\": %u, \"transfer\": %u, \"colorimetric\": %u, \"packing\": %u, "
               "\"encoding\": %u, \"data_offset\": %u, \"image_bytes\": %llu, "
               "\"file_size_field\": %u}",
               d->descriptor, d->transfer, d->colorimetric, d->packing, d->encoding, d->data_offset,
               (unsigned long long)d->image_bytes, d->file_size_field);
        return;
    }
    const struct exr_fields *e = &f->exr;
    channel_list(e, channels, sizeof channels);
    printf(", \"parts\": %d, \"tiled\": %s, \"compression\": \"%s\", \"channels\": ", e->parts,
           e->storage == EXR_TILED ? "true" : "false", exr_codec_name(e->codec));
    json_string(stdout, channels);
    printf(", \"chunks\": %d, \"ap0\": %s, \"aces_container_flag\": %d}", e->chunk_count,
           rules_is_ap0(f) ? "true" : "false", e->aces_container_flag);
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
    f.src.every_chunk = true; /* one file: the thorough completeness check */
    enum parse_status st = frame_parse(&f.src, &info, &res);
    frame_file_close(&f);
    if (st != PARSE_OK) {
        fprintf(stderr, "namctl info: %s: %s\n", path,
                st == PARSE_INVALID ? res.message : "file too short for a header");
        return false;
    }
    if (json)
        print_json(path, &info, first);
    else
        print_text(path, &info);
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
        fputs("usage: namctl info [--json] FILE...\nPrints what namfs reads in each frame's "
              "header.\n",
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
