#include "delivery_root.h"

#include "namfs/naming.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_sequence_folder(const char *path)
{
    char copy[PATH_MAX], why[256];
    struct declared d;

    snprintf(copy, sizeof copy, "%s", path);
    return naming_parse_folder(basename(copy), &d, why, sizeof why);
}

bool delivery_root_ok(const char *cmd, const char *dir)
{
    char at[PATH_MAX], parent[PATH_MAX], root[PATH_MAX];
    struct stat st;

    if (stat(dir, &st) != 0) {
        fprintf(stderr, "namctl %s: %s: %s\n", cmd, dir, strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "namctl %s: %s: expected a delivery's root folder, found a file\n", cmd,
                dir);
        return false;
    }
    if (!realpath(dir, at)) {
        fprintf(stderr, "namctl %s: %s: %s\n", cmd, dir, strerror(errno));
        return false;
    }
    snprintf(parent, sizeof parent, "%s", at);
    dirname(parent);
    /* a reel folder (r01) sits inside its sequence folder */
    const char *sequence = is_sequence_folder(at) ? at : is_sequence_folder(parent) ? parent : NULL;
    if (!sequence)
        return true;
    snprintf(root, sizeof root, "%s", sequence);
    dirname(root);
    fprintf(stderr,
            "namctl %s: %s: expected a delivery's root folder, found a sequence folder (its name "
            "is an N3 asset name); the delivery root is %s\n",
            cmd, dir, root);
    return false;
}
