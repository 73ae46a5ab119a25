#include "readahead.h"

#include "mountinfo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct device_search {
    const char *mountpoint;
    char dev[64];
};

/* The last mount at the mount point wins: the one on top. */
static bool note_device(void *ctx, const struct mount_entry *m)
{
    struct device_search *d = ctx;

    if (strcmp(m->mountpoint, d->mountpoint) == 0)
        snprintf(d->dev, sizeof d->dev, "%s", m->device);
    return true;
}

bool readahead_set(const char *mountpoint, unsigned kb)
{
    struct device_search d = {.mountpoint = mountpoint};
    char path[128];

    if (!mountinfo_each(note_device, &d))
        return false;
    if (!d.dev[0]) {
        errno = ENOENT;
        return false;
    }
    snprintf(path, sizeof path, "/sys/class/bdi/%s/read_ahead_kb", d.dev);
    FILE *out = fopen(path, "w");
    if (!out)
        return false;
    int wrote = fprintf(out, "%u\n", kb);
    return fclose(out) == 0 && wrote > 0;
}
