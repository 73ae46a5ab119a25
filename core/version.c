#include "namfs/version.h"

#include <openexr.h>
#include <sqlite3.h>
#include <xxhash.h>

void version_print(FILE *out, const char *program, const char *extra)
{
    int maj, min, patch;
    const char *tag = NULL;
    unsigned xxh = XXH_versionNumber();

    exr_get_library_version(&maj, &min, &patch, &tag);
    fprintf(out, "%s %s (OpenEXR %d.%d.%d%s%s, SQLite %s, xxHash %u.%u.%u%s%s)\n", program,
            NAMFS_VERSION, maj, min, patch, tag && *tag ? "-" : "", tag ? tag : "",
            sqlite3_libversion(), xxh / 10000, xxh / 100 % 100, xxh % 100, extra ? ", " : "",
            extra ? extra : "");
}
