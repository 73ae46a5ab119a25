/* What the DPX and EXR fuzz targets share: frame bytes judged as the
 * mount judges them, as a header that is still arriving and as a whole
 * file (judge_file: signatures, parsers, naming and every rule). */
#ifndef NAMFS_FUZZ_FRAME_H
#define NAMFS_FUZZ_FRAME_H

#include "namfs/judge.h"

#include <stdint.h>

static void judge_bytes(const uint8_t *data, size_t size, bool complete, const char *path)
{
    static struct profile profile;
    static bool loaded;
    char err[200];
    struct judgement j;

    if (!loaded)
        loaded = profile_load_string("fuzz.ini",
                                     "[delivery]\nformats = dpx, exr\nresolution = any\n"
                                     "colour = aces\n[testing]\nresolution_floor = 1x1\n",
                                     &profile, err, sizeof err);
    struct frame_source src = {
        .head = data, .head_len = size, .complete = complete, .file_size = size};
    judge_file(path, &src, &profile, complete ? JUDGE_COMPLETE : JUDGE_EARLY, &j);
}

/* A libFuzzer entry for frames named path: the first input byte says
 * whether the rest is a whole file (odd) or a header still arriving. */
#define FUZZ_FRAMES_NAMED(path)                                                                    \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                   \
    {                                                                                              \
        if (size >= 1)                                                                             \
            judge_bytes(data + 1, size - 1, data[0] & 1, path);                                    \
        return 0;                                                                                  \
    }

#endif
