#include "state.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

static bool make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        bool ok = mkdir(path, 0700) == 0 || errno == EEXIST;
        *p = '/';
        if (!ok)
            return false;
    }
    return mkdir(path, 0700) == 0 || errno == EEXIST;
}

static bool state_dir_of(const char *given, char *out, size_t len)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

    if (given)
        snprintf(out, len, "%s", given);
    else if (xdg && *xdg)
        snprintf(out, len, "%s/namfs", xdg);
    else if (home && *home)
        snprintf(out, len, "%s/.local/state/namfs", home);
    else
        return false;
    return true;
}

bool state_catalog_path(const char *root, const char *state_dir, char *out, size_t len,
                        char *root_name, size_t name_len, char *err, size_t err_len)
{
    char real[PATH_MAX], dir[PATH_MAX];

    if (!realpath(root, real)) {
        snprintf(err, err_len, "%s: %s", root, strerror(errno));
        return false;
    }
    if (!state_dir_of(state_dir, dir, sizeof dir)) {
        snprintf(err, err_len, "no state folder: set --state, XDG_STATE_HOME or HOME");
        return false;
    }
    if (!make_dirs(dir)) {
        snprintf(err, err_len, "%s: %s", dir, strerror(errno));
        return false;
    }
    const char *base = strrchr(real, '/');
    base = base && base[1] ? base + 1 : "root";
    snprintf(root_name, name_len, "%s", base);
    /* the catalog's own name keeps to plain characters; the hash tells
     * folders of the same name apart */
    char plain[64];
    size_t n = 0;
    for (; base[n] && n + 1 < sizeof plain; n++)
        plain[n] = isalnum((unsigned char)base[n]) || strchr("._-", base[n]) ? base[n] : '_';
    plain[n] = '\0';
    snprintf(out, len, "%s/%s-%016llx.sqlite", dir, plain,
             (unsigned long long)XXH64(real, strlen(real), 0));
    return true;
}
