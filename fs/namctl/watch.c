/* `namctl status --watch MOUNTPOINT`: the mount's status.json, redrawn in
 * place twice a second until `q` (or end of input, or a signal).
 *
 * The rate is the landings of the last RATE_WINDOW seconds, not an average
 * since the first landing: a farm that paused and resumed shows its speed
 * now, and "idle" while nothing lands. Refusals are listed newest first as
 * they appear in the status. JSON is read with json-c (Debian's
 * libjson-c), the one reader of namfs's JSON outside namfs. */
#include "watch.h"

#include "namfs/strlist.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define REFRESH_MS 500
#define RATE_WINDOW 5.0 /* seconds */
#define SAMPLES 64
#define REFUSALS_SHOWN 8

struct sample {
    double at;
    long long files;
    long long bytes;
};

/* A refusal first seen at a refresh. */
struct refusal {
    char clock[16];
    char text[600];
};

struct watch {
    const char *mount;
    struct sample samples[SAMPLES];
    size_t count;
    int width;
    struct strlist seen;                   /* refused paths shown so far */
    struct refusal recent[REFUSALS_SHOWN]; /* newest first */
    size_t recent_count;
    bool first; /* the first refresh: what is there is old news */
};

static volatile sig_atomic_t stop;
static struct termios saved;
static bool raw;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void leave_raw(void)
{
    if (raw)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    raw = false;
    fputs("\033[?25h", stdout); /* the cursor back */
    fflush(stdout);
}

/* Keys without Enter, not echoed; restored on every way out. */
static void enter_raw(void)
{
    struct termios t;

    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved) != 0)
        return;
    t = saved;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
    atexit(leave_raw);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long long field(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static const char *text_field(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : "";
}

/* Landings per second over the last RATE_WINDOW seconds; false when none. */
static bool rate(struct watch *w, long long files, long long bytes, double *fps, double *mbps)
{
    double t = now();

    if (w->count == SAMPLES)
        memmove(w->samples, w->samples + 1, (SAMPLES - 1) * sizeof *w->samples), w->count--;
    w->samples[w->count++] = (struct sample){t, files, bytes};
    const struct sample *old = &w->samples[0];
    for (size_t i = 0; i < w->count; i++)
        if (t - w->samples[i].at <= RATE_WINDOW) {
            old = &w->samples[i ? i - 1 : 0];
            break;
        }
    double dt = t - old->at;
    if (dt <= 0 || files == old->files)
        return false;
    *fps = (double)(files - old->files) / dt;
    *mbps = (double)(bytes - old->bytes) / dt / 1e6;
    return true;
}

/* One line, cut to the terminal's width. */
static void line(const struct watch *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line(const struct watch *w, const char *fmt, ...)
{
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    printf("%.*s\033[K\n", w->width, text);
}

static void gap_text(json_object *gaps, char *out, size_t len)
{
    size_t used = 0, n = gaps ? json_object_array_length(gaps) : 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        json_object *g = json_object_array_get_idx(gaps, i);
        long long a = json_object_get_int64(json_object_array_get_idx(g, 0));
        long long b = json_object_get_int64(json_object_array_get_idx(g, 1));
        used +=
            (size_t)(a == b ? snprintf(out + used, len - used, "%s%lld", i ? ", " : "", a)
                            : snprintf(out + used, len - used, "%s%lld-%lld", i ? ", " : "", a, b));
    }
    if (!n)
        snprintf(out, len, "none");
}

static void draw_assets(const struct watch *w, json_object *assets)
{
    char gaps[800];
    size_t n = assets ? json_object_array_length(assets) : 0;

    for (size_t i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(assets, i);
        json_object *g = NULL;
        json_object_object_get_ex(a, "gaps", &g);
        gap_text(g, gaps, sizeof gaps);
        const char *key = text_field(a, "asset"), *slash = strrchr(key, '/');
        line(w, "%s", slash ? slash + 1 : key);
        line(w, "    %lld frames, %lld-%lld, %lld refused; gaps: %s", field(a, "frames"),
             field(a, "first"), field(a, "last"), field(a, "refused"), gaps);
    }
}

/* Refusals not seen at an earlier refresh go to the top, with the time
 * they were first seen. */
static void note_refusals(struct watch *w, json_object *rejected, const char *clock)
{
    size_t n = rejected ? json_object_array_length(rejected) : 0;

    for (size_t k = 0; k < n; k++) {
        json_object *r = json_object_array_get_idx(rejected, k);
        const char *path = text_field(r, "path"), *slash = strrchr(path, '/');
        if (strlist_has(&w->seen, path) || !strlist_add(&w->seen, path))
            continue;
        if (w->recent_count < REFUSALS_SHOWN)
            w->recent_count++;
        memmove(w->recent + 1, w->recent, (w->recent_count - 1) * sizeof *w->recent);
        snprintf(w->recent[0].clock, sizeof w->recent[0].clock, "%s", w->first ? "before" : clock);
        snprintf(w->recent[0].text, sizeof w->recent[0].text, "%-4s %s: %s", text_field(r, "rule"),
                 slash ? slash + 1 : path, text_field(r, "message"));
    }
}

static void draw_refusals(const struct watch *w, size_t total)
{
    line(w, "%s", "");
    line(w, "REFUSED: %zu (the newest first)", total);
    for (size_t k = 0; k < w->recent_count; k++)
        line(w, "  %-8s %s", w->recent[k].clock, w->recent[k].text);
}

static bool draw(struct watch *w)
{
    char path[4200], clock[16];
    time_t t = time(NULL);
    struct winsize ws;

    snprintf(path, sizeof path, "%s/.namfs/status.json", w->mount);
    json_object *root = json_object_from_file(path);
    if (!root) {
        fprintf(stderr, "namctl status: %s: not a namfs mount point (%s)\n", w->mount,
                json_util_get_last_err());
        return false;
    }
    w->width = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 100;
    json_object *totals = NULL, *assets = NULL, *rejected = NULL;
    json_object_object_get_ex(root, "totals", &totals);
    json_object_object_get_ex(root, "assets", &assets);
    json_object_object_get_ex(root, "rejected", &rejected);
    long long frames = 0;
    for (size_t i = 0; assets && i < json_object_array_length(assets); i++)
        frames += field(json_object_array_get_idx(assets, i), "frames");
    double fps = 0, mbps = 0;
    bool busy = rate(w, field(totals, "files"), field(totals, "bytes"), &fps, &mbps);
    strftime(clock, sizeof clock, "%H:%M:%S", localtime(&t));
    fputs("\033[H", stdout); /* redrawn in place: home, each line cleared to its end */
    line(w, "namfs %s   %s   (q quits)", w->mount, clock);
    line(w,
         "frames %lld   files %lld (%.1f MB)   refused %lld   held %lld   changed %lld   "
         "manifests %s",
         frames, field(totals, "files"), (double)field(totals, "bytes") / 1e6,
         field(totals, "refused"), field(totals, "held"), field(totals, "changed"),
         text_field(root, "manifests"));
    if (busy)
        line(w, "landing %.1f files/s, %.1f MB/s (the last %.0f s)", fps, mbps, RATE_WINDOW);
    else
        line(w, "idle: nothing landed in the last %.0f s", RATE_WINDOW);
    line(w, "%s", "");
    draw_assets(w, assets);
    note_refusals(w, rejected, clock);
    draw_refusals(w, rejected ? json_object_array_length(rejected) : 0);
    w->first = false;
    fputs("\033[J", stdout); /* and what an earlier, longer view left below */
    fflush(stdout);
    json_object_put(root);
    return true;
}

/* Waits REFRESH_MS for a key; true when it says quit (q, Q, or the end of
 * input). */
static bool quit_key(void)
{
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};
    char key;

    if (poll(&p, 1, REFRESH_MS) <= 0)
        return false;
    ssize_t n = read(STDIN_FILENO, &key, 1);
    return n == 0 || (n == 1 && (key == 'q' || key == 'Q'));
}

int watch_status(const char *mount)
{
    struct watch w = {.mount = mount, .first = true};
    struct sigaction sa = {.sa_handler = on_signal};

    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    enter_raw();
    fputs("\033[?25l\033[H\033[2J", stdout); /* no cursor, a clear screen */
    int rc = 0;
    while (!stop) {
        if (!draw(&w)) {
            rc = 2;
            break;
        }
        if (quit_key())
            break;
    }
    leave_raw();
    strlist_free(&w.seen);
    return rc;
}
