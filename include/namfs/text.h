/* Text checks for names that go into manifests and reports. */
#ifndef NAMFS_TEXT_H
#define NAMFS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1 for ASCII), or 0 if it is
 * not one: no overlong forms, no UTF-16 surrogates, nothing above U+10FFFF. */
size_t text_utf8_length(const unsigned char *s);

/* Valid UTF-8 without control characters: a name XML and checksum.txt's
 * tab-separated lines can carry as it is. */
bool text_is_plain(const char *s);

/* Copies in to out (at most len bytes with the NUL), each control byte
 * and each byte that is not part of valid UTF-8 replaced by `with`. */
const char *text_sanitize(const char *in, char *out, size_t len, char with);

/* Copies in to out (at most len bytes with the NUL), each control byte,
 * each byte that is not part of valid UTF-8 and each backslash written as
 * an escape (\x0a, \xff, a doubled backslash): a name in a log line
 * stays one line and says exactly which bytes it has. */
const char *text_escape(const char *in, char *out, size_t len);

#endif
