/* Judging what lands: the whole file (R7 and the frame rules, naming),
 * then the sequence rules with the frame's reservation in the catalog,
 * then the digest; a refused file goes to the quarantine. A file under an
 * N6 name is held instead (naming_is_held), with its digest, until a
 * rename gives it a final name: it is judged under that name first, and
 * a refusal fails the rename. */
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

static ssize_t pread_fd(void *ctx, void *buf, size_t n, uint64_t off)
{
    return pread(*(int *)ctx, buf, n, (off_t)off);
}

/* An empty file under a frame name is a frame not written yet, not a
 * broken one: ImageMagick opens its target twice with O_TRUNC and leaves
 * it empty in between (SPEC.md). It is neither refused nor landed. */
static bool empty_frame(int fd, const char *name)
{
    struct stat st;
    const char *ext = strrchr(name, '.');

    return fstat(fd, &st) == 0 && st.st_size == 0 && ext &&
           (strcasecmp(ext, ".dpx") == 0 || strcasecmp(ext, ".exr") == 0);
}

bool stage_judge_whole(struct stage *s, int fd, const char *name, enum chunk_check chunks,
                       const struct leader_trail *trail, struct judgement *j)
{
    uint8_t head[4096];
    struct stat st;

    memset(j, 0, sizeof *j);
    if (fstat(fd, &st) != 0 || empty_frame(fd, name))
        return true; /* nothing to judge now */
    ssize_t n = pread(fd, head, sizeof head, 0);
    struct frame_source src = {.head = head,
                               .head_len = n < 0 ? 0 : (size_t)n,
                               .complete = true,
                               .file_size = (uint64_t)st.st_size,
                               .read = pread_fd,
                               .read_ctx = &fd,
                               .chunks = chunks,
                               .trail = trail};
    return judge_file(stage_relative(name), &src, &s->profile, JUDGE_COMPLETE, j) != JUDGED_FAIL;
}

/* A landed frame joins the sequence rules' memory again (its header is
 * read, not its pixels): found unchanged at start, or kept in place when
 * a rename of it was refused. */
void stage_remember_frame(struct stage *s, const char *path, int fd)
{
    struct judgement j;
    struct verdict v;

    /* proven complete when it landed: the table check is enough to
     * recognise it (a remount reads no leader of 150,000 frames again) */
    if (!stage_judge_whole(s, fd, path, CHUNKS_TABLE, NULL, &j) || !j.is_frame)
        return;
    pthread_mutex_lock(&s->model);
    if (!seqset_add(s->seq, &j.name, &j.info, &v))
        stage_log(s, LOG_WARNING, "%s: %s %s (landed before; left as it is)", path,
                  rule_name(v.rule), v.message);
    pthread_mutex_unlock(&s->model);
}

/* The catalog row of the file st describes, at name with digests d. */
static void file_row(const char *name, const struct stat *st, const struct digests *d,
                     enum file_state state, struct catalog_file *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", stage_relative(name));
    f->size = (uint64_t)st->st_size;
    f->mtime_ns = stage_ns(st->st_mtim);
    f->ctime_ns = stage_ns(st->st_ctim);
    f->hashed_at = time(NULL);
    f->digests = *d;
    f->state = state;
    f->frame = -1;
}

/* path still names the file behind fd, whose stat is st: not moved or
 * refused meanwhile (what is at path now settles on its own). */
static bool still_at(struct stage *s, const char *path, const struct stat *st)
{
    struct stat here;
    char at[PATH_MAX];
    return backing_stat(&s->backing, stage_locate(s, path, at, sizeof at), &here) == 0 &&
           here.st_ino == st->st_ino && here.st_dev == st->st_dev;
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

/* The file behind fd (st), judged whole as j, lands at name with digests
 * d: the sequence rules and the frame's reservation in the catalog, under
 * the model lock so that the two change together (a rewrite judged
 * meanwhile finds the frame in both or in neither). gives_way: a landed
 * frame leaving for name (a rename) leaves the sequence memory first.
 * SETTLED_REFUSED with the verdict in v. */
static enum settlement land_as(struct stage *s, const char *name, const char *gives_way,
                               const struct judgement *j, const struct stat *st,
                               const struct digests *d, struct verdict *v)
{
    struct catalog_file *row = malloc(sizeof *row);
    if (!row)
        return SETTLED_FAILED;
    file_row(name, st, d, FILE_LANDED, row);
    if (j->is_frame) {
        row->frame = (int64_t)j->name.frame;
        snprintf(row->asset, sizeof row->asset, "%s", j->name.asset);
    }
    pthread_mutex_lock(&s->model);
    enum settlement outcome = SETTLED_LANDED;
    if (j->is_frame) {
        stage_forget_frame(s, name); /* a rewrite gives way */
        if (gives_way)
            stage_forget_frame(s, gives_way);
        stage_shared_sequence(s, &j->name, &j->info); /* another host's first frame */
        outcome = seqset_add(s->seq, &j->name, &j->info, v) ? SETTLED_LANDED : SETTLED_REFUSED;
    }
    if (outcome == SETTLED_LANDED)
        outcome = stage_record_landed(s, row, v);
    pthread_mutex_unlock(&s->model);
    free(row);
    return outcome;
}

/* A file under an N6 name: recorded as held with its digests (a rename
 * to its final name needs no second read of it). */
static enum settlement hold(struct stage *s, const char *path, const struct stat *st,
                            const struct digests *d)
{
    struct catalog_file *row = malloc(sizeof *row);
    if (!row)
        return SETTLED_FAILED;
    file_row(path, st, d, FILE_HELD, row);
    pthread_mutex_lock(&s->model);
    stage_forget_frame(s, path);
    bool ok = catalog_put_file(s->cat, row);
    if (!ok)
        stage_cannot_record(s, "recording", path);
    pthread_mutex_unlock(&s->model);
    free(row);
    return ok ? SETTLED_HELD : SETTLED_UNRECORDED;
}

/* A landed frame given back its place in the sequence memory after a
 * rewrite or rename that would have replaced or moved it was refused (the
 * landed file is BACKING's at path: a rewrite worked on a copy). */
static void remember_landed(struct stage *s, const char *path)
{
    struct catalog_file *row = malloc(sizeof *row);

    pthread_mutex_lock(&s->model);
    bool landed = row && catalog_get_file(s->cat, stage_relative(path), row) &&
                  row->state == FILE_LANDED && row->frame >= 0;
    pthread_mutex_unlock(&s->model);
    free(row);
    int fd = landed ? backing_open_quietly(&s->backing, path, O_RDONLY) : -1;
    if (fd >= 0) {
        stage_remember_frame(s, path, fd);
        close(fd);
    }
}

/* A written file settles: refused ones go to the quarantine, held ones
 * are recorded as held, the others land with their digest. */
static enum settlement settle_locked(struct stage *s, const char *path, int fd,
                                     struct hash_cursor *cursor, const struct leader_trail *trail,
                                     const struct verdict *early, const char *by)
{
    struct judgement j;
    struct digests d;
    struct stat st;
    struct verdict v;
    bool held = naming_is_held(path);

    if (empty_frame(fd, path)) {
        forget_emptied(s, path);
        return SETTLED_PENDING; /* its writer comes back for it */
    }
    if (early && early->rule != RULE_NONE) {
        if (!stage_unlink_refused(s, path)) /* moves it, once */
            stage_refused(s, path, early, by);
        return SETTLED_REFUSED;
    }
    if (!held && !stage_judge_whole(s, fd, path, CHUNKS_LEADERS, trail, &j)) {
        stage_refused(s, path, &j.verdict, by);
        return SETTLED_REFUSED;
    }
    if (hash_cursor_finish(cursor, fd, &d) < 0) {
        stage_log(s, LOG_ERR, "%s: cannot hash: %s: not landed, write it again", path,
                  strerror(errno));
        return SETTLED_FAILED;
    }
    if (fstat(fd, &st) != 0 || !still_at(s, path, &st))
        return SETTLED_PENDING; /* moved meanwhile: it settles where it is now */
    if (held)
        return hold(s, path, &st, &d);
    enum settlement outcome = land_as(s, path, NULL, &j, &st, &d, &v);
    if (outcome == SETTLED_REFUSED) {
        stage_refused(s, path, &v, by);
        if (j.is_frame)
            remember_landed(s, path);
    }
    return outcome;
}

/* One settlement at a time: a late release and a truncate of the same file
 * must not land and refuse it in the wrong order. (A per-inode claim would
 * let unrelated files settle in parallel: the speed issue.) */
enum settlement stage_settle(struct stage *s, const char *path, int fd, struct hash_cursor *cursor,
                             const struct leader_trail *trail, const struct verdict *early,
                             const char *by)
{
    pthread_mutex_lock(&s->settling);
    enum settlement outcome = settle_locked(s, path, fd, cursor, trail, early, by);
    pthread_mutex_unlock(&s->settling);
    return outcome;
}

void stage_rejudge(struct stage *s, const char *path)
{
    struct hash_cursor cursor;
    char at[PATH_MAX];
    int fd = backing_open_quietly(&s->backing, stage_locate(s, path, at, sizeof at), O_RDONLY);
    struct hasher *h = fd >= 0 ? hasher_new(s->algos) : NULL;

    if (h) {
        hash_cursor_init(&cursor, h);
        stage_settle(s, path, fd, &cursor, NULL, NULL, "");
    }
    hasher_free(h);
    if (fd >= 0)
        close(fd);
}

/* ---- a rename to a final name ---- */

/* The digests of the file behind fd (st): its row's when the row at from
 * still tells its bytes and has every digest the profile asks for (the
 * usual case: it was hashed as it was written); else read and hashed. */
static bool digests_of(struct stage *s, const char *from, int fd, const struct stat *st,
                       struct digests *d, struct verdict *prior)
{
    struct catalog_file *row = malloc(sizeof *row);
    bool known = false;

    verdict_pass(prior);
    pthread_mutex_lock(&s->model);
    if (row && catalog_get_file(s->cat, stage_relative(from), row)) {
        known = (row->state == FILE_LANDED || row->state == FILE_HELD) &&
                row->size == (uint64_t)st->st_size && row->mtime_ns == stage_ns(st->st_mtim) &&
                row->ctime_ns == stage_ns(st->st_ctim) &&
                (row->digests.present & s->algos) == s->algos;
        *prior = row->verdict;
    }
    pthread_mutex_unlock(&s->model);
    if (known)
        *d = row->digests;
    free(row);
    if (known)
        return true;
    struct hasher *h = hasher_new(s->algos);
    bool ok = h && hasher_read_fd(h, fd, 0, NULL) >= 0;
    if (ok)
        hasher_final(h, d);
    hasher_free(h);
    return ok;
}

/* A rename refused: held files keep why in their row (status, the seal,
 * and an unlink that sends them to the quarantine say it). */
static void note_refused_rename(struct stage *s, const char *from, const char *to,
                                const struct verdict *v)
{
    struct catalog_file *row = malloc(sizeof *row);

    stage_log(s, LOG_WARNING, "rename %s -> %s refused: %s %s (the file stays as %s)", from, to,
              rule_name(v->rule), v->message, from);
    pthread_mutex_lock(&s->model);
    if (row && catalog_get_file(s->cat, stage_relative(from), row) && row->state == FILE_HELD) {
        row->verdict = *v;
        if (!catalog_put_file(s->cat, row))
            stage_cannot_record(s, "recording", from);
    }
    pthread_mutex_unlock(&s->model);
    free(row);
}

int stage_land_renamed(struct stage *s, const char *from, const char *to, unsigned flags, int fd)
{
    struct judgement j;
    struct digests d;
    struct stat st;
    struct verdict v, prior;

    if (fstat(fd, &st) != 0)
        return -errno;
    if (empty_frame(fd, to)) { /* a frame not written yet: nothing to judge */
        int rc = stage_rename_shown(s, from, to, flags);
        if (rc == 0) {
            stage_removed(s, from);
            stage_removed(s, to);
        }
        return rc;
    }
    pthread_mutex_lock(&s->settling);
    enum settlement outcome = SETTLED_FAILED;
    bool forgot = false; /* land_as let the frames at from and to go from the sequence memory */
    /* written under a held name, its leaders went by unfollowed: read */
    if (!stage_judge_whole(s, fd, to, CHUNKS_LEADERS, NULL, &j)) {
        v = j.verdict;
        outcome = SETTLED_REFUSED;
    } else if (digests_of(s, from, fd, &st, &d, &prior)) {
        outcome = land_as(s, to, from, &j, &st, &d, &v);
        forgot = j.is_frame;
    }
    int rc = outcome == SETTLED_LANDED ? stage_rename_shown(s, from, to, flags) : 0;
    pthread_mutex_unlock(&s->settling);
    if (outcome == SETTLED_REFUSED) {
        note_refused_rename(s, from, to, &v);
        if (forgot) { /* landed frames stay what they were */
            remember_landed(s, from);
            remember_landed(s, to);
        }
        return -EINVAL;
    }
    if (outcome == SETTLED_UNRECORDED) /* the mount has just turned read-only */
        return -EROFS;
    if (outcome != SETTLED_LANDED) {
        stage_log(s, LOG_ERR, "rename %s -> %s: cannot hash %s: %s", from, to, from,
                  strerror(errno));
        return -EIO;
    }
    if (rc != 0) { /* the catalog ran ahead of BACKING: BACKING is the truth */
        stage_removed(s, to);
        stage_rejudge(s, to);
        return rc;
    }
    pthread_mutex_lock(&s->model);
    if (!catalog_delete_file(s->cat, stage_relative(from)))
        stage_cannot_record(s, "forgetting", from);
    pthread_mutex_unlock(&s->model);
    stage_touched(s, to, 0); /* the rename moved its ctime */
    return 0;
}
