#include "detach.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* The parent's whole life: a byte from the child is its "serving"; the
 * pipe closing without one means it ended, and its status is ours. */
static void wait_for_child(pid_t child, int from_child)
{
    char ready;
    int status;

    ssize_t n = read(from_child, &ready, 1);
    if (n == 1)
        _exit(0);
    if (waitpid(child, &status, 0) == child && WIFEXITED(status))
        _exit(WEXITSTATUS(status));
    _exit(1);
}

bool detach_begin(struct detach *d, bool foreground)
{
    int fds[2];

    d->report = -1;
    if (foreground)
        return true;
    if (pipe2(fds, O_CLOEXEC) != 0)
        return false;
    pid_t child = fork();
    if (child < 0)
        return false;
    if (child > 0) {
        close(fds[1]);
        wait_for_child(child, fds[0]);
    }
    close(fds[0]);
    d->report = fds[1];
    setsid(); /* a Ctrl-C or a hang-up of the terminal that started it ends it no more */
    return true;
}

void detach_ready(struct detach *d)
{
    if (d->report < 0)
        return;
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    int moved = chdir("/"); /* nothing is relative any more; if / fails, stay */
    (void)moved;
    ssize_t wrote = write(d->report, "", 1);
    (void)wrote; /* a parent gone has no one to tell */
    close(d->report);
    d->report = -1;
}
