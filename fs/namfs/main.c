/* namfs: the NAM delivery staging filesystem.
 *   namfs [-f] [-o profile=FILE,...] BACKING MOUNTPOINT
 * Checks what it can before mounting, so a wrong BACKING, a bad profile or
 * a busy mount point are reported on the terminal, not in a log. */
#include "log.h"
#include "ops.h"

#include "namfs/profile.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct settings {
    char *profile; /* fuse_opt_parse allocates these */
    char *state;
    double quiet;
    unsigned readahead;
    int bare;
    const char *backing;
    const char *mountpoint;
    int show_help;
};

static const struct fuse_opt options[] = {
    {"profile=%s", offsetof(struct settings, profile), 0},
    {"state=%s", offsetof(struct settings, state), 0},
    {"quiet=%lf", offsetof(struct settings, quiet), 0},
    {"readahead=%u", offsetof(struct settings, readahead), 0},
    {"bare", offsetof(struct settings, bare), 1},
    {"-h", offsetof(struct settings, show_help), 1},
    {"--help", offsetof(struct settings, show_help), 1},
    FUSE_OPT_END,
};

/* The first bare argument is BACKING (ours); the second, the mount point,
 * goes on to libfuse. */
static int take_paths(void *data, const char *arg, int key, struct fuse_args *out)
{
    struct settings *s = data;

    (void)out;
    if (key != FUSE_OPT_KEY_NONOPT)
        return 1;
    if (!s->backing) {
        s->backing = arg;
        return 0;
    }
    if (!s->mountpoint)
        s->mountpoint = arg;
    return 1;
}

static void usage(FILE *out)
{
    fputs("usage: namfs [-f] [-o profile=FILE,...] BACKING MOUNTPOINT\n"
          "Mounts the staging area BACKING at MOUNTPOINT. -f stays in the foreground;\n"
          "-o state=DIR keeps the catalog there (default: BACKING.namfs beside BACKING);\n"
          "-o quiet=SECONDS writes manifests once landings pause that long (default 0.5);\n"
          "-o readahead=KB reads ahead that far (default 1024; 0: the kernel's 128);\n"
          "-o bare passes bytes through only (no hashing, judging or manifests), to\n"
          "measure what FUSE itself costs;\n"
          "fusermount3 -u MOUNTPOINT unmounts. Other -o options are libfuse's (see namfs(8)).\n",
          out);
}

static bool backing_ok(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "namfs: BACKING %s: %s\n", dir,
                errno && !S_ISDIR(st.st_mode) ? strerror(errno) : "not a folder");
        return false;
    }
    if (access(dir, R_OK | W_OK | X_OK) != 0) {
        fprintf(stderr, "namfs: BACKING %s: expected a writable folder: %s\n", dir,
                strerror(errno));
        return false;
    }
    return true;
}

/* A folder that is already a mount point (a device boundary with its
 * parent) is busy: mounting over it would hide what is there. */
static bool mountpoint_free(const char *dir)
{
    struct stat st, parent;
    char up[4096];

    snprintf(up, sizeof up, "%s/..", dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "namfs: MOUNTPOINT %s: %s\n", dir,
                errno ? strerror(errno) : "not a folder");
        return false;
    }
    if (stat(up, &parent) == 0 && parent.st_dev != st.st_dev) {
        fprintf(stderr, "namfs: MOUNTPOINT %s is busy: something is mounted there already\n", dir);
        return false;
    }
    return true;
}

static volatile sig_atomic_t terminated;
/* The mount a signal ends: a handler has no other way to find it. */
static struct namfs *serving;

/* SIGTERM, SIGINT, SIGHUP: end the loop as libfuse's own handler would;
 * the unmount then finishes what is in flight and writes the manifests,
 * and the exit is a clean one (libfuse alone would report 8). */
static void on_terminate(int sig)
{
    struct fuse *running = serving ? __atomic_load_n(&serving->fuse, __ATOMIC_ACQUIRE) : NULL;

    terminated = sig;
    if (running)
        fuse_exit(running);
}

static void handle_termination(void)
{
    struct sigaction sa = {.sa_handler = on_terminate};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* Checks, then mounts and serves until unmounted. */
static int run(struct settings *s, struct fuse_args *args)
{
    struct profile profile;
    char err[400];

    if (s->show_help) {
        usage(stdout);
        return 0;
    }
    if (!s->backing || !s->mountpoint) {
        usage(stderr);
        return 2;
    }
    if (!(s->quiet >= 0)) {
        fprintf(stderr, "namfs: quiet=%g: expected seconds, 0 or more\n", s->quiet);
        return 2;
    }
    if (!s->profile)
        profile_default(&profile);
    else if (!profile_load(s->profile, &profile, err, sizeof err)) {
        fprintf(stderr, "namfs: %s\n", err);
        return 2;
    }
    if (!backing_ok(s->backing) || !mountpoint_free(s->mountpoint))
        return 2;
    struct namfs mount = {.readahead_kb = s->readahead, .open_lock = PTHREAD_MUTEX_INITIALIZER};
    if (!realpath(s->mountpoint, mount.mountpoint)) {
        fprintf(stderr, "namfs: MOUNTPOINT %s: %s\n", s->mountpoint, strerror(errno));
        return 2;
    }
    struct stage_config config = {.backing = s->backing,
                                  .state_dir = s->state,
                                  .profile = &profile,
                                  .quiet_seconds = s->quiet,
                                  .bare = s->bare,
                                  .log = namfs_log_sink};
    if (!(mount.stage = stage_new(&config, err, sizeof err))) {
        fprintf(stderr, "namfs: %s\n", err);
        return 2;
    }
    size_t changed = 0;
    if (!s->bare)
        stage_reconcile(mount.stage, true, &changed); /* a walk that fails is logged */
    if (changed)
        fprintf(stderr,
                "namfs: %zu file(s) new or changed in BACKING while unmounted: new ones "
                "judged and hashed, changed ones reported (M3; .namfs/status)\n",
                changed);
    /* the kernel has applied the caller's umask to every mode it sends */
    umask(0);
    fuse_opt_add_arg(args, "-odefault_permissions");
    serving = &mount;
    handle_termination(); /* before fuse_main: libfuse keeps handlers it finds */
    int rc = fuse_main(args->argc, args->argv, &namfs_operations, &mount);
    serving = NULL;
    stage_free(mount.stage);
    return terminated ? 0 : rc;
}

int main(int argc, char **argv)
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct settings s = {.quiet = 0.5, .readahead = 1024};

    int rc = fuse_opt_parse(&args, &s, options, take_paths) == 0 ? run(&s, &args) : 2;
    fuse_opt_free_args(&args);
    free(s.profile);
    free(s.state);
    return rc;
}
