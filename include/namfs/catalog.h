/* The catalog: one staging area's single source of truth about its files
 * (size, mtime, digests, verdict, state), assets and manifest generations.
 * Nothing else sees SQL. Two backends answer this one interface: a SQLite
 * file (the embedded default: one mount per catalog) and PostgreSQL (a
 * postgresql:// URL: many mounts over one shared BACKING, one on each
 * host, sharing one truth). Writes are meant to be batched:
 * catalog_begin() ... catalog_commit(). */
#ifndef NAMFS_CATALOG_H
#define NAMFS_CATALOG_H

#include "namfs/hash.h"
#include "namfs/verdict.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CATALOG_PATH_MAX 4096

/* FILE_HELD: a file under an N6 name (naming_is_held), with its digests;
 * never in a manifest. FILE_CHANGED: a landed file changed (or removed)
 * in BACKING behind namfs's back (SPEC M3): never re-baselined, out of
 * checksum.txt, and when its folder is sealed recorded as failed; digests
 * are what the check found, when it could read it. */
enum file_state {
    FILE_WRITING = 0,
    FILE_LANDED,
    FILE_REJECTED,
    FILE_QUARANTINED,
    FILE_HELD,
    FILE_CHANGED
};

struct catalog_file {
    char path[CATALOG_PATH_MAX]; /* relative to the delivery root, '/'-separated */
    uint64_t size;
    int64_t mtime_ns;
    int64_t ctime_ns;  /* change time: moves on any write, even one that restores mtime */
    int64_t hashed_at; /* unix seconds when the digests were taken */
    struct digests digests;
    enum file_state state;
    struct verdict verdict;
    char asset[CATALOG_PATH_MAX]; /* sequence key, "" when not a frame */
    int64_t frame;                /* frame number, -1 when not a frame */
    int recorded;                 /* the MHL generation that recorded these digests; 0 none */
};

struct catalog_generation {
    int sequence;   /* 1, 2, ... */
    char file[512]; /* name inside ascmhl/ */
    char c4[HASH_TEXT_MAX];
    int64_t created; /* unix seconds */
};

struct catalog;

/* True when `where` names a catalog many mounts share (a postgresql:// or
 * postgres:// URL); false for a SQLite file's path. */
bool catalog_is_shared(const char *where);

/* `where` as a log may show it: a URL's password left out; NULL (the
 * state folder's SQLite file) as "SQLite, in the state folder". */
void catalog_describe(const char *where, char *out, size_t len);

/* Opens (creating or migrating) the catalog `where` names: a SQLite
 * file's path, or a PostgreSQL URL (libpq's connection URI). NULL with
 * err. */
struct catalog *catalog_open(const char *where, char *err, size_t err_len);

/* A read-only connection to an existing catalog, for views (status, the
 * checksum.txt the mount shows): it reads beside the writer, never waits
 * for it (WAL), and cannot change anything (CATALOG_FAULT_READ_ONLY). */
struct catalog *catalog_open_view(const char *where, char *err, size_t err_len);
void catalog_close(struct catalog *cat);

/* The last error, for messages, and what kind of failure it was, for
 * decisions: a busy catalog is tried again, a full one makes the mount
 * read-only, a conflict is a lost race (another writer, or host, was
 * first). CATALOG_FAULT_NONE after a call that succeeded. */
enum catalog_fault {
    CATALOG_FAULT_NONE,
    CATALOG_FAULT_BUSY,        /* locked by another writer, or a serialization failure */
    CATALOG_FAULT_FULL,        /* its disk or quota is full */
    CATALOG_FAULT_CONFLICT,    /* a conditional put lost: the row it needed is another's */
    CATALOG_FAULT_READ_ONLY,   /* a view, or a file it may not write */
    CATALOG_FAULT_BROKEN,      /* I/O error or a damaged database */
    CATALOG_FAULT_UNREACHABLE, /* a shared catalog's server cannot be reached (tried again) */
    CATALOG_FAULT_OTHER,
};
const char *catalog_error(const struct catalog *cat);
enum catalog_fault catalog_fault(const struct catalog *cat);

/* True when the catalog can record a change now: it rewrites the schema
 * version, which takes a page of the log, the least any change takes. */
bool catalog_probe(struct catalog *cat);

/* A version for what is rendered from the catalog (a view is current
 * while it is): how many writes this connection made, and on a shared
 * catalog every mount's too. */
uint64_t catalog_writes(struct catalog *cat);

bool catalog_begin(struct catalog *cat);
bool catalog_commit(struct catalog *cat);
bool catalog_rollback(struct catalog *cat);

/* Inserts or replaces the file row with f->path. */
bool catalog_put_file(struct catalog *cat, const struct catalog_file *f);

/* The conditional put that reserves a frame: a landed frame f is stored
 * unless another path already holds a landed frame of the same asset and
 * number, in one statement, so that of two writers (or hosts) racing for
 * one frame exactly one wins. False with CATALOG_FAULT_CONFLICT and the
 * holder's path when it is taken. Other rows are put as catalog_put_file. */
bool catalog_put_frame(struct catalog *cat, const struct catalog_file *f, char *holder,
                       size_t holder_len);

/* Runs work inside one write transaction; when the catalog was busy (or,
 * on a shared catalog, the transaction lost a serialization conflict) it is
 * rolled back and run again, up to CATALOG_RETRIES times with a growing
 * pause. work returns false to give up (rolled back). */
#define CATALOG_RETRIES 8
typedef bool (*catalog_work_fn)(struct catalog *cat, void *ctx);
bool catalog_transaction(struct catalog *cat, catalog_work_fn work, void *ctx);

/* Fills out and returns true when path is catalogued; false otherwise
 * (check catalog_error() to tell absence from failure: it is "" then). */
bool catalog_get_file(struct catalog *cat, const char *path, struct catalog_file *out);

bool catalog_delete_file(struct catalog *cat, const char *path);

/* Moves the row of path `from`, or of every file under the folder `from`,
 * to `to`, in one transaction. */
bool catalog_rename(struct catalog *cat, const char *from, const char *to);

/* How many landed frames lie anywhere beneath the folder dir, or -1. */
long catalog_count_frames_under(struct catalog *cat, const char *dir);

/* Calls each() for every file in state `state` (sorted by path) whose
 * folder is dir ("" = the root; NULL = any folder). Stops early and
 * returns false when each() returns false. */
typedef bool (*catalog_file_fn)(void *ctx, const struct catalog_file *f);
bool catalog_each_file(struct catalog *cat, const char *dir, enum file_state state,
                       catalog_file_fn each, void *ctx);

/* A file's row in brief: what the views and the look-out read of every
 * landed file, without the whole row's copy (struct catalog_file is 9 KB;
 * 150,000 of them were most of a status view's time). The strings are
 * valid during the call only. */
struct catalog_brief {
    const char *path, *asset;
    int64_t frame;
    uint64_t size;
    int64_t mtime_ns, ctime_ns;
    const char *digest; /* catalog_each_digest_in's algorithm's; NULL when absent */
    enum file_state state;
};
typedef bool (*catalog_brief_fn)(void *ctx, const struct catalog_brief *b);

/* Calls each() for at most limit files (0: all) in state whose paths
 * sort after `after` ("" for the first), in path order: a walk in slices. */
bool catalog_each_brief_after(struct catalog *cat, enum file_state state, const char *after,
                              size_t limit, catalog_brief_fn each, void *ctx);

/* What the catalog counts per folder, asset ("" for files that are not
 * frames) and state, kept as rows change: the views read these few rows
 * instead of every file's (issue 17). Only rows counting files. */
struct catalog_tally {
    const char *dir, *asset; /* valid during the call only */
    enum file_state state;
    uint64_t files, frames, bytes;
    uint64_t listed;       /* files checksum.txt lists (not dot files, not itself) */
    uint64_t listed_bytes; /* their names' and sizes' bytes (the rest of a line is fixed) */
    uint64_t changes;      /* moves with every row counted in or out */
};
typedef bool (*catalog_tally_fn)(void *ctx, const struct catalog_tally *t);
bool catalog_each_tally(struct catalog *cat, catalog_tally_fn each, void *ctx);

/* One folder's: its landed files checksum.txt lists, their bytes, and its
 * version (every row of the folder counted in or out moves it; a
 * generation's recording does not). */
struct catalog_folder {
    uint64_t listed, listed_bytes, changes, frames;
};
bool catalog_folder_tally(struct catalog *cat, const char *dir, struct catalog_folder *out);

/* Every landed file of folder dir in brief, by path, with its digest of
 * algo: what checksum.txt is rendered from. */
bool catalog_each_digest_in(struct catalog *cat, const char *dir, enum hash_algo algo,
                            catalog_brief_fn each, void *ctx);

/* Every row written gets the next change number (schema 8), so what
 * changed since a view was made can be read instead of every row: the
 * highest number any row has now; and in path order, the files of folder
 * dir, in any state, written since change number `after`, with their
 * digest of algo (only those checksum.txt would list: not dot files, not
 * itself). A deleted row leaves no number: the tally's count tells. */
bool catalog_last_change(struct catalog *cat, int64_t *out);
bool catalog_each_change_in(struct catalog *cat, const char *dir, int64_t after,
                            enum hash_algo algo, catalog_brief_fn each, void *ctx);

/* A read transaction on a view: what it reads until catalog_commit is one
 * state of the catalog (a rendering's change number, tally and rows
 * agree). */
bool catalog_snapshot(struct catalog *cat);

/* Calls each() for every folder holding at least one landed frame. */
typedef bool (*catalog_dir_fn)(void *ctx, const char *dir);
bool catalog_each_frame_dir(struct catalog *cat, catalog_dir_fn each, void *ctx);

/* Calls each() for every folder holding a file in state that is not a
 * frame (frames_too: any file in state); from the tallies, no row read. */
bool catalog_each_dir_holding(struct catalog *cat, enum file_state state, bool frames_too,
                              catalog_dir_fn each, void *ctx);

/* Drops the rows, in any state of the `states` mask (bit n = enum
 * file_state n), of files that are not in `present` (the sorted listing
 * walk_tree makes), in one transaction. Returns how many, or -1. */
struct walk_list;
long catalog_drop_missing(struct catalog *cat, const struct walk_list *present, uint32_t states);

bool catalog_put_asset(struct catalog *cat, const char *key, const char *properties, int padding);

/* Marks the folder of a sealed asset: namfs then refuses every change in
 * it. Sealing is kept across mounts; there is no unsealing through namfs. */
bool catalog_seal(struct catalog *cat, const char *folder, int64_t at);

/* Calls each() for every sealed folder, with the generation that listed
 * its files (0: not yet). */
typedef bool (*catalog_sealed_fn)(void *ctx, const char *folder, int generation);
bool catalog_each_sealed(struct catalog *cat, catalog_sealed_fn each, void *ctx);
bool catalog_seal_listed(struct catalog *cat, const char *folder, int generation);

/* Calls each() for every sealed folder a generation lists: its files,
 * checksum.txt included, are final. */
bool catalog_each_listed(struct catalog *cat, catalog_dir_fn each, void *ctx);

/* Calls each() for every file in `state` at or beneath folder ("" = the
 * whole delivery), sorted by path. */
bool catalog_each_under(struct catalog *cat, const char *folder, enum file_state state,
                        catalog_file_fn each, void *ctx);

/* Calls each() for every file in `state` that no generation recorded. */
bool catalog_each_unrecorded(struct catalog *cat, enum file_state state, catalog_file_fn each,
                             void *ctx);
bool catalog_set_recorded(struct catalog *cat, const char *path, int generation);

/* Records a generation; a sequence number already recorded (the ascmhl/
 * folder was reset) is replaced. */
bool catalog_add_generation(struct catalog *cat, const struct catalog_generation *g);

/* The newest generation; false when there is none. */
bool catalog_last_generation(struct catalog *cat, struct catalog_generation *out);

/* The lease `name`: held by one connection among all the mounts sharing
 * the catalog, taken here when free and kept while this connection lives
 * (a host that dies loses it with its database session). *held says
 * whether this connection holds it now. On a SQLite catalog, which one
 * mount uses, it is always held. */
bool catalog_lease(struct catalog *cat, const char *name, bool *held);

/* *elsewhere: another connection holds the lease `name` now (its mount
 * lives). Never on SQLite: one mount per catalog. */
bool catalog_lease_elsewhere(struct catalog *cat, const char *name, bool *elsewhere);

/* A first comer's claim, such as what an asset's first frame fixed, for
 * every mount sharing the catalog: text is stored under key unless a
 * claim stands there already, and one stands while landed_asset (when not
 * NULL) still has a landed frame. out gets the claim that stands: text,
 * or the earlier one. Claims share the assets table (key prefixes keep
 * them apart from namctl manifest's asset rows). */
bool catalog_claim(struct catalog *cat, const char *key, const char *landed_asset, const char *text,
                   char *out, size_t out_len);

/* Marks: named numbers every mount sharing the catalog reads, such as the
 * state of the catalog the manifests were last written from (shared.c).
 * catalog_get_mark gives 0 for a mark never put. */
bool catalog_put_mark(struct catalog *cat, const char *name, int64_t value);
bool catalog_get_mark(struct catalog *cat, const char *name, int64_t *value);

#endif
