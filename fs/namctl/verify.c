/* `namctl verify`: re-hash a delivery and compare it with its ASC MHL
 * history, read as the reference tool reads it, and with its checksum.txt
 * files (which cover the assets not sealed yet); every missing, extra,
 * size-changed or hash-changed file is reported by path, with the
 * manifest (generation or checksum.txt) that says otherwise. */
#include "verify.h"

#include "json.h"
#include "namfs/manifest.h"
#include "namfs/naming.h"
#include "namfs/text.h"
#include "namfs/verify.h"
#include "namfs/walk.h"
#include "progress.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct report {
    bool json, first;
};

/* Files a manifest may list: not the history, not hidden or system files. */
static bool listable(const struct walk_entry *e)
{
    char copy[4096], *save = NULL;

    if (e->is_symlink || strncmp(e->relpath, "ascmhl/", 7) == 0)
        return false;
    snprintf(copy, sizeof copy, "%s", e->relpath);
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
        if (naming_is_system(c))
            return false;
    return true;
}

static void print_issue(void *ctx, const struct verify_issue *i)
{
    struct report *r = ctx;

    if (!r->json) {
        char path[4096], source[4096];
        printf("%-12s %s  (%s: expected %s, found %s)\n", verify_problem_name(i->problem),
               text_sanitize(i->path, path, sizeof path, '?'),
               text_sanitize(i->source, source, sizeof source, '?'), i->expected, i->found);
        return;
    }
    printf("%s\n    {\"problem\": \"%s\", \"path\": ", r->first ? "" : ",",
           verify_problem_name(i->problem));
    json_string(stdout, i->path);
    fputs(", \"source\": ", stdout);
    json_string(stdout, i->source);
    fputs(", \"expected\": ", stdout);
    json_string(stdout, i->expected);
    fputs(", \"found\": ", stdout);
    json_string(stdout, i->found);
    putchar('}');
    r->first = false;
}

static int parse_args(int argc, char **argv, bool *json, int *jobs)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"jobs", required_argument, NULL, 'J'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    *jobs = (int)sysconf(_SC_NPROCESSORS_ONLN) < 2 ? 2 : (int)sysconf(_SC_NPROCESSORS_ONLN);
    optind = 1;
    while ((c = getopt_long(argc, argv, "jJ:h", opts, NULL)) != -1) {
        if (c == 'j')
            *json = true;
        else if (c == 'J' && (*jobs = atoi(optarg)) >= 1)
            continue;
        else {
            fputs("usage: namctl verify [--jobs N] [--json] DIR\n"
                  "Re-hashes DIR and compares it with its ASC MHL history (as the ASC's\n"
                  "reference tool reads it) and its checksum.txt files.\n"
                  "  --jobs N    hash N files at once (default: the cores online)\n"
                  "  --json      the result as JSON (namctl(1))\n"
                  "  -h, --help  this\n"
                  "Exit status: 0 all match, 1 differences, 2 usage or I/O error.\n",
                  c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    return optind == argc - 1 ? -1 : 2;
}

/* Hashes the listable files into jobs (sorted, as the walk is). A file
 * that cannot be read is reported and counted; the others still are. */
static bool hash_listable(int root_fd, const struct walk_list *files, uint32_t algos, int workers,
                          struct hash_job **jobs, size_t *count, size_t *unreadable)
{
    struct progress progress;
    uint64_t bytes = 0;
    struct stat st;

    *jobs = calloc(files->count + 1, sizeof **jobs);
    *count = *unreadable = 0;
    if (!*jobs)
        return false;
    for (size_t i = 0; i < files->count; i++)
        if (listable(&files->entries[i])) {
            (*jobs)[(*count)++].path = files->entries[i].relpath;
            if (fstatat(root_fd, files->entries[i].relpath, &st, AT_SYMLINK_NOFOLLOW) == 0)
                bytes += (uint64_t)st.st_size;
        }
    progress_start(&progress, *count, bytes);
    if (!progress_hash(root_fd, *jobs, *count, algos, workers, &progress))
        return false;
    for (size_t i = 0; i < *count; i++)
        if ((*jobs)[i].error) {
            char name[4096];
            fprintf(stderr, "namctl verify: %s: %s\n",
                    text_sanitize((*jobs)[i].path, name, sizeof name, '?'),
                    (*jobs)[i].changed ? "changed while it was being hashed"
                                       : strerror((*jobs)[i].error));
            (*unreadable)++;
        }
    return true;
}

/* Symbolic links are in no manifest: each one is an extra entry. */
static size_t report_links(const struct walk_list *files, struct report *r)
{
    size_t links = 0;

    for (size_t i = 0; i < files->count; i++)
        if (files->entries[i].is_symlink) {
            struct verify_issue issue = {.problem = VERIFY_EXTRA,
                                         .path = files->entries[i].relpath,
                                         .source = "the delivery",
                                         .expected = "regular files",
                                         .found = "a symbolic link"};
            print_issue(r, &issue);
            links++;
        }
    return links;
}

/* The delivery's absolute path as the reference tool builds it (the
 * working folder joined with the argument, not resolved). */
static void absolute(const char *root, char *out, size_t len)
{
    char cwd[4096] = "";

    if (root[0] != '/' && !getcwd(cwd, sizeof cwd))
        cwd[0] = '\0';
    snprintf(out, len, "%s%s%s", root[0] == '/' ? "" : cwd, root[0] == '/' ? "" : "/", root);
    for (size_t n = strlen(out); n > 1 && out[n - 1] == '/';)
        out[--n] = '\0';
    for (size_t n = strlen(out); n > 2 && strcmp(out + n - 2, "/.") == 0; n -= 2)
        out[n - 2] = '\0';
}

/* A folder named ascmhl below the root is a nested history to the
 * reference tool, which then wants a chain in it: never a delivery's. */
static size_t report_nested(const char *root, struct report *r)
{
    char folder[4096];

    if (!walk_find_folder_below(root, MHL_FOLDER, folder, sizeof folder))
        return 0;
    struct verify_issue issue = {.problem = VERIFY_EXTRA,
                                 .path = folder,
                                 .source = "the delivery",
                                 .expected = "no folder named ascmhl below the root",
                                 .found = "one (the reference tool takes it for a nested "
                                          "history)"};
    print_issue(r, &issue);
    return 1;
}

static int verify_folder(const char *root, int root_fd, bool json, int workers)
{
    struct walk_list files;
    struct hash_job *jobs = NULL;
    size_t count = 0;
    char err[4400];
    const char **paths = NULL;
    struct expectations *e = NULL;
    int status = 2;

    if (!walk_tree(root, &files, err, sizeof err)) {
        fprintf(stderr, "namctl verify: %s\n", err);
        return 2;
    }
    paths = calloc(files.count + 1, sizeof *paths);
    for (size_t i = 0; paths && i < files.count; i++)
        paths[i] = files.entries[i].relpath;
    char root_abs[4096];
    absolute(root, root_abs, sizeof root_abs);
    if (paths && !(e = verify_load(root_fd, root_abs, paths, files.count, err, sizeof err)))
        fprintf(stderr, "namctl verify: %s\n", err);
    size_t unreadable = 0;
    if (e && hash_listable(root_fd, &files, verify_algos(e), workers, &jobs, &count, &unreadable)) {
        struct report r = {json, true};
        if (json)
            fputs("{\n  \"issues\": [", stdout);
        struct verify_counts n;
        size_t issues = verify_compare(e, jobs, count, print_issue, &r, &n) +
                        report_links(&files, &r) + report_nested(root, &r);
        if (json) {
            printf("%s],\n  \"files\": %zu, \"sealed\": %zu, \"unsealed\": %zu, "
                   "\"in_checksum\": %zu, \"unreadable\": %zu, \"generation\": ",
                   r.first ? "" : "\n  ", count, n.sealed, n.unsealed, n.in_checksum, unreadable);
            json_string(stdout, verify_generation(e));
            printf(", \"ok\": %s\n}\n", issues || unreadable ? "false" : "true");
        } else {
            printf("%s: %zu files: %zu checked against the MHL history (newest %s), %zu not "
                   "sealed yet (the history leaves them out), %zu checked against a "
                   "checksum.txt; %zu problem(s)%s\n",
                   issues || unreadable ? "MISMATCH" : "OK", count, n.sealed,
                   verify_generation(e)[0] ? verify_generation(e) : "(none)", n.unsealed,
                   n.in_checksum, issues, unreadable ? ", some files unreadable" : "");
        }
        status = unreadable ? 2 : issues ? 1 : 0;
    }
    verify_free(e);
    free(jobs);
    free(paths);
    walk_free(&files);
    return status;
}

int cmd_verify(int argc, char **argv)
{
    bool json = false;
    int workers;
    int parsed = parse_args(argc, argv, &json, &workers);

    if (parsed >= 0)
        return parsed;
    const char *root = argv[argc - 1];
    int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        perror(root);
        return 2;
    }
    int status = verify_folder(root, root_fd, json, workers);
    close(root_fd);
    return status;
}
