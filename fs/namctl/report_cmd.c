/* `namctl report --html FILE DIR|MOUNTPOINT`: the check's findings and the
 * manifests' state, gathered for html.c.
 *
 * Offline, the manifests are what BACKING holds: each asset folder's
 * checksum.txt against the folder's files by name and size, the ASC MHL
 * history's generations, and an asset sealed when the newest generation
 * no longer ignores it. Through a mount the frames it refused are in its
 * quarantine, not in the tree: .namfs/rejected names them, and they join
 * their assets as refused frames; the mount says itself whether an asset
 * is sealed (user.namfs.seal), and its status.json (read with json-c)
 * whether its manifests are current, what it holds and what changed. */
#include "check.h"
#include "html.h"
#include "namfs/ignore.h"
#include "namfs/mhl.h"
#include "namfs/strlist.h"
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

struct options {
    const char *html, *profile, *root;
    int jobs;
};

static void usage(FILE *out)
{
    fputs("usage: namctl report --html FILE [--profile FILE] [--jobs N] DIR|MOUNTPOINT\n"
          "Writes one self-contained HTML page on the delivery: valid or not and why, and per\n"
          "asset a strip of its frames (present, missing, refused by rule), its properties,\n"
          "counts, ranges and the state of its manifests.\n"
          "  --html FILE     the page to write (required)\n"
          "  --profile FILE  the delivery profile (default: the built-in one)\n"
          "  --jobs N        judge N files at once (default: the cores online)\n"
          "Exit status: 0 the delivery is a valid NAM, 1 it is not, 2 usage or I/O error.\n",
          out);
}

static int parse(int argc, char **argv, struct options *o)
{
    static const struct option opts[] = {{"html", required_argument, NULL, 'o'},
                                         {"profile", required_argument, NULL, 'p'},
                                         {"jobs", required_argument, NULL, 'J'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;

    *o = (struct options){.jobs = check_default_jobs()};
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:p:J:h", opts, NULL)) != -1) {
        if (c == 'o')
            o->html = optarg;
        else if (c == 'p')
            o->profile = optarg;
        else if (c == 'J' && atoi(optarg) >= 1 && atoi(optarg) <= CHECK_JOBS_MAX)
            o->jobs = atoi(optarg);
        else if (c == 'h') {
            usage(stdout);
            exit(0);
        } else {
            usage(stderr);
            return -1;
        }
    }
    if (!o->html || optind != argc - 1) {
        fprintf(stderr, "namctl report: expected --html FILE and one folder\n");
        usage(stderr);
        return -1;
    }
    o->root = argv[optind];
    return 0;
}

static bool is_mount(const char *root)
{
    char state[8];
    return getxattr(root, "user.namfs.state", state, sizeof state) >= 0 || errno == ERANGE;
}

/* The mount's quarantined refusals, as refused files of the check: each
 * line of .namfs/rejected is "path\trule\tmessage\twhere". */
static bool add_quarantined(struct check_run *run, int root_fd)
{
    int fd = openat(root_fd, ".namfs/rejected", O_RDONLY | O_CLOEXEC);
    FILE *in = fd >= 0 ? fdopen(fd, "r") : NULL;
    char line[8192];
    bool ok = true;

    if (!in) {
        if (fd >= 0)
            close(fd);
        return true; /* an older mount: nothing to add */
    }
    while (ok && fgets(line, sizeof line, in)) {
        char *rest = line;
        char *path = strsep(&rest, "\t"), *rule = strsep(&rest, "\t");
        char *message = strsep(&rest, "\t"), *where = strsep(&rest, "\n");
        if (!path || !rule || !message || !where || strcmp(where, "quarantined") != 0)
            continue;
        struct frame_name name;
        struct verdict v;
        naming_parse(path, run->profile, &name, &v);
        size_t n = run->files.count;
        struct file_result *grown = realloc(run->results, (n + 1) * sizeof *grown);
        if (grown)
            run->results = grown;
        ok = grown && walk_add(&run->files, path, false);
        if (!ok)
            break;
        struct file_result *r = &run->results[n];
        *r = (struct file_result){.outcome = JUDGED_FAIL, .frame = -1};
        verdict_fail(&r->verdict, rule_from_name(rule), "%s", message);
        if (name.kind == NAME_FRAME && name.asset[0]) {
            r->frame = (int64_t)name.frame;
            r->asset = strdup(name.asset);
            ok = r->asset != NULL;
        }
    }
    fclose(in);
    return ok;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A checksum.txt against the folder's files that passed: by name and size
 * (150,000 names: sorted once, then searched). */
static void checksum_state(const struct check_run *run, int root_fd, const char *folder, char *out,
                           size_t len)
{
    char path[4200], line[8192];
    size_t listed = 0, unlisted = 0, wrong = 0, gone = 0, n = strlen(folder);

    snprintf(path, sizeof path, "%s%schecksum.txt", folder, n ? "/" : "");
    int fd = openat(root_fd, path, O_RDONLY | O_CLOEXEC);
    FILE *in = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!in) {
        if (fd >= 0)
            close(fd);
        snprintf(out, len, "absent");
        return;
    }
    struct strlist names = {0};
    while (fgets(line, sizeof line, in)) {
        char *rest = line;
        char *name = strsep(&rest, "\t"), *size = strsep(&rest, "\t");
        struct stat st;
        snprintf(path, sizeof path, "%s%s%s", folder, n ? "/" : "", name ? name : "");
        if (!name || !size)
            continue;
        listed++;
        strlist_add(&names, name);
        if (fstatat(root_fd, path, &st, AT_SYMLINK_NOFOLLOW) != 0)
            gone++;
        else if ((uint64_t)st.st_size != strtoull(size, NULL, 10))
            wrong++;
    }
    fclose(in);
    if (names.count)
        qsort(names.items, names.count, sizeof *names.items, compare_names);
    for (size_t i = 0; i < run->files.count; i++) {
        const char *rel = run->files.entries[i].relpath;
        if (run->results[i].outcome != JUDGED_PASS || strncmp(rel, folder, n) != 0 ||
            (n && rel[n] != '/') || strchr(rel + n + (n > 0), '/'))
            continue;
        const char *name = rel + n + (n > 0);
        unlisted += !names.count ||
                    !bsearch(&name, names.items, names.count, sizeof *names.items, compare_names);
    }
    strlist_free(&names);
    if (!unlisted && !wrong && !gone)
        snprintf(out, len, "current: %zu file(s) listed, names and sizes as in the folder", listed);
    else
        snprintf(out, len,
                 "not current: %zu listed, %zu file(s) not listed, %zu listed but gone, %zu of "
                 "another size",
                 listed, unlisted, gone, wrong);
}

/* Offline: an asset folder is sealed when the newest generation no longer
 * ignores it (the custody model: an unsealed asset has its own pattern). */
static bool sealed_offline(const struct ignore_spec *spec, const char *root_abs, const char *folder)
{
    char abs[8400];

    if (!spec)
        return false;
    snprintf(abs, sizeof abs, "%s/%s/", root_abs, folder);
    return !ignore_matches(spec, abs);
}

static bool sealed_in_mount(const char *root, const char *folder)
{
    char path[8400], answer[64];

    snprintf(path, sizeof path, "%s/%s", root, folder);
    ssize_t n = getxattr(path, "user.namfs.seal", answer, sizeof answer - 1);
    if (n < 0)
        return false;
    answer[n] = '\0';
    return strncmp(answer, "sealed", 6) == 0;
}

static int count_generations(int root_fd)
{
    int fd = openat(root_fd, "ascmhl", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    int count = 0;

    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        count += e->d_name[0] >= '0' && e->d_name[0] <= '9' && len > 4 &&
                 strcmp(e->d_name + len - 4, ".mhl") == 0;
    }
    closedir(d);
    return count;
}

static const char *json_text(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : "";
}

/* "path" or "path: rule message" for each object of array key. */
static bool json_paths(json_object *root, const char *key, struct strlist *out)
{
    json_object *list, *why;
    char line[8400];
    bool ok = true;

    if (!json_object_object_get_ex(root, key, &list) || !json_object_is_type(list, json_type_array))
        return true;
    for (size_t i = 0; ok && i < json_object_array_length(list); i++) {
        json_object *o = json_object_array_get_idx(list, i);
        json_object *from = json_object_object_get_ex(o, "rename_refused", &why) &&
                                    json_object_is_type(why, json_type_object)
                                ? why
                                : o;
        const char *rule = json_text(from, "rule");
        snprintf(line, sizeof line, "%s%s%s%s%s", json_text(o, "path"), rule[0] ? ": " : "", rule,
                 rule[0] ? " " : "", json_text(from, "message"));
        ok = strlist_add(out, line);
    }
    return ok;
}

/* The mount's own view: its status.json, read with json-c. */
static bool mount_view(const char *root, struct html_facts *f)
{
    char path[8400];
    json_object *view, *ro;

    snprintf(path, sizeof path, "%s/.namfs/status.json", root);
    if (!(view = json_object_from_file(path))) {
        fprintf(stderr, "namctl report: %s: %s\n", path, json_util_get_last_err());
        return false;
    }
    snprintf(f->manifests, sizeof f->manifests, "%s", json_text(view, "manifests"));
    if (json_object_object_get_ex(view, "read_only", &ro) &&
        json_object_is_type(ro, json_type_object))
        snprintf(f->read_only, sizeof f->read_only, "%s", json_text(ro, "reason"));
    bool ok = json_paths(view, "held", &f->held) && json_paths(view, "changed", &f->changed);
    json_object_put(view);
    return ok;
}

static bool gather(const struct options *o, struct check_run *run, const struct summary *s,
                   int root_fd, struct html_facts *f)
{
    char root_abs[4096], err[400];
    struct strlist patterns = {0};
    int sequence = 0;
    struct ignore_spec *spec = NULL;

    if (!realpath(o->root, root_abs))
        snprintf(root_abs, sizeof root_abs, "%s", o->root);
    if (!f->mount && mhl_read_patterns(root_fd, &patterns, &sequence, err, sizeof err) && sequence)
        spec = ignore_compile(&patterns, err, sizeof err);
    strlist_free(&patterns);
    f->generations = count_generations(root_fd);
    f->folders = calloc(s->count ? s->count : 1, sizeof *f->folders);
    for (size_t i = 0; f->folders && i < s->count; i++) {
        struct folder_manifests *m = &f->folders[f->folder_count++];
        m->folder = s->folders[i].folder;
        checksum_state(run, root_fd, m->folder, m->checksum, sizeof m->checksum);
        m->sealed = f->mount ? sealed_in_mount(o->root, m->folder)
                             : sealed_offline(spec, root_abs, m->folder);
    }
    ignore_free(spec);
    return f->folders != NULL;
}

static bool write_page(const char *path, const struct check_run *run, const struct summary *s,
                       const struct html_facts *f)
{
    FILE *out = fopen(path, "w");

    if (!out) {
        fprintf(stderr, "namctl report: %s: %s\n", path, strerror(errno));
        return false;
    }
    html_write(out, run, s, f);
    if (fclose(out) != 0) {
        fprintf(stderr, "namctl report: %s: %s\n", path, strerror(errno));
        return false;
    }
    return true;
}

int cmd_report(int argc, char **argv)
{
    struct options o;
    struct profile profile;
    struct check_run run = {0};
    struct summary s = {0};

    if (parse(argc, argv, &o) != 0 || !check_load_profile(o.profile, &profile))
        return 2;
    run.root = o.root;
    run.profile = &profile;
    run.jobs = o.jobs;
    struct html_facts f = {.title = o.root, .mount = is_mount(o.root)};
    int root_fd = open(o.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = root_fd >= 0 && check_folder(&run);
    if (root_fd < 0)
        fprintf(stderr, "namctl report: %s: %s\n", o.root, strerror(errno));
    if (ok && f.mount)
        ok = add_quarantined(&run, root_fd) && mount_view(o.root, &f);
    ok = ok && summary_build(&run, false, &s) && gather(&o, &run, &s, root_fd, &f) &&
         write_page(o.html, &run, &s, &f);
    int status = !ok ? 2 : run.io_errors ? 2 : report_all_good(&run) ? 0 : 1;
    free(f.folders);
    strlist_free(&f.held);
    strlist_free(&f.changed);
    summary_free(&s);
    check_run_free(&run);
    if (root_fd >= 0)
        close(root_fd);
    return status;
}
