#ifndef NAMCTL_MOUNTCTL_H
#define NAMCTL_MOUNTCTL_H

int cmd_sync(int argc, char **argv);
int cmd_unmount(int argc, char **argv);

#endif
