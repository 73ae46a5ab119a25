/* What a frame's header says about it, and where its bytes come from.
 *
 * Parsers never open paths: the caller hands in the bytes it has (the
 * head of the file, from a write buffer or a read) and, when the whole file
 * exists, a way to read further bytes for completeness checks (R7). */
#ifndef NAMFS_FRAME_H
#define NAMFS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum frame_format { FRAME_UNKNOWN = 0, FRAME_DPX, FRAME_EXR };

struct leader_trail;

enum exr_storage { EXR_SCANLINE = 0, EXR_TILED, EXR_DEEP_SCANLINE, EXR_DEEP_TILED };

/* Sample types of EXR channels, ordered as OpenEXR numbers them. */
enum exr_sample { EXR_SAMPLE_UINT = 0, EXR_SAMPLE_HALF, EXR_SAMPLE_FLOAT };

/* OpenEXR compression codes, as stored in the file. */
enum exr_codec {
    EXR_CODEC_NONE = 0,
    EXR_CODEC_RLE,
    EXR_CODEC_ZIPS,
    EXR_CODEC_ZIP,
    EXR_CODEC_PIZ,
    EXR_CODEC_PXR24,
    EXR_CODEC_B44,
    EXR_CODEC_B44A,
    EXR_CODEC_DWAA,
    EXR_CODEC_DWAB,
    EXR_CODEC_COUNT
};

#define FRAME_MAX_CHANNELS 8
#define FRAME_CHANNEL_NAME_MAX 32

struct dpx_fields {
    bool big_endian;
    char version[9];
    uint32_t header_data_offset;  /* @4 */
    uint32_t file_size_field;     /* @16 */
    uint32_t encryption_key;      /* @660 */
    uint16_t element_count;       /* @770 */
    uint32_t data_sign;           /* @780 */
    uint8_t descriptor;           /* @800 */
    uint8_t transfer;             /* @801 */
    uint8_t colorimetric;         /* @802 */
    uint8_t bit_size;             /* @803 */
    uint16_t packing;             /* @804: 0 packed, 1 filled A, 2 filled B */
    uint16_t encoding;            /* @806: 0 none, 1 RLE */
    uint32_t element_data_offset; /* @808 */
    uint32_t eol_padding;         /* @812, all-ones read as 0 */
    uint32_t eoi_padding;         /* @816, all-ones read as 0 */
    uint32_t data_offset;         /* the one in force: element's, else header's */
    uint64_t image_bytes;         /* image data size the header promises */
};

/* How a tiled image is cut: OpenEXR's tiledesc attribute. */
enum exr_level_mode { EXR_ONE_LEVEL = 0, EXR_MIPMAP, EXR_RIPMAP };

struct exr_tiling {
    uint32_t tile_width, tile_height;
    enum exr_level_mode levels;
    bool round_up; /* level sizes rounded up, else down */
};

struct exr_channel {
    char name[FRAME_CHANNEL_NAME_MAX];
    enum exr_sample sample;
};

struct exr_fields {
    int parts;
    enum exr_storage storage;
    enum exr_codec codec;
    int channel_count;
    struct exr_channel channels[FRAME_MAX_CHANNELS];
    int32_t data_window[4]; /* xmin, ymin, xmax, ymax */
    int32_t display_window[4];
    bool has_chromaticities;
    float chromaticities[8];  /* red xy, green xy, blue xy, white xy */
    int aces_container_flag;  /* -1 when the attribute is absent */
    int32_t chunk_count;      /* tiled: counted from the tile description (exr_table.c) */
    uint64_t table_offset;    /* single part: where the chunk offset table starts; 0 unknown */
    struct exr_tiling tiling; /* tiled files only */
};

/* R7: whether every byte the header promises is in the file. Known only
 * when the parser was given the whole file. */
enum completeness { COMPLETENESS_UNKNOWN = 0, COMPLETENESS_YES, COMPLETENESS_NO };

struct frame_info {
    enum frame_format format;
    uint32_t width, height;
    int components;     /* samples per pixel */
    int bit_depth;      /* DPX bit size; EXR: 16 half, 32 float/uint (widest channel) */
    uint64_t file_size; /* real size when the whole file was available, else 0 */
    enum completeness completeness;
    char incomplete_why[160];
    union {
        struct dpx_fields dpx;
        struct exr_fields exr;
    };
};

/* OpenEXR R7, from least to most work. The default proves completeness:
 * every chunk's leader names the chunk its table slot is for and the
 * chunk ends before the next begins. */
enum chunk_check {
    CHUNKS_LEADERS = 0, /* every leader, read raw in batches */
    CHUNKS_TABLE,       /* the table alone and the furthest leader (`--quick`) */
    CHUNKS_LIBRARY,     /* the leaders, then again through OpenEXRCore (`--deep`) */
};

/* Reads up to n bytes at off; returns bytes read (0 at end of file) or -1. */
typedef ssize_t (*frame_read_fn)(void *ctx, void *buf, size_t n, uint64_t off);

/* The bytes a parser may look at. head is the start of the file. When
 * complete is true, file_size is the file's real size and read (if set)
 * fetches bytes past head_len; otherwise head is all there is for now. */
struct frame_source {
    const uint8_t *head;
    size_t head_len;
    bool complete;
    uint64_t file_size;
    frame_read_fn read;
    void *read_ctx;
    /* How far an OpenEXR's R7 check goes (exr_table.c). */
    enum chunk_check chunks;
    /* The chunk leaders seen as the file was written (the mount), which
     * the check then need not read; NULL offline. */
    const struct leader_trail *trail;
};

enum parse_status {
    PARSE_OK = 0,
    PARSE_NEED_MORE, /* head too short for a verdict; see parse_result.need */
    PARSE_INVALID,   /* the header is malformed; see parse_result.message */
};

#define PARSE_MESSAGE_MAX 200

struct parse_result {
    enum parse_status status;
    size_t need;    /* bytes of head wanted, with PARSE_NEED_MORE */
    bool truncated; /* PARSE_INVALID because the whole file ends inside the header */
    char message[PARSE_MESSAGE_MAX];
};

/* Reads up to n bytes at off from the head and, past it, through the read
 * callback of a complete source. Returns the bytes read (fewer at the end
 * of what is available) or -1 on an I/O error. */
ssize_t frame_source_pread(const struct frame_source *src, void *buf, size_t n, uint64_t off);

/* Parses "WIDTHxHEIGHT" (digits only, each 1..65536). */
bool frame_parse_size(const char *text, uint32_t *width, uint32_t *height);

/* Sniffs the first bytes: which format the file really is (R8). */
enum frame_format frame_sniff(const uint8_t *head, size_t len);

/* "DPX", "EXR" or "unknown". */
const char *frame_format_name(enum frame_format format);

/* Parses the header in src according to its magic; with a complete
 * source also judges completeness (info->completeness). */
enum parse_status frame_parse(const struct frame_source *src, struct frame_info *info,
                              struct parse_result *res);

#endif
