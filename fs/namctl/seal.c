/* `namctl seal MOUNTPOINT/ASSET...`: asks namfs to seal asset folders.
 * namfs does the checking (it alone knows what landed); the request and
 * its answer travel as the user.namfs.seal extended attribute. */
#include "seal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#define SEAL_XATTR "user.namfs.seal"

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

static int seal_one(const char *folder)
{
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
    return 1;
}

int cmd_seal(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs("usage: namctl seal MOUNTPOINT/ASSET... | MOUNTPOINT\n"
              "Seals asset folders of a namfs mount (MOUNTPOINT itself: the whole delivery)\n"
              "once every frame passed and no frame is missing (S2): one ASC MHL generation\n"
              "lists their files, and they are read-only for good.\n",
              argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    int status = 0;
    for (int i = 1; i < argc; i++)
        status |= seal_one(argv[i]);
    return status;
}
