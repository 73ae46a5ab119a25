#include "namfs/quarantine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool quarantine_open(struct quarantine *q, const char *dir, char *err, size_t err_len)
{
    snprintf(q->dir, sizeof q->dir, "%s", dir);
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return true;
    snprintf(err, err_len, "quarantine %s: %s", dir, strerror(errno));
    return false;
}

/* mkdir -p of rel's folder inside the quarantine. */
static bool make_folders(const struct quarantine *q, const char *rel)
{
    char dir[PATH_MAX + 4096];

    snprintf(dir, sizeof dir, "%s/%s", q->dir, rel);
    for (char *p = dir + strlen(q->dir) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        bool ok = mkdir(dir, 0700) == 0 || errno == EEXIST;
        *p = '/';
        if (!ok)
            return false;
    }
    return true;
}

/* Written whole or not at all: a reader never sees half a reason. */
static void write_reason(const char *target, const char *rel, const struct verdict *v)
{
    char reason[PATH_MAX + 4200], tmp[PATH_MAX + 4210], at[32];
    time_t now = time(NULL);

    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &(struct tm){0}));
    snprintf(reason, sizeof reason, "%s.reason", target);
    snprintf(tmp, sizeof tmp, "%s.tmp", reason);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%s\t%s\t%s\t%s\n", rel, rule_name(v->rule), v->message, at);
    if (fclose(f) == 0)
        rename(tmp, reason);
}

static bool copy_bytes(int in, int out)
{
    char buf[1 << 16];
    ssize_t n;
    bool ok = true;

    while (ok && (n = read(in, buf, sizeof buf)) != 0)
        ok = n > 0 && write(out, buf, (size_t)n) == n;
    return ok;
}

/* Across filesystems: copied out and synced, and only then removed from
 * BACKING. -1 with errno (EEXIST: target taken) leaves it in place. */
static int copy_across(int dirfd, const char *name, const char *target)
{
    int in = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int out = in >= 0 ? open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    bool ok = out >= 0 && copy_bytes(in, out) && fsync(out) == 0;

    if (out >= 0 && close(out) != 0)
        ok = false;
    if (in >= 0)
        close(in);
    if (ok && unlinkat(dirfd, name, 0) == 0)
        return 0;
    int error = errno;
    if (out >= 0)
        unlink(target); /* a copy of a file that stays in BACKING */
    errno = error;
    return -1;
}

int quarantine_move(const struct quarantine *q, int dirfd, const char *name, const char *rel,
                    const struct verdict *v, char *target, size_t target_len)
{
    int rc = -1;

    if (!make_folders(q, rel))
        return -1;
    for (int n = 0; n < 1000; n++) {
        if (n)
            snprintf(target, target_len, "%s/%s.%d", q->dir, rel, n);
        else
            snprintf(target, target_len, "%s/%s", q->dir, rel);
        rc = renameat2(dirfd, name, AT_FDCWD, target, RENAME_NOREPLACE);
        if (rc != 0 && errno == EXDEV)
            rc = copy_across(dirfd, name, target);
        if (rc == 0 || errno != EEXIST)
            break;
    }
    if (rc == 0)
        write_reason(target, rel, v);
    return rc;
}
