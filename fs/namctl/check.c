/* `namctl check`: judge every file of a delivery folder offline, reading
 * only headers (plus the EXR chunk table and leaders, and the file size),
 * then the sequence rules over the frames that passed. */
#include "check.h"

#include "frame_file.h"
#include "padding_vote.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A refused frame still belongs to its asset: its range, counts and
 * verdict (the summary). False when out of memory. */
static bool refused_frame(struct file_result *r, const char *asset)
{
    r->asset = strdup(asset);
    return r->asset != NULL;
}

/* Judges file i alone (its name, bytes and frame rules) into run's result
 * and j: what can run on many threads at once, since it writes nothing
 * else. True when the sequence rules come next. */
static bool judge_one(struct check_run *run, int root, size_t i, struct judgement *j)
{
    struct frame_file f;
    char err[4200];
    struct file_result *r = &run->results[i];
    const struct walk_entry *e = &run->files.entries[i];

    r->frame = -1;
    j->is_frame = false;
    if (e->is_symlink) {
        r->outcome = JUDGED_FAIL;
        verdict_fail(&r->verdict, RULE_R8, "expected a regular file, found a symbolic link");
        return false;
    }
    if (judge_skips_by_name(e->relpath, run->profile)) {
        r->outcome = JUDGED_SKIP;
        verdict_pass(&r->verdict);
        return false;
    }
    if (!frame_file_open(root, e->relpath, &f, err, sizeof err)) {
        /* one unreadable file must not hide the verdicts on the others */
        r->outcome = JUDGED_FAIL;
        r->unreadable = true;
        verdict_pass(&r->verdict);
        snprintf(r->verdict.message, sizeof r->verdict.message, "cannot read: %s", err);
        fprintf(stderr, "namctl: %s/%s\n", run->root, err);
        return false;
    }
    f.src.chunks = run->chunks;
    r->outcome = judge_file(e->relpath, &f.src, run->profile, JUDGE_COMPLETE, j);
    frame_file_close(&f);
    r->verdict = j->verdict;
    bool named_frame = j->name.kind == NAME_FRAME && j->name.asset[0];
    r->frame = named_frame ? (int64_t)j->name.frame : -1;
    return r->outcome == JUDGED_PASS && j->is_frame;
}

/* The sequence rules for file i, judged as j, in walk order; a textless
 * frame may be deferred to a second pass. False when out of memory. */
static bool record_one(struct check_run *run, size_t i, bool judged_frame,
                       const struct judgement *j, struct seqset *seq, bool defer_textless,
                       bool *deferred)
{
    struct file_result *r = &run->results[i];

    *deferred = false;
    if (r->outcome == JUDGED_FAIL && r->frame >= 0)
        return refused_frame(r, j->name.asset);
    if (!judged_frame)
        return true;
    if (defer_textless && j->name.textless) {
        *deferred = true;
        return true;
    }
    if (!seqset_add(seq, &j->name, &j->info, &r->verdict)) {
        r->outcome = JUDGED_FAIL;
        return refused_frame(r, j->name.asset);
    }
    return true;
}

static void progress(size_t done, size_t total, bool force)
{
    static struct timespec last;
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000;
    if (!force && ms < 100)
        return;
    last = now;
    fprintf(stderr, "\rnamctl check: %zu/%zu files", done, total);
    if (done == total)
        fputs("\r\033[K", stderr);
}

/* Files are judged a window at a time on run->jobs threads, then their
 * sequence rules applied one by one in walk order: the verdicts are those
 * of one thread (the first frame of an asset is the first in the walk),
 * and memory stays a window's. */
#define JUDGE_WINDOW 256

struct window {
    struct check_run *run;
    int root;
    size_t start, count;
    atomic_size_t next;
    struct judgement j[JUDGE_WINDOW];
    bool frame[JUDGE_WINDOW];
};

static void *judge_window(void *arg)
{
    struct window *w = arg;

    for (size_t k; (k = atomic_fetch_add(&w->next, 1)) < w->count;)
        w->frame[k] = judge_one(w->run, w->root, w->start + k, &w->j[k]);
    return NULL;
}

static void judge_in_parallel(struct window *w)
{
    pthread_t threads[CHECK_JOBS_MAX];
    int started = 0;

    atomic_store(&w->next, 0);
    while (started < w->run->jobs - 1 &&
           pthread_create(&threads[started], NULL, judge_window, w) == 0)
        started++;
    judge_window(w); /* this thread works too; alone if none could start */
    while (started > 0)
        pthread_join(threads[--started], NULL);
}

/* Texted assets first, so textless inserts are compared with them (S4). */
static bool judge_all(struct check_run *run, int root, struct seqset *seq)
{
    size_t n = run->files.count;
    bool *deferred = calloc(n ? n : 1, sizeof *deferred);
    struct window *w = malloc(sizeof *w);
    bool show = isatty(STDERR_FILENO), ok = deferred && w;

    for (size_t start = 0; ok && start < n; start += JUDGE_WINDOW) {
        *w = (struct window){.run = run, .root = root, .start = start};
        w->count = n - start < JUDGE_WINDOW ? n - start : JUDGE_WINDOW;
        judge_in_parallel(w);
        for (size_t k = 0; ok && k < w->count; k++)
            ok = record_one(run, start + k, w->frame[k], &w->j[k], seq, true, &deferred[start + k]);
        if (show)
            progress(start + w->count, n, start + w->count == n);
    }
    for (size_t i = 0; ok && i < n; i++)
        if (deferred[i]) {
            bool frame = judge_one(run, root, i, &w->j[0]);
            ok = record_one(run, i, frame, &w->j[0], seq, false, &deferred[i]);
        }
    for (size_t i = 0; i < n; i++)
        run->io_errors += run->results[i].unreadable;
    free(w);
    free(deferred);
    return ok;
}

static bool collect_assets(struct check_run *run, const struct seqset *seq)
{
    run->asset_count = seqset_asset_count(seq);
    run->assets = calloc(run->asset_count ? run->asset_count : 1, sizeof *run->assets);
    for (size_t i = 0; run->assets && i < run->asset_count; i++)
        if (!seqset_report(seq, i, &run->assets[i]))
            return false;
    return run->assets != NULL;
}

static void usage(FILE *out)
{
    fputs("usage: namctl check [--profile FILE] [--format text|tsv|json] [--json] [--verbose]\n"
          "                    [--jobs N] [--quick|--deep] DIR\n"
          "Judges every file and sequence of the delivery folder DIR against the NAM rules.\n"
          "  --profile FILE  the delivery profile (default: the built-in one)\n"
          "  --format F      text (default: by folder, repeated failures grouped), tsv (one\n"
          "                  row per file and per asset) or json (see namctl(1))\n"
          "  --json          the same as --format json\n"
          "  --verbose       list the files that passed too\n"
          "  --jobs N        judge N files at once (default: the cores online)\n"
          "  --quick         EXR: read the chunk offset table only, not every chunk's leader\n"
          "  --deep          EXR: read every chunk's leader through OpenEXRCore as well\n"
          "Exit status: 0 all good, 1 violations found, 2 usage or I/O error.\n",
          out);
}

static bool parse_format(const char *name, enum report_format *format)
{
    static const char *const names[] = {"text", "tsv", "json"};

    for (int f = 0; f < 3; f++)
        if (strcmp(name, names[f]) == 0) {
            *format = (enum report_format)f;
            return true;
        }
    fprintf(stderr, "namctl check: --format: expected text, tsv or json, found '%s'\n", name);
    return false;
}

static bool parse_option(int c, const char **profile, enum report_format *format,
                         struct check_run *run)
{
    switch (c) {
    case 'p':
        *profile = optarg;
        return true;
    case 'j':
        *format = FORMAT_JSON;
        return true;
    case 'f':
        return parse_format(optarg, format);
    case 'v':
        run->verbose = true;
        return true;
    case 'd':
        run->chunks = CHUNKS_LIBRARY;
        return true;
    case 'q':
        run->chunks = CHUNKS_TABLE;
        return true;
    case 'J':
        run->jobs = atoi(optarg);
        if (run->jobs >= 1 && run->jobs <= CHECK_JOBS_MAX)
            return true;
        fprintf(stderr, "namctl check: --jobs: expected 1 to %d, found '%s'\n", CHECK_JOBS_MAX,
                optarg);
        return false;
    case 'h':
        usage(stdout);
        exit(0);
    }
    usage(stderr);
    return false;
}

static int parse_args(int argc, char **argv, const char **profile, enum report_format *format,
                      struct check_run *run)
{
    static const struct option opts[] = {{"profile", required_argument, NULL, 'p'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"deep", no_argument, NULL, 'd'},
                                         {"quick", no_argument, NULL, 'q'},
                                         {"jobs", required_argument, NULL, 'J'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    optind = 1;
    run->jobs = check_default_jobs();
    while ((c = getopt_long(argc, argv, "p:jf:vdqJ:h", opts, NULL)) != -1)
        if (!parse_option(c, profile, format, run))
            return -1;
    if (optind != argc - 1) {
        fprintf(stderr, "namctl check: expected one folder, found %d arguments\n", argc - optind);
        usage(stderr);
        return -1;
    }
    return optind;
}

void check_run_free(struct check_run *run)
{
    for (size_t i = 0; run->assets && i < run->asset_count; i++)
        free(run->assets[i].gaps);
    free(run->assets);
    for (size_t i = 0; run->results && i < run->files.count; i++)
        free(run->results[i].asset);
    free(run->results);
    walk_free(&run->files);
    seqset_free(run->seq); /* last: asset reports point into it */
    run->seq = NULL;
}

bool check_folder(struct check_run *run)
{
    char err[4200];

    if (!walk_tree(run->root, &run->files, err, sizeof err)) {
        if (strncmp(err, run->root, strlen(run->root)) == 0) /* the root itself */
            fprintf(stderr, "namctl: %s\n", err);
        else
            fprintf(stderr, "namctl: in %s: %s\n", run->root, err);
        return false;
    }
    int root = open(run->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    run->seq = seqset_new();
    run->results = calloc(run->files.count ? run->files.count : 1, sizeof *run->results);
    bool ok = root >= 0 && run->seq && run->results &&
              padding_vote(&run->files, run->profile, run->seq) && judge_all(run, root, run->seq) &&
              collect_assets(run, run->seq);
    if (root >= 0)
        close(root);
    return ok;
}

int check_default_jobs(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores > CHECK_JOBS_MAX ? CHECK_JOBS_MAX : (int)cores;
}

/* Loads the profile at path, or the built-in default without one. */
bool check_load_profile(const char *path, struct profile *p)
{
    char err[400];

    if (!path) {
        profile_default(p);
        return true;
    }
    if (!profile_load(path, p, err, sizeof err)) {
        fprintf(stderr, "namctl: %s\n", err);
        return false;
    }
    if (p->testing)
        fprintf(stderr,
                "namctl: warning: %s lowers the resolution floor to %ux%u "
                "([testing]); not a delivery profile\n",
                path, p->floor_width, p->floor_height);
    return true;
}

int cmd_check(int argc, char **argv)
{
    const char *profile_path = NULL;
    enum report_format format = FORMAT_TEXT;
    struct profile profile;
    struct check_run run = {0};

    int dir_arg = parse_args(argc, argv, &profile_path, &format, &run);
    if (dir_arg < 0 || !check_load_profile(profile_path, &profile))
        return 2;
    run.root = argv[dir_arg];
    run.profile = &profile;
    int status = 2;
    if (check_folder(&run) && report_write(stdout, &run, format))
        status = run.io_errors ? 2 : report_all_good(&run) ? 0 : 1;
    check_run_free(&run);
    return status;
}
