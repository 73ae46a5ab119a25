/* `namctl status MOUNTPOINT`: what a namfs mount says in .namfs/status and
 * .namfs/rejected, or its .namfs/status.json for scripts. */
#include "status.h"

#include "watch.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads a whole .namfs/ file; NULL (with a message) when it is not there. */
static char *slurp(const char *mount, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/.namfs/%s", mount, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "namctl status: %s: not a namfs mount point (%m)\n", mount);
        return NULL;
    }
    size_t cap = 4096, len = 0, n;
    char *text = malloc(cap);
    while (text && (n = fread(text + len, 1, cap - len - 1, f)) > 0)
        if ((len += n) + 1 == cap && !(text = realloc(text, cap *= 2)))
            break;
    fclose(f);
    if (text)
        text[len] = '\0';
    return text;
}

int cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"watch", no_argument, NULL, 'w'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool json = false, watch = false;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "jwh", opts, NULL)) != -1) {
        if (c == 'j' || c == 'w') {
            json |= c == 'j';
            watch |= c == 'w';
            continue;
        }
        fputs("usage: namctl status [--json | --watch] MOUNTPOINT\n"
              "Shows what a namfs mount has landed and refused.\n"
              "  --json   the mount's .namfs/status.json (namctl(1) documents it)\n"
              "  --watch  a live view, redrawn twice a second: counts, the landing rate of\n"
              "           the last 5 s, each asset's gaps, refusals as they come; q quits\n"
              "  -h, --help  this\n"
              "Exit status: 0 shown, 2 usage or not a namfs mount.\n",
              c == 'h' ? stdout : stderr);
        return c == 'h' ? 0 : 2;
    }
    if (optind != argc - 1 || (json && watch)) {
        fputs("namctl status: expected one MOUNTPOINT, and --json or --watch, not both\n", stderr);
        return 2;
    }
    if (watch)
        return watch_status(argv[optind]);
    if (json) { /* the mount's own JSON view, schema and all (namctl(1)) */
        char *view = slurp(argv[optind], "status.json");
        if (view)
            fputs(view, stdout);
        free(view);
        return view ? 0 : 2;
    }
    char *status = slurp(argv[optind], "status");
    char *rejected = status ? slurp(argv[optind], "rejected") : NULL;
    if (rejected)
        printf("%s%s%s", status, *rejected ? "\nREFUSED\n" : "", rejected);
    int rc = rejected ? 0 : 2;
    free(status);
    free(rejected);
    return rc;
}
