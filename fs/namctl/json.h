#ifndef NAMCTL_JSON_H
#define NAMCTL_JSON_H

#include <stdio.h>

/* Writes s as a JSON string literal (quotes, escapes). */
void json_string(FILE *out, const char *s);

#endif
