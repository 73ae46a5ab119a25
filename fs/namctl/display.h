/* Names as a terminal shows them: a file name can hold any byte, and
 * control bytes or invalid UTF-8 must not reach the terminal or break a
 * line of a report. */
#ifndef NAMCTL_DISPLAY_H
#define NAMCTL_DISPLAY_H

#include <stddef.h>

/* Copies in to out with control bytes and invalid UTF-8 replaced by '?'. */
const char *display(const char *in, char *out, size_t len);

#endif
