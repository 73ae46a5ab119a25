/* libFuzzer: a relative path through name parsing (N1-N6, folder names,
 * held temp names), under the default profile and with N1 relaxed. */
#include "namfs/naming.h"
#include "namfs/profile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct profile strict, relaxed;
    static bool loaded;
    char err[200];
    struct frame_name name;
    struct declared declared;
    struct verdict v;

    if (!loaded) {
        profile_default(&strict);
        loaded = profile_load_string("fuzz.ini",
                                     "[delivery]\nformats = dpx, exr\n"
                                     "[rules]\nrelax = N1\n",
                                     &relaxed, err, sizeof err);
    }
    char *path = malloc(size + 1);
    if (!path)
        return 0;
    memcpy(path, data, size);
    path[size] = '\0';
    naming_parse(path, &strict, &name, &v);
    naming_parse(path, &relaxed, &name, &v);
    naming_parse_folder(path, &declared, err, sizeof err);
    naming_is_held(path);
    naming_is_system(path);
    free(path);
    return 0;
}
