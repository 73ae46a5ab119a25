/* A file opened for judging: its head in memory, the rest on demand. */
#ifndef NAMCTL_FRAME_FILE_H
#define NAMCTL_FRAME_FILE_H

#include "namfs/frame.h"

/* Covers a DPX header and a typical EXR header in one read; the EXR chunk
 * table and leaders are read past it on demand. */
#define FRAME_FILE_HEAD 4096

struct frame_file {
    int fd;
    uint8_t head[FRAME_FILE_HEAD];
    struct frame_source src;
};

/* Opens path (relative to dirfd, never following a final symlink) and
 * reads its head. On error returns false with "path: reason" in err. */
bool frame_file_open(int dirfd, const char *path, struct frame_file *f, char *err, size_t err_len);

void frame_file_close(struct frame_file *f);

#endif
