/* `namctl check` output: a table for people, JSON for scripts. */
#ifndef NAMCTL_REPORT_H
#define NAMCTL_REPORT_H

#include "check.h"

#include <stdio.h>

void report_table(FILE *out, const struct check_run *run);
void report_json(FILE *out, const struct check_run *run);

/* True when no file and no asset failed. */
bool report_all_good(const struct check_run *run);

#endif
