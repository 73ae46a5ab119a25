#include "layout.h"

#include "mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <xxhash.h>

static bool backing_usable(const char *dir, char *err, size_t err_len)
{
    struct stat st;

    if (stat(dir, &st) != 0) {
        snprintf(err, err_len, "BACKING %s: expected a writable folder: %s", dir, strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "BACKING %s: expected a writable folder, found a file", dir);
        return false;
    }
    if (access(dir, R_OK | W_OK | X_OK) != 0) {
        snprintf(err, err_len, "BACKING %s: expected a writable folder: %s", dir, strerror(errno));
        return false;
    }
    return true;
}

struct mount_search {
    const char *mountpoint; /* looked for by where it is, or */
    const char *source;     /* by what namfs mount shows this BACKING */
    char found[PATH_MAX + 64];
};

static bool note_mount(void *ctx, const struct mount_entry *m)
{
    struct mount_search *q = ctx;

    if (q->mountpoint && strcmp(m->mountpoint, q->mountpoint) == 0)
        snprintf(q->found, sizeof q->found, "%s from %s", m->fstype, m->source);
    if (q->source && strcmp(m->fstype, "fuse.namfs") == 0 && strcmp(m->source, q->source) == 0)
        snprintf(q->found, sizeof q->found, "%s", m->mountpoint);
    return true;
}

/* A folder that is already a mount point is busy: mounting over it would
 * hide what is there. */
static bool mountpoint_usable(const char *dir, char *err, size_t err_len)
{
    struct stat st, parent;
    char up[PATH_MAX + 4];

    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "MOUNTPOINT %s: expected a folder, found %s", dir,
                 errno && !S_ISDIR(st.st_mode) ? strerror(errno) : "a file");
        return false;
    }
    snprintf(up, sizeof up, "%s/..", dir);
    if (stat(up, &parent) == 0 && parent.st_dev != st.st_dev) {
        struct mount_search q = {.mountpoint = dir};
        mountinfo_each(note_mount, &q);
        snprintf(err, err_len, "MOUNTPOINT %s is busy: expected a plain folder, found a mount (%s)",
                 dir, q.found[0] ? q.found : "see findmnt");
        return false;
    }
    return true;
}

/* The state folder need not exist yet (the stage makes it): its parent
 * must, and is resolved instead. */
static bool resolve_state(const char *state, char *out, char *err, size_t err_len)
{
    char parent[PATH_MAX], name[PATH_MAX], resolved[PATH_MAX];

    if (realpath(state, out))
        return true;
    if (errno != ENOENT) {
        snprintf(err, err_len, "state folder %s: %s", state, strerror(errno));
        return false;
    }
    snprintf(parent, sizeof parent, "%s", state);
    snprintf(name, sizeof name, "%s", state);
    if (!realpath(dirname(parent), resolved)) {
        snprintf(err, err_len, "state folder %s: its parent folder: %s", state, strerror(errno));
        return false;
    }
    snprintf(out, PATH_MAX, "%s/%s", strcmp(resolved, "/") == 0 ? "" : resolved, basename(name));
    return true;
}

/* inner is outer or below it. */
static bool within(const char *inner, const char *outer)
{
    size_t n = strlen(outer);

    if (strcmp(outer, "/") == 0)
        return true;
    return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

static bool apart(const char *a_name, const char *a, const char *b_name, const char *b, char *err,
                  size_t err_len)
{
    const char *why = strcmp(a, b) == 0 ? "is" : within(a, b) ? "is inside" : NULL;
    if (!why && within(b, a)) {
        const char *t = a_name;
        a_name = b_name, b_name = t;
        t = a, a = b, b = t;
        why = "is inside";
    }
    if (!why)
        return true;
    snprintf(err, err_len,
             "%s %s %s %s %s: expected three folders apart, none inside another (BACKING, "
             "MOUNTPOINT and the state folder, -o state=DIR)",
             a_name, a, why, b_name, b);
    return false;
}

bool layout_resolve(struct layout *l, const char *backing, const char *mountpoint,
                    const char *state, char *err, size_t err_len)
{
    char default_state[PATH_MAX + 8];

    memset(l, 0, sizeof *l);
    l->claim = -1;
    if (!backing_usable(backing, err, err_len) || !mountpoint_usable(mountpoint, err, err_len))
        return false;
    if (!realpath(backing, l->backing) || !realpath(mountpoint, l->mountpoint)) {
        snprintf(err, err_len, "%s: %s", l->backing[0] ? mountpoint : backing, strerror(errno));
        return false;
    }
    if (!state) {
        snprintf(default_state, sizeof default_state, "%s.namfs", l->backing);
        state = default_state;
    }
    if (!resolve_state(state, l->state, err, err_len))
        return false;
    if (!apart("BACKING", l->backing, "MOUNTPOINT", l->mountpoint, err, err_len) ||
        !apart("the state folder", l->state, "MOUNTPOINT", l->mountpoint, err, err_len) ||
        !apart("the state folder", l->state, "BACKING", l->backing, err, err_len))
        return false;
    snprintf(l->mount_id, sizeof l->mount_id, "%08x",
             (unsigned)XXH3_64bits(l->backing, strlen(l->backing)));
    return true;
}

/* /proc/locks: "1: FLOCK  ADVISORY  WRITE 4242 00:2c:1234 0 EOF" (READ for
 * a shared claim); waiters are listed as "1: -> FLOCK ...". */
static int flock_holder(const struct stat *st)
{
    FILE *in = fopen("/proc/locks", "r");
    char line[256];
    int pid = 0;

    if (!in)
        return 0;
    while (fgets(line, sizeof line, in) && !pid) {
        unsigned maj, min;
        unsigned long inode;
        int p;
        if (sscanf(line, "%*d: FLOCK %*s %*s %d %x:%x:%lu", &p, &maj, &min, &inode) == 4 &&
            inode == st->st_ino && maj == major(st->st_dev) && min == minor(st->st_dev))
            pid = p;
    }
    fclose(in);
    return pid;
}

static void name_holder(const struct layout *l, char *err, size_t err_len)
{
    struct stat st;
    struct mount_search q = {.source = l->backing};
    char pid[48] = "";

    if (fstat(l->claim, &st) == 0) {
        int holder = flock_holder(&st);
        if (holder)
            snprintf(pid, sizeof pid, " (pid %d)", holder);
    }
    mountinfo_each(note_mount, &q);
    if (q.found[0])
        snprintf(err, err_len,
                 "BACKING %s is mounted already, at %s by namfs%s: expected one mount of a BACKING "
                 "on a machine, whatever its -o state (two would keep two catalogs of one tree), "
                 "unless every mount of it shares one PostgreSQL catalog (-o catalog=); unmount "
                 "it first (namctl unmount %s)",
                 l->backing, q.found, pid, q.found);
    else
        snprintf(err, err_len,
                 "BACKING %s is held by another namfs%s, starting or ending its mount: expected "
                 "one mount of a BACKING on a machine, whatever its -o state, unless every mount "
                 "of it shares one PostgreSQL catalog (-o catalog=)",
                 l->backing, pid);
}

bool layout_claim(struct layout *l, bool shared, char *err, size_t err_len)
{
    l->claim = open(l->backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (l->claim < 0) {
        snprintf(err, err_len, "BACKING %s: %s", l->backing, strerror(errno));
        return false;
    }
    if (flock(l->claim, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
        return true;
    if (errno == EWOULDBLOCK)
        name_holder(l, err, err_len);
    else
        snprintf(err, err_len, "BACKING %s: cannot lock it: %s", l->backing, strerror(errno));
    layout_release(l);
    return false;
}

void layout_release(struct layout *l)
{
    if (l->claim >= 0)
        close(l->claim);
    l->claim = -1;
}
