/* `namctl report --html`: one self-contained page over a check's summary. */
#ifndef NAMCTL_HTML_H
#define NAMCTL_HTML_H

#include "namfs/strlist.h"
#include "summary.h"

#include <stdio.h>

/* What the report says of an asset folder's manifests. */
struct folder_manifests {
    const char *folder;
    char checksum[160]; /* "current: 1,200 files listed", "absent", "stale: ..." */
    bool sealed;
};

struct html_facts {
    const char *title; /* the delivery: DIR or MOUNTPOINT as given */
    bool mount;        /* read through a namfs mount */
    int generations;   /* ASC MHL generations in ascmhl/ */
    /* a mount's own view (its status.json); empty offline */
    char manifests[32];  /* "current" or "pending" */
    char read_only[400]; /* why it cannot record changes; "" when it can */
    struct strlist held; /* "path" or "path: rule message" */
    struct strlist changed;
    struct folder_manifests *folders;
    size_t folder_count;
};

/* Writes the page for run (summary s, facts f) to out. */
void html_write(FILE *out, const struct check_run *run, const struct summary *s,
                const struct html_facts *f);

/* `namctl report` */
int cmd_report(int argc, char **argv);

#endif
