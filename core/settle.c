/* Judging what lands: the whole file (R7 and the frame rules, naming),
 * then the sequence rules with the frame's reservation in the catalog,
 * then the digest; a refused file goes to the quarantine. */
#include "stage_internal.h"

#include "namfs/naming.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Frames are judged under the name a writer's temp file will get. */
const char *stage_judged_name(const char *path, char *buf, size_t len)
{
    const char *rel = path + strspn(path, "/");
    return naming_final_name(rel, buf, len) ? buf : rel;
}

static ssize_t pread_fd(void *ctx, void *buf, size_t n, uint64_t off)
{
    return pread(*(int *)ctx, buf, n, (off_t)off);
}

/* An empty file under a frame name is a frame not written yet, not a
 * broken one: ImageMagick opens its target twice with O_TRUNC and leaves
 * it empty in between (SPEC.md). It is neither refused nor landed. */
static bool empty_frame(int fd, const char *judged)
{
    struct stat st;
    const char *ext = strrchr(judged, '.');

    return fstat(fd, &st) == 0 && st.st_size == 0 && ext &&
           (strcasecmp(ext, ".dpx") == 0 || strcasecmp(ext, ".exr") == 0);
}

bool stage_judge_whole(struct stage *s, int fd, const char *path, struct judgement *j)
{
    char name[4096];
    uint8_t head[4096];
    struct stat st;

    memset(j, 0, sizeof *j);
    if (fstat(fd, &st) != 0 || empty_frame(fd, stage_judged_name(path, name, sizeof name)))
        return true; /* nothing to judge now */
    ssize_t n = pread(fd, head, sizeof head, 0);
    struct frame_source src = {.head = head,
                               .head_len = n < 0 ? 0 : (size_t)n,
                               .complete = true,
                               .file_size = (uint64_t)st.st_size,
                               .read = pread_fd,
                               .read_ctx = &fd};
    return judge_file(stage_judged_name(path, name, sizeof name), &src, stage_profile(s),
                      JUDGE_COMPLETE, j) != JUDGED_FAIL;
}

/* A landed frame joins the sequence rules' memory again (its header is
 * read, not its pixels): found unchanged at start, or left in place by a
 * refused writer's temp file. */
void stage_remember_frame(struct stage *s, const char *path, int fd)
{
    struct judgement j;
    struct verdict v;

    if (!stage_judge_whole(s, fd, path, &j) || !j.is_frame)
        return;
    pthread_mutex_lock(&s->model);
    if (!seqset_add(s->seq, &j.name, &j.info, &v))
        stage_log(s, LOG_WARNING, "namfs: %s: %s %s (landed before; left as it is)", path,
                  rule_name(v.rule), v.message);
    pthread_mutex_unlock(&s->model);
}

/* A writer's temp file refused at settling gave way for nothing: the
 * landed target it would have replaced is remembered again. */
static void remember_target(struct stage *s, const char *path)
{
    char final[4096], target[4100];
    struct catalog_file *row = malloc(sizeof *row);

    if (!row || !naming_final_name(stage_relative(path), final, sizeof final)) {
        free(row);
        return;
    }
    pthread_mutex_lock(&s->model);
    bool landed = catalog_get_file(s->cat, final, row) && row->state == FILE_LANDED;
    pthread_mutex_unlock(&s->model);
    free(row);
    snprintf(target, sizeof target, "/%s", final);
    int fd = landed ? backing_open_quietly(&s->backing, target, O_RDONLY) : -1;
    if (fd >= 0) {
        stage_remember_frame(s, target, fd);
        close(fd);
    }
}

/* The catalog row of the file behind fd, landed at path with digests d;
 * false when path no longer names that file (moved or refused meanwhile:
 * what is at path now settles on its own). */
static bool landed_row(struct stage *s, const char *path, int fd, const struct digests *d,
                       int64_t frame, const char *asset, struct catalog_file *f)
{
    struct stat st, here;
    if (fstat(fd, &st) != 0 || backing_stat(&s->backing, path, &here) != 0 ||
        here.st_ino != st.st_ino || here.st_dev != st.st_dev)
        return false;
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", stage_relative(path));
    f->size = (uint64_t)st.st_size;
    f->mtime_ns = stage_ns(st.st_mtim);
    f->ctime_ns = stage_ns(st.st_ctim);
    f->hashed_at = time(NULL);
    f->digests = *d;
    f->state = FILE_LANDED;
    f->frame = frame;
    snprintf(f->asset, sizeof f->asset, "%s", asset);
    return true;
}

/* A landed frame cut to nothing (a truncate, an O_TRUNC open closed
 * without a write) holds nothing that landed: its row, its digest and its
 * place in the sequence go until its writer comes back with a frame. */
static void forget_emptied(struct stage *s, const char *path)
{
    struct catalog_file *row = malloc(sizeof *row);

    pthread_mutex_lock(&s->model);
    bool known = row && catalog_get_file(s->cat, stage_relative(path), row);
    pthread_mutex_unlock(&s->model);
    free(row);
    if (known)
        stage_removed(s, path);
}

/* A written file settles: refused ones go to the quarantine, the others
 * land with their digest. */
static enum settlement settle_locked(struct stage *s, const char *path, int fd,
                                     struct hash_cursor *cursor, const struct verdict *early)
{
    struct judgement j;
    struct digests d;

    char name[4096];

    if (empty_frame(fd, stage_judged_name(path, name, sizeof name))) {
        forget_emptied(s, path);
        return SETTLED_PENDING; /* its writer comes back for it */
    }
    if (early && early->rule != RULE_NONE) {
        if (!stage_unlink_refused(s, path)) /* moves it, once */
            stage_refused(s, path, early);
        return SETTLED_REFUSED;
    }
    struct verdict v;
    if (!stage_judge_whole(s, fd, path, &j)) {
        stage_log_refusal(s, path, &j.verdict);
        stage_refused(s, path, &j.verdict);
        return SETTLED_REFUSED;
    }
    if (hash_cursor_finish(cursor, fd, &d) < 0) {
        stage_log(s, LOG_ERR, "namfs: %s: cannot hash: %s: not landed, write it again", path,
                  strerror(errno));
        return SETTLED_FAILED;
    }
    struct catalog_file *row = malloc(sizeof *row);
    if (!row)
        return SETTLED_FAILED;
    if (!landed_row(s, path, fd, &d, j.is_frame ? (int64_t)j.name.frame : -1,
                    j.is_frame ? j.name.asset : "", row)) {
        free(row);
        return SETTLED_PENDING; /* moved meanwhile: it settles where it is now */
    }
    /* The sequence rules' memory and the catalog change together: a
     * rewrite judged meanwhile finds the frame in both or in neither. */
    pthread_mutex_lock(&s->model);
    enum settlement outcome = SETTLED_LANDED;
    if (j.is_frame) {
        stage_forget_replaced(s, path); /* a rewrite, or a temp file's target, gives way */
        outcome = seqset_add(s->seq, &j.name, &j.info, &v) ? SETTLED_LANDED : SETTLED_REFUSED;
    }
    if (outcome == SETTLED_LANDED)
        outcome = stage_record_landed(s, row, &v);
    pthread_mutex_unlock(&s->model);
    free(row);
    if (outcome == SETTLED_REFUSED) {
        stage_log_refusal(s, path, &v);
        stage_refused(s, path, &v);
        remember_target(s, path);
    }
    return outcome;
}

/* One settlement at a time: a late release and a truncate of the same file
 * must not land and refuse it in the wrong order. (A per-inode claim would
 * let unrelated files settle in parallel: the speed issue.) */
enum settlement stage_settle(struct stage *s, const char *path, int fd, struct hash_cursor *cursor,
                             const struct verdict *early)
{
    pthread_mutex_lock(&s->settling);
    enum settlement outcome = settle_locked(s, path, fd, cursor, early);
    pthread_mutex_unlock(&s->settling);
    return outcome;
}

void stage_rejudge(struct stage *s, const char *path)
{
    struct hash_cursor cursor;
    int fd = backing_open_quietly(&s->backing, path, O_RDONLY);
    struct hasher *h = fd >= 0 ? hasher_new(s->algos) : NULL;

    if (h) {
        hash_cursor_init(&cursor, h);
        stage_settle(s, path, fd, &cursor, NULL);
    }
    hasher_free(h);
    if (fd >= 0)
        close(fd);
}
