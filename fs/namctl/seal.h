#ifndef NAMCTL_SEAL_H
#define NAMCTL_SEAL_H

int cmd_seal(int argc, char **argv);

#endif
