/* `namctl check` output: text for people, TSV and JSON for scripts. */
#ifndef NAMCTL_REPORT_H
#define NAMCTL_REPORT_H

#include "check.h"

#include <stdio.h>

/* Writes run's report in format; false (said on stderr) when out of memory. */
bool report_write(FILE *out, const struct check_run *run, enum report_format format);

/* True when no file and no asset failed. */
bool report_all_good(const struct check_run *run);

#endif
