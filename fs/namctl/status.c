/* `namctl status MOUNTPOINT`: what a namfs mount says in .namfs/status and
 * .namfs/rejected, as a table or as JSON for scripts. */
#include "status.h"

#include "json.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* "<asset>\t<n> frames\t<first>-<last>\t<g> gap(s)\t<r> rejected\t<mb> MB" */
static bool asset_line(char *line, char **asset, long long v[5], double *mb)
{
    char *tab = strchr(line, '\t');
    if (!tab)
        return false;
    *tab = '\0';
    *asset = line;
    return sscanf(tab + 1, "%lld frames\t%lld-%lld\t%lld gap(s)\t%lld rejected\t%lf MB", &v[0],
                  &v[1], &v[2], &v[3], &v[4], mb) == 6;
}

static void print_json(char *status, char *rejected)
{
    char *save = NULL, *asset, *summary = "", *read_only = NULL;
    long long v[5];
    double mb;
    bool first = true;

    fputs("{\n  \"assets\": [", stdout);
    for (char *line = strtok_r(status, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "READ-ONLY", 9) == 0) {
            read_only = line;
            continue;
        }
        if (!strchr(line, '\t') || strncmp(line, "ASSET\t", 6) == 0) {
            if (strncmp(line, "namfs staging area", 18) != 0 && strncmp(line, "ASSET\t", 6) != 0)
                summary = line;
            continue;
        }
        if (!asset_line(line, &asset, v, &mb))
            continue;
        printf("%s\n    {\"asset\": ", first ? "" : ",");
        json_string(stdout, asset);
        printf(", \"frames\": %lld, \"first\": %lld, \"last\": %lld, \"gaps\": %lld, "
               "\"rejected\": %lld, \"megabytes\": %.1f}",
               v[0], v[1], v[2], v[3], v[4], mb);
        first = false;
    }
    fputs(first ? "],\n  \"rejected\": [" : "\n  ],\n  \"rejected\": [", stdout);
    first = true;
    for (char *line = strtok_r(rejected, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *f[4] = {line, "", "", ""};
        for (int i = 1; i < 4 && (f[i] = strchr(f[i - 1], '\t')); i++)
            *f[i]++ = '\0';
        printf("%s\n    {\"path\": ", first ? "" : ",");
        json_string(stdout, f[0]);
        fputs(", \"rule\": ", stdout);
        json_string(stdout, f[1] ? f[1] : "");
        fputs(", \"message\": ", stdout);
        json_string(stdout, f[1] && f[2] ? f[2] : "");
        putchar('}');
        first = false;
    }
    fputs(first ? "],\n  \"summary\": " : "\n  ],\n  \"summary\": ", stdout);
    json_string(stdout, summary);
    fputs(",\n  \"read_only\": ", stdout);
    if (read_only)
        json_string(stdout, read_only);
    else
        fputs("null", stdout);
    fputs("\n}\n", stdout);
}

int cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool json = false;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        if (c == 'j') {
            json = true;
            continue;
        }
        fputs("usage: namctl status [--json] MOUNTPOINT\nShows what a namfs mount has landed "
              "and refused.\n",
              c == 'h' ? stdout : stderr);
        return c == 'h' ? 0 : 2;
    }
    if (optind != argc - 1) {
        fputs("namctl status: expected one MOUNTPOINT\n", stderr);
        return 2;
    }
    char *status = slurp(argv[optind], "status");
    char *rejected = status ? slurp(argv[optind], "rejected") : NULL;
    if (rejected && json)
        print_json(status, rejected);
    else if (rejected)
        printf("%s%s%s", status, *rejected ? "\nREFUSED\n" : "", rejected);
    int rc = rejected ? 0 : 2;
    free(status);
    free(rejected);
    return rc;
}
