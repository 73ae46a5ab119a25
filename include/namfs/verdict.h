/* Rule ids (SPEC.md) and the verdict every check returns. */
#ifndef NAMFS_VERDICT_H
#define NAMFS_VERDICT_H

#include <stdbool.h>

enum rule_id {
    RULE_NONE = 0, /* passed */
    RULE_R1,
    RULE_R2,
    RULE_R3,
    RULE_R4,
    RULE_R5,
    RULE_R6,
    RULE_R7,
    RULE_R8,
    RULE_R9,
    RULE_S1,
    RULE_S2,
    RULE_S3,
    RULE_S4,
    RULE_S5,
    RULE_N1,
    RULE_N2,
    RULE_N3,
    RULE_N4,
    RULE_N5,
    RULE_N6,
    RULE_M1,
    RULE_M2,
    RULE_M3,
    RULE_M4,
    RULE_COUNT
};

#define VERDICT_MESSAGE_MAX 320

/* A failed rule and one human line saying what was expected and what was
 * found. rule == RULE_NONE means the check passed and message is empty. */
struct verdict {
    enum rule_id rule;
    char message[VERDICT_MESSAGE_MAX];
};

/* "R4", "S1", ...; "" for RULE_NONE. */
const char *rule_name(enum rule_id rule);

/* Parses "R4" (any case) into RULE_R4; RULE_NONE when it names no rule. */
enum rule_id rule_from_name(const char *name);

void verdict_pass(struct verdict *v);

/* Records a failure; always returns false so checks can `return verdict_fail(...)`. */
bool verdict_fail(struct verdict *v, enum rule_id rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline bool verdict_passed(const struct verdict *v)
{
    return v->rule == RULE_NONE;
}

#endif
