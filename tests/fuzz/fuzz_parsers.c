/* libFuzzer target for everything that reads untrusted bytes: frame
 * headers (as a prefix and as a whole file, through judge_file so naming,
 * signatures and the rules run too), and profile text. Build and run with
 * scripts/fuzz. The first input byte picks the target. */
#include "namfs/judge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const paths[] = {
    "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32/"
    "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32.001001.dpx",
    "show_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_64x32/"
    "show_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_64x32.001001.exr",
};

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

static void load_profile(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct profile p;
    char err[400];

    if (!text)
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    profile_load_string("fuzz.ini", text, &p, err, sizeof err);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    const char *path = paths[(mode >> 1) & 1];
    if (mode >= 0xf0)
        load_profile(data + 1, size - 1);
    else
        judge_bytes(data + 1, size - 1, mode & 1, path);
    return 0;
}
