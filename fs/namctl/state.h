/* Where namctl keeps a delivery's catalog: outside the delivered tree, so
 * it never lands in a manifest. */
#ifndef NAMCTL_STATE_H
#define NAMCTL_STATE_H

#include <stdbool.h>
#include <stddef.h>

/* <state dir>/<root name>-<xxh64 of its real path>.sqlite, where the state
 * dir is `state_dir`, else $XDG_STATE_HOME/namfs, else
 * ~/.local/state/namfs (created as needed). Also gives the root's name. */
bool state_catalog_path(const char *root, const char *state_dir, char *out, size_t len,
                        char *root_name, size_t name_len, char *err, size_t err_len);

#endif
