/* libFuzzer: delivery profile text (INI) through the profile parser. */
#include "namfs/profile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct profile p;
    char err[400];

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    profile_load_string("fuzz.ini", text, &p, err, sizeof err);
    free(text);
    return 0;
}
