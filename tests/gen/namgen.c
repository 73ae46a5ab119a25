/* namgen: writes the DPX and OpenEXR frames the namfs tests feed in, valid
 * ones and deliberately broken ones.
 *
 *   namgen dpx OUT [options]
 *   namgen exr OUT [options]
 *
 * Both:  --size WxH (64x32)  --seed N (0)  --truncate N  --poke OFF=HEXBYTES (repeatable)
 * DPX:   --bits 8|10|12|16 (16)  --endian big|little (big)  --descriptor N (50)
 *        --transfer N (3)  --colorimetric N (1)  --packing 0|1|2 (1 for 10-bit, else 0)
 *        --encoding N (0)  --version STR (V2.0)  --elements N (1)  --filesize-field N
 * EXR:   --type half|float|uint (half)  --channels RGB|RGBA|Y (RGB)
 *        --compression none|rle|zips|zip|piz|pxr24|b44|b44a|dwaa|dwab (none)
 *        --storage scanline|tiled (scanline)  --chroma none|ap0|rec709 (none)
 *        --aces-flag N  --data-window X0,Y0,X1,Y1  --zero-table
 *
 * Damage is done once the frame is complete, in this order: --zero-table,
 * each --poke, --truncate. Exit status: 0 written, 1 I/O or library
 * failure, 2 bad usage.
 *
 * DPX is written by hand so that any header field can be made wrong. EXR
 * goes through OpenEXRCore, the library namfs reads with, so a valid EXR
 * frame is exactly what that library writes, quirks included: version
 * 3.1.5 has no DWAA/DWAB encoder (namgen stores those chunks uncompressed,
 * which OpenEXR allows for any codec), and its B44/B44A encoder garbles
 * the pixels of every float or uint channel but the first (header and
 * chunk structure stay valid). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openexr.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DIMENSION 65535
#define MAX_POKES 32
#define DPX_HEADER_SIZE 2048
#define DPX_MAGIC 0x53445058u /* "SDPX" when stored big-endian, "XPDS" little */
#define EXR_TILE_SIZE 32
#define NOT_GIVEN LLONG_MIN /* outside every option's range */

enum format { FMT_DPX = 1, FMT_EXR = 2 };

struct poke {
    long long offset;
    const char *hex; /* checked while parsing, decoded when applied */
};

struct opts {
    enum format format;
    const char *out;
    uint32_t width, height, seed;
    long long truncate;
    struct poke pokes[MAX_POKES];
    int npokes;
    /* DPX */
    unsigned bits;
    bool big_endian;
    uint8_t descriptor, transfer, colorimetric;
    int packing; /* -1 until given, as the default depends on --bits */
    uint16_t encoding, elements;
    const char *version;
    long long filesize; /* NOT_GIVEN: the true size */
    /* EXR */
    exr_pixel_type_t type;
    const char *channels; /* one letter per channel name */
    exr_compression_t compression;
    exr_storage_t storage;
    const exr_attr_chromaticities_t *chroma;
    long long aces_flag; /* NOT_GIVEN: no attribute */
    exr_attr_box2i_t window;
    bool window_given;
    bool zero_table;
};

static const exr_attr_chromaticities_t chroma_ap0 = {0.7347f, 0.2653f, 0.0f,     1.0f,
                                                     0.0001f, -0.077f, 0.32168f, 0.33767f};
static const exr_attr_chromaticities_t chroma_rec709 = {0.64f, 0.33f, 0.30f,   0.60f,
                                                        0.15f, 0.06f, 0.3127f, 0.3290f};

/* ---- command line ---- */

static _Noreturn void usage_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void usage_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("namgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* Reads n integers separated by sep that together make up all of s. */
static bool parse_list(const char *s, char sep, long long *out, int n)
{
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        out[i] = strtoll(s, &end, 10);
        if (end == s || errno != 0 || *end != (i + 1 < n ? sep : '\0'))
            return false;
        s = end + 1;
    }
    return true;
}

static long long parse_num(const char *opt, const char *s, long long min, long long max)
{
    long long v;
    if (!parse_list(s, '\0', &v, 1) || v < min || v > max)
        usage_fail("%s: expected a number from %lld to %lld, got '%s'", opt, min, max, s);
    return v;
}

/* Returns the index of s in names; the error lists them all. */
static int parse_choice(const char *opt, const char *s, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    fprintf(stderr, "namgen: %s: expected one of", opt);
    for (int i = 0; i < count; i++)
        fprintf(stderr, " %s", names[i]);
    fprintf(stderr, ", got '%s'\n", s);
    exit(2);
}

static void parse_size(struct opts *o, const char *opt, const char *s)
{
    long long wh[2];
    if (!parse_list(s, 'x', wh, 2) || wh[0] < 1 || wh[1] < 1 || wh[0] > MAX_DIMENSION ||
        wh[1] > MAX_DIMENSION)
        usage_fail("%s: expected WxH with both 1 to %d, got '%s'", opt, MAX_DIMENSION, s);
    o->width = (uint32_t)wh[0];
    o->height = (uint32_t)wh[1];
}

static void parse_window(struct opts *o, const char *opt, const char *s)
{
    long long v[4];
    if (!parse_list(s, ',', v, 4) || v[0] < INT32_MIN || v[1] < INT32_MIN || v[2] > INT32_MAX ||
        v[3] > INT32_MAX || v[2] < v[0] || v[3] < v[1] || v[2] - v[0] >= MAX_DIMENSION ||
        v[3] - v[1] >= MAX_DIMENSION)
        usage_fail("%s: expected X0,Y0,X1,Y1 with X0<=X1, Y0<=Y1, got '%s'", opt, s);
    o->window = (exr_attr_box2i_t){.min.x = (int32_t)v[0],
                                   .min.y = (int32_t)v[1],
                                   .max.x = (int32_t)v[2],
                                   .max.y = (int32_t)v[3]};
    o->window_given = true;
}

static void parse_poke(struct opts *o, const char *opt, const char *s)
{
    const char *eq = strchr(s, '=');
    const char *hex = eq ? eq + 1 : "";
    size_t len = strlen(hex);
    long long off;
    char *end;

    errno = 0;
    off = strtoll(s, &end, 10);
    if (end == s || end != eq || errno != 0 || off < 0 || len == 0 || len % 2 != 0 ||
        strspn(hex, "0123456789abcdefABCDEF") != len)
        usage_fail("%s: expected OFF=HEXBYTES (decimal offset, even count of hex digits), "
                   "got '%s'",
                   opt, s);
    if (o->npokes == MAX_POKES)
        usage_fail("%s: expected at most %d of them", opt, MAX_POKES);
    o->pokes[o->npokes++] = (struct poke){off, hex};
}

static const char *parse_version(const char *opt, const char *s)
{
    if (*s == '\0' || strlen(s) > 8)
        usage_fail("%s: expected 1 to 8 characters, got '%s'", opt, s);
    return s;
}

static bool is(const char *opt, const char *name)
{
    return strcmp(opt, name) == 0;
}

/* Each apply_* returns false for an option it does not know. */
static bool apply_common(struct opts *o, const char *opt, const char *v)
{
    if (is(opt, "--size"))
        parse_size(o, opt, v);
    else if (is(opt, "--seed"))
        o->seed = (uint32_t)parse_num(opt, v, 0, UINT32_MAX);
    else if (is(opt, "--truncate"))
        o->truncate = parse_num(opt, v, 0, INT64_MAX);
    else if (is(opt, "--poke"))
        parse_poke(o, opt, v);
    else
        return false;
    return true;
}

static bool apply_dpx(struct opts *o, const char *opt, const char *v)
{
    static const char *const bits[] = {"8", "10", "12", "16"};
    static const char *const endians[] = {"big", "little"};

    if (is(opt, "--bits"))
        o->bits = (unsigned)atoi(bits[parse_choice(opt, v, bits, 4)]);
    else if (is(opt, "--endian"))
        o->big_endian = parse_choice(opt, v, endians, 2) == 0;
    else if (is(opt, "--descriptor"))
        o->descriptor = (uint8_t)parse_num(opt, v, 0, UINT8_MAX);
    else if (is(opt, "--transfer"))
        o->transfer = (uint8_t)parse_num(opt, v, 0, UINT8_MAX);
    else if (is(opt, "--colorimetric"))
        o->colorimetric = (uint8_t)parse_num(opt, v, 0, UINT8_MAX);
    else if (is(opt, "--packing"))
        o->packing = (int)parse_num(opt, v, 0, 2);
    else if (is(opt, "--encoding"))
        o->encoding = (uint16_t)parse_num(opt, v, 0, UINT16_MAX);
    else if (is(opt, "--elements"))
        o->elements = (uint16_t)parse_num(opt, v, 0, UINT16_MAX);
    else if (is(opt, "--filesize-field"))
        o->filesize = parse_num(opt, v, 0, UINT32_MAX);
    else if (is(opt, "--version"))
        o->version = parse_version(opt, v);
    else
        return false;
    return true;
}

static bool apply_exr(struct opts *o, const char *opt, const char *v)
{
    /* Indexed by the OpenEXRCore enums they select. */
    static const char *const types[] = {"uint", "half", "float"};
    static const char *const codecs[] = {"none",  "rle", "zips", "zip",  "piz",
                                         "pxr24", "b44", "b44a", "dwaa", "dwab"};
    static const char *const storages[] = {"scanline", "tiled", "deep"};
    static const char *const channels[] = {"RGB", "RGBA", "Y"};
    static const char *const chromas[] = {"none", "ap0", "rec709"};
    static const exr_attr_chromaticities_t *const chroma_values[] = {NULL, &chroma_ap0,
                                                                     &chroma_rec709};

    if (is(opt, "--type"))
        o->type = (exr_pixel_type_t)parse_choice(opt, v, types, 3);
    else if (is(opt, "--channels"))
        o->channels = channels[parse_choice(opt, v, channels, 3)];
    else if (is(opt, "--compression"))
        o->compression = (exr_compression_t)parse_choice(opt, v, codecs, 10);
    else if (is(opt, "--storage"))
        o->storage = (exr_storage_t)parse_choice(opt, v, storages, 3);
    else if (is(opt, "--chroma"))
        o->chroma = chroma_values[parse_choice(opt, v, chromas, 3)];
    else if (is(opt, "--aces-flag"))
        o->aces_flag = parse_num(opt, v, INT32_MIN, INT32_MAX);
    else if (is(opt, "--data-window"))
        parse_window(o, opt, v);
    else
        return false;
    return true;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
    *o = (struct opts){.width = 64,
                       .height = 32,
                       .bits = 16,
                       .big_endian = true,
                       .descriptor = 50,
                       .transfer = 3,
                       .colorimetric = 1,
                       .packing = -1,
                       .elements = 1,
                       .version = "V2.0",
                       .filesize = NOT_GIVEN,
                       .type = EXR_PIXEL_HALF,
                       .channels = "RGB",
                       .compression = EXR_COMPRESSION_NONE,
                       .storage = EXR_STORAGE_SCANLINE,
                       .aces_flag = NOT_GIVEN};
    if (argc < 2 || (!is(argv[1], "dpx") && !is(argv[1], "exr")))
        usage_fail("expected 'dpx' or 'exr' first (usage: namgen dpx|exr OUT [options])");
    o->format = is(argv[1], "dpx") ? FMT_DPX : FMT_EXR;
    if (argc < 3 || strncmp(argv[2], "--", 2) == 0)
        usage_fail("expected an output file after '%s'", argv[1]);
    o->out = argv[2];

    for (int i = 3; i < argc; i++) {
        const char *opt = argv[i];
        if (o->format == FMT_EXR && is(opt, "--zero-table")) {
            o->zero_table = true;
            continue;
        }
        /* A missing value reads as "", which every option rejects by name. */
        const char *v = i + 1 < argc ? argv[++i] : "";
        if (!apply_common(o, opt, v) && !(o->format == FMT_DPX ? apply_dpx : apply_exr)(o, opt, v))
            usage_fail("%s: expected an option of 'namgen %s' (see tests/gen/namgen.c)", opt,
                       argv[1]);
    }
    if (o->packing < 0)
        o->packing = o->bits == 10 ? 1 : 0;
    if (!o->window_given)
        o->window =
            (exr_attr_box2i_t){.max.x = (int32_t)o->width - 1, .max.y = (int32_t)o->height - 1};
}

/* ---- pixel content ---- */

/* A smooth diagonal ramp per channel. Each row also carries one byte of the
 * seed, a different byte on each of four consecutive rows: a plain "+ seed"
 * wraps around the sample range, so seeds 0 and 256 would give the same
 * 8-bit frame, whereas this way any two seeds differ (given 4 rows). */
struct ramp {
    uint32_t max, step, channel_offset, seed;
};

static struct ramp ramp_init(uint32_t max, uint32_t width, uint32_t height, uint32_t seed)
{
    uint32_t step = max / (width + height);
    return (struct ramp){max, step ? step : 1, (max + 1) / 4, seed};
}

static uint32_t ramp_sample(const struct ramp *r, uint32_t x, uint32_t y, uint32_t c)
{
    uint32_t seed_byte = (r->seed >> (8 * (y % 4))) & 0xff;
    return ((x + y) * r->step + c * r->channel_offset + seed_byte) & r->max;
}

/* ---- output helpers ---- */

static int fail_errno(const char *what, const char *path)
{
    fprintf(stderr, "namgen: %s %s: %s\n", what, path, strerror(errno));
    return 1;
}

/* One fwrite: glibc passes a buffer this large on to write(2) in one go. */
static int write_file(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(buf, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    return ok ? 0 : fail_errno("cannot write", path);
}

static void put16(uint8_t *p, uint32_t v, bool big)
{
    p[big ? 0 : 1] = (uint8_t)(v >> 8);
    p[big ? 1 : 0] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v, bool big)
{
    for (int i = 0; i < 4; i++)
        p[big ? 3 - i : i] = (uint8_t)(v >> (8 * i));
}

/* ---- DPX ---- */

/* Same table as core/dpx.c; codes it does not know are only used for
 * deliberately bad frames, whose data is then laid out as RGB. */
static unsigned dpx_components(uint8_t descriptor)
{
    static const uint8_t one[] = {1, 2, 3, 4, 6, 8}, two[] = {7, 100}, four[] = {51, 52, 103};
    if (memchr(one, descriptor, sizeof one))
        return 1;
    if (memchr(two, descriptor, sizeof two))
        return 2;
    return memchr(four, descriptor, sizeof four) ? 4 : 3;
}

/* Filled 10-bit packs three samples in 32 bits; filled 12-bit takes 16;
 * everything else, packed 10/12 included, is a bit stream. Rows always
 * end on a 32-bit boundary. */
static size_t dpx_row_bytes(const struct opts *o, size_t samples)
{
    if (o->bits == 10 && o->packing != 0)
        return (samples + 2) / 3 * 4;
    unsigned container = o->bits == 12 && o->packing != 0 ? 16 : o->bits;
    return (samples * container + 31) / 32 * 4;
}

/* Fields namgen leaves unset yet must not be all-ones: ASCII (NUL-filled,
 * SMPTE 268M's "undefined" for text) and the reserved areas. */
static const struct {
    uint16_t offset, length;
} dpx_zeroed[] = {
    {8, 8},     {36, 100},  {136, 24},   {160, 100},  {260, 200}, {460, 200},
    {664, 104}, {1356, 52}, {1432, 100}, {1532, 24},  {1556, 32}, {1588, 32},
    {1644, 20}, {1664, 48}, {1732, 32},  {1764, 100}, {1864, 56}, {1972, 76},
};

static void put_ascii(uint8_t *field, size_t length, const char *s)
{
    size_t n = strlen(s);
    memcpy(field, s, n < length ? n : length);
}

static void dpx_header(uint8_t *h, const struct opts *o, uint32_t file_size)
{
    bool big = o->big_endian;
    const char *slash = strrchr(o->out, '/');

    /* Numeric fields namgen does not set (encryption key at 660 among
     * them) stay all-ones, DPX's "undefined". */
    memset(h, 0xff, DPX_HEADER_SIZE);
    for (size_t i = 0; i < sizeof dpx_zeroed / sizeof dpx_zeroed[0]; i++)
        memset(h + dpx_zeroed[i].offset, 0, dpx_zeroed[i].length);
    for (int e = 0; e < 8; e++)
        memset(h + 820 + 72 * e, 0, 32); /* element descriptions */

    put32(h + 0, DPX_MAGIC, big);
    put32(h + 4, DPX_HEADER_SIZE, big);
    put_ascii(h + 8, 8, o->version);
    put32(h + 16, o->filesize == NOT_GIVEN ? file_size : (uint32_t)o->filesize, big);
    put32(h + 24, 1664, big); /* generic header size */
    put32(h + 28, 384, big);  /* industry header size */
    put32(h + 32, 0, big);    /* user data size */
    put_ascii(h + 36, 100, slash ? slash + 1 : o->out);
    put_ascii(h + 160, 100, "namgen");

    put16(h + 768, 0, big); /* orientation */
    put16(h + 770, o->elements, big);
    put32(h + 772, o->width, big);
    put32(h + 776, o->height, big);

    put32(h + 780, 0, big);                   /* unsigned data */
    put32(h + 784, 0, big);                   /* reference low data code */
    put32(h + 792, (1u << o->bits) - 1, big); /* reference high data code */
    h[800] = o->descriptor;
    h[801] = o->transfer;
    h[802] = o->colorimetric;
    h[803] = (uint8_t)o->bits;
    put16(h + 804, (uint32_t)o->packing, big);
    put16(h + 806, o->encoding, big);
    put32(h + 808, DPX_HEADER_SIZE, big);
    put32(h + 812, 0, big); /* end-of-line padding */
    put32(h + 816, 0, big); /* end-of-image padding */
}

/* Filled 10-bit: three samples per 32-bit word; method A (packing 1)
 * leaves the two pad bits at the bottom, method B (2) at the top. Which
 * sample goes where follows what FFmpeg and OpenImageIO decode: one-
 * component images put datum 0 in the low bits (SMPTE 268 Annex C), while
 * for RGB(A) everyone puts the first component, R, in the high bits. */
static void pack_filled10(uint8_t *dst, const uint16_t *s, size_t n, const struct opts *o)
{
    bool low_first = dpx_components(o->descriptor) == 1;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t word = 0;
        for (size_t k = 0; k < 3 && i + k < n; k++)
            word |= (uint32_t)s[i + k] << (low_first ? 10 * k : 20 - 10 * k);
        put32(dst + i / 3 * 4, o->packing == 1 ? word << 2 : word, o->big_endian);
    }
}

/* Packed: one bit stream through 32-bit words, first sample in the lowest
 * bits, which is how both FFmpeg and OpenImageIO read it. */
static void pack_stream(uint8_t *dst, const uint16_t *s, size_t n, unsigned bits, bool big)
{
    uint64_t acc = 0;
    unsigned held = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint64_t)s[i] << held;
        held += bits;
        if (held >= 32) {
            put32(dst, (uint32_t)acc, big);
            dst += 4;
            acc >>= 32;
            held -= 32;
        }
    }
    if (held > 0)
        put32(dst, (uint32_t)acc, big);
}

static void dpx_pack_row(uint8_t *dst, const uint16_t *s, size_t n, const struct opts *o)
{
    if (o->bits == 10 && o->packing != 0)
        pack_filled10(dst, s, n, o);
    else if (o->bits == 8)
        for (size_t i = 0; i < n; i++)
            dst[i] = (uint8_t)s[i];
    else if (o->bits == 16 || o->packing != 0) /* 12-bit method A sits in the high bits */
        for (size_t i = 0; i < n; i++)
            put16(dst + 2 * i, o->bits == 12 && o->packing == 1 ? s[i] << 4u : s[i], o->big_endian);
    else
        pack_stream(dst, s, n, o->bits, o->big_endian);
}

static int write_dpx(const struct opts *o)
{
    unsigned comps = dpx_components(o->descriptor);
    size_t samples = (size_t)o->width * comps;
    size_t row = dpx_row_bytes(o, samples);
    size_t size = DPX_HEADER_SIZE + row * o->height;
    uint8_t *file = calloc(1, size);
    uint16_t *line = malloc(samples * sizeof *line);
    struct ramp r = ramp_init((1u << o->bits) - 1, o->width, o->height, o->seed);
    int rc = 1;

    if (size > UINT32_MAX)
        fprintf(stderr, "namgen: %s: %zu bytes do not fit DPX's 32-bit file size\n", o->out, size);
    else if (!file || !line)
        fprintf(stderr, "namgen: out of memory for %zu bytes\n", size);
    else {
        dpx_header(file, o, (uint32_t)size);
        for (uint32_t y = 0; y < o->height; y++) {
            for (uint32_t x = 0; x < o->width; x++)
                for (unsigned c = 0; c < comps; c++)
                    line[x * comps + c] = (uint16_t)ramp_sample(&r, x, y, c);
            dpx_pack_row(file + DPX_HEADER_SIZE + y * row, line, samples, o);
        }
        rc = write_file(o->out, file, size);
    }
    free(line);
    free(file);
    return rc;
}

/* ---- EXR ---- */

/* 10-bit codes keep every ramp step distinct even as half. */
#define EXR_CODE_MAX 1023u

/* IEEE half of 0 or of a float in [2^-14, 1] (all the ramp produces),
 * rounded to nearest even. */
static uint16_t half_from_unit(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if (u == 0)
        return 0;
    uint32_t h = ((u >> 23) - 127 + 15) << 10 | (u & 0x7fffff) >> 13;
    uint32_t rest = u & 0x1fff;
    return (uint16_t)(rest > 0x1000 || (rest == 0x1000 && (h & 1)) ? h + 1 : h);
}

/* Planar pixels for the data window, one plane per channel letter. */
struct image {
    uint32_t width, height;
    size_t bpe; /* bytes per sample */
    const char *channels;
    uint8_t *pixels;
};

static void fill_plane(uint8_t *plane, const struct image *img, exr_pixel_type_t type,
                       const struct ramp *r, unsigned c)
{
    for (uint32_t y = 0; y < img->height; y++)
        for (uint32_t x = 0; x < img->width; x++) {
            uint32_t code = ramp_sample(r, x, y, c);
            size_t i = (size_t)y * img->width + x;
            if (type == EXR_PIXEL_UINT)
                ((uint32_t *)plane)[i] = code;
            else if (type == EXR_PIXEL_FLOAT)
                ((float *)plane)[i] = (float)code / EXR_CODE_MAX;
            else
                ((uint16_t *)plane)[i] = half_from_unit((float)code / EXR_CODE_MAX);
        }
}

static bool image_init(struct image *img, const struct opts *o)
{
    size_t nchan = strlen(o->channels);
    struct ramp r;

    img->width = (uint32_t)(o->window.max.x - o->window.min.x + 1);
    img->height = (uint32_t)(o->window.max.y - o->window.min.y + 1);
    img->bpe = o->type == EXR_PIXEL_HALF ? 2 : 4;
    img->channels = o->channels;
    img->pixels = malloc(nchan * img->width * img->height * img->bpe);
    if (!img->pixels)
        return false;
    r = ramp_init(EXR_CODE_MAX, img->width, img->height, o->seed);
    for (unsigned c = 0; c < nchan; c++)
        fill_plane(img->pixels + c * (size_t)img->width * img->height * img->bpe, img, o->type, &r,
                   c);
    return true;
}

static exr_result_t define_part(exr_context_t ctx, const struct opts *o, int *part)
{
    exr_result_t rv = exr_add_part(ctx, NULL, o->storage, part);
    if (rv == EXR_ERR_SUCCESS)
        rv = exr_initialize_required_attr_simple(ctx, *part, (int32_t)o->width, (int32_t)o->height,
                                                 o->compression);
    if (rv == EXR_ERR_SUCCESS)
        rv = exr_set_data_window(ctx, *part, &o->window);
    if (rv == EXR_ERR_SUCCESS && o->storage == EXR_STORAGE_TILED)
        rv = exr_set_tile_descriptor(ctx, *part, EXR_TILE_SIZE, EXR_TILE_SIZE, EXR_TILE_ONE_LEVEL,
                                     EXR_TILE_ROUND_DOWN);
    for (const char *c = o->channels; rv == EXR_ERR_SUCCESS && *c; c++)
        rv = exr_add_channel(ctx, *part, (char[]){*c, '\0'}, o->type, EXR_PERCEPTUALLY_LOGARITHMIC,
                             1, 1);
    if (rv == EXR_ERR_SUCCESS && o->chroma)
        rv = exr_attr_set_chromaticities(ctx, *part, "chromaticities", o->chroma);
    if (rv == EXR_ERR_SUCCESS && o->aces_flag != NOT_GIVEN)
        rv = exr_attr_set_int(ctx, *part, "acesImageContainerFlag", (int32_t)o->aces_flag);
    return rv;
}

static bool has_encoder(uint8_t compression)
{
    return compression != EXR_COMPRESSION_DWAA && compression != EXR_COMPRESSION_DWAB;
}

/* OpenEXRCore 3.1 has no DWAA/DWAB encoder. OpenEXR stores a chunk whose
 * compressed form would not be smaller as it is, so a chunk left
 * uncompressed is valid for any codec: the frame is a true DWAA/DWAB file
 * to every reader, just not a small one. */
static exr_result_t store_uncompressed(exr_encode_pipeline_t *enc)
{
    void *copy = malloc(enc->packed_bytes ? enc->packed_bytes : 1);
    if (!copy)
        return EXR_ERR_OUT_OF_MEMORY;
    memcpy(copy, enc->packed_buffer, enc->packed_bytes);
    free(enc->compressed_buffer); /* namgen's contexts use malloc/free */
    enc->compressed_buffer = copy;
    enc->compressed_alloc_size = enc->packed_bytes;
    enc->compressed_bytes = enc->packed_bytes;
    return EXR_ERR_SUCCESS;
}

/* Encodes the chunk whose top-left pixel is (x0, y0) within the window. */
static exr_result_t encode_chunk(exr_context_t ctx, int part, const exr_chunk_info_t *ci,
                                 const struct image *img, uint32_t x0, uint32_t y0)
{
    exr_encode_pipeline_t enc = EXR_ENCODE_PIPELINE_INITIALIZER;
    size_t plane_bytes = (size_t)img->width * img->height * img->bpe;
    exr_result_t rv = exr_encoding_initialize(ctx, part, ci, &enc);
    if (rv != EXR_ERR_SUCCESS)
        return rv;

    for (int c = 0; c < enc.channel_count; c++) {
        exr_coding_channel_info_t *ch = &enc.channels[c];
        size_t plane = (size_t)(strchr(img->channels, ch->channel_name[0]) - img->channels);
        ch->encode_from_ptr =
            img->pixels + plane * plane_bytes + ((size_t)y0 * img->width + x0) * img->bpe;
        ch->user_pixel_stride = (int32_t)img->bpe;
        ch->user_line_stride = (int32_t)(img->width * img->bpe);
        ch->user_bytes_per_element = (int16_t)img->bpe;
        ch->user_data_type = ch->data_type;
    }
    rv = exr_encoding_choose_default_routines(ctx, part, &enc);
    if (rv == EXR_ERR_SUCCESS && !has_encoder(ci->compression))
        enc.compress_fn = store_uncompressed;
    if (rv == EXR_ERR_SUCCESS)
        rv = exr_encoding_run(ctx, part, &enc);
    exr_result_t destroyed = exr_encoding_destroy(ctx, &enc);
    return rv != EXR_ERR_SUCCESS ? rv : destroyed;
}

static exr_result_t write_scanlines(exr_context_t ctx, int part, const struct image *img,
                                    const exr_attr_box2i_t *win)
{
    int32_t lines;
    exr_result_t rv = exr_get_scanlines_per_chunk(ctx, part, &lines);
    for (int64_t y = win->min.y; rv == EXR_ERR_SUCCESS && y <= win->max.y; y += lines) {
        exr_chunk_info_t ci;
        rv = exr_write_scanline_chunk_info(ctx, part, (int)y, &ci);
        if (rv == EXR_ERR_SUCCESS)
            rv = encode_chunk(ctx, part, &ci, img, 0, (uint32_t)(y - win->min.y));
    }
    return rv;
}

static exr_result_t write_tiles(exr_context_t ctx, int part, const struct image *img)
{
    exr_result_t rv = EXR_ERR_SUCCESS;
    uint32_t across = (img->width + EXR_TILE_SIZE - 1) / EXR_TILE_SIZE;
    uint32_t down = (img->height + EXR_TILE_SIZE - 1) / EXR_TILE_SIZE;
    for (uint32_t ty = 0; rv == EXR_ERR_SUCCESS && ty < down; ty++)
        for (uint32_t tx = 0; rv == EXR_ERR_SUCCESS && tx < across; tx++) {
            exr_chunk_info_t ci;
            rv = exr_write_tile_chunk_info(ctx, part, (int)tx, (int)ty, 0, 0, &ci);
            if (rv == EXR_ERR_SUCCESS)
                rv = encode_chunk(ctx, part, &ci, img, tx * EXR_TILE_SIZE, ty * EXR_TILE_SIZE);
        }
    return rv;
}

/* A deep scanline image with no samples: what R4 refuses is in the
 * header, so every pixel's sample count is zero and no data follows. */
static exr_result_t write_deep_scanlines(exr_context_t ctx, int part, const struct image *img,
                                         const exr_attr_box2i_t *win)
{
    int32_t *counts = calloc(img->width, sizeof *counts);
    exr_result_t rv = counts ? EXR_ERR_SUCCESS : EXR_ERR_OUT_OF_MEMORY;

    for (int64_t y = win->min.y; rv == EXR_ERR_SUCCESS && y <= win->max.y; y++)
        rv = exr_write_deep_scanline_chunk(ctx, part, (int)y, NULL, 0, 0, counts,
                                           img->width * sizeof *counts);
    free(counts);
    return rv;
}

static uint64_t read_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    while (n-- > 0)
        v = v << 8 | p[n];
    return v;
}

/* Length of the NUL-terminated string at the file position, -1 at EOF. */
static long skip_string(FILE *f)
{
    long n = 0;
    int ch;
    while ((ch = getc(f)) > 0)
        n++;
    return ch == 0 ? n : -1;
}

/* Where a single-part header ends: after the 8 bytes of magic and version
 * come attributes (name NUL, type NUL, 32-bit size, value) until an empty
 * name. */
static long exr_header_end(FILE *f)
{
    if (fseek(f, 8, SEEK_SET) != 0)
        return -1;
    for (;;) {
        uint8_t size[4];
        long name = skip_string(f);
        if (name <= 0)
            return name == 0 ? ftell(f) : -1;
        if (skip_string(f) <= 0 || fread(size, 1, 4, f) != 4 ||
            fseek(f, (long)read_le(size, 4), SEEK_CUR) != 0)
            return -1;
    }
}

/* OpenEXRCore 3.1 keeps the chunk table's position to itself, so find it
 * as a reader would: right after the header. The library writes chunks in
 * order straight after the table, so the first entry must point just past
 * it; anything else means the layout is not what this code assumes, and
 * nothing is overwritten. */
static int zero_chunk_table(const char *path, int32_t chunks)
{
    FILE *f = fopen(path, "r+b");
    uint8_t first[8];
    long table;
    int rc = 1;

    if (!f)
        return fail_errno("cannot open", path);
    table = exr_header_end(f);
    if (table < 0 || fread(first, 1, 8, f) != 8 ||
        read_le(first, 8) != (uint64_t)table + 8 * (uint64_t)chunks)
        fprintf(stderr, "namgen: %s: chunk table not found after the header\n", path);
    else if (fseek(f, table, SEEK_SET) != 0)
        fail_errno("cannot seek in", path);
    else {
        for (int64_t i = 0; i < 8 * (int64_t)chunks; i++)
            putc(0, f);
        rc = 0;
    }
    if (fclose(f) != 0 && rc == 0)
        rc = fail_errno("cannot write", path);
    return rc;
}

static int write_exr(const struct opts *o)
{
    exr_context_t ctx;
    struct image img;
    int part;
    int32_t chunks = 0;
    exr_result_t rv;

    if (!image_init(&img, o)) {
        fprintf(stderr, "namgen: out of memory for a %ux%u image\n", img.width, img.height);
        return 1;
    }
    rv = exr_start_write(&ctx, o->out, EXR_WRITE_FILE_DIRECTLY, NULL);
    if (rv == EXR_ERR_SUCCESS) {
        rv = define_part(ctx, o, &part);
        if (rv == EXR_ERR_SUCCESS)
            rv = exr_write_header(ctx);
        if (rv == EXR_ERR_SUCCESS)
            rv = exr_get_chunk_count(ctx, part, &chunks);
        if (rv == EXR_ERR_SUCCESS)
            rv = o->storage == EXR_STORAGE_TILED ? write_tiles(ctx, part, &img)
                 : o->storage == EXR_STORAGE_DEEP_SCANLINE
                     ? write_deep_scanlines(ctx, part, &img, &o->window)
                     : write_scanlines(ctx, part, &img, &o->window);
        exr_result_t finished = exr_finish(&ctx);
        if (rv == EXR_ERR_SUCCESS)
            rv = finished;
    }
    free(img.pixels);
    if (rv != EXR_ERR_SUCCESS) {
        fprintf(stderr, "namgen: %s: %s\n", o->out, exr_get_default_error_message(rv));
        return 1;
    }
    return o->zero_table ? zero_chunk_table(o->out, chunks) : 0;
}

/* ---- damage ---- */

static int apply_poke(int fd, const struct poke *p, off_t size, const char *path)
{
    size_t n = strlen(p->hex) / 2;
    if (p->offset + (long long)n > size) {
        fprintf(stderr, "namgen: --poke %lld: runs past the end of %s (%lld bytes)\n", p->offset,
                path, (long long)size);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned byte;
        sscanf(p->hex + 2 * i, "%2x", &byte);
        if (pwrite(fd, &(uint8_t){(uint8_t)byte}, 1, (off_t)p->offset + (off_t)i) != 1)
            return fail_errno("cannot write", path);
    }
    return 0;
}

static int damage(const struct opts *o)
{
    struct stat st;
    int fd, rc = 0;

    if (o->npokes == 0 && o->truncate == 0)
        return 0;
    fd = open(o->out, O_RDWR);
    if (fd < 0 || fstat(fd, &st) != 0)
        rc = fail_errno("cannot open", o->out);
    for (int i = 0; rc == 0 && i < o->npokes; i++)
        rc = apply_poke(fd, &o->pokes[i], st.st_size, o->out);
    if (rc == 0 && o->truncate > st.st_size) {
        fprintf(stderr, "namgen: --truncate %lld: %s has only %lld bytes\n", o->truncate, o->out,
                (long long)st.st_size);
        rc = 1;
    } else if (rc == 0 && ftruncate(fd, st.st_size - (off_t)o->truncate) != 0)
        rc = fail_errno("cannot truncate", o->out);
    if (fd >= 0)
        close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o;
    parse_args(&o, argc, argv);
    int rc = o.format == FMT_DPX ? write_dpx(&o) : write_exr(&o);
    return rc != 0 ? rc : damage(&o);
}
