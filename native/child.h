/* The container child: runs after clone, on a decoded plan, until execve. */
#ifndef BUNC_CHILD_H
#define BUNC_CHILD_H
#include "plan.h"
#include "util.h"

__attribute__((noreturn)) void child_main(struct plan *p);
int setup_rootfs(const struct plan *p);             /* returns an O_PATH fd of the rootfs */
void finish_rootfs(int rootfd, const struct plan *p); /* masked and read-only paths */
void enter_rootfs(int rootfd, const struct plan *p);  /* pivot_root (or chroot), root read-only */
void run_hooks(const struct plan *p, uint32_t kind);
void setup_terminal(const struct plan *p);
void mount_console(int slave);                       /* after pivot_root: the pty slave on /dev/console */
void copy_up(int src, int dst);                      /* tmpcopyup: the covered directory's content into the tmpfs */

#endif
