#ifndef NAMCTL_MANIFEST_H
#define NAMCTL_MANIFEST_H

int cmd_manifest(int argc, char **argv);

#endif
