/* The daemon's log: one line per event, each with the mount's id and the
 * daemon's pid, to one place chosen by -o log=:
 *   syslog  the default in the background (ident "namfs", the pid in it);
 *   stderr  the default with -f: timestamped lines, or, when standard error
 *           is systemd's journal, "<N>" priority prefixes and no time (the
 *           journal has its own);
 *   FILE    appended to, timestamped; SIGHUP reopens it (log rotation).
 * -o loglevel= drops lines less urgent than it (default info).
 * Each line is written with one write(2), so lines from many threads never
 * interleave. */
#ifndef NAMFS_LOG_H
#define NAMFS_LOG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

enum log_target { LOG_TO_SYSLOG, LOG_TO_STDERR, LOG_TO_FILE };

struct namfs_logger {
    enum log_target target;
    int level;    /* a syslog priority: less urgent lines are dropped */
    int fd;       /* LOG_TO_STDERR, LOG_TO_FILE: where lines go */
    bool journal; /* standard error is the journal's stream */
    bool echo;    /* __atomic; until the daemon detaches: notices and worse on the terminal too */
    char path[PATH_MAX]; /* LOG_TO_FILE: absolute, for reopening */
    char mount_id[16];   /* set once the layout is known; "-" before */
};

/* log: "syslog", "stderr", a file name or NULL (the default for
 * foreground); level: a level name or NULL. False, with why in err, when
 * either is not understood or the file cannot be opened. */
bool logger_open(struct namfs_logger *l, const char *log, const char *level, bool foreground,
                 char *err, size_t err_len);
/* The mount's id on every line from now on. */
void logger_set_mount_id(struct namfs_logger *l, const char *id);
/* The daemon has left the terminal: no more echo there. */
void logger_detached(struct namfs_logger *l);
/* Reopens the log file (async-signal-safe: open and dup2 only). */
void logger_reopen(struct namfs_logger *l);
/* libfuse's own messages go through l too (its log hook has no context,
 * so l is kept in a static: libfuse allows one hook per process). */
void logger_take_libfuse(struct namfs_logger *l);
void logger_close(struct namfs_logger *l);

void namfs_log(struct namfs_logger *l, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The staging engine's messages (a stage_log_fn; ctx is the logger). */
void namfs_log_sink(void *ctx, int priority, const char *message);

/* "debug" .. "emerg" for a priority; -1 for a name that is none. */
int logger_level_by_name(const char *name);
const char *logger_level_name(int priority);

#endif
