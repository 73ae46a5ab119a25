/* `namctl seal MOUNTPOINT/ASSET...`: asks namfs to seal asset folders.
 * namfs does the checking (it alone knows what landed); the request and
 * its answer travel as the user.namfs.seal extended attribute. */
#include "seal.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#define SEAL_XATTR "user.namfs.seal"
#define STATE_XATTR "user.namfs.state"

/* namfs's answer: "sealed", "sealable" or what stops sealing. */
static char *seal_state(const char *folder)
{
    char *text = NULL;
    for (int tries = 0; tries < 3; tries++) { /* the answer may grow between calls */
        ssize_t n = getxattr(folder, SEAL_XATTR, NULL, 0);
        if (n < 0 || !(text = realloc(text, (size_t)n + 1)))
            break;
        ssize_t got = getxattr(folder, SEAL_XATTR, text, (size_t)n);
        if (got >= 0) {
            text[got] = '\0';
            return text;
        }
    }
    free(text);
    return NULL;
}

/* The root of the mount holding path (where the device changes going up)
 * answers user.namfs.state only when it is a namfs mount. Asking first
 * keeps a seal request from landing as a stray attribute on a plain
 * folder (BACKING's copy of an asset, a folder elsewhere). */
static bool in_namfs_mount(const char *path)
{
    char at[PATH_MAX], up[PATH_MAX + 4];
    struct stat st, parent;

    if (!realpath(path, at) || stat(at, &st) != 0)
        return false;
    while (strcmp(at, "/") != 0) {
        snprintf(up, sizeof up, "%s/..", at);
        if (stat(up, &parent) != 0 || parent.st_dev != st.st_dev)
            break;
        char *slash = strrchr(at, '/');
        if (slash == at)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    return getxattr(at, STATE_XATTR, NULL, 0) > 0;
}

/* 0 sealed, 1 namfs refused the seal, 2 not something namfs can seal. */
static int seal_one(const char *folder)
{
    struct stat st;

    if (stat(folder, &st) != 0) {
        fprintf(stderr, "namctl seal: %s: %s\n", folder, strerror(errno));
        return 2;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "namctl seal: %s: expected an asset folder, found a file\n", folder);
        return 2;
    }
    if (!in_namfs_mount(folder)) {
        fprintf(stderr,
                "namctl seal: %s: expected a folder inside a namfs mount (MOUNTPOINT/ASSET), "
                "found one outside every namfs mount; nothing was changed. To seal a delivery "
                "that is not mounted, run namctl manifest --seal ASSET DELIVERY on its root\n",
                folder);
        return 2;
    }
    if (setxattr(folder, SEAL_XATTR, "1", 1, 0) == 0) {
        printf("%s: sealed; its files are listed in the ASC MHL history and namfs now refuses "
               "every change in it (EROFS)\n",
               folder);
        return 0;
    }
    int error = errno;
    char *why = error == EBUSY ? seal_state(folder) : NULL;
    if (why)
        fprintf(stderr, "namctl seal: %s: not sealed: %s\n", folder, why);
    else if (error == ENOTSUP || error == EPERM)
        fprintf(stderr, "namctl seal: %s: not an asset folder inside a namfs mount\n", folder);
    else
        fprintf(stderr, "namctl seal: %s: %s\n", folder, strerror(error));
    free(why);
    return 1; /* the mount's answer, whatever it was */
}

int cmd_seal(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs("usage: namctl seal MOUNTPOINT/ASSET... | MOUNTPOINT\n"
              "Seals asset folders of a namfs mount (MOUNTPOINT itself: the whole delivery)\n"
              "once every frame passed and no frame is missing (S2): one ASC MHL generation\n"
              "lists their files, and they are read-only for good. Only through a running\n"
              "mount; offline: namctl manifest --seal ASSET DELIVERY.\n"
              "Options: -h, --help this.\n"
              "Exit status: 0 all sealed, 1 namfs refused a seal (it says why),\n"
              "2 usage, or a path that is not a folder inside a namfs mount.\n",
              argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    int status = 0;
    for (int i = 1; i < argc; i++) {
        int one = seal_one(argv[i]);
        status = one > status ? one : status;
    }
    return status;
}
