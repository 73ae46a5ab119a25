#include "mount_helper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool mount_helper_called(const char *argv0)
{
    const char *base = strrchr(argv0, '/');
    return strncmp(base ? base + 1 : argv0, "mount.", 6) == 0;
}

/* mount(8)'s own options, which it keeps in fstab and utab and passes on. */
static bool mount_only(const char *opt, size_t n)
{
    static const char *const words[] = {"defaults", "auto",  "noauto", "user",   "users",
                                        "nouser",   "owner", "group",  "nofail", "_netdev"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i]) == n && strncmp(opt, words[i], n) == 0)
            return true;
    return (n >= 2 && strncmp(opt, "x-", 2) == 0) || (n >= 8 && strncmp(opt, "comment=", 8) == 0);
}

/* Keeps what is not mount(8)'s of a comma-separated list, in place. A
 * comma escaped with a backslash (a path holding one) stays in its option. */
static void keep_fs_options(char *opts)
{
    char *out = opts, *opt = opts;

    while (*opt) {
        size_t n = 0;
        while (opt[n] && opt[n] != ',')
            n += opt[n] == '\\' && opt[n + 1] ? 2 : 1;
        if (n && !mount_only(opt, n)) {
            if (out != opts)
                *out++ = ',';
            memmove(out, opt, n);
            out += n;
        }
        opt += n + (opt[n] == ',');
    }
    *out = '\0';
}

enum helper_outcome mount_helper_args(int argc, char **argv, int *out_argc, char ***out_argv,
                                      char *err, size_t err_len)
{
    const char *paths[2] = {NULL, NULL}, *opts = "";
    bool fake = false;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (paths[1]) {
                snprintf(err, err_len, "expected BACKING MOUNTPOINT, found a third path '%s'", a);
                return HELPER_WRONG;
            }
            paths[paths[0] ? 1 : 0] = a;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "-t") == 0 || strcmp(a, "-N") == 0) {
            if (i + 1 == argc) {
                snprintf(err, err_len, "%s: expected a value after it", a);
                return HELPER_WRONG;
            }
            if (a[1] == 'N') {
                snprintf(err, err_len, "-N %s: expected no namespace (enter it with nsenter)",
                         argv[i + 1]);
                return HELPER_WRONG;
            }
            if (a[1] == 'o')
                opts = argv[i + 1];
            i++;
        } else
            fake |= strchr(a, 'f') != NULL; /* -s, -n and -v change nothing here */
    }
    if (!paths[1]) {
        snprintf(err, err_len, "expected BACKING MOUNTPOINT, as mount(8) gives them");
        return HELPER_WRONG;
    }
    if (fake)
        return HELPER_FAKE;
    size_t len = strlen(opts) + 1;
    char **v = malloc(6 * sizeof *v + len);
    if (!v) {
        snprintf(err, err_len, "out of memory");
        return HELPER_WRONG;
    }
    char *kept = memcpy((char *)(v + 6), opts, len);
    keep_fs_options(kept);
    int n = 0;
    v[n++] = "namfs";
    if (*kept) {
        v[n++] = "-o";
        v[n++] = kept;
    }
    v[n++] = (char *)paths[0];
    v[n++] = (char *)paths[1];
    v[n] = NULL;
    *out_argc = n;
    *out_argv = v;
    return HELPER_MOUNT;
}
