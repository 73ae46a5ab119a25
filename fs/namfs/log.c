#include "log.h"

#define FUSE_USE_VERSION 312
#include "namfs/text.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_log.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = {"emerg",   "alert",  "crit", "error",
                                          "warning", "notice", "info", "debug"};

int logger_level_by_name(const char *name)
{
    for (int i = 0; i < (int)(sizeof level_names / sizeof level_names[0]); i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    if (strcmp(name, "err") == 0 || strcmp(name, "warn") == 0) /* syslog's spellings */
        return name[0] == 'e' ? LOG_ERR : LOG_WARNING;
    return -1;
}

const char *logger_level_name(int priority)
{
    return level_names[priority & LOG_PRIMASK];
}

/* systemd gives a service's standard error to the journal and names the
 * stream in JOURNAL_STREAM ("DEV:INODE"), so a process can tell. */
static bool stderr_is_journal(void)
{
    const char *stream = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    return stream && sscanf(stream, "%llu:%llu", &dev, &ino) == 2 &&
           fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

static int open_log_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

static bool open_file_target(struct namfs_logger *l, const char *file, char *err, size_t err_len)
{
    if (!*file) {
        snprintf(err, err_len, "log=: expected syslog, stderr or a file name, found nothing");
        return false;
    }
    /* absolute: the daemon leaves its working folder when it detaches */
    char dir[PATH_MAX];
    if (file[0] == '/')
        snprintf(l->path, sizeof l->path, "%s", file);
    else if (!getcwd(dir, sizeof dir)) {
        snprintf(err, err_len, "log=%s: %s", file, strerror(errno));
        return false;
    } else
        snprintf(l->path, sizeof l->path, "%s/%s", dir, file);
    l->fd = open_log_file(l->path);
    if (l->fd < 0) {
        snprintf(err, err_len, "log=%s: cannot open it for appending: %s", file, strerror(errno));
        return false;
    }
    l->target = LOG_TO_FILE;
    return true;
}

bool logger_open(struct namfs_logger *l, const char *log, const char *level, bool foreground,
                 char *err, size_t err_len)
{
    memset(l, 0, sizeof *l);
    l->fd = -1;
    l->level = LOG_INFO;
    snprintf(l->mount_id, sizeof l->mount_id, "-");
    if (level && (l->level = logger_level_by_name(level)) < 0) {
        snprintf(err, err_len,
                 "loglevel=%s: expected one of debug, info, notice, warning, error, crit, "
                 "alert, emerg",
                 level);
        return false;
    }
    if (log ? strcmp(log, "stderr") == 0 : foreground) {
        l->target = LOG_TO_STDERR;
        l->fd = STDERR_FILENO;
        l->journal = stderr_is_journal();
    } else if (!log || strcmp(log, "syslog") == 0) {
        l->target = LOG_TO_SYSLOG;
        openlog("namfs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    } else if (!open_file_target(l, log, err, err_len))
        return false;
    l->echo = l->target != LOG_TO_STDERR;
    return true;
}

void logger_detached(struct namfs_logger *l)
{
    __atomic_store_n(&l->echo, false, __ATOMIC_RELAXED); /* threads may be logging */
}

void logger_set_mount_id(struct namfs_logger *l, const char *id)
{
    snprintf(l->mount_id, sizeof l->mount_id, "%s", id);
}

void logger_reopen(struct namfs_logger *l)
{
    if (l->target != LOG_TO_FILE)
        return;
    int fd = open_log_file(l->path);
    if (fd < 0)
        return; /* the old file takes the lines meanwhile */
    dup3(fd, l->fd, O_CLOEXEC);
    close(fd);
}

void logger_close(struct namfs_logger *l)
{
    if (l->target == LOG_TO_FILE && l->fd >= 0)
        close(l->fd);
    if (l->target == LOG_TO_SYSLOG)
        closelog();
    l->fd = -1;
}

/* "2026-12-02T09:30:00.123Z" */
static void timestamp(char *out, size_t len)
{
    struct timespec now;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, len - n, ".%03ldZ", now.tv_nsec / 1000000);
}

/* Names in messages come from users: a newline or a bell in one, or bytes
 * that are not UTF-8, must not break or garble the log. */
void namfs_log_sink(void *ctx, int priority, const char *message)
{
    struct namfs_logger *l = ctx;
    char escaped[4 * 8192], line[4 * 8192 + 128], at[40];

    if ((priority & LOG_PRIMASK) > l->level)
        return;
    text_escape(message, escaped, sizeof escaped);
    if (__atomic_load_n(&l->echo, __ATOMIC_RELAXED) && (priority & LOG_PRIMASK) <= LOG_NOTICE)
        fprintf(stderr, "namfs: %s\n", escaped);
    if (l->target == LOG_TO_SYSLOG) {
        syslog(priority, "mount=%s %s", l->mount_id, escaped);
        return;
    }
    int n;
    if (l->journal)
        n = snprintf(line, sizeof line, "<%d>mount=%s %s\n", priority & LOG_PRIMASK, l->mount_id,
                     escaped);
    else {
        timestamp(at, sizeof at);
        n = snprintf(line, sizeof line, "%s namfs[%d] mount=%s %s: %s\n", at, (int)getpid(),
                     l->mount_id, logger_level_name(priority), escaped);
    }
    if (n > (int)sizeof line - 1)
        n = (int)sizeof line - 1, line[n - 1] = '\n';
    ssize_t ignored = write(l->fd, line, (size_t)n); /* nowhere to report a failed log write */
    (void)ignored;
}

void namfs_log(struct namfs_logger *l, int priority, const char *fmt, ...)
{
    char message[8192];
    va_list args;

    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    namfs_log_sink(l, priority, message);
}

/* libfuse's hook takes no context: the one logger of the process. */
static struct namfs_logger *libfuse_logger;

static void from_libfuse(enum fuse_log_level level, const char *fmt, va_list ap)
{
    char message[4096];

    vsnprintf(message, sizeof message, fmt, ap);
    size_t n = strlen(message);
    while (n && message[n - 1] == '\n')
        message[--n] = '\0';
    namfs_log(libfuse_logger, (int)level, "libfuse: %s", message);
}

void logger_take_libfuse(struct namfs_logger *l)
{
    libfuse_logger = l;
    fuse_set_log_func(from_libfuse);
}
