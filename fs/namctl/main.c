/* namctl: the offline and status tool beside the namfs mount. */
#include "check.h"
#include "html.h"
#include "info.h"
#include "manifest.h"
#include "mountctl.h"
#include "seal.h"
#include "status.h"
#include "verify.h"

#include "namfs/version.h"

#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"check", cmd_check, "judge a delivery folder against the NAM rules"},
    {"info", cmd_info, "print what namfs reads in frame headers"},
    {"manifest", cmd_manifest, "hash a folder, write checksum.txt files and an ASC MHL"},
    {"verify", cmd_verify, "re-hash a folder and compare it with its manifests"},
    {"report", cmd_report, "write one HTML page on a delivery or a mount"},
    {"status", cmd_status, "show what a namfs mount has landed and refused"},
    {"seal", cmd_seal, "seal asset folders (or the whole delivery) of a namfs mount"},
    {"sync", cmd_sync, "wait until a namfs mount's manifests in BACKING are current"},
    {"unmount", cmd_unmount, "unmount a namfs mount once its last manifests are written"},
};

static void usage(FILE *out)
{
    fputs("usage: namctl COMMAND [ARGS]\n\ncommands:\n", out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'namctl COMMAND --help' for a command's options; man namctl for more.\n"
          "namctl --version: its version and its libraries'.\n",
          out);
}

/* A report that did not reach its reader (a full disk, a closed pipe) is
 * an I/O error, whatever the command found. */
static int finish(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("namctl: writing the report");
        return 2;
    }
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        version_print(stdout, "namctl", NULL);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return finish(commands[i].run(argc - 1, argv + 1));
    fprintf(stderr, "namctl: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
