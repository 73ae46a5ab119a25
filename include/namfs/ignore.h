/* Ignore patterns as the ASC's reference tool applies them: gitignore
 * ("gitwildmatch") syntax, translated to a regular expression the way
 * python-pathspec does, and matched against the file's ABSOLUTE path, as
 * the tool does (which is why a root-anchored pattern such as "/a/b.dpx"
 * never matches: upstream mhl#174). The last pattern that matches
 * decides; a "!pattern" that matches un-ignores. namctl verify uses this
 * so that it ignores exactly what the reference tool ignores. */
#ifndef NAMFS_IGNORE_H
#define NAMFS_IGNORE_H

#include "namfs/mhl.h"

#include <stdbool.h>
#include <stddef.h>

struct ignore_spec;

/* NULL with err naming the pattern when one is not valid gitwildmatch
 * (the reference tool would stop on it too). */
struct ignore_spec *ignore_compile(const struct strlist *patterns, char *err, size_t err_len);
void ignore_free(struct ignore_spec *spec);

/* abs_path is ignored ("/srv/delivery/a/b.dpx"; folders without a
 * trailing slash, as the tool walks them). */
bool ignore_matches(const struct ignore_spec *spec, const char *abs_path);

/* The pattern that keeps rel (relative to the delivery root) out of the
 * history wherever the delivery is verified from: "**" + "/" + rel, with
 * gitignore's special characters escaped, and a trailing slash for a
 * folder (its files are ignored; the tool never reports folders). A
 * malloc'd string. */
char *ignore_pattern_for(const char *rel, bool folder);

#endif
