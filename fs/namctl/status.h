#ifndef NAMCTL_STATUS_H
#define NAMCTL_STATUS_H

int cmd_status(int argc, char **argv);

#endif
