/* Is DIR a delivery's root? namctl manifest and verify write and read the
 * history at DIR/ascmhl, so DIR given one level too deep (a sequence
 * folder, or a reel folder inside one) would start a second, empty history
 * inside the asset. */
#ifndef NAMCTL_DELIVERY_ROOT_H
#define NAMCTL_DELIVERY_ROOT_H

#include <stdbool.h>

/* False, with one message on standard error naming cmd, dir and, for a
 * folder too deep, the delivery root above it. */
bool delivery_root_ok(const char *cmd, const char *dir);

#endif
