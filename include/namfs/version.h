/* What --version prints: namfs's version and the libraries' it runs with
 * (as loaded, not as built), for bug reports. */
#ifndef NAMFS_VERSION_H
#define NAMFS_VERSION_H

#include <stdio.h>

/* "PROGRAM 0.1.0 (OpenEXR 3.1.5, SQLite 3.40.1, xxHash 0.8.1[, EXTRA])" */
void version_print(FILE *out, const char *program, const char *extra);

#endif
