#include "log.h"

#include "namfs/text.h"

#include <stdarg.h>
#include <stdio.h>

/* Names in messages come from users: a newline or a bell in one, or bytes
 * that are not UTF-8, must not break or garble the log. */
void namfs_log_sink(void *ctx, int priority, const char *message)
{
    char escaped[4 * 8192];

    (void)ctx;
    text_escape(message, escaped, sizeof escaped);
    syslog(priority, "%s", escaped);
    fprintf(stderr, "%s\n", escaped);
}

void namfs_log(int priority, const char *fmt, ...)
{
    char message[8192];
    va_list args;

    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    namfs_log_sink(NULL, priority, message);
}
