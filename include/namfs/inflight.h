/* Files in flight: a file written through the mount lives in BACKING under
 * a hidden in-flight name in its folder, ".namfs~OOOOOOOO.XXXXXXXX~NAME"
 * (OOOOOOOO: the mount that writes it, so that mounts of one BACKING on
 * several hosts tell their own from another's left by a crash), from its
 * open until its last release, when it has landed (or been held) and is
 * on disk; then it is renamed to the name the mount shows for it all
 * along. So BACKING never holds a partial or unjudged file under a final
 * name, and a rewrite of a landed frame leaves the landed frame, and the
 * manifests that list it, as they were until the new bytes land (the
 * rewrite works on a copy). In-flight names are dot files: N6, ignored by
 * every manifest, and reserved (nobody else may make one).
 *
 * The table maps the mount's path of each file in flight to its BACKING
 * path; both change together when a folder above them is renamed. Its
 * lock is a leaf: no other lock is taken under it, and no I/O is done. */
#ifndef NAMFS_INFLIGHT_H
#define NAMFS_INFLIGHT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct inflight {
    char *shown;   /* the mount's path ("/a/x.0001.dpx"); NULL once deleted */
    char *backing; /* its file in BACKING ("/a/.namfs~1f2e3d4c~x.0001.dpx") */
    bool placed;   /* renamed to shown: no longer in flight (table lock) */
    int handles;   /* handles writing it (table lock) */
    struct inflight *next;
};

struct inflight_table {
    pthread_mutex_t lock;
    struct inflight *list;
};

void inflight_init(struct inflight_table *t);
void inflight_destroy(struct inflight_table *t);

/* An in-flight name for path, in its folder (mount path, malloc'd), for
 * the mount owner (8 hex digits). */
char *inflight_name_for(const char *path, const char *owner);

/* The last component of path is an in-flight name. */
bool inflight_is_name(const char *path);

/* The name the mount showed for an in-flight name (its NAME part, or ""
 * when it was too long to keep), in out. */
void inflight_shown_name(const char *name, char *out, size_t len);

/* The mount that wrote an in-flight name, in out: "" for a name from
 * before owners were written in them. */
void inflight_owner(const char *name, char *out, size_t len);

/* The BACKING path that the mount's path names now: its in-flight file's
 * while in flight, else path itself. */
void inflight_locate(struct inflight_table *t, const char *path, char *out, size_t len);

/* Joins the file in flight at shown as one more handle, its BACKING path
 * copied to backing (len bytes); NULL when none. */
struct inflight *inflight_join(struct inflight_table *t, const char *shown, char *backing,
                               size_t len);

/* Puts backing in flight as shown, with one handle; or, when another file
 * is in flight as shown already (a race of two creates), joins that one
 * and returns it (*raced true, its BACKING path copied to theirs, len
 * bytes): the caller's own file is then not used. NULL when out of
 * memory. */
struct inflight *inflight_add(struct inflight_table *t, const char *shown, const char *backing,
                              char *theirs, size_t len, bool *raced);

/* The file has landed (or been held) and is on disk, or its last handle
 * is gone: place(ctx, backing, shown) renames it to its shown name (not
 * when deleted; not twice), under the table lock, so that nobody locates
 * it half moved. From then on it is no longer in flight. Returns place's
 * result, 0 when there was nothing to do. */
int inflight_place(struct inflight_table *t, struct inflight *e,
                   int (*place)(void *ctx, const char *backing, const char *shown), void *ctx);

/* One handle fewer; the last one takes the entry out and frees it (the
 * caller places the file first). True when it was the last. */
bool inflight_leave(struct inflight_table *t, struct inflight *e);
void inflight_free(struct inflight_table *t, struct inflight *e);

/* A rename through the mount: every file in flight as from, or under the
 * folder from, is shown under to from now on (and its BACKING path
 * follows a folder's move). True when from itself was in flight. */
bool inflight_rename(struct inflight_table *t, const char *from, const char *to, bool folder);

/* The file in flight as shown was deleted while open: its BACKING file is
 * now at hidden; it goes nowhere at its last release. */
void inflight_deleted(struct inflight_table *t, const char *shown, const char *hidden);

/* Calls each(ctx, name) for every file in flight shown in the folder
 * (mount path) with its last component, under the table lock (each must
 * not call back into the table). */
void inflight_each_in(struct inflight_table *t, const char *folder,
                      void (*each)(void *ctx, const char *name), void *ctx);

#endif
