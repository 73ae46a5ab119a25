/* The daemon's state beside the mount: its catalog (SQLite, one writer at
 * a time behind a mutex) in a state folder outside the delivered tree. */
#ifndef NAMFS_STAGING_H
#define NAMFS_STAGING_H

#include "namfs/catalog.h"
#include "namfs/hash_cursor.h"
#include "namfs/judge.h"
#include "namfs/profile.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Opens (creating) the state folder and its catalog. state_dir NULL means
 * "<BACKING>.namfs" beside BACKING. */
bool staging_open(const char *backing, const char *state_dir, const struct profile *p,
                  double quiet_seconds, char *err, size_t err_len);
void staging_close(void);

/* Brings the catalog up to date with BACKING before serving: files new or
 * changed while unmounted (size, mtime or ctime) are judged and hashed
 * anew, rows of files gone are dropped; *changed says how many. at_mount:
 * files a crash left under libfuse's hidden names are removed. False
 * when BACKING could not be walked. */
bool staging_reconcile(bool at_mount, size_t *changed);

/* Writes checksum.txt files and a new MHL generation to BACKING when
 * anything changed since the last checkpoint. The quiet thread calls it
 * once landings have paused for quiet_seconds; unmount calls it last. */
void staging_checkpoint(void);
void staging_start_quiet_thread(void);

/* When the catalog last changed (wall clock): the mtime the mount shows
 * for a checksum.txt rendered from it. */
struct timespec staging_changed_at(void);
void staging_stop_quiet_thread(void);

/* The digests every landed file carries (the profile's manifests). */
uint32_t staging_algos(void);

const struct profile *staging_profile(void);

/* A refused file: moves it out of the delivery into the quarantine in the
 * state folder, with a .reason file beside it, and records why. Nothing
 * is deleted; if it cannot be moved it stays, recorded as rejected. */
void staging_refused(const char *path, const struct verdict *v);
void staging_removed(const char *path);
/* A written file's sync to disk failed at release: it does not land, an
 * earlier landing of it is forgotten, and no reconciliation lands it from
 * what the page cache holds of it; a new write through the mount does. */
void staging_not_on_disk(const char *path);
/* A rename from `from` replaced the file at `to`. */
void staging_replaced(const char *to, const char *from);
void staging_renamed(const char *from, const char *to);

/* A file refused while still open: if its writer then deletes it (as
 * OpenEXR's does on a write error), it goes to the quarantine instead,
 * so refused data is never lost. staging_unlink_refused() returns true
 * when it did that for path. */
void staging_note_refused(const char *path, const struct verdict *v);
bool staging_unlink_refused(const char *path);

/* The catalogued digest of path in algo; false when there is none. */
bool staging_digest(const char *path, enum hash_algo algo, char *out, size_t len);

/* "pass" or "<rule>: <message>" for a catalogued file; false otherwise. */
bool staging_verdict(const char *path, char *out, size_t len);

/* The text of .namfs/status (per asset: frames landed, range, gaps,
 * rejected, bytes; totals and hash rate) and .namfs/rejected (path, rule,
 * message per refused file). malloc'd, NUL-terminated. */
char *staging_render_status(void);
char *staging_render_rejected(void);

/* .namfs/status.json: the same for scripts, schema STATUS_SCHEMA
 * (namfs/status.h; every field in namctl(1)). malloc'd. */
char *staging_render_status_json(void);

/* checksum.txt of the folder holding path, rendered from the catalog now
 * (so the mount shows it current between checkpoints); NULL when no
 * frame landed in the folder. checked: only files BACKING still has as
 * catalogued (a stat each), so that a change behind the mount's back, or
 * one a read-only catalog missed, is never served with a stale digest;
 * always so while read-only. */
char *staging_render_checksum(const char *path, bool checked);

/* A frame landed in the folder at path: it has a checksum.txt (M1). */
bool staging_folder_has_frames(const char *path);

/* Times, mode, owner, name or attributes of path changed, its content did
 * not: a landed file's catalog row takes its new times (so a remount does
 * not hash it anew). Not for a file still being written. */
void staging_metadata_changed(const char *path);

/* The file behind fd landed and has not changed since (size, mtime,
 * ctime): its content is what the catalog's digest says. */
bool staging_is_landed_as_is(const char *path, int fd);

/* Landed frames anywhere beneath the folder at path (-1: catalog error). */
long staging_frames_beneath(const char *path);

/* The name frames at path are judged under (a writer's temp name gives
 * the final one), relative to the delivery root. */
const char *staging_judged_name(const char *path, char *buf, size_t len);

/* Logs a refusal: file, rule id, expected vs found. */
void staging_log_refusal(const char *path, const struct verdict *v);

/* The whole file behind fd: completeness (R7), the rest of the frame rules
 * and naming. False, with the verdict in j, when it breaks one. */
bool staging_judge_whole(int fd, const char *path, struct judgement *j);

/* How the checkpoint tells a landed file that is being rewritten through
 * the mount (its settlement will record it) from one changed behind the
 * mount's back (judged and hashed again before manifests list it), whether
 * any writer is open (the way back from read-only waits for none), and
 * whether a file landed at its close() still waits for its sync to disk
 * (no manifest is written before it is durable, M3). */
void staging_set_busy_check(bool (*being_written)(const char *path), bool (*writers_open)(void),
                            bool (*landed_unsynced)(void));

/* True while the catalog cannot record changes (its disk is full, say):
 * the mount refuses every change with EROFS and says why in the log and
 * .namfs/status. Every 5 s it tries the catalog again; once it records,
 * BACKING is reconciled as at mount and writing resumes. */
bool staging_read_only(void);

/* Around a change made through the mount (rename, unlink, truncate, an
 * open that truncates): BACKING and the catalog change together as far as
 * that look-out is concerned. Changes through the mount run side by side. */
void staging_changes_begin(void);
void staging_changes_end(void);

/* How a settlement ended. */
enum settlement {
    SETTLED_LANDED,  /* in the catalog with its digest */
    SETTLED_REFUSED, /* in the quarantine (or kept in place), listed as rejected */
    SETTLED_PENDING, /* nothing to decide yet: an empty frame, or the file moved away */
    SETTLED_FAILED,  /* it could not be read to hash it: neither landed nor refused */
};

/* A written file settles: refused ones (early, or now on the whole file)
 * go to the quarantine, the others land with the cursor's digest. */
enum settlement staging_settle(const char *path, int fd, struct hash_cursor *cursor,
                               const struct verdict *early);

/* A file renamed to a name that judges differently (another frame, asset
 * or a final name): judged and hashed anew at path. */
void staging_rejudge(const char *path);

/* Sealing the asset folder at path (namctl seal): refused while a frame in
 * it was refused and not replaced or a gap (S2) exists; otherwise recorded
 * and the final manifests written at once. From then on the folder is
 * read-only (sealed.h). staging_seal_state() says "sealed", "sealable" or
 * what stops it (malloc'd). */
bool staging_seal(const char *path);
char *staging_seal_state(const char *path);

#endif
