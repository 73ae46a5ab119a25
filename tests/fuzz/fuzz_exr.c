/* libFuzzer: OpenEXR bytes through the EXR validation path and every
 * rule, as the mount judges them. scripts/fuzz builds and runs it. */
#include "fuzz_frame.h"

FUZZ_FRAMES_NAMED("show_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_64x32/"
                  "show_s01e01_nam_16b_sdr_aces110_ap0_linear_20261124_178_64x32.001001.exr")
