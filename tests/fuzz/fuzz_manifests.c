/* libFuzzer: what namctl verify reads from a delivery, checksum.txt (first
 * byte even) or an ASC MHL generation (odd), through verify_load, the MHL
 * history reader and the ignore patterns' translation to regexes. The bytes are written to a file
 * in a scratch delivery on tmpfs, because the readers take folders, as verify does. */
#include "namfs/ignore.h"
#include "namfs/manifest.h"
#include "namfs/mhl.h"
#include "namfs/verify.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEQ "show_s01e01_nam_16b_sdr_aces110_ap0_log_20261124_178_64x32"
#define GENERATION MHL_FOLDER "/0001_d_2026-11-25_000000Z.mhl"

static int scratch_delivery(void)
{
    static char dir[] = "/dev/shm/namfs-fuzz-XXXXXX";
    static int fd = -1;
    char path[128];

    if (fd >= 0 || !mkdtemp(dir))
        return fd;
    snprintf(path, sizeof path, "%s/" SEQ, dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/" MHL_FOLDER, dir);
    mkdir(path, 0755);
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    return fd;
}

static void put(int root, const char *rel, const uint8_t *data, size_t size)
{
    int fd = openat(root, rel, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    if (write(fd, data, size) != (ssize_t)size)
        abort(); /* tmpfs full: the run would be meaningless */
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *checksum = SEQ "/" CHECKSUM_NAME;
    int root = scratch_delivery();
    char err[600];

    if (root < 0 || size < 1)
        return 0;
    bool mhl = data[0] & 1;
    unlinkat(root, checksum, 0);
    unlinkat(root, GENERATION, 0);
    put(root, mhl ? GENERATION : checksum, data + 1, size - 1);
    struct expectations *e =
        verify_load(root, "/dev/shm/namfs-fuzz", &checksum, mhl ? 0 : 1, err, sizeof err);
    verify_free(e);
    struct mhl_history h;
    if (mhl && mhl_read_history(root, &h, err, sizeof err)) {
        size_t count;
        free(mhl_expected_paths(&h, &count));
        mhl_history_free(&h);
    }
    struct strlist patterns;
    int sequence;
    if (mhl && mhl_read_patterns(root, &patterns, &sequence, err, sizeof err)) {
        struct ignore_spec *spec = ignore_compile(&patterns, err, sizeof err);
        if (spec)
            ignore_matches(spec, "/dev/shm/namfs-fuzz/" SEQ "/" SEQ ".0001.dpx");
        ignore_free(spec);
        strlist_free(&patterns);
    }
    return 0;
}
