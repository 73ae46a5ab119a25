/* Names of DPX header codes, as SMPTE 268M gives them, so that a person
 * reading `namctl info` or a refusal sees "Logarithmic" beside the 3. */
#include "namfs/dpx.h"

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Transfer characteristic (@801) and colorimetric specification (@802)
 * share one table; 2 and 3 mean "not applicable" as colorimetry. */
static const char *const characteristics[] = {
    "User-defined", "Printing density", "Linear",          "Logarithmic",   "Unspecified video",
    "SMPTE 274M",   "ITU-R 709-4",      "ITU-R 601-5 B/G", "ITU-R 601-5 M", "NTSC",
    "PAL",          "Z linear",         "Z homogeneous",   "ADX",
};

const char *dpx_transfer_name(uint8_t code)
{
    return code < COUNT(characteristics) ? characteristics[code] : "undefined";
}

const char *dpx_colorimetric_name(uint8_t code)
{
    if (code == 2 || code == 3)
        return "not applicable";
    return code < COUNT(characteristics) ? characteristics[code] : "undefined";
}

const char *dpx_descriptor_name(uint8_t code)
{
    switch (code) {
    case 0:
        return "User-defined";
    case 1:
        return "Red";
    case 2:
        return "Green";
    case 3:
        return "Blue";
    case 4:
        return "Alpha";
    case 6:
        return "Luma (Y)";
    case 50:
        return "RGB";
    case 51:
        return "RGBA";
    case 52:
        return "ABGR";
    case 100:
        return "CbYCrY (4:2:2)";
    case 102:
        return "CbYCr (4:4:4)";
    }
    return "other";
}

const char *dpx_packing_name(uint16_t code)
{
    static const char *const names[] = {"packed", "filled (method A)", "filled (method B)"};
    return code < COUNT(names) ? names[code] : "undefined";
}
