/* libFuzzer: DPX bytes (first byte: 1 = a whole file, else a header
 * still arriving). scripts/fuzz builds and runs it. */
#include "fuzz_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 1)
        judge_bytes(data + 1, size - 1, data[0] & 1,
                    "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32/"
                    "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32.001001.dpx");
    return 0;
}
