/* Catalog on SQLite: WAL, synchronous=NORMAL, schema versioned with
 * user_version. Statements are prepared once per connection. */
#include "catalog_backend.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_VERSION 9

enum statement {
    ST_PUT_FILE,
    ST_PUT_FRAME,
    ST_FRAME_HOLDER,
    ST_GET_FILE,
    ST_DELETE_FILE,
    ST_EACH_FILE_IN_DIR,
    ST_EACH_FILE,
    ST_EACH_FILE_ASIDE,
    ST_EACH_FRAME_DIR,
    ST_EACH_DIR_HOLDING,
    ST_UNDER,
    ST_COUNT_FRAMES_UNDER,
    ST_PUT_ASSET,
    ST_ADD_GENERATION,
    ST_LAST_GENERATION,
    ST_SEAL,
    ST_EACH_SEALED,
    ST_SEAL_LISTED,
    ST_EACH_UNDER,
    ST_EACH_UNRECORDED,
    ST_SET_RECORDED,
    ST_EACH_BRIEF_AFTER,
    ST_EACH_TALLY,
    ST_FOLDER_TALLY,
    ST_EACH_DIGEST_IN_DIR,
    ST_LAST_CHANGE,
    ST_EACH_CHANGE_IN_DIR,
    ST_PUT_MARK,
    ST_GET_MARK,
    ST_CLAIM_STANDING,
    ST_COUNT
};

static const char *const statements[ST_COUNT] = {
    [ST_PUT_FILE] =
        "INSERT OR REPLACE INTO files (path, dir, size, mtime_ns, hashed_at, xxh128,"
        " xxh64, xxh3, md5, sha1, c4, state, rule, message, asset, frame, ctime_ns,"
        " recorded, changed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14, ?15, ?16, ?17, ?18, ?19)",
    /* the same row, unless another path holds a landed frame of that
     * number */
    [ST_PUT_FRAME] =
        "INSERT OR REPLACE INTO files (path, dir, size, mtime_ns, hashed_at, xxh128,"
        " xxh64, xxh3, md5, sha1, c4, state, rule, message, asset, frame, ctime_ns, recorded,"
        " changed) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
        " ?17, ?18, ?19"
        " WHERE NOT EXISTS (SELECT 1 FROM files WHERE asset = ?15 AND frame = ?16"
        " AND state = 1 AND path <> ?1)",
    [ST_FRAME_HOLDER] = "SELECT path FROM files WHERE asset = ?1 AND frame = ?2 AND state = 1"
                        " AND path <> ?3 LIMIT 1",
    [ST_GET_FILE] =
        "SELECT path, size, mtime_ns, hashed_at, xxh128, xxh64, xxh3, md5, sha1, c4,"
        " state, rule, message, asset, frame, ctime_ns, recorded FROM files WHERE path = ?1",
    [ST_DELETE_FILE] = "DELETE FROM files WHERE path = ?1",
    [ST_EACH_FILE_IN_DIR] =
        "SELECT path, size, mtime_ns, hashed_at, xxh128, xxh64, xxh3, md5,"
        " sha1, c4, state, rule, message, asset, frame, ctime_ns, recorded FROM files"
        " WHERE dir = ?1 AND state = ?2 ORDER BY path",
    [ST_EACH_FILE] =
        "SELECT path, size, mtime_ns, hashed_at, xxh128, xxh64, xxh3, md5, sha1, c4,"
        " state, rule, message, asset, frame, ctime_ns, recorded FROM files WHERE state = ?2"
        " ORDER BY path",
    /* the same for a state other than landed, through files_aside: the
     * literal "state <> 1" lets SQLite use that partial index */
    [ST_EACH_FILE_ASIDE] =
        "SELECT path, size, mtime_ns, hashed_at, xxh128, xxh64, xxh3, md5, sha1, c4,"
        " state, rule, message, asset, frame, ctime_ns, recorded FROM files WHERE state = ?2"
        " AND state <> 1 ORDER BY path",
    [ST_EACH_FRAME_DIR] = "SELECT DISTINCT dir FROM tally WHERE state = ?1 AND frames > 0"
                          " ORDER BY dir",
    /* ?2: 1 when frames count too */
    [ST_EACH_DIR_HOLDING] = "SELECT DISTINCT dir FROM tally WHERE state = ?1"
                            " AND files > frames * (1 - ?2) ORDER BY dir",
    [ST_UNDER] = "SELECT path, size, mtime_ns, hashed_at, xxh128, xxh64, xxh3, md5, sha1, c4,"
                 " state, rule, message, asset, frame, ctime_ns, recorded FROM files"
                 " WHERE path = ?1 OR substr(path, 1, length(?1) + 1) = ?1 || '/'",
    [ST_COUNT_FRAMES_UNDER] = "SELECT count(*) FROM files WHERE state = ?2 AND frame >= 0"
                              " AND substr(path, 1, length(?1) + 1) = ?1 || '/'",
    [ST_PUT_ASSET] = "INSERT OR REPLACE INTO assets (key, properties, padding) VALUES (?1, ?2, ?3)",
    [ST_ADD_GENERATION] = "INSERT OR REPLACE INTO generations (sequence, file, c4, created)"
                          " VALUES (?1, ?2, ?3, ?4)",
    [ST_LAST_GENERATION] = "SELECT sequence, file, c4, created FROM generations"
                           " ORDER BY sequence DESC LIMIT 1",
    [ST_SEAL] = "INSERT OR IGNORE INTO sealed (folder, at, generation) VALUES (?1, ?2, 0)",
    [ST_EACH_SEALED] = "SELECT folder, generation FROM sealed ORDER BY folder",
    [ST_SEAL_LISTED] = "UPDATE sealed SET generation = ?2 WHERE folder = ?1",
    [ST_EACH_UNDER] =
        "SELECT path, size, mtime_ns, hashed_at, xxh128, xxh64, xxh3, md5, sha1, c4,"
        " state, rule, message, asset, frame, ctime_ns, recorded FROM files"
        " WHERE state = ?2 AND (?1 = '' OR substr(path, 1, length(?1) + 1) = ?1 || '/')"
        " ORDER BY path",
    [ST_EACH_UNRECORDED] = "SELECT path, size, mtime_ns, hashed_at, xxh128, xxh64, xxh3, md5, sha1,"
                           " c4, state, rule, message, asset, frame, ctime_ns, recorded FROM files"
                           " WHERE state = ?1 AND recorded = 0 ORDER BY path",
    [ST_SET_RECORDED] = "UPDATE files SET recorded = ?2 WHERE path = ?1",
    [ST_EACH_BRIEF_AFTER] = "SELECT path, asset, frame, size, mtime_ns, ctime_ns FROM files"
                            " WHERE state = ?1 AND path > ?2 ORDER BY path LIMIT ?3",
    [ST_EACH_TALLY] = "SELECT dir, asset, state, files, frames, bytes, listed, listed_bytes,"
                      " changes FROM tally WHERE files > 0 ORDER BY dir, asset, state",
    [ST_FOLDER_TALLY] = "SELECT total(listed) FILTER (WHERE state = 1),"
                        " total(listed_bytes) FILTER (WHERE state = 1), total(changes),"
                        " total(frames) FILTER (WHERE state = 1) FROM tally WHERE dir = ?1",
    [ST_EACH_DIGEST_IN_DIR] = "SELECT path, asset, frame, size, mtime_ns, ctime_ns, xxh128, xxh64,"
                              " xxh3, md5, sha1, c4 FROM files WHERE dir = ?1 AND state = 1"
                              " ORDER BY path",
    [ST_LAST_CHANGE] = "SELECT coalesce(max(changed), 0) FROM files",
    /* through files_changed: few rows changed since a view was made */
    [ST_EACH_CHANGE_IN_DIR] =
        "SELECT path, asset, frame, size, mtime_ns, ctime_ns, xxh128, xxh64,"
        " xxh3, md5, sha1, c4, state FROM files INDEXED BY files_changed WHERE changed > ?2"
        " AND dir = ?1 AND listed_bytes IS NOT NULL ORDER BY path",
    [ST_PUT_MARK] = "INSERT OR REPLACE INTO marks (name, value) VALUES (?1, ?2)",
    [ST_GET_MARK] = "SELECT value FROM marks WHERE name = ?1",
    /* ?2 NULL: it stands for good */
    [ST_CLAIM_STANDING] = "SELECT properties FROM assets WHERE key = ?1 AND (?2 IS NULL OR EXISTS"
                          " (SELECT 1 FROM files WHERE asset = ?2 AND state = 1))",
};

/* The tally's triggers (schema 7): a row counted in, a row counted out
 * (its changes count moves either way). */
#define TALLY_ADD                                                                                  \
    " INSERT INTO tally VALUES (new.dir, new.asset, new.state, 1, new.frame >= 0, new.size,"       \
    "  new.listed_bytes IS NOT NULL, coalesce(new.listed_bytes, 0), 1)"                            \
    " ON CONFLICT DO UPDATE SET files = files + 1, frames = frames + excluded.frames,"             \
    "  bytes = bytes + excluded.bytes, listed = listed + excluded.listed,"                         \
    "  listed_bytes = listed_bytes + excluded.listed_bytes, changes = changes + 1;"
#define TALLY_REMOVE                                                                               \
    " UPDATE tally SET files = files - 1, frames = frames - (old.frame >= 0),"                     \
    "  bytes = bytes - old.size, listed = listed - (old.listed_bytes IS NOT NULL),"                \
    "  listed_bytes = listed_bytes - coalesce(old.listed_bytes, 0), changes = changes + 1"         \
    "  WHERE dir = old.dir AND asset = old.asset AND state = old.state;"

/* Each entry moves the schema from version i to i + 1. */
static const char *const migrations[SCHEMA_VERSION] = {
    "CREATE TABLE files ("
    "  path TEXT PRIMARY KEY,"
    "  dir TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  mtime_ns INTEGER NOT NULL,"
    "  hashed_at INTEGER NOT NULL,"
    "  xxh128 TEXT, xxh64 TEXT, xxh3 TEXT, md5 TEXT, sha1 TEXT, c4 TEXT,"
    "  state INTEGER NOT NULL,"
    "  rule TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  asset TEXT NOT NULL,"
    "  frame INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX files_by_dir ON files (dir, state, path);"
    "CREATE TABLE assets (key TEXT PRIMARY KEY, properties TEXT NOT NULL,"
    "  padding INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE generations (sequence INTEGER PRIMARY KEY, file TEXT NOT NULL,"
    "  c4 TEXT NOT NULL, created INTEGER NOT NULL);",
    /* 2: the change time, so a rewrite that restores size and mtime is seen */
    "ALTER TABLE files ADD COLUMN ctime_ns INTEGER NOT NULL DEFAULT 0;",
    /* 3: assets sealed after delivery was verified (namctl seal) */
    "CREATE TABLE sealed (folder TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;",
    /* 4: frames by number, for the reservation of a frame (catalog_put_frame) */
    "CREATE INDEX files_by_frame ON files (asset, frame) WHERE frame >= 0;",
    /* 5: the custody record (namfs/custody.h): which generation listed a
     * file, and which generation listed a sealed folder's files */
    "ALTER TABLE files ADD COLUMN recorded INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE sealed ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;",
    /* 6: the reservation's index whole: SQLite cannot use the partial one
     * of 4 for "frame = ?" (a bound number does not prove frame >= 0), so
     * every landing scanned the table (issue 17: 469 -> 247 frames/s
     * over 5,000 frames) */
    "DROP INDEX files_by_frame;"
    "CREATE INDEX files_by_frame ON files (asset, frame);",
    /* 7: what the views count, kept by triggers as rows change (issue 17:
     * a status of 150,000 frames read every row): per folder, asset and
     * state, files, frames, bytes, the lines checksum.txt lists and their
     * bytes before the digest (listed_bytes: name and size), and a count
     * of changes that moves with every row's; and the few files in a
     * state other than landed, indexed apart from the many landed ones */
    "CREATE INDEX files_aside ON files (state, path) WHERE state <> 1;"
    "ALTER TABLE files ADD COLUMN listed_bytes INTEGER GENERATED ALWAYS AS ("
    "  CASE WHEN substr(path, length(dir) + 1 + (dir <> ''), 1) <> '.'"
    "   AND substr(path, length(dir) + 1 + (dir <> '')) <> 'checksum.txt'"
    "  THEN length(CAST(substr(path, length(dir) + 1 + (dir <> '')) AS BLOB))"
    "   + length(CAST(size AS TEXT)) END) VIRTUAL;"
    "CREATE TABLE tally (dir TEXT NOT NULL, asset TEXT NOT NULL, state INTEGER NOT NULL,"
    "  files INTEGER NOT NULL, frames INTEGER NOT NULL, bytes INTEGER NOT NULL,"
    "  listed INTEGER NOT NULL, listed_bytes INTEGER NOT NULL, changes INTEGER NOT NULL,"
    "  PRIMARY KEY (dir, asset, state)) WITHOUT ROWID;"
    "INSERT INTO tally SELECT dir, asset, state, count(*), sum(frame >= 0), sum(size),"
    "  count(listed_bytes), total(listed_bytes), count(*) FROM files GROUP BY dir, asset, state;"
    "CREATE TRIGGER tally_in AFTER INSERT ON files BEGIN" TALLY_ADD " END;"
    "CREATE TRIGGER tally_out AFTER DELETE ON files BEGIN" TALLY_REMOVE " END;"
    "CREATE TRIGGER tally_moved AFTER UPDATE OF path, dir, asset, state, frame, size ON files"
    " BEGIN" TALLY_REMOVE TALLY_ADD " END;",
    /* 8: each row's change number, from a counter the writing connection
     * keeps (struct catalog's last_change): what changed since a view was
     * made is read by it, not every row (the mount's checksum.txt while
     * frames land, issue 17) */
    "ALTER TABLE files ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX files_changed ON files (changed);",
    /* 9: marks (catalog_put_mark) */
    "CREATE TABLE marks (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;",
};

struct sqlite_catalog {
    struct catalog base;
    uint64_t writes;     /* statements that changed something through this connection */
    int64_t last_change; /* the change number of the row written last (schema 8) */
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
};

static struct sqlite_catalog *SQ(struct catalog *cat)
{
    return (struct sqlite_catalog *)cat;
}

/* What kind of failure SQLite's code is, for the caller's decision. */
static enum catalog_fault fault_of(int code)
{
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return CATALOG_FAULT_BUSY;
    case SQLITE_FULL:
        return CATALOG_FAULT_FULL;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
        return CATALOG_FAULT_READ_ONLY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_IOERR:
        return CATALOG_FAULT_BROKEN;
    case SQLITE_CONSTRAINT:
        return CATALOG_FAULT_CONFLICT;
    default:
        return CATALOG_FAULT_OTHER;
    }
}

static bool failed(struct catalog *cat, const char *what)
{
    snprintf(cat->error, sizeof cat->error, "catalog: %s: %s", what, sqlite3_errmsg(SQ(cat)->db));
    cat->fault = fault_of(sqlite3_extended_errcode(SQ(cat)->db));
    return false;
}

static void cleared(struct catalog *cat)
{
    cat->error[0] = '\0';
    cat->fault = CATALOG_FAULT_NONE;
}

static bool exec(struct catalog *cat, const char *sql)
{
    cleared(cat);
    return sqlite3_exec(SQ(cat)->db, sql, NULL, NULL, NULL) == SQLITE_OK || failed(cat, sql);
}

static int user_version(struct catalog *cat)
{
    sqlite3_stmt *st;
    int version = -1;

    if (sqlite3_prepare_v2(SQ(cat)->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return version;
}

/* Under one write lock, so two processes opening a new catalog at once do
 * not both create it: the second sees the version the first reached. */
static bool migrate(struct catalog *cat)
{
    char set_version[64];

    if (!exec(cat, "BEGIN IMMEDIATE"))
        return false;
    int version = user_version(cat);
    bool ok = version >= 0 || failed(cat, "reading the schema version");
    if (ok && version > SCHEMA_VERSION) {
        snprintf(cat->error, sizeof cat->error,
                 "catalog: schema version %d is newer than this namfs understands (%d)", version,
                 SCHEMA_VERSION);
        ok = false;
    }
    for (; ok && version < SCHEMA_VERSION; version++) {
        snprintf(set_version, sizeof set_version, "PRAGMA user_version = %d", version + 1);
        ok = exec(cat, migrations[version]) && exec(cat, set_version);
    }
    if (ok)
        return exec(cat, "COMMIT");
    char keep[sizeof cat->error];
    memcpy(keep, cat->error, sizeof keep);
    exec(cat, "ROLLBACK");
    memcpy(cat->error, keep, sizeof keep);
    return false;
}

/* Switching a new database to WAL takes an exclusive lock and does not
 * always wait for it; several processes opening the same new catalog at
 * once retry instead of failing. */
static bool use_wal(struct catalog *cat)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        if (exec(cat, "PRAGMA journal_mode = WAL"))
            return true;
        if (sqlite3_errcode(SQ(cat)->db) != SQLITE_BUSY &&
            sqlite3_errcode(SQ(cat)->db) != SQLITE_LOCKED)
            return false;
        sqlite3_sleep(50);
    }
    return false;
}

/* A view: the schema must be this namfs's; it is not made or migrated. */
static bool schema_current(struct catalog *cat)
{
    int version = user_version(cat);
    if (version == SCHEMA_VERSION)
        return true;
    snprintf(cat->error, sizeof cat->error,
             "catalog: schema version %d, this namfs reads %d (open it for writing first)", version,
             SCHEMA_VERSION);
    cat->fault = CATALOG_FAULT_OTHER;
    return false;
}

static const struct catalog_ops sqlite_ops;
static void sq_close(struct catalog *cat);
static bool sq_last_change(struct catalog *cat, int64_t *out);

struct catalog *catalog_sqlite_open(const char *path, bool view, char *err, size_t err_len)
{
    struct sqlite_catalog *sq = calloc(1, sizeof *sq);
    struct catalog *cat = &sq->base;
    bool ok = sq != NULL;

    if (!ok) {
        snprintf(err, err_len, "catalog: out of memory");
        return NULL;
    }
    cat->ops = &sqlite_ops;
    int flags = view ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    ok = sqlite3_open_v2(path, &SQ(cat)->db, flags, NULL) == SQLITE_OK || failed(cat, path);
    ok = ok && sqlite3_busy_timeout(SQ(cat)->db, 5000) == SQLITE_OK;
    if (view)
        ok = ok && schema_current(cat);
    else
        /* recursive triggers: a REPLACE's delete must reach the tally too */
        ok = ok && use_wal(cat) && exec(cat, "PRAGMA synchronous = NORMAL") &&
             exec(cat, "PRAGMA recursive_triggers = ON") && migrate(cat);
    for (int i = 0; ok && i < ST_COUNT; i++)
        ok = sqlite3_prepare_v3(SQ(cat)->db, statements[i], -1, SQLITE_PREPARE_PERSISTENT,
                                &SQ(cat)->st[i], NULL) == SQLITE_OK ||
             failed(cat, statements[i]);
    /* change numbers go on from the highest a row has (one writing
     * connection per catalog: the mount's) */
    ok = ok && (view || sq_last_change(cat, &SQ(cat)->last_change));
    if (!ok) {
        snprintf(err, err_len, "%s", cat->error[0] ? cat->error : "catalog: cannot open");
        sq_close(cat);
        return NULL;
    }
    return cat;
}

static void sq_close(struct catalog *cat)
{
    if (!cat)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(SQ(cat)->st[i]);
    sqlite3_close(SQ(cat)->db);
    free(cat);
}

static bool sq_probe(struct catalog *cat)
{
    char set_version[64];

    snprintf(set_version, sizeof set_version, "PRAGMA user_version = %d", SCHEMA_VERSION);
    return exec(cat, set_version);
}

static bool sq_begin(struct catalog *cat)
{
    return exec(cat, "BEGIN IMMEDIATE");
}

static bool sq_commit(struct catalog *cat)
{
    return exec(cat, "COMMIT");
}

static bool sq_rollback(struct catalog *cat)
{
    return exec(cat, "ROLLBACK");
}

/* Runs a write statement whose parameters are bound; resets it. */
static bool run(struct catalog *cat, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    SQ(cat)->writes += rc == SQLITE_DONE;
    return rc == SQLITE_DONE || failed(cat, what);
}

static uint64_t sq_writes(struct catalog *cat)
{
    return SQ(cat)->writes;
}

static void bind_text(sqlite3_stmt *st, int i, const char *text)
{
    sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

static void bind_digest(sqlite3_stmt *st, int i, const struct digests *d, enum hash_algo algo)
{
    if (d->present & HASH_BIT(algo))
        bind_text(st, i, d->text[algo]);
    else
        sqlite3_bind_null(st, i);
}

static void column_text(sqlite3_stmt *st, int col, char *out, size_t len)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    snprintf(out, len, "%s", text ? (const char *)text : "");
}

/* The parameters of ST_PUT_FILE and ST_PUT_FRAME. */
static void bind_file(sqlite3_stmt *st, const struct catalog_file *f)
{
    const char *slash = strrchr(f->path, '/');
    int dir_len = slash ? (int)(slash - f->path) : 0;

    bind_text(st, 1, f->path);
    sqlite3_bind_text(st, 2, f->path, dir_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)f->size);
    sqlite3_bind_int64(st, 4, f->mtime_ns);
    sqlite3_bind_int64(st, 5, f->hashed_at);
    for (int a = 0; a < HASH_ALGO_COUNT; a++)
        bind_digest(st, 6 + a, &f->digests, (enum hash_algo)a);
    sqlite3_bind_int(st, 12, f->state);
    bind_text(st, 13, rule_name(f->verdict.rule));
    bind_text(st, 14, f->verdict.message);
    bind_text(st, 15, f->asset);
    sqlite3_bind_int64(st, 16, f->frame);
    sqlite3_bind_int64(st, 17, f->ctime_ns);
    sqlite3_bind_int(st, 18, f->recorded);
}

/* A row written: f, with the next change number. */
static void bind_change(struct catalog *cat, sqlite3_stmt *st, const struct catalog_file *f)
{
    bind_file(st, f);
    sqlite3_bind_int64(st, 19, ++SQ(cat)->last_change);
}

static bool sq_put_file(struct catalog *cat, const struct catalog_file *f)
{
    cleared(cat);
    bind_change(cat, SQ(cat)->st[ST_PUT_FILE], f);
    return run(cat, SQ(cat)->st[ST_PUT_FILE], "storing a file");
}

/* The path that holds the landed frame f would take; "" when none. */
static void frame_holder(struct catalog *cat, const struct catalog_file *f, char *out, size_t len)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_FRAME_HOLDER];

    bind_text(st, 1, f->asset);
    sqlite3_bind_int64(st, 2, f->frame);
    bind_text(st, 3, f->path);
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW)
        column_text(st, 0, out, len);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static bool sq_put_frame(struct catalog *cat, const struct catalog_file *f, char *holder,
                         size_t holder_len)
{
    cleared(cat);
    if (f->state != FILE_LANDED || f->frame < 0)
        return sq_put_file(cat, f);
    bind_change(cat, SQ(cat)->st[ST_PUT_FRAME], f);
    if (!run(cat, SQ(cat)->st[ST_PUT_FRAME], "reserving a frame"))
        return false;
    if (sqlite3_changes(SQ(cat)->db) > 0)
        return true;
    frame_holder(cat, f, holder, holder_len);
    snprintf(cat->error, sizeof cat->error, "catalog: frame %lld of %s is %s's",
             (long long)f->frame, f->asset, holder);
    cat->fault = CATALOG_FAULT_CONFLICT;
    return false;
}

/* Column layout shared by ST_GET_FILE and the ST_EACH_FILE statements. */
static void read_file_row(sqlite3_stmt *st, struct catalog_file *f)
{
    char rule[8];

    memset(f, 0, sizeof *f);
    column_text(st, 0, f->path, sizeof f->path);
    f->size = (uint64_t)sqlite3_column_int64(st, 1);
    f->mtime_ns = sqlite3_column_int64(st, 2);
    f->hashed_at = sqlite3_column_int64(st, 3);
    for (int a = 0; a < HASH_ALGO_COUNT; a++) {
        if (sqlite3_column_type(st, 4 + a) == SQLITE_NULL)
            continue;
        f->digests.present |= HASH_BIT(a);
        column_text(st, 4 + a, f->digests.text[a], sizeof f->digests.text[a]);
    }
    f->state = (enum file_state)sqlite3_column_int(st, 10);
    column_text(st, 11, rule, sizeof rule);
    f->verdict.rule = rule_from_name(rule);
    column_text(st, 12, f->verdict.message, sizeof f->verdict.message);
    column_text(st, 13, f->asset, sizeof f->asset);
    f->frame = sqlite3_column_int64(st, 14);
    f->ctime_ns = sqlite3_column_int64(st, 15);
    f->recorded = sqlite3_column_int(st, 16);
}

static bool sq_get_file(struct catalog *cat, const char *path, struct catalog_file *out)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_GET_FILE];

    cleared(cat);
    bind_text(st, 1, path);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_file_row(st, out);
    else if (rc != SQLITE_DONE)
        failed(cat, "reading a file");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW;
}

static bool sq_delete_file(struct catalog *cat, const char *path)
{
    cleared(cat);
    bind_text(SQ(cat)->st[ST_DELETE_FILE], 1, path);
    return run(cat, SQ(cat)->st[ST_DELETE_FILE], "deleting a file");
}

/* Rows st yields, each passed to each(). */
static bool each_row(struct catalog *cat, sqlite3_stmt *st, catalog_file_fn each, void *ctx)
{
    struct catalog_file *f = malloc(sizeof *f);
    bool ok = f != NULL;
    int rc = SQLITE_DONE;

    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_file_row(st, f);
        ok = each(ctx, f);
    }
    if (ok && rc != SQLITE_DONE)
        ok = failed(cat, "listing files");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(f);
    return ok;
}

static bool sq_each_file(struct catalog *cat, const char *dir, enum file_state state,
                         catalog_file_fn each, void *ctx)
{
    sqlite3_stmt *st = SQ(cat)->st[dir                    ? ST_EACH_FILE_IN_DIR
                                   : state == FILE_LANDED ? ST_EACH_FILE
                                                          : ST_EACH_FILE_ASIDE];

    cleared(cat);
    if (dir)
        bind_text(st, 1, dir);
    sqlite3_bind_int(st, 2, state);
    return each_row(cat, st, each, ctx);
}

static bool sq_rename(struct catalog *cat, const char *from, const char *to)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_UNDER];
    struct catalog_file *rows = NULL, *f;
    size_t count = 0;
    int rc;
    bool ok = sq_begin(cat);

    bind_text(st, 1, from);
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        f = realloc(rows, (count + 1) * sizeof *rows);
        if (!(ok = f != NULL))
            break;
        rows = f;
        read_file_row(st, &rows[count++]);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for (size_t i = 0; ok && i < count; i++) {
        char moved[CATALOG_PATH_MAX];
        snprintf(moved, sizeof moved, "%s%s", to, rows[i].path + strlen(from));
        ok = sq_delete_file(cat, rows[i].path);
        snprintf(rows[i].path, sizeof rows[i].path, "%s", moved);
        ok = ok && sq_put_file(cat, &rows[i]);
    }
    free(rows);
    if (ok)
        return sq_commit(cat);
    sq_rollback(cat);
    return false;
}

static long sq_count_frames_under(struct catalog *cat, const char *dir)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_COUNT_FRAMES_UNDER];

    cleared(cat);
    bind_text(st, 1, dir);
    sqlite3_bind_int(st, 2, FILE_LANDED);
    int rc = sqlite3_step(st);
    long count = rc == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : -1;
    if (rc != SQLITE_ROW)
        failed(cat, "counting frames");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return count;
}

/* Calls each() with the first column of every row st yields. */
static bool each_name(struct catalog *cat, sqlite3_stmt *st, catalog_dir_fn each, void *ctx,
                      const char *what)
{
    bool ok = true;
    int rc;

    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW)
        ok = each(ctx, (const char *)sqlite3_column_text(st, 0));
    if (ok && rc != SQLITE_DONE)
        ok = failed(cat, what);
    sqlite3_reset(st);
    return ok;
}

static bool sq_each_frame_dir(struct catalog *cat, catalog_dir_fn each, void *ctx)
{
    cleared(cat);
    sqlite3_bind_int(SQ(cat)->st[ST_EACH_FRAME_DIR], 1, FILE_LANDED);
    return each_name(cat, SQ(cat)->st[ST_EACH_FRAME_DIR], each, ctx, "listing folders");
}

static bool sq_each_dir_holding(struct catalog *cat, enum file_state state, bool frames_too,
                                catalog_dir_fn each, void *ctx)
{
    cleared(cat);
    sqlite3_bind_int(SQ(cat)->st[ST_EACH_DIR_HOLDING], 1, state);
    sqlite3_bind_int(SQ(cat)->st[ST_EACH_DIR_HOLDING], 2, frames_too);
    return each_name(cat, SQ(cat)->st[ST_EACH_DIR_HOLDING], each, ctx, "listing folders");
}

static bool sq_put_asset(struct catalog *cat, const char *key, const char *properties, int padding)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_PUT_ASSET];

    cleared(cat);
    bind_text(st, 1, key);
    bind_text(st, 2, properties);
    sqlite3_bind_int(st, 3, padding);
    return run(cat, st, "storing an asset");
}

static bool sq_seal(struct catalog *cat, const char *folder, int64_t at)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_SEAL];

    cleared(cat);
    bind_text(st, 1, folder);
    sqlite3_bind_int64(st, 2, at);
    return run(cat, st, "sealing an asset");
}

static bool sq_each_sealed(struct catalog *cat, catalog_sealed_fn each, void *ctx)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_EACH_SEALED];
    bool ok = true;
    int rc;

    cleared(cat);
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW)
        ok = each(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1));
    if (ok && rc != SQLITE_DONE)
        ok = failed(cat, "listing sealed folders");
    sqlite3_reset(st);
    return ok;
}

static bool sq_seal_listed(struct catalog *cat, const char *folder, int generation)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_SEAL_LISTED];

    cleared(cat);
    bind_text(st, 1, folder);
    sqlite3_bind_int(st, 2, generation);
    return run(cat, st, "recording a sealed folder's generation");
}

static bool sq_set_recorded(struct catalog *cat, const char *path, int generation)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_SET_RECORDED];

    cleared(cat);
    bind_text(st, 1, path);
    sqlite3_bind_int(st, 2, generation);
    return run(cat, st, "recording a file's generation");
}

/* Rows of st in brief (ST_EACH_BRIEF_AFTER's columns, then the digests when
 * algo is one), each passed to each(). */
/* Rows of st in brief, all in state unless st yields each row's state as
 * its 13th column. */
static bool each_brief(struct catalog *cat, sqlite3_stmt *st, enum file_state state, int algo,
                       catalog_brief_fn each, void *ctx)
{
    bool ok = true;
    int rc;

    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct catalog_brief b = {
            .state =
                sqlite3_column_count(st) > 12 ? (enum file_state)sqlite3_column_int(st, 12) : state,
            .path = (const char *)sqlite3_column_text(st, 0),
            .asset = (const char *)sqlite3_column_text(st, 1),
            .frame = sqlite3_column_int64(st, 2),
            .size = (uint64_t)sqlite3_column_int64(st, 3),
            .mtime_ns = sqlite3_column_int64(st, 4),
            .ctime_ns = sqlite3_column_int64(st, 5),
            .digest = algo >= 0 ? (const char *)sqlite3_column_text(st, 6 + algo) : NULL,
        };
        b.path = b.path ? b.path : "";
        b.asset = b.asset ? b.asset : "";
        ok = each(ctx, &b);
    }
    if (ok && rc != SQLITE_DONE)
        ok = failed(cat, "listing files");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ok;
}

static bool sq_each_brief_after(struct catalog *cat, enum file_state state, const char *after,
                                size_t limit, catalog_brief_fn each, void *ctx)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_EACH_BRIEF_AFTER];

    cleared(cat);
    sqlite3_bind_int(st, 1, state);
    bind_text(st, 2, after);
    sqlite3_bind_int64(st, 3, limit ? (sqlite3_int64)limit : -1);
    return each_brief(cat, st, state, -1, each, ctx);
}

static bool sq_each_digest_in(struct catalog *cat, const char *dir, enum hash_algo algo,
                              catalog_brief_fn each, void *ctx)
{
    cleared(cat);
    bind_text(SQ(cat)->st[ST_EACH_DIGEST_IN_DIR], 1, dir);
    return each_brief(cat, SQ(cat)->st[ST_EACH_DIGEST_IN_DIR], FILE_LANDED, (int)algo, each, ctx);
}

static bool sq_last_change(struct catalog *cat, int64_t *out)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_LAST_CHANGE];

    cleared(cat);
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || failed(cat, "reading the last change");
}

static bool sq_each_change_in(struct catalog *cat, const char *dir, int64_t after,
                              enum hash_algo algo, catalog_brief_fn each, void *ctx)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_EACH_CHANGE_IN_DIR];

    cleared(cat);
    bind_text(st, 1, dir);
    sqlite3_bind_int64(st, 2, after);
    return each_brief(cat, st, FILE_LANDED, (int)algo, each, ctx);
}

static bool sq_snapshot(struct catalog *cat)
{
    return exec(cat, "BEGIN");
}

static bool sq_each_tally(struct catalog *cat, catalog_tally_fn each, void *ctx)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_EACH_TALLY];
    bool ok = true;
    int rc;

    cleared(cat);
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct catalog_tally t = {
            .dir = (const char *)sqlite3_column_text(st, 0),
            .asset = (const char *)sqlite3_column_text(st, 1),
            .state = (enum file_state)sqlite3_column_int(st, 2),
            .files = (uint64_t)sqlite3_column_int64(st, 3),
            .frames = (uint64_t)sqlite3_column_int64(st, 4),
            .bytes = (uint64_t)sqlite3_column_int64(st, 5),
            .listed = (uint64_t)sqlite3_column_int64(st, 6),
            .listed_bytes = (uint64_t)sqlite3_column_int64(st, 7),
            .changes = (uint64_t)sqlite3_column_int64(st, 8),
        };
        t.dir = t.dir ? t.dir : "";
        t.asset = t.asset ? t.asset : "";
        ok = each(ctx, &t);
    }
    if (ok && rc != SQLITE_DONE)
        ok = failed(cat, "counting files");
    sqlite3_reset(st);
    return ok;
}

static bool sq_folder_tally(struct catalog *cat, const char *dir, struct catalog_folder *out)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_FOLDER_TALLY];

    cleared(cat);
    bind_text(st, 1, dir);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->listed = (uint64_t)sqlite3_column_double(st, 0);
        out->listed_bytes = (uint64_t)sqlite3_column_double(st, 1);
        out->changes = (uint64_t)sqlite3_column_double(st, 2);
        out->frames = (uint64_t)sqlite3_column_double(st, 3);
    } else {
        failed(cat, "counting a folder's files");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW;
}

static bool sq_each_under(struct catalog *cat, const char *folder, enum file_state state,
                          catalog_file_fn each, void *ctx)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_EACH_UNDER];

    cleared(cat);
    bind_text(st, 1, folder);
    sqlite3_bind_int(st, 2, state);
    return each_row(cat, st, each, ctx);
}

static bool sq_each_unrecorded(struct catalog *cat, enum file_state state, catalog_file_fn each,
                               void *ctx)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_EACH_UNRECORDED];

    cleared(cat);
    sqlite3_bind_int(st, 1, state);
    return each_row(cat, st, each, ctx);
}

static bool sq_add_generation(struct catalog *cat, const struct catalog_generation *g)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_ADD_GENERATION];

    cleared(cat);
    sqlite3_bind_int(st, 1, g->sequence);
    bind_text(st, 2, g->file);
    bind_text(st, 3, g->c4);
    sqlite3_bind_int64(st, 4, g->created);
    return run(cat, st, "storing a generation");
}

static bool sq_last_generation(struct catalog *cat, struct catalog_generation *out)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_LAST_GENERATION];

    cleared(cat);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->sequence = sqlite3_column_int(st, 0);
        column_text(st, 1, out->file, sizeof out->file);
        column_text(st, 2, out->c4, sizeof out->c4);
        out->created = sqlite3_column_int64(st, 3);
    } else if (rc != SQLITE_DONE) {
        failed(cat, "reading generations");
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW;
}

static bool sq_in_transaction(struct catalog *cat)
{
    return !sqlite3_get_autocommit(SQ(cat)->db);
}

/* One mount per catalog file (the BACKING lock of namfs(8) sees to it):
 * every lease is this connection's. */
static bool sq_lease(struct catalog *cat, const char *name, bool *held)
{
    (void)cat;
    (void)name;
    *held = true;
    return true;
}

static bool sq_put_mark(struct catalog *cat, const char *name, int64_t value)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_PUT_MARK];

    bind_text(st, 1, name);
    sqlite3_bind_int64(st, 2, value);
    return run(cat, st, "storing a mark");
}

static bool sq_get_mark(struct catalog *cat, const char *name, int64_t *value)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_GET_MARK];

    bind_text(st, 1, name);
    int rc = sqlite3_step(st);
    *value = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE || failed(cat, "reading a mark");
}

static bool sq_lease_elsewhere(struct catalog *cat, const char *name, bool *elsewhere)
{
    (void)cat;
    (void)name;
    *elsewhere = false;
    return true;
}

static bool sq_claim(struct catalog *cat, const char *key, const char *landed_asset,
                     const char *text, char *out, size_t out_len)
{
    sqlite3_stmt *st = SQ(cat)->st[ST_CLAIM_STANDING];

    bind_text(st, 1, key);
    if (landed_asset)
        bind_text(st, 2, landed_asset);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        column_text(st, 0, out, out_len);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_ROW)
        return true;
    if (rc != SQLITE_DONE)
        return failed(cat, "reading a claim");
    snprintf(out, out_len, "%s", text);
    return sq_put_asset(cat, key, text, 0);
}

static const struct catalog_ops sqlite_ops = {
    .close = sq_close,
    .probe = sq_probe,
    .writes = sq_writes,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_transaction = sq_in_transaction,
    .put_file = sq_put_file,
    .put_frame = sq_put_frame,
    .get_file = sq_get_file,
    .delete_file = sq_delete_file,
    .rename = sq_rename,
    .count_frames_under = sq_count_frames_under,
    .each_file = sq_each_file,
    .each_brief_after = sq_each_brief_after,
    .each_tally = sq_each_tally,
    .folder_tally = sq_folder_tally,
    .each_digest_in = sq_each_digest_in,
    .last_change = sq_last_change,
    .each_change_in = sq_each_change_in,
    .snapshot = sq_snapshot,
    .each_frame_dir = sq_each_frame_dir,
    .each_dir_holding = sq_each_dir_holding,
    .put_asset = sq_put_asset,
    .seal = sq_seal,
    .each_sealed = sq_each_sealed,
    .seal_listed = sq_seal_listed,
    .each_under = sq_each_under,
    .each_unrecorded = sq_each_unrecorded,
    .set_recorded = sq_set_recorded,
    .add_generation = sq_add_generation,
    .last_generation = sq_last_generation,
    .lease = sq_lease,
    .lease_elsewhere = sq_lease_elsewhere,
    .claim = sq_claim,
    .put_mark = sq_put_mark,
    .get_mark = sq_get_mark,
};
