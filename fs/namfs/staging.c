#include "staging.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

static struct catalog *cat;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t algos;

bool staging_open(const char *backing, const char *state_dir, const struct profile *p, char *err,
                  size_t err_len)
{
    char dir[PATH_MAX], path[PATH_MAX + 32];
    size_t n = strlen(backing);

    while (n > 1 && backing[n - 1] == '/')
        n--;
    if (state_dir)
        snprintf(dir, sizeof dir, "%s", state_dir);
    else
        snprintf(dir, sizeof dir, "%.*s.namfs", (int)n, backing);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "state folder %s: %s (choose one with -o state=DIR)", dir,
                 strerror(errno));
        return false;
    }
    snprintf(path, sizeof path, "%s/catalog.sqlite", dir);
    cat = catalog_open(path, err, err_len);
    algos = p->mhl_hashes | HASH_BIT(p->checksum_hash);
    return cat != NULL;
}

void staging_close(void)
{
    catalog_close(cat);
    cat = NULL;
}

uint32_t staging_algos(void)
{
    return algos;
}

static const char *relative(const char *path)
{
    return path + strspn(path, "/");
}

static void complain(const char *what, const char *path)
{
    syslog(LOG_ERR, "namfs: %s %s: %s", what, path, catalog_error(cat));
}

void staging_landed(const char *path, int fd, const struct digests *d)
{
    struct catalog_file f;
    struct stat st;

    if (fstat(fd, &st) != 0)
        return;
    memset(&f, 0, sizeof f);
    snprintf(f.path, sizeof f.path, "%s", relative(path));
    f.size = (uint64_t)st.st_size;
    f.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    f.ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
    f.hashed_at = time(NULL);
    f.digests = *d;
    f.state = FILE_LANDED;
    f.frame = -1;
    pthread_mutex_lock(&lock);
    if (!catalog_put_file(cat, &f))
        complain("recording", path);
    pthread_mutex_unlock(&lock);
}

void staging_removed(const char *path)
{
    pthread_mutex_lock(&lock);
    if (!catalog_delete_file(cat, relative(path)))
        complain("forgetting", path);
    pthread_mutex_unlock(&lock);
}

void staging_renamed(const char *from, const char *to)
{
    pthread_mutex_lock(&lock);
    if (!catalog_rename(cat, relative(from), relative(to)))
        complain("renaming", from);
    pthread_mutex_unlock(&lock);
}

bool staging_digest(const char *path, enum hash_algo algo, char *out, size_t len)
{
    struct catalog_file *f = malloc(sizeof *f);
    bool found = false;

    if (!f)
        return false;
    pthread_mutex_lock(&lock);
    found = catalog_get_file(cat, relative(path), f) && (f->digests.present & HASH_BIT(algo));
    pthread_mutex_unlock(&lock);
    if (found)
        snprintf(out, len, "%s", f->digests.text[algo]);
    free(f);
    return found;
}
