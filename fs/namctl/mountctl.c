/* `namctl sync MOUNTPOINT` and `namctl unmount MOUNTPOINT`: the quiet
 * points a script or a test waits for instead of sleeping. sync asks the
 * mount (the user.namfs.sync attribute of its root) and returns when
 * BACKING's manifests are current; unmount runs fusermount3 -u, which
 * returns before the daemon has written its last manifests, then waits
 * for the daemon's lock on namfs.pid in its state folder, which it holds
 * until it exits. */
#include "mountctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define XATTR_SYNC "user.namfs.sync"
#define XATTR_STATE "user.namfs.state"

static bool wants_help(int argc, char **argv, const char *usage)
{
    if (argc == 2 && strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "-h") != 0)
        return false;
    bool asked = argc == 2;
    fputs(usage, asked ? stdout : stderr);
    return true;
}

static int not_a_mount(const char *cmd, const char *point, int error)
{
    if (error == ENOTSUP || error == ENODATA || error == EPERM)
        fprintf(stderr, "namctl %s: %s: not the root of a namfs mount\n", cmd, point);
    else
        fprintf(stderr, "namctl %s: %s: %s\n", cmd, point, strerror(error));
    return 2;
}

int cmd_sync(int argc, char **argv)
{
    static const char usage[] =
        "usage: namctl sync MOUNTPOINT\n"
        "Returns once BACKING's manifests (checksum.txt files, the ASC MHL history) say\n"
        "what the mount has landed. Exit status: 0 current, 1 the mount cannot write them\n"
        "now (its log says why), 2 usage or not a namfs mount.\n";
    if (wants_help(argc, argv, usage))
        return argc == 2 ? 0 : 2;
    if (setxattr(argv[1], XATTR_SYNC, "1", 1, 0) == 0)
        return 0;
    int error = errno;
    if (error == EROFS || error == EIO || error == EAGAIN) {
        fprintf(stderr, "namctl sync: %s: manifests not current: %s\n", argv[1],
                error == EROFS ? "the catalog cannot record changes (read-only mount)"
                : error == EIO ? "they cannot be written (see the mount's log)"
                               : "landed files are still not on disk after a minute");
        return 1;
    }
    return not_a_mount("sync", argv[1], error);
}

/* After its lock: the daemon's last moments of exiting (a zombie counts
 * as gone), at most 5 s. */
static void await_exit(long pid)
{
    char path[64], stat[256];

    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    for (int tries = 0; pid > 0 && tries < 500; tries++) {
        FILE *f = fopen(path, "r");
        bool alive = f && fgets(stat, sizeof stat, f);
        if (f)
            fclose(f);
        const char *state = alive ? strrchr(stat, ')') : NULL;
        if (!state || (state[1] == ' ' && (state[2] == 'Z' || state[2] == 'X')))
            return;
        usleep(10000);
    }
}

static int run_fusermount(const char *point)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("fusermount3", "fusermount3", "-u", point, (char *)NULL);
        perror("namctl unmount: fusermount3");
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int cmd_unmount(int argc, char **argv)
{
    static const char usage[] =
        "usage: namctl unmount MOUNTPOINT\n"
        "Unmounts a namfs mount and returns once its daemon has written its last\n"
        "manifests to BACKING and exited (fusermount3 -u returns before that).\n"
        "Exit status: 0 done, 1 the unmount failed (busy), 2 usage or not a namfs mount.\n";
    char state[PATH_MAX], pidfile[PATH_MAX + 16], text[32] = "";

    if (wants_help(argc, argv, usage))
        return argc == 2 ? 0 : 2;
    ssize_t n = getxattr(argv[1], XATTR_STATE, state, sizeof state - 1);
    if (n < 0)
        return not_a_mount("unmount", argv[1], errno);
    state[n] = '\0';
    snprintf(pidfile, sizeof pidfile, "%s/namfs.pid", state);
    int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "namctl unmount: %s: %s\n", pidfile, strerror(errno));
        return 2;
    }
    if (pread(fd, text, sizeof text - 1, 0) < 0)
        text[0] = '\0';
    if (run_fusermount(argv[1]) != 0) {
        fprintf(stderr, "namctl unmount: fusermount3 -u %s failed\n", argv[1]);
        close(fd);
        return 1;
    }
    int rc = flock(fd, LOCK_SH); /* granted once the daemon has exited */
    close(fd);
    if (rc != 0) {
        fprintf(stderr, "namctl unmount: waiting for the daemon: %s\n", strerror(errno));
        return 1;
    }
    await_exit(strtol(text, NULL, 10));
    printf("%s: unmounted; the daemon (pid %ld) wrote its last manifests and exited\n", argv[1],
           strtol(text, NULL, 10));
    return 0;
}
