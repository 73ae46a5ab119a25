#include "namfs/verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

static const char *const rule_names[RULE_COUNT] = {
    [RULE_NONE] = "", [RULE_R1] = "R1", [RULE_R2] = "R2", [RULE_R3] = "R3", [RULE_R4] = "R4",
    [RULE_R5] = "R5", [RULE_R6] = "R6", [RULE_R7] = "R7", [RULE_R8] = "R8", [RULE_R9] = "R9",
    [RULE_S1] = "S1", [RULE_S2] = "S2", [RULE_S3] = "S3", [RULE_S4] = "S4", [RULE_S5] = "S5",
    [RULE_N1] = "N1", [RULE_N2] = "N2", [RULE_N3] = "N3", [RULE_N4] = "N4", [RULE_N5] = "N5",
    [RULE_N6] = "N6", [RULE_M1] = "M1", [RULE_M2] = "M2", [RULE_M3] = "M3", [RULE_M4] = "M4",
};

const char *rule_name(enum rule_id rule)
{
    return (unsigned)rule < RULE_COUNT ? rule_names[rule] : "?";
}

enum rule_id rule_from_name(const char *name)
{
    for (int r = RULE_R1; r < RULE_COUNT; r++)
        if (strcasecmp(name, rule_names[r]) == 0)
            return (enum rule_id)r;
    return RULE_NONE;
}

void verdict_pass(struct verdict *v)
{
    v->rule = RULE_NONE;
    v->message[0] = '\0';
}

bool verdict_fail(struct verdict *v, enum rule_id rule, const char *fmt, ...)
{
    va_list ap;

    v->rule = rule;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
    return false;
}
