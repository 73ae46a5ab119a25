/* What a catalog backend provides (catalog_sqlite.c, catalog_pg.c) and
 * what catalog.c gives them: the error and fault every call leaves, and
 * the calls that need no SQL of their own (the retried transaction, the
 * drop of missing rows, the listed sealed folders). Nothing outside core
 * sees it: callers use namfs/catalog.h, which dispatches here.
 *
 * A backend's struct embeds struct catalog as its first member; each
 * operation below receives that struct catalog and casts it back. */
#ifndef NAMFS_CATALOG_BACKEND_H
#define NAMFS_CATALOG_BACKEND_H

#include "namfs/catalog.h"

struct catalog_ops {
    void (*close)(struct catalog *cat);
    bool (*probe)(struct catalog *cat);
    uint64_t (*writes)(struct catalog *cat);
    bool (*begin)(struct catalog *cat);
    bool (*commit)(struct catalog *cat);
    bool (*rollback)(struct catalog *cat);
    bool (*in_transaction)(struct catalog *cat);
    bool (*put_file)(struct catalog *cat, const struct catalog_file *f);
    /* false with CATALOG_FAULT_CONFLICT and holder filled when taken */
    bool (*put_frame)(struct catalog *cat, const struct catalog_file *f, char *holder,
                      size_t holder_len);
    bool (*get_file)(struct catalog *cat, const char *path, struct catalog_file *out);
    bool (*delete_file)(struct catalog *cat, const char *path);
    bool (*rename)(struct catalog *cat, const char *from, const char *to);
    long (*count_frames_under)(struct catalog *cat, const char *dir);
    bool (*each_file)(struct catalog *cat, const char *dir, enum file_state state,
                      catalog_file_fn each, void *ctx);
    bool (*each_brief_after)(struct catalog *cat, enum file_state state, const char *after,
                             size_t limit, catalog_brief_fn each, void *ctx);
    bool (*each_tally)(struct catalog *cat, catalog_tally_fn each, void *ctx);
    bool (*folder_tally)(struct catalog *cat, const char *dir, struct catalog_folder *out);
    bool (*each_digest_in)(struct catalog *cat, const char *dir, enum hash_algo algo,
                           catalog_brief_fn each, void *ctx);
    bool (*last_change)(struct catalog *cat, int64_t *out);
    bool (*each_change_in)(struct catalog *cat, const char *dir, int64_t after, enum hash_algo algo,
                           catalog_brief_fn each, void *ctx);
    bool (*snapshot)(struct catalog *cat);
    bool (*each_frame_dir)(struct catalog *cat, catalog_dir_fn each, void *ctx);
    bool (*each_dir_holding)(struct catalog *cat, enum file_state state, bool frames_too,
                             catalog_dir_fn each, void *ctx);
    bool (*put_asset)(struct catalog *cat, const char *key, const char *properties, int padding);
    bool (*seal)(struct catalog *cat, const char *folder, int64_t at);
    bool (*each_sealed)(struct catalog *cat, catalog_sealed_fn each, void *ctx);
    bool (*seal_listed)(struct catalog *cat, const char *folder, int generation);
    bool (*each_under)(struct catalog *cat, const char *folder, enum file_state state,
                       catalog_file_fn each, void *ctx);
    bool (*each_unrecorded)(struct catalog *cat, enum file_state state, catalog_file_fn each,
                            void *ctx);
    bool (*set_recorded)(struct catalog *cat, const char *path, int generation);
    bool (*add_generation)(struct catalog *cat, const struct catalog_generation *g);
    bool (*last_generation)(struct catalog *cat, struct catalog_generation *out);
    bool (*lease)(struct catalog *cat, const char *name, bool *held);
    bool (*lease_elsewhere)(struct catalog *cat, const char *name, bool *elsewhere);
    bool (*claim)(struct catalog *cat, const char *key, const char *landed_asset, const char *text,
                  char *out, size_t out_len);
    bool (*put_mark)(struct catalog *cat, const char *name, int64_t value);
    bool (*get_mark)(struct catalog *cat, const char *name, int64_t *value);
};

struct catalog {
    const struct catalog_ops *ops;
    char error[600];
    enum catalog_fault fault;
};

/* Backends' openers: NULL with err. */
struct catalog *catalog_sqlite_open(const char *path, bool view, char *err, size_t err_len);
struct catalog *catalog_pg_open(const char *url, bool view, char *err, size_t err_len);

/* Sets cat's error ("catalog: " and the message) and fault; false. */
bool catalog_failed(struct catalog *cat, enum catalog_fault fault, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The row's folder: the length of path before its last '/' (0: the root). */
size_t catalog_dir_len(const char *path);

/* A pause before a busy transaction is tried again: 10, 20, 40 ... ms,
 * so that two writers retrying do not meet again at once. */
void catalog_back_off(int attempt);

#endif
