#include "readahead.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* mountinfo writes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
    char *out = s;

    for (; *s; s++) {
        unsigned code;
        if (s[0] == '\\' && sscanf(s + 1, "%3o", &code) == 1 && strspn(s + 1, "01234567") >= 3) {
            *out++ = (char)code;
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

/* The "major:minor" of the last mount at mountpoint: the one on top. */
static bool device_of(const char *mountpoint, char *dev, size_t len)
{
    FILE *in = fopen("/proc/self/mountinfo", "r");
    char line[8192], majmin[64], where[4096];
    bool found = false;

    if (!in)
        return false;
    while (fgets(line, sizeof line, in)) {
        if (sscanf(line, "%*s %*s %63s %*s %4095s", majmin, where) != 2)
            continue;
        unescape(where);
        if (strcmp(where, mountpoint) == 0) {
            snprintf(dev, len, "%s", majmin);
            found = true;
        }
    }
    fclose(in);
    if (!found)
        errno = ENOENT;
    return found;
}

bool readahead_set(const char *mountpoint, unsigned kb)
{
    char dev[64], path[128];

    if (!device_of(mountpoint, dev, sizeof dev))
        return false;
    snprintf(path, sizeof path, "/sys/class/bdi/%s/read_ahead_kb", dev);
    FILE *out = fopen(path, "w");
    if (!out)
        return false;
    int wrote = fprintf(out, "%u\n", kb);
    return fclose(out) == 0 && wrote > 0;
}
