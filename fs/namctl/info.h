#ifndef NAMCTL_INFO_H
#define NAMCTL_INFO_H

int cmd_info(int argc, char **argv);

#endif
