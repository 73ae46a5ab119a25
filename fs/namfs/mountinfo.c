#include "mountinfo.h"

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

/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER" */
static bool parse(char *line, struct mount_entry *m)
{
    char *fields[5], *save = NULL, *tail = strstr(line, " - ");
    if (!tail)
        return false;
    *tail = '\0';
    char *f = strtok_r(line, " ", &save);
    for (int i = 0; i < 5 && f; i++, f = strtok_r(NULL, " ", &save))
        fields[i] = f;
    char *fstype = strtok_r(tail + 3, " ", &save);
    char *source = fstype ? strtok_r(NULL, " ", &save) : NULL;
    if (!f || !source)
        return false;
    unescape(fields[4]);
    unescape(source);
    *m = (struct mount_entry){
        .device = fields[2], .mountpoint = fields[4], .fstype = fstype, .source = source};
    return true;
}

bool mountinfo_each(bool (*each)(void *ctx, const struct mount_entry *m), void *ctx)
{
    FILE *in = fopen("/proc/self/mountinfo", "r");
    char line[16384];
    struct mount_entry m;

    if (!in)
        return false;
    while (fgets(line, sizeof line, in)) {
        line[strcspn(line, "\n")] = '\0';
        if (parse(line, &m) && !each(ctx, &m))
            break;
    }
    fclose(in);
    return true;
}
