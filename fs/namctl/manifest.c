/* `namctl manifest`: hash a delivery folder (several workers, large
 * sequential reads), record it in the catalog and write checksum.txt in
 * every sequence folder and a new ASC MHL generation at the root. Files
 * that break a rule are left out of both (M3) and listed. */
#include "manifest.h"

#include "check.h"
#include "json.h"
#include "namfs/manifest.h"
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
#include <unistd.h>

struct options {
    const char *profile, *state, *root;
    bool json, rehash;
    int jobs;
};

struct outcome {
    size_t hashed, reused, left_out;
    uint64_t bytes;
    double seconds;
    struct catalog_generation generation;
    char catalog[PATH_MAX];
};

static void usage(FILE *out)
{
    fputs("usage: namctl manifest [--profile FILE] [--state DIR] [--jobs N] [--rehash] [--json] "
          "DIR\n"
          "Hashes the delivery folder DIR and writes checksum.txt in every sequence folder and a\n"
          "new ASC MHL generation in DIR/ascmhl. Exit status: 0 every file listed, 1 files were\n"
          "left out for breaking a rule, 2 usage or I/O error.\n",
          out);
}

static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option opts[] = {{"profile", required_argument, NULL, 'p'},
                                         {"state", required_argument, NULL, 's'},
                                         {"jobs", required_argument, NULL, 'J'},
                                         {"rehash", no_argument, NULL, 'r'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    o->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (o->jobs < 2)
        o->jobs = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:s:J:rjh", opts, NULL)) != -1) {
        if (c == 'p')
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

/* The catalog row can stand in for hashing when the file is unchanged. */
static bool reusable(struct catalog *cat, const char *path, const struct stat *st, uint32_t algos,
                     struct catalog_file *row)
{
    return catalog_get_file(cat, path, row) && row->state == FILE_LANDED &&
           row->size == (uint64_t)st->st_size &&
           row->mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec &&
           (row->digests.present & algos) == algos;
}

struct plan {
    struct hash_job *jobs;
    size_t job_count;
    uint64_t bytes;
    struct catalog_file *rows; /* one per walked file; path "" = not catalogued */
};

static bool plan_hashing(const struct check_run *run, struct catalog *cat, int root_fd,
                         uint32_t algos, bool rehash, struct plan *plan, struct outcome *out)
{
    struct stat st;

    plan->jobs = calloc(run->files.count + 1, sizeof *plan->jobs);
    plan->rows = calloc(run->files.count + 1, sizeof *plan->rows);
    if (!plan->jobs || !plan->rows)
        return false;
    for (size_t i = 0; i < run->files.count; i++) {
        const char *path = run->files.entries[i].relpath;
        struct catalog_file *row = &plan->rows[i];
        if (run->results[i].outcome != JUDGED_PASS)
            continue;
        if (fstatat(root_fd, path, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            fprintf(stderr, "namctl manifest: %s: %s\n", path, strerror(errno));
            return false;
        }
        if (!rehash && reusable(cat, path, &st, algos, row)) {
            out->reused++;
            continue;
        }
        memset(row, 0, sizeof *row);
        plan->jobs[plan->job_count++].path = path;
        plan->bytes += (uint64_t)st.st_size;
    }
    return true;
}

static void fill_row(struct catalog_file *row, const char *path, const struct file_result *r)
{
    snprintf(row->path, sizeof row->path, "%s", path);
    row->verdict = r->verdict;
    row->frame = r->frame;
    row->state = r->outcome == JUDGED_PASS ? FILE_LANDED : FILE_REJECTED;
}

/* Rows for every file judged (landed or rejected) and every asset. */
static bool record(struct catalog *cat, const struct check_run *run, struct plan *plan)
{
    size_t job = 0;
    bool ok = catalog_begin(cat);

    for (size_t i = 0; ok && i < run->files.count; i++) {
        const struct file_result *r = &run->results[i];
        const char *path = run->files.entries[i].relpath;
        struct catalog_file *row = &plan->rows[i];
        if (r->outcome == JUDGED_SKIP) {
            ok = catalog_delete_file(cat, path);
            continue;
        }
        if (r->outcome == JUDGED_PASS && !row->path[0]) {
            const struct hash_job *j = &plan->jobs[job++];
            row->size = j->size;
            row->mtime_ns = j->mtime_ns;
            row->hashed_at = j->hashed_at;
            row->digests = j->digests;
        }
        fill_row(row, path, r);
        ok = catalog_put_file(cat, row);
    }
    for (size_t i = 0; ok && i < run->asset_count; i++) {
        char properties[200];
        const struct asset_report *a = &run->assets[i];
        frame_props_describe(&a->props, properties, sizeof properties);
        ok = catalog_put_asset(cat, a->asset, properties, a->padding);
    }
    return ok && catalog_commit(cat);
}

struct stale {
    const struct check_run *run;
    char (*paths)[CATALOG_PATH_MAX];
    size_t count;
};

static int compare_entry(const void *key, const void *entry)
{
    return strcmp(key, ((const struct walk_entry *)entry)->relpath);
}

static bool note_stale(void *ctx, const struct catalog_file *f)
{
    struct stale *s = ctx;
    if (bsearch(f->path, s->run->files.entries, s->run->files.count, sizeof *s->run->files.entries,
                compare_entry))
        return true;
    char(*grown)[CATALOG_PATH_MAX] = realloc(s->paths, (s->count + 1) * sizeof *grown);
    if (!grown)
        return false;
    s->paths = grown;
    snprintf(s->paths[s->count++], CATALOG_PATH_MAX, "%s", f->path);
    return true;
}

/* Files the catalog knows that are gone from the folder. */
static bool forget_vanished(struct catalog *cat, const struct check_run *run)
{
    struct stale s = {run, NULL, 0};
    bool ok = true;

    for (int state = FILE_WRITING; ok && state <= FILE_QUARANTINED; state++)
        ok = catalog_each_file(cat, NULL, (enum file_state)state, note_stale, &s);
    ok = ok && catalog_begin(cat);
    for (size_t i = 0; ok && i < s.count; i++)
        ok = catalog_delete_file(cat, s.paths[i]);
    ok = ok && catalog_commit(cat);
    free(s.paths);
    return ok;
}

static bool hash_failures(const struct plan *plan)
{
    bool any = false;
    for (size_t i = 0; i < plan->job_count; i++)
        if (plan->jobs[i].error) {
            fprintf(stderr, "namctl manifest: %s: %s\n", plan->jobs[i].path,
                    strerror(plan->jobs[i].error));
            any = true;
        }
    return any;
}

static void report_text(const struct check_run *run, const struct outcome *o)
{
    for (size_t i = 0; i < run->files.count; i++)
        if (run->results[i].outcome == JUDGED_FAIL)
            printf("left out  %-4s %s  %s\n", rule_name(run->results[i].verdict.rule),
                   run->files.entries[i].relpath, run->results[i].verdict.message);
    printf("hashed %zu files (%.1f MB) in %.2f s, %.0f MB/s; %zu unchanged since the last run; "
           "%zu left out\n",
           o->hashed, (double)o->bytes / 1e6, o->seconds,
           o->seconds > 0 ? (double)o->bytes / 1e6 / o->seconds : 0.0, o->reused, o->left_out);
    printf("wrote %s/%s (sequence %d) and checksum.txt in every sequence folder\n", MHL_FOLDER,
           o->generation.file, o->generation.sequence);
    printf("catalog: %s\n", o->catalog);
}

static void report_json(const struct check_run *run, const struct outcome *o)
{
    bool first = true;

    printf("{\n  \"root\": ");
    json_string(stdout, run->root);
    printf(",\n  \"generation\": ");
    json_string(stdout, o->generation.file);
    printf(",\n  \"sequence\": %d,\n  \"catalog\": ", o->generation.sequence);
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

static bool write_manifests(struct catalog *cat, int root_fd, const struct profile *p,
                            const char *root_name, struct outcome *o)
{
    char err[4400];
    uint32_t algos = p->mhl_hashes | HASH_BIT(p->checksum_hash);

    if (!checksum_write_all(cat, root_fd, p->checksum_hash, algos, err, sizeof err) ||
        !mhl_write_generation(cat, root_fd, root_name, p->mhl_hashes, &o->generation, err,
                              sizeof err)) {
        fprintf(stderr, "namctl manifest: %s\n", err);
        return false;
    }
    return true;
}

static int run_manifest(struct check_run *run, const struct options *opt, struct catalog *cat,
                        int root_fd, const char *root_name, struct outcome *o)
{
    struct plan plan = {0};
    struct progress progress;
    uint32_t algos = run->profile->mhl_hashes | HASH_BIT(run->profile->checksum_hash);
    int status = 2;

    if (plan_hashing(run, cat, root_fd, algos, opt->rehash, &plan, o)) {
        progress_start(&progress, plan.job_count, plan.bytes);
        double start = progress_now();
        bool hashed =
            progress_hash(root_fd, plan.jobs, plan.job_count, algos, opt->jobs, &progress) &&
            !hash_failures(&plan);
        o->seconds = progress_now() - start;
        o->hashed = plan.job_count;
        o->bytes = plan.bytes;
        for (size_t i = 0; i < run->files.count; i++)
            o->left_out += run->results[i].outcome == JUDGED_FAIL;
        if (hashed && forget_vanished(cat, run) && record(cat, run, &plan) &&
            write_manifests(cat, root_fd, run->profile, root_name, o))
            status = o->left_out ? 1 : 0;
        else if (hashed && catalog_error(cat)[0])
            fprintf(stderr, "namctl manifest: %s\n", catalog_error(cat));
    }
    free(plan.jobs);
    free(plan.rows);
    return status;
}

int cmd_manifest(int argc, char **argv)
{
    struct options opt = {0};
    struct profile profile;
    struct check_run run = {0};
    struct outcome o = {0};
    char root_name[256], err[PATH_MAX + 200];

    int parsed = parse_args(argc, argv, &opt);
    if (parsed >= 0)
        return parsed;
    if (!check_load_profile(opt.profile, &profile))
        return 2;
    if (!state_catalog_path(opt.root, opt.state, o.catalog, sizeof o.catalog, root_name,
                            sizeof root_name, err, sizeof err)) {
        fprintf(stderr, "namctl manifest: %s\n", err);
        return 2;
    }
    run.root = opt.root;
    run.profile = &profile;
    struct catalog *cat = catalog_open(o.catalog, err, sizeof err);
    int root_fd = open(opt.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int status = 2;
    if (!cat)
        fprintf(stderr, "namctl manifest: %s\n", err);
    else if (root_fd >= 0 && check_folder(&run))
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
