/* Catalog on PostgreSQL (libpq): one catalog many mounts share, one mount
 * on each host over a shared BACKING (DESIGN.md, "Beyond one machine").
 *
 * THE ONE WRITER AT A TIME
 *
 *   Every write takes the next number of one counter row (namfs_meta
 *   'change') and so holds that row's lock until its transaction ends; a
 *   transaction takes it at catalog_begin. Writers from all hosts are
 *   therefore serialised as SQLite's BEGIN IMMEDIATE serialises one
 *   host's, and two consequences follow:
 *   - change numbers are given out in commit order, so a view that has
 *     read up to number N has seen every row numbered N or less (the
 *     mount's checksum.txt reads only what changed since: schema 8 of
 *     the SQLite catalog);
 *   - a statement that starts after the lock is taken sees every other
 *     writer's last commit (READ COMMITTED takes a snapshot per
 *     statement), so the frame reservation's "no other path holds this
 *     frame" cannot miss a host that landed it a moment before.
 *   The counter is also catalog_writes(): any host's write moves it.
 *
 * CONNECTION
 *
 *   A lost connection is CATALOG_FAULT_UNREACHABLE: the stage turns the
 *   mount read-only, and catalog_probe() connects again (statements are
 *   prepared anew; the old session's leases are taken again where nobody
 *   took them meanwhile). Leases are session advisory locks: a host that
 *   dies (kill -9) drops its session and its lease with it.
 *
 * Rows are fetched whole before each() is called, so that each() may use
 * the catalog as it does on SQLite (a nested write per listed row). */
#include "catalog_backend.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_SCHEMA_VERSION 1

/* Leases held at once; namfs's advisory locks all take 1851878758
 * ("namf") as their first key: 0 the schema's, hashtext(name) a lease's. */
#define LEASES_MAX 4

enum statement {
    ST_PUT_FILE,
    ST_PUT_FRAME,
    ST_FRAME_HOLDER,
    ST_GET_FILE,
    ST_DELETE_FILE,
    ST_EACH_FILE_IN_DIR,
    ST_EACH_FILE,
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
    ST_PROBE,
    ST_LEASE,
    ST_LEASE_FREE,
    ST_PUT_MARK,
    ST_GET_MARK,
    ST_CLAIM_STANDING,
    ST_COUNT
};

/* The next change number, for a write statement's WITH; every write
 * reads c, so that the counter is locked before any row it changes (a
 * WITH nobody reads may run after the main statement: a deadlock). */
#define NEXT_CHANGE                                                                                \
    "WITH c AS (UPDATE namfs_meta SET value = value + 1 WHERE key = 'change' RETURNING value) "
#define FILE_COLUMNS                                                                               \
    "path, size, mtime_ns, hashed_at, xxh128, xxh64, xxh3, md5, sha1, c4, state, rule, message,"   \
    " asset, frame, ctime_ns, recorded"
#define PUT_FILE_VALUES                                                                            \
    NEXT_CHANGE "INSERT INTO files (path, dir, size, mtime_ns, hashed_at, xxh128, xxh64, xxh3,"    \
                " md5, sha1, c4, state, rule, message, asset, frame, ctime_ns, recorded, changed)" \
                " SELECT $1, $2, $3::bigint, $4::bigint, $5::bigint, $6, $7, $8, $9, $10, $11,"    \
                " $12::int, $13, $14, $15, $16::bigint, $17::bigint, $18::int, c.value FROM c"
#define PUT_FILE_CONFLICT                                                                          \
    " ON CONFLICT (path) DO UPDATE SET dir = excluded.dir, size = excluded.size,"                  \
    " mtime_ns = excluded.mtime_ns, hashed_at = excluded.hashed_at, xxh128 = excluded.xxh128,"     \
    " xxh64 = excluded.xxh64, xxh3 = excluded.xxh3, md5 = excluded.md5, sha1 = excluded.sha1,"     \
    " c4 = excluded.c4, state = excluded.state, rule = excluded.rule,"                             \
    " message = excluded.message, asset = excluded.asset, frame = excluded.frame,"                 \
    " ctime_ns = excluded.ctime_ns, recorded = excluded.recorded, changed = excluded.changed"
#define BRIEF_COLUMNS "path, asset, frame, size, mtime_ns, ctime_ns"

static const char *const statements[ST_COUNT] = {
    [ST_PUT_FILE] = PUT_FILE_VALUES PUT_FILE_CONFLICT,
    /* the same row, unless another path holds a landed frame of that
     * number: safe because the transaction holds the change counter */
    [ST_PUT_FRAME] = PUT_FILE_VALUES
    " WHERE NOT EXISTS (SELECT 1 FROM files WHERE asset = $15 AND frame = $16::bigint"
    " AND state = 1 AND path <> $1)" PUT_FILE_CONFLICT,
    [ST_FRAME_HOLDER] = "SELECT path FROM files WHERE asset = $1 AND frame = $2::bigint"
                        " AND state = 1 AND path <> $3 LIMIT 1",
    [ST_GET_FILE] = "SELECT " FILE_COLUMNS " FROM files WHERE path = $1",
    [ST_DELETE_FILE] = NEXT_CHANGE "DELETE FROM files USING c WHERE path = $1",
    [ST_EACH_FILE_IN_DIR] = "SELECT " FILE_COLUMNS " FROM files WHERE dir = $1 AND state = $2::int"
                            " ORDER BY path",
    [ST_EACH_FILE] = "SELECT " FILE_COLUMNS " FROM files WHERE state = $1::int ORDER BY path",
    [ST_EACH_FRAME_DIR] = "SELECT DISTINCT dir FROM tally WHERE state = 1 AND frames > 0"
                          " ORDER BY dir",
    /* $2: 1 when frames count too */
    [ST_EACH_DIR_HOLDING] = "SELECT DISTINCT dir FROM tally WHERE state = $1::int"
                            " AND files > frames * (1 - $2::int) ORDER BY dir",
    [ST_UNDER] = "SELECT " FILE_COLUMNS " FROM files WHERE path = $1"
                 " OR starts_with(path, $1 || '/') ORDER BY path",
    [ST_COUNT_FRAMES_UNDER] = "SELECT count(*) FROM files WHERE state = 1 AND frame >= 0"
                              " AND starts_with(path, $1 || '/')",
    [ST_PUT_ASSET] =
        NEXT_CHANGE "INSERT INTO assets (key, properties, padding)"
                    " SELECT $1, $2, $3::int FROM c ON CONFLICT (key) DO UPDATE"
                    " SET properties = excluded.properties, padding = excluded.padding",
    [ST_ADD_GENERATION] = NEXT_CHANGE "INSERT INTO generations (sequence, file, c4, created)"
                                      " SELECT $1::int, $2, $3, $4::bigint FROM c"
                                      " ON CONFLICT (sequence) DO UPDATE SET file = excluded.file,"
                                      " c4 = excluded.c4, created = excluded.created",
    [ST_LAST_GENERATION] = "SELECT sequence, file, c4, created FROM generations"
                           " ORDER BY sequence DESC LIMIT 1",
    [ST_SEAL] = NEXT_CHANGE "INSERT INTO sealed (folder, at, generation) SELECT $1, $2::bigint, 0"
                            " FROM c ON CONFLICT (folder) DO NOTHING",
    [ST_EACH_SEALED] = "SELECT folder, generation FROM sealed ORDER BY folder",
    [ST_SEAL_LISTED] = NEXT_CHANGE "UPDATE sealed SET generation = $2::int FROM c"
                                   " WHERE folder = $1",
    [ST_EACH_UNDER] = "SELECT " FILE_COLUMNS " FROM files WHERE state = $2::int"
                      " AND ($1 = '' OR starts_with(path, $1 || '/')) ORDER BY path",
    [ST_EACH_UNRECORDED] = "SELECT " FILE_COLUMNS " FROM files WHERE state = $1::int"
                           " AND recorded = 0 ORDER BY path",
    [ST_SET_RECORDED] = NEXT_CHANGE "UPDATE files SET recorded = $2::int FROM c"
                                    " WHERE path = $1",
    /* $3 NULL: no limit */
    [ST_EACH_BRIEF_AFTER] = "SELECT " BRIEF_COLUMNS " FROM files WHERE state = $1::int"
                            " AND path > $2 ORDER BY path LIMIT $3::bigint",
    [ST_EACH_TALLY] = "SELECT dir, asset, state, files, frames, bytes, listed, listed_bytes,"
                      " changes FROM tally WHERE files > 0 ORDER BY dir, asset, state",
    [ST_FOLDER_TALLY] = "SELECT coalesce(sum(listed) FILTER (WHERE state = 1), 0),"
                        " coalesce(sum(listed_bytes) FILTER (WHERE state = 1), 0),"
                        " coalesce(sum(changes), 0), coalesce(sum(frames) FILTER (WHERE state = 1),"
                        " 0) FROM tally WHERE dir = $1",
    [ST_EACH_DIGEST_IN_DIR] = "SELECT " BRIEF_COLUMNS ", xxh128, xxh64, xxh3, md5, sha1, c4"
                              " FROM files WHERE dir = $1 AND state = 1 ORDER BY path",
    [ST_LAST_CHANGE] = "SELECT value FROM namfs_meta WHERE key = 'change'",
    [ST_EACH_CHANGE_IN_DIR] = "SELECT " BRIEF_COLUMNS ", xxh128, xxh64, xxh3, md5, sha1, c4, state"
                              " FROM files WHERE changed > $2::bigint AND dir = $1"
                              " AND listed_bytes IS NOT NULL ORDER BY path",
    /* the least a change takes: a write of the schema's row */
    [ST_PROBE] = "UPDATE namfs_meta SET value = value WHERE key = 'schema'",
    [ST_LEASE] = "SELECT pg_try_advisory_lock(1851878758, hashtext($1))",
    /* taken and let go at once: true when nobody held it */
    [ST_LEASE_FREE] = "SELECT pg_try_advisory_lock(1851878758, hashtext($1))"
                      " AND pg_advisory_unlock(1851878758, hashtext($1))",
    [ST_PUT_MARK] = NEXT_CHANGE "INSERT INTO namfs_meta (key, value) SELECT 'mark:' || $1,"
                                " $2::bigint FROM c ON CONFLICT (key) DO UPDATE"
                                " SET value = excluded.value",
    [ST_GET_MARK] = "SELECT value FROM namfs_meta WHERE key = 'mark:' || $1",
    /* $2 NULL: it stands for good */
    [ST_CLAIM_STANDING] = "SELECT properties FROM assets WHERE key = $1 AND ($2::text IS NULL"
                          " OR EXISTS (SELECT 1 FROM files WHERE asset = $2 AND state = 1))",
};

/* The tally of catalog_sqlite.c's schema 7, kept by one trigger. */
#define TALLY_FUNCTION                                                                             \
    "CREATE FUNCTION namfs_tally() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"                   \
    " IF TG_OP <> 'INSERT' THEN"                                                                   \
    "  UPDATE tally SET files = files - 1, frames = frames - (OLD.frame >= 0)::int,"               \
    "   bytes = bytes - OLD.size, listed = listed - (OLD.listed_bytes IS NOT NULL)::int,"          \
    "   listed_bytes = listed_bytes - coalesce(OLD.listed_bytes, 0), changes = changes + 1"        \
    "   WHERE dir = OLD.dir AND asset = OLD.asset AND state = OLD.state;"                          \
    " END IF;"                                                                                     \
    " IF TG_OP <> 'DELETE' THEN"                                                                   \
    "  INSERT INTO tally VALUES (NEW.dir, NEW.asset, NEW.state, 1, (NEW.frame >= 0)::int,"         \
    "   NEW.size, (NEW.listed_bytes IS NOT NULL)::int, coalesce(NEW.listed_bytes, 0), 1)"          \
    "   ON CONFLICT (dir, asset, state) DO UPDATE SET files = tally.files + 1,"                    \
    "   frames = tally.frames + excluded.frames, bytes = tally.bytes + excluded.bytes,"            \
    "   listed = tally.listed + excluded.listed,"                                                  \
    "   listed_bytes = tally.listed_bytes + excluded.listed_bytes, changes = tally.changes + 1;"   \
    " END IF;"                                                                                     \
    " RETURN NULL; END $$;"

/* A file's name within its folder, and the bytes of name and size that
 * checksum.txt lists it with (NULL: not listed: a dot file, or itself). */
#define FILE_NAME "substr(path, length(dir) + 1 + (dir <> '')::int)"

/* Each entry moves the schema from version i to i + 1. Text columns
 * collate "C": rows sort by bytes, as SQLite's and the manifests' do. */
static const char *const migrations[PG_SCHEMA_VERSION] = {
    "CREATE TABLE files ("
    "  path text COLLATE \"C\" PRIMARY KEY,"
    "  dir text COLLATE \"C\" NOT NULL,"
    "  size bigint NOT NULL, mtime_ns bigint NOT NULL, hashed_at bigint NOT NULL,"
    "  xxh128 text, xxh64 text, xxh3 text, md5 text, sha1 text, c4 text,"
    "  state integer NOT NULL, rule text NOT NULL, message text NOT NULL,"
    "  asset text COLLATE \"C\" NOT NULL, frame bigint NOT NULL,"
    "  ctime_ns bigint NOT NULL, recorded integer NOT NULL, changed bigint NOT NULL,"
    "  listed_bytes bigint GENERATED ALWAYS AS (CASE WHEN left(" FILE_NAME ", 1) <> '.'"
    "   AND " FILE_NAME " <> 'checksum.txt' THEN octet_length(" FILE_NAME ")"
    "   + length(size::text) END) STORED);"
    "CREATE INDEX files_by_dir ON files (dir, state, path);"
    "CREATE INDEX files_by_frame ON files (asset, frame);"
    "CREATE INDEX files_aside ON files (state, path) WHERE state <> 1;"
    "CREATE INDEX files_changed ON files (changed);"
    "CREATE TABLE assets (key text COLLATE \"C\" PRIMARY KEY, properties text NOT NULL,"
    "  padding integer NOT NULL);"
    "CREATE TABLE generations (sequence integer PRIMARY KEY, file text NOT NULL,"
    "  c4 text NOT NULL, created bigint NOT NULL);"
    "CREATE TABLE sealed (folder text COLLATE \"C\" PRIMARY KEY, at bigint NOT NULL,"
    "  generation integer NOT NULL);"
    "CREATE TABLE tally (dir text COLLATE \"C\" NOT NULL, asset text COLLATE \"C\" NOT NULL,"
    "  state integer NOT NULL, files bigint NOT NULL, frames bigint NOT NULL,"
    "  bytes bigint NOT NULL, listed bigint NOT NULL, listed_bytes bigint NOT NULL,"
    "  changes bigint NOT NULL, PRIMARY KEY (dir, asset, state));" TALLY_FUNCTION
    "CREATE TRIGGER tally_rows AFTER INSERT OR DELETE OR UPDATE OF path, dir, asset, state,"
    "  frame, size ON files FOR EACH ROW EXECUTE FUNCTION namfs_tally();"
    "INSERT INTO namfs_meta VALUES ('change', 0) ON CONFLICT DO NOTHING;",
};

struct pg_catalog {
    struct catalog base;
    PGconn *conn;
    bool view;
    bool prepared[ST_COUNT];
    uint64_t writes; /* the counter when last read */
    char leases[LEASES_MAX][64];
};

static struct pg_catalog *PG(struct catalog *cat)
{
    return (struct pg_catalog *)cat;
}

/* What kind of failure a SQLSTATE is, for the caller's decision. */
static enum catalog_fault fault_of(const char *state)
{
    static const struct {
        const char *prefix;
        enum catalog_fault fault;
    } kinds[] = {
        {"40001", CATALOG_FAULT_BUSY},      /* serialization_failure */
        {"40P01", CATALOG_FAULT_BUSY},      /* deadlock_detected */
        {"55P03", CATALOG_FAULT_BUSY},      /* lock_not_available */
        {"53", CATALOG_FAULT_FULL},         /* disk full, out of memory */
        {"25006", CATALOG_FAULT_READ_ONLY}, /* read_only_sql_transaction */
        {"42501", CATALOG_FAULT_READ_ONLY}, /* insufficient_privilege */
        {"23", CATALOG_FAULT_CONFLICT},     /* integrity constraint */
        {"08", CATALOG_FAULT_UNREACHABLE},  /* connection exception */
        {"57P", CATALOG_FAULT_UNREACHABLE}, /* the server shuts down or starts */
        {"XX001", CATALOG_FAULT_BROKEN},    /* data_corrupted */
        {"58", CATALOG_FAULT_BROKEN},       /* I/O error */
    };
    for (size_t i = 0; state && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strncmp(state, kinds[i].prefix, strlen(kinds[i].prefix)) == 0)
            return kinds[i].fault;
    return CATALOG_FAULT_OTHER;
}

/* libpq's message, on one line. */
static const char *one_line(const char *message, char *buf, size_t len)
{
    snprintf(buf, len, "%s", message && message[0] ? message : "no answer from the server");
    for (char *c = buf; *c; c++)
        if (*c == '\n')
            *c = *(c + 1) ? ' ' : '\0';
    return buf;
}

/* Records why res (NULL: nothing came back) failed; false. */
static bool failed(struct catalog *cat, PGresult *res, const char *what)
{
    char message[400];
    PGconn *conn = PG(cat)->conn;
    bool lost = !res || PQstatus(conn) == CONNECTION_BAD;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    catalog_failed(
        cat, lost ? CATALOG_FAULT_UNREACHABLE : fault_of(state), "%s: %s", what,
        one_line(res ? PQresultErrorMessage(res) : PQerrorMessage(conn), message, sizeof message));
    if (lost)
        memset(PG(cat)->leases, 0, sizeof PG(cat)->leases);
    return false;
}

/* Runs sql (no parameters); false with the error. */
static bool exec(struct catalog *cat, const char *sql, const char *what)
{
    PGresult *res = PQexec(PG(cat)->conn, sql);
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    bool ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || failed(cat, res, what);
    PQclear(res);
    return ok;
}

/* A statement's parameters, as text (NULL: SQL NULL). */
#define PARAMS_MAX 18
struct params {
    const char *value[PARAMS_MAX];
    char number[PARAMS_MAX][24];
    int count;
};

static void text_param(struct params *p, const char *text)
{
    p->value[p->count++] = text;
}

static void int_param(struct params *p, int64_t n)
{
    snprintf(p->number[p->count], sizeof p->number[p->count], "%lld", (long long)n);
    p->value[p->count] = p->number[p->count];
    p->count++;
}

/* Runs statement st with p; the result when it succeeded (the caller
 * PQclears it), NULL with the error. */
static PGresult *run(struct catalog *cat, enum statement st, const struct params *p,
                     const char *what)
{
    struct pg_catalog *pg = PG(cat);
    char name[16];

    snprintf(name, sizeof name, "namfs%d", (int)st);
    if (!pg->prepared[st]) {
        PGresult *res = PQprepare(pg->conn, name, statements[st], 0, NULL);
        bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            failed(cat, res, what);
        PQclear(res);
        if (!ok)
            return NULL;
        pg->prepared[st] = true;
    }
    PGresult *res =
        PQexecPrepared(pg->conn, name, p ? p->count : 0, p ? p->value : NULL, NULL, NULL, 0);
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return res;
    failed(cat, res, what);
    PQclear(res);
    return NULL;
}

/* Runs a statement that returns no rows. */
static bool run_write(struct catalog *cat, enum statement st, const struct params *p,
                      const char *what)
{
    PGresult *res = run(cat, st, p, what);
    PQclear(res);
    return res != NULL;
}

static const char *value(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static int64_t number(const PGresult *res, int row, int col)
{
    const char *v = value(res, row, col);
    return v ? strtoll(v, NULL, 10) : 0;
}

static void copy_text(const PGresult *res, int row, int col, char *out, size_t len)
{
    const char *v = value(res, row, col);
    snprintf(out, len, "%s", v ? v : "");
}

/* Under an advisory lock, so that two hosts opening a new catalog at
 * once do not both create it. */
static bool migrate(struct catalog *cat)
{
    char sql[160];
    bool ok = exec(cat, "SELECT pg_advisory_lock(1851878758, 0)", "locking the schema") &&
              exec(cat,
                   "CREATE TABLE IF NOT EXISTS namfs_meta (key text PRIMARY KEY,"
                   " value bigint NOT NULL);"
                   "INSERT INTO namfs_meta VALUES ('schema', 0) ON CONFLICT DO NOTHING",
                   "creating the schema");
    PGresult *res =
        ok ? PQexec(PG(cat)->conn, "SELECT value FROM namfs_meta WHERE key = 'schema'") : NULL;
    ok = ok && (PQresultStatus(res) == PGRES_TUPLES_OK || failed(cat, res, "reading the schema"));
    int version = ok ? (int)number(res, 0, 0) : -1;
    PQclear(res);
    if (ok && version > PG_SCHEMA_VERSION)
        ok = catalog_failed(cat, CATALOG_FAULT_OTHER,
                            "schema version %d is newer than this namfs understands (%d)", version,
                            PG_SCHEMA_VERSION);
    for (; ok && version < PG_SCHEMA_VERSION; version++) {
        snprintf(sql, sizeof sql, "UPDATE namfs_meta SET value = %d WHERE key = 'schema'",
                 version + 1);
        ok = exec(cat, "BEGIN", "migrating") && exec(cat, migrations[version], "migrating") &&
             exec(cat, sql, "migrating") && exec(cat, "COMMIT", "migrating");
    }
    if (!ok && PQtransactionStatus(PG(cat)->conn) != PQTRANS_IDLE)
        PQclear(PQexec(PG(cat)->conn, "ROLLBACK"));
    PQclear(PQexec(PG(cat)->conn, "SELECT pg_advisory_unlock(1851878758, 0)"));
    return ok;
}

/* A view reads a schema this namfs knows; it neither makes nor migrates. */
static bool schema_current(struct catalog *cat)
{
    PGresult *res = PQexec(PG(cat)->conn, "SELECT value FROM namfs_meta WHERE key = 'schema'");
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK || failed(cat, res, "reading the schema");
    int version = ok && PQntuples(res) ? (int)number(res, 0, 0) : -1;
    PQclear(res);
    if (ok && version != PG_SCHEMA_VERSION)
        ok = catalog_failed(cat, CATALOG_FAULT_OTHER,
                            "schema version %d, this namfs reads %d (open it for writing first)",
                            version, PG_SCHEMA_VERSION);
    return ok;
}

/* Connects (again); the defaults come before the URL, whose own settings
 * win: a dead server is noticed in seconds, not at TCP's pace. */
static bool connect_to(struct catalog *cat, const char *url)
{
    static const char *const keys[] = {"connect_timeout",
                                       "keepalives_idle",
                                       "keepalives_interval",
                                       "keepalives_count",
                                       "application_name",
                                       "dbname",
                                       NULL};
    const char *values[] = {"5", "10", "5", "2", "namfs", url, NULL};
    struct pg_catalog *pg = PG(cat);
    char message[400];

    PQfinish(pg->conn);
    memset(pg->prepared, 0, sizeof pg->prepared);
    memset(pg->leases, 0, sizeof pg->leases);
    pg->conn = PQconnectdbParams(keys, values, 1);
    if (!pg->conn)
        return catalog_failed(cat, CATALOG_FAULT_OTHER, "out of memory");
    if (PQstatus(pg->conn) != CONNECTION_OK)
        return catalog_failed(cat, CATALOG_FAULT_UNREACHABLE, "%s",
                              one_line(PQerrorMessage(pg->conn), message, sizeof message));
    /* notices (CREATE ... IF NOT EXISTS) are not the daemon's to print */
    PQsetNoticeProcessor(pg->conn, NULL, NULL);
    return exec(cat, pg->view ? "SET default_transaction_read_only = on" : "SELECT 1",
                "connecting");
}

static const struct catalog_ops pg_ops;

struct catalog *catalog_pg_open(const char *url, bool view, char *err, size_t err_len)
{
    struct pg_catalog *pg = calloc(1, sizeof *pg);

    if (!pg) {
        snprintf(err, err_len, "catalog: out of memory");
        return NULL;
    }
    pg->base.ops = &pg_ops;
    pg->view = view;
    struct catalog *cat = &pg->base;
    bool ok = connect_to(cat, url) && (view ? schema_current(cat) : migrate(cat));
    if (!ok) {
        snprintf(err, err_len, "%s", cat->error);
        cat->ops->close(cat);
        return NULL;
    }
    return cat;
}

static void pg_close(struct catalog *cat)
{
    PQfinish(PG(cat)->conn);
    free(cat);
}

static bool pg_lease(struct catalog *cat, const char *name, bool *held);

/* The leases the lost session held, taken again where nobody took them
 * meanwhile (a mount's own lease; the manifests lease, unless another
 * mount took it over). */
static bool take_again(struct catalog *cat)
{
    char names[LEASES_MAX][64];
    bool held, ok = true;

    memcpy(names, PG(cat)->leases, sizeof names);
    memset(PG(cat)->leases, 0, sizeof PG(cat)->leases);
    for (int i = 0; ok && i < LEASES_MAX; i++)
        ok = !names[i][0] || pg_lease(cat, names[i], &held);
    return ok;
}

/* Connects again when the server was lost (its URL is the connection's
 * own), takes its leases again, then writes the least a change takes. */
static bool pg_probe(struct catalog *cat)
{
    struct pg_catalog *pg = PG(cat);

    if (PQstatus(pg->conn) == CONNECTION_BAD) {
        PQreset(pg->conn);
        memset(pg->prepared, 0, sizeof pg->prepared);
        if (PQstatus(pg->conn) != CONNECTION_OK)
            return failed(cat, NULL, "connecting again");
        if (!take_again(cat))
            return false;
    }
    return run_write(cat, ST_PROBE, NULL, "probing");
}

static uint64_t pg_writes(struct catalog *cat)
{
    PGresult *res = run(cat, ST_LAST_CHANGE, NULL, "reading the change counter");
    if (res && PQntuples(res))
        PG(cat)->writes = (uint64_t)number(res, 0, 0);
    PQclear(res);
    return PG(cat)->writes;
}

/* A transaction holds the change counter from its start: one writer at a
 * time across hosts (see the top of this file). */
static bool pg_begin(struct catalog *cat)
{
    return exec(cat, "BEGIN; SELECT 1 FROM namfs_meta WHERE key = 'change' FOR NO KEY UPDATE",
                "beginning a transaction");
}

static bool pg_commit(struct catalog *cat)
{
    return exec(cat, "COMMIT", "committing");
}

static bool pg_rollback(struct catalog *cat)
{
    return exec(cat, "ROLLBACK", "rolling back");
}

static bool pg_in_transaction(struct catalog *cat)
{
    PGTransactionStatusType t = PQtransactionStatus(PG(cat)->conn);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* Ends a transaction of the backend's own that failed: rolled back, the
 * error that failed it kept for the caller; false. */
static bool given_up(struct catalog *cat)
{
    char keep[sizeof cat->error];
    enum catalog_fault fault = cat->fault;

    memcpy(keep, cat->error, sizeof keep);
    if (pg_in_transaction(cat))
        pg_rollback(cat);
    memcpy(cat->error, keep, sizeof keep);
    cat->fault = fault;
    return false;
}

/* The parameters of ST_PUT_FILE and ST_PUT_FRAME. */
static void file_params(struct params *p, const struct catalog_file *f, char *dir)
{
    size_t dir_len = catalog_dir_len(f->path);

    memcpy(dir, f->path, dir_len);
    dir[dir_len] = '\0';
    text_param(p, f->path);
    text_param(p, dir);
    int_param(p, (int64_t)f->size);
    int_param(p, f->mtime_ns);
    int_param(p, f->hashed_at);
    for (int a = 0; a < HASH_ALGO_COUNT; a++)
        text_param(p, f->digests.present & HASH_BIT(a) ? f->digests.text[a] : NULL);
    int_param(p, f->state);
    text_param(p, rule_name(f->verdict.rule));
    text_param(p, f->verdict.message);
    text_param(p, f->asset);
    int_param(p, f->frame);
    int_param(p, f->ctime_ns);
    int_param(p, f->recorded);
}

static bool pg_put_file(struct catalog *cat, const struct catalog_file *f)
{
    struct params p = {0};
    char dir[CATALOG_PATH_MAX];

    file_params(&p, f, dir);
    return run_write(cat, ST_PUT_FILE, &p, "storing a file");
}

/* The path that holds the landed frame f would take; "" when none. */
static void frame_holder(struct catalog *cat, const struct catalog_file *f, char *out, size_t len)
{
    struct params p = {0};

    text_param(&p, f->asset);
    int_param(&p, f->frame);
    text_param(&p, f->path);
    PGresult *res = run(cat, ST_FRAME_HOLDER, &p, "finding a frame's holder");
    out[0] = '\0';
    if (res && PQntuples(res))
        copy_text(res, 0, 0, out, len);
    PQclear(res);
}

/* Reserves in the caller's transaction, or in one of its own: the check
 * must run after the change counter is held. */
static bool pg_put_frame(struct catalog *cat, const struct catalog_file *f, char *holder,
                         size_t holder_len)
{
    if (f->state != FILE_LANDED || f->frame < 0)
        return pg_put_file(cat, f);
    bool own = !pg_in_transaction(cat);
    if (own && !pg_begin(cat))
        return false;
    struct params p = {0};
    char dir[CATALOG_PATH_MAX];
    file_params(&p, f, dir);
    PGresult *res = run(cat, ST_PUT_FRAME, &p, "reserving a frame");
    bool stored = res && strcmp(PQcmdTuples(res), "0") != 0;
    PQclear(res);
    if (res && !stored) {
        frame_holder(cat, f, holder, holder_len);
        catalog_failed(cat, CATALOG_FAULT_CONFLICT, "frame %lld of %s is %s's", (long long)f->frame,
                       f->asset, holder);
    }
    if (own)
        return stored ? pg_commit(cat) : given_up(cat);
    return stored;
}

/* Column layout of FILE_COLUMNS. */
static void read_file_row(const PGresult *res, int row, struct catalog_file *f)
{
    char rule[8];

    memset(f, 0, sizeof *f);
    copy_text(res, row, 0, f->path, sizeof f->path);
    f->size = (uint64_t)number(res, row, 1);
    f->mtime_ns = number(res, row, 2);
    f->hashed_at = number(res, row, 3);
    for (int a = 0; a < HASH_ALGO_COUNT; a++) {
        if (!value(res, row, 4 + a))
            continue;
        f->digests.present |= HASH_BIT(a);
        copy_text(res, row, 4 + a, f->digests.text[a], sizeof f->digests.text[a]);
    }
    f->state = (enum file_state)number(res, row, 10);
    copy_text(res, row, 11, rule, sizeof rule);
    f->verdict.rule = rule_from_name(rule);
    copy_text(res, row, 12, f->verdict.message, sizeof f->verdict.message);
    copy_text(res, row, 13, f->asset, sizeof f->asset);
    f->frame = number(res, row, 14);
    f->ctime_ns = number(res, row, 15);
    f->recorded = (int)number(res, row, 16);
}

static bool pg_get_file(struct catalog *cat, const char *path, struct catalog_file *out)
{
    struct params p = {0};

    text_param(&p, path);
    PGresult *res = run(cat, ST_GET_FILE, &p, "reading a file");
    bool found = res && PQntuples(res) > 0;
    if (found)
        read_file_row(res, 0, out);
    PQclear(res);
    return found;
}

static bool pg_delete_file(struct catalog *cat, const char *path)
{
    struct params p = {0};

    text_param(&p, path);
    return run_write(cat, ST_DELETE_FILE, &p, "deleting a file");
}

/* Rows of st (FILE_COLUMNS), each passed to each(). */
static bool each_row(struct catalog *cat, enum statement st, const struct params *p,
                     catalog_file_fn each, void *ctx)
{
    PGresult *res = run(cat, st, p, "listing files");
    struct catalog_file *f = malloc(sizeof *f);
    bool ok = res && f;

    if (res && !f)
        catalog_failed(cat, CATALOG_FAULT_OTHER, "listing files: out of memory");
    for (int row = 0; ok && row < PQntuples(res); row++) {
        read_file_row(res, row, f);
        ok = each(ctx, f);
    }
    PQclear(res);
    free(f);
    return ok;
}

static bool pg_each_file(struct catalog *cat, const char *dir, enum file_state state,
                         catalog_file_fn each, void *ctx)
{
    struct params p = {0};

    if (dir)
        text_param(&p, dir);
    int_param(&p, state);
    return each_row(cat, dir ? ST_EACH_FILE_IN_DIR : ST_EACH_FILE, &p, each, ctx);
}

/* Every row at or beneath from, moved under to, in one transaction. */
static bool move_rows(struct catalog *cat, const char *from, const char *to)
{
    struct params p = {0};
    struct catalog_file *f = malloc(sizeof *f);

    text_param(&p, from);
    PGresult *res = f ? run(cat, ST_UNDER, &p, "renaming") : NULL;
    bool ok = res != NULL;
    for (int row = 0; ok && row < PQntuples(res); row++) {
        read_file_row(res, row, f);
        ok = pg_delete_file(cat, f->path);
        char moved[CATALOG_PATH_MAX];
        snprintf(moved, sizeof moved, "%s%s", to, f->path + strlen(from));
        snprintf(f->path, sizeof f->path, "%s", moved);
        ok = ok && pg_put_file(cat, f);
    }
    if (!f)
        catalog_failed(cat, CATALOG_FAULT_OTHER, "renaming: out of memory");
    PQclear(res);
    free(f);
    return ok;
}

static bool pg_rename(struct catalog *cat, const char *from, const char *to)
{
    return pg_begin(cat) && move_rows(cat, from, to) ? pg_commit(cat) : given_up(cat);
}

static long pg_count_frames_under(struct catalog *cat, const char *dir)
{
    struct params p = {0};

    text_param(&p, dir);
    PGresult *res = run(cat, ST_COUNT_FRAMES_UNDER, &p, "counting frames");
    long count = res && PQntuples(res) ? (long)number(res, 0, 0) : -1;
    PQclear(res);
    return count;
}

/* Calls each() with the first column of every row of st. */
static bool each_name(struct catalog *cat, enum statement st, const struct params *p,
                      catalog_dir_fn each, void *ctx)
{
    PGresult *res = run(cat, st, p, "listing folders");
    bool ok = res != NULL;

    for (int row = 0; ok && row < PQntuples(res); row++)
        ok = each(ctx, PQgetvalue(res, row, 0));
    PQclear(res);
    return ok;
}

static bool pg_each_frame_dir(struct catalog *cat, catalog_dir_fn each, void *ctx)
{
    return each_name(cat, ST_EACH_FRAME_DIR, NULL, each, ctx);
}

static bool pg_each_dir_holding(struct catalog *cat, enum file_state state, bool frames_too,
                                catalog_dir_fn each, void *ctx)
{
    struct params p = {0};

    int_param(&p, state);
    int_param(&p, frames_too);
    return each_name(cat, ST_EACH_DIR_HOLDING, &p, each, ctx);
}

static bool pg_put_asset(struct catalog *cat, const char *key, const char *properties, int padding)
{
    struct params p = {0};

    text_param(&p, key);
    text_param(&p, properties);
    int_param(&p, padding);
    return run_write(cat, ST_PUT_ASSET, &p, "storing an asset");
}

static bool pg_seal(struct catalog *cat, const char *folder, int64_t at)
{
    struct params p = {0};

    text_param(&p, folder);
    int_param(&p, at);
    return run_write(cat, ST_SEAL, &p, "sealing an asset");
}

static bool pg_each_sealed(struct catalog *cat, catalog_sealed_fn each, void *ctx)
{
    PGresult *res = run(cat, ST_EACH_SEALED, NULL, "listing sealed folders");
    bool ok = res != NULL;

    for (int row = 0; ok && row < PQntuples(res); row++)
        ok = each(ctx, PQgetvalue(res, row, 0), (int)number(res, row, 1));
    PQclear(res);
    return ok;
}

static bool pg_seal_listed(struct catalog *cat, const char *folder, int generation)
{
    struct params p = {0};

    text_param(&p, folder);
    int_param(&p, generation);
    return run_write(cat, ST_SEAL_LISTED, &p, "recording a sealed folder's generation");
}

static bool pg_set_recorded(struct catalog *cat, const char *path, int generation)
{
    struct params p = {0};

    text_param(&p, path);
    int_param(&p, generation);
    return run_write(cat, ST_SET_RECORDED, &p, "recording a file's generation");
}

/* Rows of st in brief (BRIEF_COLUMNS, then the six digests when algo is
 * one, then the state when st yields 13 columns; else all in state). */
static bool each_brief(struct catalog *cat, enum statement st, const struct params *p,
                       enum file_state state, int algo, catalog_brief_fn each, void *ctx)
{
    PGresult *res = run(cat, st, p, "listing files");
    bool ok = res != NULL;

    for (int row = 0; ok && row < PQntuples(res); row++) {
        struct catalog_brief b = {
            .state = PQnfields(res) > 12 ? (enum file_state)number(res, row, 12) : state,
            .path = PQgetvalue(res, row, 0),
            .asset = PQgetvalue(res, row, 1),
            .frame = number(res, row, 2),
            .size = (uint64_t)number(res, row, 3),
            .mtime_ns = number(res, row, 4),
            .ctime_ns = number(res, row, 5),
            .digest = algo >= 0 ? value(res, row, 6 + algo) : NULL,
        };
        ok = each(ctx, &b);
    }
    PQclear(res);
    return ok;
}

static bool pg_each_brief_after(struct catalog *cat, enum file_state state, const char *after,
                                size_t limit, catalog_brief_fn each, void *ctx)
{
    struct params p = {0};

    int_param(&p, state);
    text_param(&p, after);
    if (limit)
        int_param(&p, (int64_t)limit);
    else
        text_param(&p, NULL);
    return each_brief(cat, ST_EACH_BRIEF_AFTER, &p, state, -1, each, ctx);
}

static bool pg_each_digest_in(struct catalog *cat, const char *dir, enum hash_algo algo,
                              catalog_brief_fn each, void *ctx)
{
    struct params p = {0};

    text_param(&p, dir);
    return each_brief(cat, ST_EACH_DIGEST_IN_DIR, &p, FILE_LANDED, (int)algo, each, ctx);
}

static bool pg_last_change(struct catalog *cat, int64_t *out)
{
    PGresult *res = run(cat, ST_LAST_CHANGE, NULL, "reading the last change");
    *out = res && PQntuples(res) ? number(res, 0, 0) : 0;
    PQclear(res);
    return res != NULL;
}

static bool pg_each_change_in(struct catalog *cat, const char *dir, int64_t after,
                              enum hash_algo algo, catalog_brief_fn each, void *ctx)
{
    struct params p = {0};

    text_param(&p, dir);
    int_param(&p, after);
    return each_brief(cat, ST_EACH_CHANGE_IN_DIR, &p, FILE_LANDED, (int)algo, each, ctx);
}

/* One state of the catalog until catalog_commit. */
static bool pg_snapshot(struct catalog *cat)
{
    return exec(cat, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "taking a snapshot");
}

static bool pg_each_tally(struct catalog *cat, catalog_tally_fn each, void *ctx)
{
    PGresult *res = run(cat, ST_EACH_TALLY, NULL, "counting files");
    bool ok = res != NULL;

    for (int row = 0; ok && row < PQntuples(res); row++) {
        struct catalog_tally t = {
            .dir = PQgetvalue(res, row, 0),
            .asset = PQgetvalue(res, row, 1),
            .state = (enum file_state)number(res, row, 2),
            .files = (uint64_t)number(res, row, 3),
            .frames = (uint64_t)number(res, row, 4),
            .bytes = (uint64_t)number(res, row, 5),
            .listed = (uint64_t)number(res, row, 6),
            .listed_bytes = (uint64_t)number(res, row, 7),
            .changes = (uint64_t)number(res, row, 8),
        };
        ok = each(ctx, &t);
    }
    PQclear(res);
    return ok;
}

static bool pg_folder_tally(struct catalog *cat, const char *dir, struct catalog_folder *out)
{
    struct params p = {0};

    text_param(&p, dir);
    PGresult *res = run(cat, ST_FOLDER_TALLY, &p, "counting a folder's files");
    if (res && PQntuples(res)) {
        out->listed = (uint64_t)number(res, 0, 0);
        out->listed_bytes = (uint64_t)number(res, 0, 1);
        out->changes = (uint64_t)number(res, 0, 2);
        out->frames = (uint64_t)number(res, 0, 3);
    }
    PQclear(res);
    return res != NULL;
}

static bool pg_each_under(struct catalog *cat, const char *folder, enum file_state state,
                          catalog_file_fn each, void *ctx)
{
    struct params p = {0};

    text_param(&p, folder);
    int_param(&p, state);
    return each_row(cat, ST_EACH_UNDER, &p, each, ctx);
}

static bool pg_each_unrecorded(struct catalog *cat, enum file_state state, catalog_file_fn each,
                               void *ctx)
{
    struct params p = {0};

    int_param(&p, state);
    return each_row(cat, ST_EACH_UNRECORDED, &p, each, ctx);
}

static bool pg_add_generation(struct catalog *cat, const struct catalog_generation *g)
{
    struct params p = {0};

    int_param(&p, g->sequence);
    text_param(&p, g->file);
    text_param(&p, g->c4);
    int_param(&p, g->created);
    return run_write(cat, ST_ADD_GENERATION, &p, "storing a generation");
}

static bool pg_last_generation(struct catalog *cat, struct catalog_generation *out)
{
    PGresult *res = run(cat, ST_LAST_GENERATION, NULL, "reading generations");
    bool found = res && PQntuples(res) > 0;
    if (found) {
        memset(out, 0, sizeof *out);
        out->sequence = (int)number(res, 0, 0);
        copy_text(res, 0, 1, out->file, sizeof out->file);
        copy_text(res, 0, 2, out->c4, sizeof out->c4);
        out->created = number(res, 0, 3);
    }
    PQclear(res);
    return found;
}

/* A lease once taken is this session's until it ends: it is asked for
 * again only while not held (each pg_try_advisory_lock that succeeds
 * counts once more). */
static bool pg_lease(struct catalog *cat, const char *name, bool *held)
{
    struct pg_catalog *pg = PG(cat);
    int free_slot = -1;

    *held = false;
    for (int i = 0; i < LEASES_MAX; i++) {
        if (strcmp(pg->leases[i], name) == 0 && name[0]) {
            *held = PQstatus(pg->conn) == CONNECTION_OK;
            return *held || failed(cat, NULL, "holding a lease");
        }
        if (!pg->leases[i][0] && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0 || strlen(name) >= sizeof pg->leases[0] || !name[0])
        return catalog_failed(cat, CATALOG_FAULT_OTHER, "lease %s: too many or a bad name", name);
    struct params p = {0};
    text_param(&p, name);
    PGresult *res = run(cat, ST_LEASE, &p, "taking a lease");
    *held = res && PQntuples(res) && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (*held)
        snprintf(pg->leases[free_slot], sizeof pg->leases[0], "%s", name);
    return res != NULL;
}

static bool pg_put_mark(struct catalog *cat, const char *name, int64_t value)
{
    struct params p = {0};

    text_param(&p, name);
    int_param(&p, value);
    return run_write(cat, ST_PUT_MARK, &p, "storing a mark");
}

static bool pg_get_mark(struct catalog *cat, const char *name, int64_t *value)
{
    struct params p = {0};

    text_param(&p, name);
    PGresult *res = run(cat, ST_GET_MARK, &p, "reading a mark");
    *value = res && PQntuples(res) ? number(res, 0, 0) : 0;
    PQclear(res);
    return res != NULL;
}

static bool pg_lease_elsewhere(struct catalog *cat, const char *name, bool *elsewhere)
{
    struct pg_catalog *pg = PG(cat);

    *elsewhere = false;
    for (int i = 0; i < LEASES_MAX; i++)
        if (name[0] && strcmp(pg->leases[i], name) == 0)
            return true; /* this connection's own */
    struct params p = {0};
    text_param(&p, name);
    PGresult *res = run(cat, ST_LEASE_FREE, &p, "asking after a lease");
    *elsewhere = res && PQntuples(res) && strcmp(PQgetvalue(res, 0, 0), "t") != 0;
    PQclear(res);
    return res != NULL;
}

/* The standing claim, if any, then this one: in one transaction holding
 * the change counter, so that of two hosts claiming at once one is first. */
static bool claim_in_transaction(struct catalog *cat, const char *key, const char *landed_asset,
                                 const char *text, char *out, size_t out_len)
{
    struct params p = {0};

    text_param(&p, key);
    text_param(&p, landed_asset);
    PGresult *res = run(cat, ST_CLAIM_STANDING, &p, "reading a claim");
    bool standing = res && PQntuples(res) > 0;
    if (standing)
        copy_text(res, 0, 0, out, out_len);
    PQclear(res);
    if (!res || standing)
        return res != NULL;
    snprintf(out, out_len, "%s", text);
    return pg_put_asset(cat, key, text, 0);
}

static bool pg_claim(struct catalog *cat, const char *key, const char *landed_asset,
                     const char *text, char *out, size_t out_len)
{
    bool own = !pg_in_transaction(cat);
    if (own && !pg_begin(cat))
        return false;
    bool ok = claim_in_transaction(cat, key, landed_asset, text, out, out_len);
    if (!own)
        return ok;
    return ok ? pg_commit(cat) : given_up(cat);
}

static const struct catalog_ops pg_ops = {
    .close = pg_close,
    .probe = pg_probe,
    .writes = pg_writes,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_transaction = pg_in_transaction,
    .put_file = pg_put_file,
    .put_frame = pg_put_frame,
    .get_file = pg_get_file,
    .delete_file = pg_delete_file,
    .rename = pg_rename,
    .count_frames_under = pg_count_frames_under,
    .each_file = pg_each_file,
    .each_brief_after = pg_each_brief_after,
    .each_tally = pg_each_tally,
    .folder_tally = pg_folder_tally,
    .each_digest_in = pg_each_digest_in,
    .last_change = pg_last_change,
    .each_change_in = pg_each_change_in,
    .snapshot = pg_snapshot,
    .each_frame_dir = pg_each_frame_dir,
    .each_dir_holding = pg_each_dir_holding,
    .put_asset = pg_put_asset,
    .seal = pg_seal,
    .each_sealed = pg_each_sealed,
    .seal_listed = pg_seal_listed,
    .each_under = pg_each_under,
    .each_unrecorded = pg_each_unrecorded,
    .set_recorded = pg_set_recorded,
    .add_generation = pg_add_generation,
    .last_generation = pg_last_generation,
    .lease = pg_lease,
    .lease_elsewhere = pg_lease_elsewhere,
    .claim = pg_claim,
    .put_mark = pg_put_mark,
    .get_mark = pg_get_mark,
};
