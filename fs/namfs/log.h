/* The daemon's log: syslog, and standard error too, which is the terminal
 * with -f (and before start-up is done) and /dev/null once libfuse has
 * made namfs a daemon. */
#ifndef NAMFS_LOG_H
#define NAMFS_LOG_H

#include <syslog.h>

void namfs_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The staging engine's messages (a stage_log_fn). */
void namfs_log_sink(void *ctx, int priority, const char *message);

#endif
