/* `namctl manifest`: hash a delivery folder (several workers, large
 * sequential reads), record it in the catalog, write checksum.txt in
 * every sequence folder and bring the ASC MHL history up to date by the
 * custody model (namfs/custody.h): `--seal FOLDER` lists a folder's files
 * in one generation; a listed file that changed is recorded as failed,
 * never as a new original. Files that break a rule are left out (M3). */
#include "manifest.h"

#include "delivery_root.h"

#include "check.h"
#include "json.h"
#include "namfs/custody.h"
#include "namfs/manifest.h"
#include "namfs/strlist.h"
#include "namfs/text.h"
#include "progress.h"
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SEALS 64

struct options {
    const char *profile, *state, *root;
    const char *seal[MAX_SEALS]; /* folders to seal, relative to root */
    size_t seals;
    bool json, rehash;
    int jobs;
};

struct outcome {
    int64_t started;
    size_t hashed, reused, left_out;
    uint64_t bytes;
    double seconds;
    struct catalog_generation generation;
    struct custody_counts recorded;
    char catalog[PATH_MAX];
};

static void usage(FILE *out)
{
    fputs("usage: namctl manifest [--profile FILE] [--state DIR] [--jobs N] [--rehash] [--json]\n"
          "                       [--seal FOLDER]... DIR\n"
          "Hashes the delivery folder DIR (its root, not a sequence folder), writes\n"
          "checksum.txt in every sequence folder and brings the ASC MHL history in\n"
          "DIR/ascmhl up to date: a folder not sealed is left out of it by an ignore pattern.\n"
          "  --profile FILE  the delivery profile (default: the built-in one)\n"
          "  --state DIR     where the catalog of digests is kept (default:\n"
          "                  $XDG_STATE_HOME/namfs or ~/.local/state/namfs)\n"
          "  --jobs N        hash N files at once (default: the cores online)\n"
          "  --rehash        hash every file again, not only new or changed ones\n"
          "  --json          the result as JSON (namctl(1))\n"
          "  --seal FOLDER   seal FOLDER (relative to DIR; . for the whole delivery): its\n"
          "                  files are listed once, in one generation; may be repeated\n"
          "  -h, --help      this\n"
          "Exit status: 0 done, 1 files were left out for breaking a rule, a seal was\n"
          "refused or a sealed file had changed (recorded as failed), 2 usage or I/O error.\n",
          out);
}

static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option opts[] = {
        {"profile", required_argument, NULL, 'p'}, {"state", required_argument, NULL, 's'},
        {"jobs", required_argument, NULL, 'J'},    {"rehash", no_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},          {"seal", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    int c;

    o->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (o->jobs < 2)
        o->jobs = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:s:J:rjS:h", opts, NULL)) != -1) {
        if (c == 'S' && o->seals < MAX_SEALS)
            o->seal[o->seals++] = strcmp(optarg, ".") == 0 ? "" : optarg;
        else if (c == 'p')
            o->profile = optarg;
        else if (c == 's')
            o->state = optarg;
        else if (c == 'J' && (o->jobs = atoi(optarg)) >= 1)
            continue;
        else if (c == 'r')
            o->rehash = true;
        else if (c == 'j')
            o->json = true;
        else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    o->root = argv[optind];
    return -1;
}

static int64_t ns(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The catalog's digests stand in for hashing when size, modification and
 * change time all match (a rewrite that restores mtime moves ctime). */
static bool reuse(struct catalog *cat, struct catalog_file *row, const struct stat *st,
                  uint32_t algos, struct hash_job *job)
{
    if (!catalog_get_file(cat, job->path, row) || row->state != FILE_LANDED ||
        row->size != (uint64_t)st->st_size || row->mtime_ns != ns(st->st_mtim) ||
        row->ctime_ns != ns(st->st_ctim) || (row->digests.present & algos) != algos)
        return false;
    job->skip = true;
    job->size = row->size;
    job->mtime_ns = row->mtime_ns;
    job->ctime_ns = row->ctime_ns;
    job->hashed_at = row->hashed_at;
    job->digests = row->digests;
    return true;
}

/* A name XML and checksum.txt lines can carry; others cannot be listed. */
static void refuse_unlistable_names(struct check_run *run)
{
    for (size_t i = 0; i < run->files.count; i++) {
        struct file_result *r = &run->results[i];
        if (r->outcome == JUDGED_PASS && !text_is_plain(run->files.entries[i].relpath)) {
            r->outcome = JUDGED_FAIL;
            verdict_fail(&r->verdict, RULE_M2,
                         "expected a UTF-8 name without control characters, which an MHL and "
                         "checksum.txt can hold, found another");
        }
    }
}

/* One job per file that passed; those unchanged since the catalog's record
 * are marked skip. jobs[i] belongs to files.entries[i]. */
static bool plan_hashing(const struct check_run *run, struct catalog *cat, int root_fd,
                         uint32_t algos, bool rehash, struct hash_job *jobs, struct outcome *o)
{
    struct catalog_file *row = malloc(sizeof *row);
    struct stat st;
    bool ok = row != NULL;

    for (size_t i = 0; ok && i < run->files.count; i++) {
        struct hash_job *job = &jobs[i];
        job->path = run->files.entries[i].relpath;
        job->skip = run->results[i].outcome != JUDGED_PASS;
        if (job->skip)
            continue;
        if (fstatat(root_fd, job->path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            fprintf(stderr, "namctl manifest: %s: %s\n", job->path, strerror(errno));
            ok = false;
        } else if (!rehash && reuse(cat, row, &st, algos, job)) {
            o->reused++;
        } else {
            o->hashed++;
            o->bytes += (uint64_t)st.st_size;
        }
    }
    free(row);
    return ok;
}

static bool hash_failures(const struct check_run *run, const struct hash_job *jobs)
{
    bool any = false;

    for (size_t i = 0; i < run->files.count; i++)
        if (!jobs[i].skip && jobs[i].error) {
            fprintf(stderr, "namctl manifest: %s: %s\n", jobs[i].path,
                    jobs[i].changed ? "changed while it was being hashed"
                                    : strerror(jobs[i].error));
            any = true;
        }
    return any;
}

static void fill_row(struct catalog_file *row, const struct file_result *r,
                     const struct hash_job *job)
{
    memset(row, 0, sizeof *row);
    snprintf(row->path, sizeof row->path, "%s", job->path);
    row->verdict = r->verdict;
    row->frame = r->frame;
    row->state = r->outcome == JUDGED_PASS ? FILE_LANDED : FILE_REJECTED;
    if (r->outcome != JUDGED_PASS)
        return;
    row->size = job->size;
    row->mtime_ns = job->mtime_ns;
    row->ctime_ns = job->ctime_ns;
    row->hashed_at = job->hashed_at;
    row->digests = job->digests;
}

/* Folders whose files a generation lists: final (namfs/custody.h). */
/* A file of a listed folder keeps what the history knows: the same bytes
 * keep their row; other bytes are recorded as changed (what was found,
 * for a failed entry), never as a new original (SPEC M3). */
static void keep_custody(struct catalog *cat, const struct strlist *l, struct catalog_file *row,
                         struct catalog_file *before, size_t *changed)
{
    if (!strlist_holds_path(l, row->path))
        return;
    bool had = catalog_get_file(cat, row->path, before);
    if (had && digests_agree(&before->digests, &row->digests) &&
        (before->state == FILE_CHANGED || row->state == FILE_LANDED)) {
        row->recorded = before->recorded;
        row->state = before->state;
        row->verdict = before->verdict;
        return;
    }
    row->state = FILE_CHANGED;
    row->recorded = 0;
    if (had)
        verdict_fail(&row->verdict, RULE_M3,
                     "changed after its folder was sealed: expected the bytes the MHL history "
                     "lists (xxh128 %s), found %s; recorded as failed",
                     before->digests.text[HASH_XXH128], row->digests.text[HASH_XXH128]);
    else
        verdict_fail(&row->verdict, RULE_M3,
                     "added after its folder was sealed: in no manifest, and none may list it "
                     "now; remove it from the delivery");
    if (!had)
        row->digests.present = 0; /* nothing to record as failed: no original */
    (*changed)++;
    fprintf(stderr, "namctl manifest: %s: %s\n", row->path, row->verdict.message);
}

/* Rows for every file judged (landed or rejected) and every asset, in one
 * transaction: all or nothing. */
static bool record(struct catalog *cat, const struct check_run *run, const struct hash_job *jobs,
                   size_t *changed)
{
    struct catalog_file *row = malloc(sizeof *row), *before = malloc(sizeof *before);
    struct strlist listed = {0};
    bool ok =
        row && before && catalog_each_listed(cat, strlist_add_to, &listed) && catalog_begin(cat);

    for (size_t i = 0; ok && i < run->files.count; i++) {
        const struct file_result *r = &run->results[i];
        if (r->outcome == JUDGED_SKIP) {
            ok = catalog_delete_file(cat, jobs[i].path);
            continue;
        }
        fill_row(row, r, &jobs[i]);
        keep_custody(cat, &listed, row, before, changed);
        ok = catalog_put_file(cat, row);
    }
    for (size_t i = 0; ok && i < run->asset_count; i++) {
        char properties[200];
        const struct asset_report *a = &run->assets[i];
        frame_props_describe(&a->props, properties, sizeof properties);
        ok = catalog_put_asset(cat, a->asset, properties, a->padding);
    }
    ok = ok && catalog_commit(cat);
    if (!ok && row)
        catalog_rollback(cat);
    strlist_free(&listed);
    free(row);
    free(before);
    return ok;
}

/* What stops sealing folder offline: a file in it left out, or an asset
 * in it with a gap (S2) or unlike its texted asset (S4). */
static bool sealable(const struct check_run *run, const char *folder)
{
    bool ok = true;
    size_t n = strlen(folder);

    for (size_t i = 0; i < run->files.count; i++) {
        const char *path = run->files.entries[i].relpath;
        if (run->results[i].outcome == JUDGED_FAIL &&
            (!n || (strncmp(path, folder, n) == 0 && path[n] == '/'))) {
            fprintf(stderr, "namctl manifest: %s not sealed: %s was left out (%s)\n",
                    n ? folder : ".", path, rule_name(run->results[i].verdict.rule));
            ok = false;
        }
    }
    for (size_t i = 0; i < run->asset_count; i++) {
        const struct asset_report *a = &run->assets[i];
        if (a->issue.rule != RULE_NONE &&
            (!n || (strncmp(a->asset, folder, n) == 0 && a->asset[n] == '/'))) {
            fprintf(stderr, "namctl manifest: %s not sealed: %s: %s %s\n", n ? folder : ".",
                    a->asset, rule_name(a->issue.rule), a->issue.message);
            ok = false;
        }
    }
    return ok;
}

/* --seal: each folder checked, then recorded as sealed. */
static bool seal_folders(struct catalog *cat, int root_fd, const struct check_run *run,
                         const struct options *opt, int64_t now, bool *refused)
{
    struct stat st;

    for (size_t i = 0; i < opt->seals; i++) {
        const char *folder = opt->seal[i];
        if (*folder && (fstatat(root_fd, folder, &st, 0) != 0 || !S_ISDIR(st.st_mode))) {
            fprintf(stderr, "namctl manifest: --seal %s: not a folder of %s\n", folder, run->root);
            *refused = true;
        } else if (!sealable(run, folder)) {
            *refused = true;
        } else if (!catalog_seal(cat, folder, now)) {
            fprintf(stderr, "namctl manifest: %s\n", catalog_error(cat));
            return false;
        }
    }
    return true;
}

/* Files the catalog knows that are gone from the folder. */
static bool forget_vanished(struct catalog *cat, const struct check_run *run)
{
    return catalog_drop_missing(cat, &run->files, ~0u) >= 0;
}

static bool is_checksum(const char *path)
{
    const char *slash = strrchr(path, '/');
    return strcmp(slash ? slash + 1 : path, CHECKSUM_NAME) == 0;
}

/* checksum.txt in every folder with frames, and rewritten wherever one
 * exists already: a folder whose frames were all removed or refused must
 * not keep listing them (M3). */
static bool write_checksums(struct catalog *cat, int root_fd, const struct check_run *run,
                            const struct profile *p, char *err, size_t err_len)
{
    uint32_t algos = p->mhl_hashes | HASH_BIT(p->checksum_hash);
    char dir[CATALOG_PATH_MAX];
    struct strlist listed = {0};
    bool ok = catalog_each_listed(cat, strlist_add_to, &listed) &&
              checksum_write_all(cat, root_fd, p->checksum_hash, algos, NULL, true, err, err_len);

    if (!ok && !err[0])
        snprintf(err, err_len, "%s", catalog_error(cat));
    for (size_t i = 0; ok && i < run->files.count; i++) {
        const char *path = run->files.entries[i].relpath;
        if (!is_checksum(path) || run->files.entries[i].is_symlink ||
            strlist_holds_path(&listed, path))
            continue; /* a sealed folder's checksum.txt is listed as it is: final */
        const char *slash = strrchr(path, '/');
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 0, path);
        ok = checksum_write_dir(cat, root_fd, dir, p->checksum_hash, algos, err, err_len);
    }
    strlist_free(&listed);
    return ok;
}

static bool write_manifests(struct catalog *cat, int root_fd, const struct check_run *run,
                            const char *root_name, struct outcome *o)
{
    char err[4400];
    const struct profile *p = run->profile;

    if (!write_checksums(cat, root_fd, run, p, err, sizeof err) ||
        !custody_update(cat, root_fd, root_name, p->mhl_hashes, o->started, &o->generation,
                        &o->recorded, err, sizeof err)) {
        fprintf(stderr, "namctl manifest: %s\n", err);
        return false;
    }
    return true;
}

static void report_text(const struct check_run *run, const struct outcome *o)
{
    char name[4096], message[VERDICT_MESSAGE_MAX];

    for (size_t i = 0; i < run->files.count; i++)
        if (run->results[i].outcome == JUDGED_FAIL)
            printf("left out  %-4s %s  %s\n", rule_name(run->results[i].verdict.rule),
                   text_sanitize(run->files.entries[i].relpath, name, sizeof name, '?'),
                   text_sanitize(run->results[i].verdict.message, message, sizeof message, '?'));
    printf("hashed %zu files (%.1f MB) in %.2f s, %.0f MB/s; %zu unchanged since the last run; "
           "%zu left out\n",
           o->hashed, (double)o->bytes / 1e6, o->seconds,
           o->seconds > 0 ? (double)o->bytes / 1e6 / o->seconds : 0.0, o->reused, o->left_out);
    if (o->generation.sequence)
        printf("wrote %s/%s (generation %d: %zu file(s) listed, %zu recorded as failed) and "
               "checksum.txt in every sequence folder\n",
               MHL_FOLDER, o->generation.file, o->generation.sequence, o->recorded.listed,
               o->recorded.failed);
    else
        printf("wrote checksum.txt in every sequence folder; the MHL history already says "
               "what it must (no seal, no change since its last generation)\n");
    printf("catalog: %s\n", o->catalog);
}

static void report_json(const struct check_run *run, const struct outcome *o)
{
    bool first = true;

    printf("{\n  \"root\": ");
    json_string(stdout, run->root);
    printf(",\n  \"generation\": ");
    json_string(stdout, o->generation.file);
    printf(",\n  \"sequence\": %d, \"listed\": %zu, \"failed\": %zu,\n  \"catalog\": ",
           o->generation.sequence, o->recorded.listed, o->recorded.failed);
    json_string(stdout, o->catalog);
    printf(",\n  \"hashed\": %zu, \"reused\": %zu, \"bytes\": %llu, \"seconds\": %.3f,\n"
           "  \"left_out\": [",
           o->hashed, o->reused, (unsigned long long)o->bytes, o->seconds);
    for (size_t i = 0; i < run->files.count; i++) {
        if (run->results[i].outcome != JUDGED_FAIL)
            continue;
        printf("%s\n    {\"path\": ", first ? "" : ",");
        json_string(stdout, run->files.entries[i].relpath);
        printf(", \"rule\": \"%s\", \"message\": ", rule_name(run->results[i].verdict.rule));
        json_string(stdout, run->results[i].verdict.message);
        putchar('}');
        first = false;
    }
    printf("%s]\n}\n", first ? "" : "\n  ");
}

static int run_manifest(struct check_run *run, const struct options *opt, struct catalog *cat,
                        int root_fd, const char *root_name, struct outcome *o)
{
    uint32_t algos = run->profile->mhl_hashes | HASH_BIT(run->profile->checksum_hash);
    struct hash_job *jobs = calloc(run->files.count + 1, sizeof *jobs);
    struct progress progress;
    int status = 2;

    if (run->io_errors) {
        fprintf(stderr, "namctl manifest: %zu file(s) could not be read; no manifests written\n",
                run->io_errors);
        free(jobs);
        return 2;
    }
    refuse_unlistable_names(run);
    if (jobs && plan_hashing(run, cat, root_fd, algos, opt->rehash, jobs, o)) {
        progress_start(&progress, run->files.count, o->bytes);
        double start = progress_now();
        bool hashed = progress_hash(root_fd, jobs, run->files.count, algos, opt->jobs, &progress) &&
                      !hash_failures(run, jobs);
        o->seconds = progress_now() - start;
        for (size_t i = 0; i < run->files.count; i++)
            o->left_out += run->results[i].outcome == JUDGED_FAIL;
        size_t changed = 0;
        bool refused = false;
        if (hashed && forget_vanished(cat, run) && record(cat, run, jobs, &changed) &&
            seal_folders(cat, root_fd, run, opt, o->started, &refused) &&
            write_manifests(cat, root_fd, run, root_name, o))
            status = o->left_out || refused || changed || o->recorded.failed ? 1 : 0;
        else if (hashed && catalog_error(cat)[0])
            fprintf(stderr, "namctl manifest: %s\n", catalog_error(cat));
    }
    free(jobs);
    return status;
}

/* A folder named ascmhl below the root is a nested history to the ASC's
 * reference tool, which stops when it has no chain (SPEC M2): no history
 * is written for such a delivery. */
static bool nested_history(const char *root)
{
    char found[4096];

    if (!walk_find_folder_below(root, MHL_FOLDER, found, sizeof found))
        return false;
    fprintf(stderr,
            "namctl manifest: %s/%s: a folder named %s below the delivery root, which the "
            "ASC's tools take for a nested MHL history (M2); rename it, then run again. "
            "Nothing was written.\n",
            root, found, MHL_FOLDER);
    return true;
}

/* The catalog must never land in the delivery it describes. */
static bool state_outside(const char *root, const char *catalog)
{
    char real_root[PATH_MAX], real_dir[PATH_MAX], dir[PATH_MAX];
    const char *slash = strrchr(catalog, '/');

    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - catalog) : 1, slash ? catalog : ".");
    if (!realpath(root, real_root) || !realpath(dir, real_dir))
        return false;
    size_t n = strlen(real_root);
    bool inside = strncmp(real_dir, real_root, n) == 0 && (real_dir[n] == '/' || !real_dir[n]);
    if (inside)
        fprintf(stderr,
                "namctl manifest: the state folder %s is inside the delivery %s: expected "
                "it outside, where it cannot land in a manifest\n",
                real_dir, real_root);
    return !inside;
}

int cmd_manifest(int argc, char **argv)
{
    struct options opt = {0};
    struct profile profile;
    struct check_run run = {0};
    struct outcome o = {.started = time(NULL)};
    char root_name[256], err[PATH_MAX + 200];

    int parsed = parse_args(argc, argv, &opt);
    if (parsed >= 0)
        return parsed;
    if (!delivery_root_ok("manifest", opt.root))
        return 2;
    if (!check_load_profile(opt.profile, &profile))
        return 2;
    if (!state_catalog_path(opt.root, opt.state, o.catalog, sizeof o.catalog, root_name,
                            sizeof root_name, err, sizeof err)) {
        fprintf(stderr, "namctl manifest: %s\n", err);
        return 2;
    }
    if (!state_outside(opt.root, o.catalog))
        return 2;
    run.root = opt.root;
    run.profile = &profile;
    run.jobs = opt.jobs < CHECK_JOBS_MAX ? opt.jobs : CHECK_JOBS_MAX;
    struct catalog *cat = catalog_open(o.catalog, err, sizeof err);
    int root_fd = open(opt.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int status = 2;
    if (!cat)
        fprintf(stderr, "namctl manifest: %s\n", err);
    else if (root_fd >= 0 && !nested_history(opt.root) && check_folder(&run))
        status = run_manifest(&run, &opt, cat, root_fd, root_name, &o);
    if (status != 2) {
        if (opt.json)
            report_json(&run, &o);
        else
            report_text(&run, &o);
    }
    if (root_fd >= 0)
        close(root_fd);
    catalog_close(cat);
    check_run_free(&run);
    return status;
}
