/* namfs: the NAM delivery staging filesystem.
 *   namfs [-f] [-o profile=FILE,...] BACKING MOUNTPOINT
 * Checks what it can before mounting, so a wrong BACKING, a bad profile, a
 * busy mount point or a BACKING mounted already are reported on the
 * terminal, not in a log. Then it mounts, detaches (unless -f), tells
 * systemd it is ready (Type=notify) and serves until unmounted or told to
 * stop. Exit status: 0 after a clean unmount, 1 when mounting or serving
 * failed, 2 for a wrong command line, profile or layout. */
#include "detach.h"
#include "layout.h"
#include "log.h"
#include "mount_helper.h"
#include "ops.h"

#include <fuse_lowlevel.h>

#include "namfs/catalog.h"
#include "namfs/profile.h"
#include "namfs/version.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

enum { EXIT_SERVED = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct settings {
    char *profile; /* fuse_opt_parse allocates these */
    char *state;
    char *catalog;
    char *log;
    char *loglevel;
    double quiet;
    unsigned readahead;
    int bare;
    int show_help;
    int show_version;
    const char *backing;
    const char *mountpoint;
    const char *extra_path; /* a third path: a mistake to report */
    int has_fsname;         /* -o fsname= given: BACKING is not the source then */
};

#define OPTION(t, field, v)                                                                        \
    {                                                                                              \
        t, offsetof(struct settings, field), v                                                     \
    }
static const struct fuse_opt options[] = {
    OPTION("profile=%s", profile, 0),
    OPTION("state=%s", state, 0),
    OPTION("catalog=%s", catalog, 0),
    OPTION("log=%s", log, 0),
    OPTION("loglevel=%s", loglevel, 0),
    OPTION("quiet=%lf", quiet, 0),
    OPTION("readahead=%u", readahead, 0),
    OPTION("bare", bare, 1),
    OPTION("-h", show_help, 1),
    OPTION("--help", show_help, 1),
    OPTION("-V", show_version, 1),
    OPTION("--version", show_version, 1),
    FUSE_OPT_KEY("fsname=", FUSE_OPT_KEY_OPT),
    FUSE_OPT_END,
};

/* The first bare argument is BACKING (ours); the second, the mount point,
 * goes on to libfuse; a third is a mistake. fsname= is noted and kept. */
static int take_arg(void *data, const char *arg, int key, struct fuse_args *out)
{
    struct settings *s = data;

    (void)out;
    if (key == FUSE_OPT_KEY_OPT) {
        s->has_fsname |= strncmp(arg, "fsname=", 7) == 0;
        return 1;
    }
    if (key != FUSE_OPT_KEY_NONOPT)
        return 1;
    if (!s->backing) {
        s->backing = arg;
        return 0;
    }
    if (!s->mountpoint) {
        s->mountpoint = arg;
        return 1;
    }
    if (!s->extra_path)
        s->extra_path = arg;
    return 0;
}

static void usage(FILE *out)
{
    fputs("usage: namfs [-f] [-o OPTION[,OPTION...]] BACKING MOUNTPOINT\n"
          "Mounts the staging area BACKING at MOUNTPOINT: frames are judged against the NAM\n"
          "rules and hashed as they land, refused ones quarantined, manifests kept current.\n"
          "\n"
          "namfs options:\n"
          "  -f                  stay in the foreground (for systemd: Type=notify)\n"
          "  -o profile=FILE     the delivery profile (namfs-profile(5); default: built in)\n"
          "  -o state=DIR        catalog and quarantine (default: BACKING.namfs beside it)\n"
          "  -o quiet=SECONDS    write manifests once landings pause that long (default 0.5)\n"
          "  -o readahead=KB     read ahead that far (default 1024; 0: the kernel's 128)\n"
          "  -o log=WHERE        syslog, stderr or a FILE (default: stderr with -f, else\n"
          "                      syslog); SIGHUP reopens the file\n"
          "  -o loglevel=LEVEL   debug, info, notice, warning or error (default info)\n"
          "  -o bare             pass bytes through only (no hashing, judging or manifests),\n"
          "                      to measure what FUSE itself costs; never for a delivery\n"
          "  -h, --help          this, and libfuse's options below\n"
          "  -V, --version       namfs's version and its libraries'\n"
          "\n"
          "The mount shows BACKING as its source (fsname=BACKING, subtype=namfs).\n"
          "namctl unmount MOUNTPOINT unmounts once the last manifests are written.\n"
          "Exit status: 0 clean unmount, 1 mounting or serving failed, 2 wrong command\n"
          "line, profile or layout. More in namfs(8).\n",
          out);
}

static void help(struct fuse_args *args)
{
    usage(stdout);
    fputs("\nlibfuse options:\n", stdout);
    fflush(stdout);
    fuse_cmdline_help();
    fuse_lib_help(args);
}

static void version(void)
{
    char extra[64];

    snprintf(extra, sizeof extra, "libfuse %s", fuse_pkgversion());
    version_print(stdout, "namfs", extra);
}

/* ---- signals ---- */

/* What a signal acts on: a handler has no other way to find them. */
static struct fuse *serving;
static struct namfs_logger *signal_log;
static volatile sig_atomic_t terminated;

/* SIGTERM, SIGINT: end the loop as libfuse's own handler would; the
 * unmount then finishes what is in flight and writes the manifests, and
 * the exit is a clean one. SIGHUP: reopen the log file (log rotation). */
static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        logger_reopen(signal_log);
        return;
    }
    terminated = sig;
    if (serving)
        fuse_exit(serving);
}

static void handle_signals(struct fuse *fuse, struct namfs_logger *log)
{
    struct sigaction sa = {.sa_handler = on_signal};

    serving = fuse;
    signal_log = log;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a reader gone is an error on its request, not our end */
}

/* ---- the command line ---- */

/* libfuse splits options at commas: a BACKING with one in its name needs
 * it escaped to stay one fsname. */
static bool add_source(struct fuse_args *args, const char *backing)
{
    char opt[2 * PATH_MAX + 16], *o = opt + snprintf(opt, sizeof opt, "-ofsname=");

    for (const char *c = backing; *c && o < opt + sizeof opt - 3; c++) {
        if (*c == ',' || *c == '\\')
            *o++ = '\\';
        *o++ = *c;
    }
    *o = '\0';
    return fuse_opt_add_arg(args, opt) == 0;
}

static int check_settings(const struct settings *s)
{
    if (!s->backing || !s->mountpoint) {
        fputs("namfs: expected BACKING MOUNTPOINT\n", stderr);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (s->extra_path) {
        fprintf(stderr, "namfs: expected BACKING MOUNTPOINT, found a third path '%s'\n",
                s->extra_path);
        return EXIT_USAGE;
    }
    if (!(s->quiet >= 0)) {
        fprintf(stderr, "namfs: quiet=%g: expected seconds, 0 or more\n", s->quiet);
        return EXIT_USAGE;
    }
    if (s->profile && !*s->profile) {
        fputs("namfs: profile=: expected a profile file's name, found nothing\n", stderr);
        return EXIT_USAGE;
    }
    if (s->state && !*s->state) {
        fputs("namfs: state=: expected a folder's name, found nothing\n", stderr);
        return EXIT_USAGE;
    }
    return EXIT_SERVED;
}

/* ---- mounting and serving ---- */

struct daemon {
    struct settings *settings;
    struct fuse_cmdline_opts cmdline;
    struct namfs_logger log;
    struct layout layout;
    struct profile profile;
    struct namfs mount;
    struct detach detach;
};

/* Everything that can be wrong before a mount: profile, layout, claim,
 * catalog. On the terminal, so the one who typed it sees it. */
static int prepare(struct daemon *d)
{
    struct settings *s = d->settings;
    char err[PATH_MAX * 3 + 600];

    if (!s->profile)
        profile_default(&d->profile);
    else if (!profile_load(s->profile, &d->profile, err, sizeof err)) {
        fprintf(stderr, "namfs: %s\n", err);
        return EXIT_USAGE;
    }
    if (s->catalog && !catalog_is_shared(s->catalog)) {
        fprintf(stderr,
                "namfs: -o catalog=%s: expected a PostgreSQL URL, "
                "postgresql://USER@HOST:PORT/DATABASE (without it the catalog is a SQLite file in "
                "the state folder)\n",
                s->catalog);
        return EXIT_USAGE;
    }
    if (!layout_claim(&d->layout, s->catalog != NULL, err, sizeof err)) {
        fprintf(stderr, "namfs: %s\n", err);
        return EXIT_USAGE;
    }
    if (!logger_open(&d->log, s->log, s->loglevel, d->cmdline.foreground, err, sizeof err)) {
        fprintf(stderr, "namfs: %s\n", err);
        return EXIT_USAGE;
    }
    logger_set_mount_id(&d->log, d->layout.mount_id);
    d->mount.readahead_kb = s->readahead;
    d->mount.log = &d->log;
    snprintf(d->mount.mountpoint, sizeof d->mount.mountpoint, "%s", d->layout.mountpoint);
    struct stage_config config = {.backing = d->layout.backing,
                                  .state_dir = d->layout.state,
                                  .catalog = s->catalog,
                                  .profile = &d->profile,
                                  .quiet_seconds = s->quiet,
                                  .bare = s->bare,
                                  .log = namfs_log_sink,
                                  .log_ctx = &d->log};
    if (!(d->mount.stage = stage_new(&config, err, sizeof err))) {
        fprintf(stderr, "namfs: %s\n", err);
        return EXIT_USAGE;
    }
    char catalog[600];
    catalog_describe(s->catalog, catalog, sizeof catalog);
    namfs_log(&d->log, LOG_INFO, "mounting BACKING %s at %s (state %s, catalog %s, profile %s)",
              d->layout.backing, d->layout.mountpoint, d->layout.state, catalog,
              s->profile ? s->profile : "built in");
    size_t changed = 0;
    if (!s->bare)
        stage_reconcile(d->mount.stage, true, &changed); /* a walk that fails is logged */
    if (changed)
        namfs_log(&d->log, LOG_NOTICE,
                  "%zu file(s) new or changed in BACKING while unmounted: new ones judged and "
                  "hashed, changed ones reported (M3; .namfs/status)",
                  changed);
    return EXIT_SERVED;
}

static int loop(struct daemon *d, struct fuse *fuse)
{
    if (d->cmdline.singlethread)
        return fuse_loop(fuse);
    struct fuse_loop_config *config = fuse_loop_cfg_create();
    if (!config)
        return -1;
    fuse_loop_cfg_set_clone_fd(config, (unsigned)d->cmdline.clone_fd);
    /* libfuse 3.14 leaves max_idle_threads at -1 for "not given" and then
     * complains of it as invalid; only a given value is passed on. */
    if (d->cmdline.max_idle_threads != UINT_MAX)
        fuse_loop_cfg_set_idle_threads(config, d->cmdline.max_idle_threads);
    fuse_loop_cfg_set_max_threads(config, d->cmdline.max_threads);
    int rc = fuse_loop_mt(fuse, config);
    fuse_loop_cfg_destroy(config);
    return rc;
}

/* Mounted: tell whoever waits (the parent, systemd), serve, and say when
 * the end begins. */
static int serve_mounted(struct daemon *d, struct fuse *fuse)
{
    detach_ready(&d->detach);
    logger_detached(&d->log);
    logger_take_libfuse(&d->log);
    sd_notifyf(0, "READY=1\nSTATUS=serving %s at %s", d->layout.backing, d->layout.mountpoint);
    namfs_log(&d->log, LOG_INFO, "mounted (pid %d)", (int)getpid());
    int rc = loop(d, fuse);
    sd_notify(0, "STOPPING=1\nSTATUS=unmounting: writing the last manifests");
    if (rc == 0 || terminated)
        return EXIT_SERVED;
    namfs_log(&d->log, LOG_ERR, "serving ended with an error (%d): unmounting", rc);
    return EXIT_FAILED;
}

static int serve(struct daemon *d, struct fuse *fuse)
{
    /* the kernel has applied the caller's umask to every mode it sends */
    umask(0);
    handle_signals(fuse, &d->log);
    int status = EXIT_FAILED;
    if (fuse_mount(fuse, d->layout.mountpoint) == 0) {
        status = serve_mounted(d, fuse);
        fuse_unmount(fuse);
    }
    serving = NULL;
    return status;
}

static int run(struct settings *s, struct fuse_args *args)
{
    struct daemon d = {
        .settings = s, .layout = {.claim = -1}, .mount = {.open_lock = PTHREAD_MUTEX_INITIALIZER}};

    if (s->show_version) {
        version();
        return EXIT_SERVED;
    }
    if (s->show_help) {
        help(args);
        return EXIT_SERVED;
    }
    int status = check_settings(s);
    if (status != EXIT_SERVED)
        return status;
    char err[PATH_MAX * 3 + 600];
    if (!layout_resolve(&d.layout, s->backing, s->mountpoint, s->state, err, sizeof err)) {
        fprintf(stderr, "namfs: %s\n", err);
        return EXIT_USAGE;
    }
    if ((!s->has_fsname && !add_source(args, d.layout.backing)) ||
        fuse_opt_add_arg(args, "-osubtype=namfs") != 0 ||
        fuse_opt_add_arg(args, "-odefault_permissions") != 0 ||
        fuse_parse_cmdline(args, &d.cmdline) != 0) {
        free(d.cmdline.mountpoint);
        return EXIT_USAGE; /* libfuse said why */
    }
    if (!detach_begin(&d.detach, d.cmdline.foreground)) {
        perror("namfs: going to the background");
        return EXIT_FAILED;
    }
    /* before anything is made: libfuse refuses options it does not know here */
    struct fuse *fuse = fuse_new(args, &namfs_operations, sizeof namfs_operations, &d.mount);
    if (!fuse) {
        free(d.cmdline.mountpoint);
        return EXIT_USAGE; /* libfuse said why */
    }
    status = prepare(&d);
    if (status == EXIT_SERVED)
        status = serve(&d, fuse);
    fuse_destroy(fuse); /* after a mount, the destroy operation writes the last manifests */
    if (d.mount.stage) {
        stage_free(d.mount.stage);
        namfs_log(&d.log, LOG_INFO, "unmounted, exit %d", status);
    }
    layout_release(&d.layout);
    logger_close(&d.log);
    free(d.cmdline.mountpoint);
    return status;
}

static int parse_and_run(int argc, char **argv)
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct settings s = {.quiet = 0.5, .readahead = 1024};

    int rc = fuse_opt_parse(&args, &s, options, take_arg) == 0 ? run(&s, &args) : EXIT_USAGE;
    fuse_opt_free_args(&args);
    free(s.profile);
    free(s.state);
    free(s.catalog);
    free(s.log);
    free(s.loglevel);
    return rc;
}

/* As mount(8)'s helper, its command line is turned into namfs's own. */
static int run_as_helper(int argc, char **argv)
{
    char err[256], **helper_argv;
    int helper_argc;

    switch (mount_helper_args(argc, argv, &helper_argc, &helper_argv, err, sizeof err)) {
    case HELPER_FAKE:
        return EXIT_SERVED;
    case HELPER_WRONG:
        fprintf(stderr, "mount.fuse.namfs: %s\n", err);
        return EXIT_USAGE;
    case HELPER_MOUNT:
        break;
    }
    int rc = parse_and_run(helper_argc, helper_argv);
    free(helper_argv);
    return rc;
}

int main(int argc, char **argv)
{
    return mount_helper_called(argv[0]) ? run_as_helper(argc, argv) : parse_and_run(argc, argv);
}
