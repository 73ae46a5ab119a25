#ifndef NAMCTL_VERIFY_H
#define NAMCTL_VERIFY_H

int cmd_verify(int argc, char **argv);

#endif
