/* The container's root filesystem, built by the child before pivot_root.
 * Every target is resolved inside the rootfs (openat2 RESOLVE_IN_ROOT) and mounted through its
 * /proc/self/fd/N magic link, so a symlink in the rootfs (even one swapped in during setup)
 * can only ever point back into the rootfs. */
#include "child.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/mount.h>

#ifndef MOUNT_ATTR_SIZE_VER0
struct mount_attr { uint64_t attr_set, attr_clr, propagation, userns_fd; };
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

/* Attach the detached mount tree treefd onto the file or directory targetfd (both fds: no path is
 * resolved, so nothing can be redirected between the check of the target and the mount). */
static int move_tree(int treefd, int targetfd) {
  long r = syscall(SYS_move_mount, treefd, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  return r < 0 ? -errno : 0;
}

static int do_mount(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data) {
  int r = mount(src, target, fstype, flags, data);
  return r < 0 ? -errno : 0;
}

/* The MS_* flags a bind remount must keep because the kernel locks them (nodev, nosuid, noexec
 * inherited from the source mount in a user namespace, plus the atime ones). */
static unsigned long locked_flags(const char *path) {
  struct statvfs s;
  if (statvfs(path, &s) < 0) return 0;
  unsigned long f = 0;
  if (s.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (s.f_flag & ST_NODEV) f |= MS_NODEV;
  if (s.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (s.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (s.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (s.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

/* Remount the mount whose root fd is given with flags; retry keeping the locked flags. */
static int remount_fd(int fd, unsigned long flags) {
  char p[32];
  fdpath(p, fd);
  int r = do_mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | flags, NULL);
  if (r == -EPERM) r = do_mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | flags | locked_flags(p), NULL);
  return r;
}

static void apply_propagation(const struct plan_mount *m, int fd) {
  char p[32];
  fdpath(p, fd);
  for (uint32_t i = 0; i < m->nprop; i++) {
    int r = do_mount(NULL, p, NULL, m->prop[i], NULL);
    if (r < 0) die("mount: set propagation of", m->target, -r);
  }
}

static void apply_attrs(const struct plan_mount *m, int fd) {
  struct mount_attr a = { m->attr_set, m->attr_clr, 0, 0 };
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0)
    die("mount: set recursive attributes on", m->target, errno);
}

static void mount_one(int rootfd, const struct plan_mount *m) {
  char p[32];
  if (m->kind & MK_REMOUNT_ONLY) {
    int fd = open_in_root(rootfd, m->target, O_PATH);
    if (fd < 0) die("mount: open", m->target, -fd);
    int r = remount_fd(fd, m->flags);
    if (r < 0) die("mount: remount", m->target, -r);
    close(fd);
    return;
  }
  int is_file = (m->kind & MK_FILE) != 0;
  int fd = mkdirall_in_root(rootfd, m->target, is_file, 0755);
  if (fd < 0) die("mount: create target", m->target, -fd);
  struct stat st;
  if (fstat(fd, &st) < 0) die("mount: stat target", m->target, errno);
  if (!is_file && !S_ISDIR(st.st_mode)) die("mount: target is not a directory:", m->target, ENOTDIR);
  if (is_file && S_ISDIR(st.st_mode)) die("mount: target is a directory, source is not:", m->target, EISDIR);
  fdpath(p, fd);
  int r, copysrc = -1;
  if ((m->kind & MK_BIND) && m->srcfd >= 0) {
    /* A tree the parent cut and prepared (an idmapped mount): it only needs to be put in place. */
    r = move_tree(m->srcfd, fd);
    if (r < 0) die("mount: attach the idmapped mount of", m->source, -r);
    close(m->srcfd);
  } else if (m->kind & MK_BIND) {
    r = do_mount(m->source, p, NULL, MS_BIND | (m->flags & MS_REC), NULL);
    if (r < 0) die("mount: bind", m->source, -r);
  } else {
    /* tmpcopyup: keep the covered directory open to copy its content into the new tmpfs */
    if (m->kind & MK_TMPCOPYUP) {
      copysrc = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (copysrc < 0) die("mount: tmpcopyup: open", m->target, errno);
    }
    r = do_mount(m->source, p, m->fstype, m->flags & ~(unsigned long)(MS_REC), m->data[0] ? m->data : NULL);
    if (r == -EPERM && (m->kind & MK_SYSFS)) {
      /* Without its own network namespace a container may not mount sysfs: bind the host's. */
      r = do_mount("/sys", p, NULL, MS_BIND | MS_REC, NULL);
      if (r == 0) {
        int nfd = open_in_root(rootfd, m->target, O_PATH);
        if (nfd >= 0) { r = remount_fd(nfd, m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)); close(nfd); }
      }
    }
    if (r < 0) die("mount: mount", m->target, -r);
  }
  close(fd);
  /* fd still names the directory *under* the new mount: reopen to reach the mount itself. */
  fd = open_in_root(rootfd, m->target, O_PATH);
  if (fd < 0) die("mount: reopen", m->target, -fd);
  if ((m->kind & MK_BIND) && (m->kind & MK_REMOUNT)) {
    r = remount_fd(fd, m->flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT));
    if (r < 0) die("mount: remount", m->target, -r);
  }
  if (copysrc >= 0) {
    int dst = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dst < 0) die("mount: tmpcopyup: open the new", m->target, errno);
    copy_up(copysrc, dst);
    close(dst);
    close(copysrc);
  }
  if (m->nprop) apply_propagation(m, fd);
  if (m->kind & MK_REC_ATTR) apply_attrs(m, fd);
  close(fd);
}

static void make_device(int rootfd, const struct plan_device *d) {
  if (d->bind) {
    int fd = mkdirall_in_root(rootfd, d->path, 1, 0755);
    if (fd < 0) die("device: create", d->path, -fd);
    char p[32], host[4096];
    struct sb b = { host, sizeof host, 0 };
    sb_str(&b, d->path); /* the container path of a default device is its host path too */
    int r = do_mount(host, fdpath(p, fd), NULL, MS_BIND, NULL);
    if (r < 0) die("device: bind", d->path, -r);
    close(fd);
    return;
  }
  /* The parent directory, inside the root; then the node by name in it. */
  char dir[4096];
  size_t n = str_len(d->path);
  if (n >= sizeof dir) die("device: path too long:", d->path, ENAMETOOLONG);
  memcpy(dir, d->path, n + 1);
  char *slash = strrchr(dir, '/');
  const char *name = slash ? slash + 1 : dir;
  if (slash) *slash = 0;
  int dfd = mkdirall_in_root(rootfd, dir[0] ? dir : "/", 0, 0755);
  if (dfd < 0) die("device: create parent of", d->path, -dfd);
  char p[32];
  int real = open(fdpath(p, dfd), O_DIRECTORY | O_CLOEXEC);
  if (real < 0) die("device: open parent of", d->path, errno);
  unlinkat(real, name, 0); /* a placeholder left in the image is replaced */
  if (mknodat(real, name, d->type | (d->mode & 07777), makedev(d->major, d->minor)) < 0)
    die("device: mknod", d->path, errno);
  if (fchownat(real, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0) die("device: chown", d->path, errno);
  if (fchmodat(real, name, d->mode & 07777, 0) < 0) die("device: chmod", d->path, errno);
  close(real);
  close(dfd);
}

static void make_symlink(int rootfd, const char *target, const char *linkpath) {
  char dir[4096];
  size_t n = str_len(linkpath);
  if (n >= sizeof dir) return;
  memcpy(dir, linkpath, n + 1);
  char *slash = strrchr(dir, '/');
  if (!slash) return;
  *slash = 0;
  int dfd = mkdirall_in_root(rootfd, dir[0] ? dir : "/", 0, 0755);
  if (dfd < 0) die("symlink: create parent of", linkpath, -dfd);
  char p[32];
  int real = open(fdpath(p, dfd), O_DIRECTORY | O_CLOEXEC);
  if (real < 0) die("symlink: open parent of", linkpath, errno);
  if (symlinkat(target, real, slash + 1) < 0 && errno != EEXIST) die("symlink:", linkpath, errno);
  close(real);
  close(dfd);
}

/* Open the container's /dev/null and prove it is the real one: a rootfs could have put a
 * symlink or another file there to turn masking into a bind of a host file (CVE-2025-31133). */
static int open_dev_null(int rootfd) {
  long fd = sys_openat2(rootfd, "/dev/null", O_PATH | O_CLOEXEC | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
  if (fd < 0) return (int)fd;
  struct stat st;
  if (fstat((int)fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
    close((int)fd);
    return -EPERM;
  }
  return (int)fd;
}

static void mask_paths(int rootfd, const struct plan *p) {
  if (!p->nmasked) return;
  int nullfd = -1;
  for (int i = 0; i < p->nmasked; i++) {
    long fd = sys_openat2(rootfd, p->masked[i], O_PATH | O_CLOEXEC | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
    if (fd == -ENOENT) continue; /* a path this kernel lacks: nothing to mask */
    if (fd < 0) die("maskedPaths: open", p->masked[i], (int)-fd);
    struct stat st;
    if (fstat((int)fd, &st) < 0) die("maskedPaths: stat", p->masked[i], errno);
    char tp[32], np[32];
    int r;
    if (S_ISDIR(st.st_mode)) {
      r = do_mount("tmpfs", fdpath(tp, (int)fd), "tmpfs", MS_RDONLY, "size=0,mode=0555");
    } else {
      if (nullfd < 0) nullfd = open_dev_null(rootfd);
      if (nullfd < 0) die("maskedPaths: /dev/null in the container is not the null device; masking", p->masked[i], -nullfd);
      r = do_mount(fdpath(np, nullfd), fdpath(tp, (int)fd), NULL, MS_BIND, NULL);
    }
    if (r < 0) die("maskedPaths: mask", p->masked[i], -r);
    close((int)fd);
  }
  if (nullfd >= 0) close(nullfd);
}

static void readonly_paths(int rootfd, const struct plan *p) {
  for (int i = 0; i < p->nreadonly; i++) {
    long fd = sys_openat2(rootfd, p->readonly[i], O_PATH | O_CLOEXEC | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
    if (fd == -ENOENT) continue;
    if (fd < 0) die("readonlyPaths: open", p->readonly[i], (int)-fd);
    char fp[32];
    int r = do_mount(fdpath(fp, (int)fd), fp, NULL, MS_BIND | MS_REC, NULL);
    if (r < 0) die("readonlyPaths: bind", p->readonly[i], -r);
    close((int)fd);
    int nfd = open_in_root(rootfd, p->readonly[i], O_PATH | O_NOFOLLOW);
    if (nfd < 0) die("readonlyPaths: reopen", p->readonly[i], -nfd);
    r = remount_fd(nfd, MS_RDONLY | MS_REC);
    if (r < 0) die("readonlyPaths: remount read-only", p->readonly[i], -r);
    close(nfd);
  }
}

/* pivot_root (and --no-pivot's MS_MOVE) refuse a new root that is shared or sits on a shared
 * mount, and an unbindable mount cannot be bound. With linux.rootfsPropagation "(r)shared" or
 * "(r)unbindable" "/" is that now, so the mount holding the rootfs (the first mount point walking
 * up from it) is made private in this namespace before the rootfs is bound onto itself (the bind
 * then starts private too, and does not propagate to the host), as crun does. "/" gets the asked
 * propagation again after the pivot (enter_rootfs), as runc and crun do. */
static void make_rootfs_mount_private(const char *rootfs) {
  int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) die("rootfs: open", rootfs, errno);
  for (;;) {
    char fp[32];
    int r = do_mount(NULL, fdpath(fp, fd), NULL, MS_PRIVATE, NULL);
    if (r == 0) break;
    /* EINVAL: not the root of a mount; go one directory up ("/" is always a mount root) */
    if (r != -EINVAL) die("rootfs: make the mount holding it private", rootfs, -r);
    int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (up < 0) die("rootfs: open parent of", rootfs, errno);
    close(fd);
    fd = up;
  }
  close(fd);
}

int setup_rootfs(const struct plan *p) {
  unsigned long prop = p->rootfs_propagation ? p->rootfs_propagation : (MS_SLAVE | MS_REC);
  int r = do_mount(NULL, "/", NULL, prop, NULL);
  if (r < 0) die("rootfs: set propagation of /", NULL, -r);
  if (prop & (MS_SHARED | MS_UNBINDABLE)) make_rootfs_mount_private(p->rootfs);
  /* pivot_root needs the new root to be a mount point. */
  r = do_mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL);
  if (r < 0) die("rootfs: bind", p->rootfs, -r);
  int rootfd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die("rootfs: open", p->rootfs, errno);
  for (int i = 0; i < p->nmounts; i++) mount_one(rootfd, &p->mounts[i]);
  for (int i = 0; i < p->ndevices; i++) make_device(rootfd, &p->devices[i]);
  for (int i = 0; i < p->nsymlinks; i++) make_symlink(rootfd, p->symlinks[i].target, p->symlinks[i].linkpath);
  return rootfd;
}

void finish_rootfs(int rootfd, const struct plan *p) {
  mask_paths(rootfd, p);
  readonly_paths(rootfd, p);
}

/* process.terminal: the pty slave is bind-mounted over /dev/console (as runc does), after pivot_root.
 * /dev/console is opened without following any symlink and must be a plain file or a device: a
 * rootfs or a shared /dev that made it a symlink (to a procfs file, say) cannot turn the mount
 * into one over something else (CVE-2025-52565). The mount itself is made from the slave's fd. */
void mount_console(int slave) {
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) die("terminal: open /", NULL, errno);
  long dev = sys_openat2(root, "/dev", O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
  close(root);
  if (dev < 0) die("terminal: open /dev (it must be a directory, not a symlink)", NULL, (int)-dev);
  uint64_t how = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  long fd = sys_openat2((int)dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC, how);
  if (fd == -ENOENT) {
    if (mknodat((int)dev, "console", S_IFREG | 0600, 0) < 0 && errno != EEXIST) die("terminal: create /dev/console", NULL, errno);
    fd = sys_openat2((int)dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC, how);
  }
  if (fd < 0) die("terminal: open /dev/console", NULL, (int)-fd);
  struct stat st;
  if (fstat((int)fd, &st) < 0) die("terminal: stat /dev/console", NULL, errno);
  /* O_PATH|O_NOFOLLOW opens a symlink itself rather than failing: refuse it by its type. */
  if (S_ISLNK(st.st_mode)) die("terminal: /dev/console is a symlink: refused", NULL, ELOOP);
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) die("terminal: /dev/console is neither a file nor a device", NULL, EPERM);
  int tree = (int)syscall(SYS_open_tree, slave, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | O_CLOEXEC);
  if (tree < 0) die("terminal: clone the pty slave mount", NULL, errno);
  int r = move_tree(tree, (int)fd);
  if (r < 0) die("terminal: mount the pty on /dev/console", NULL, -r);
  close(tree);
  close((int)fd);
  close((int)dev);
}

void enter_rootfs(int rootfd, const struct plan *p) {
  if (fchdir(rootfd) < 0) die("rootfs: chdir", p->rootfs, errno);
  if (p->no_pivot) {
    /* --no-pivot: move the rootfs over / and chroot (for ramdisk roots where pivot_root fails). */
    if (do_mount(".", "/", NULL, MS_MOVE, NULL) < 0) die("rootfs: move to /", p->rootfs, errno);
    if (chroot(".") < 0) die("rootfs: chroot", p->rootfs, errno);
  } else {
    int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (oldroot < 0) die("rootfs: open /", NULL, errno);
    if (syscall(SYS_pivot_root, ".", ".") < 0) die("rootfs: pivot_root", p->rootfs, errno);
    /* The old root is now stacked under "."; detach it without propagating to the host. */
    if (fchdir(oldroot) < 0) die("rootfs: chdir old root", NULL, errno);
    if (do_mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) die("rootfs: make old root slave", NULL, errno);
    if (umount2(".", MNT_DETACH) < 0) die("rootfs: detach old root", NULL, errno);
    close(oldroot);
  }
  if (chdir("/") < 0) die("rootfs: chdir /", NULL, errno);
  /* Only now, on the container's own root: before the pivot it would have reached the host's. */
  if (p->rootfs_propagation) {
    int r = do_mount(NULL, "/", NULL, p->rootfs_propagation, NULL);
    if (r < 0) die("rootfs: set propagation of the new /", NULL, -r);
  }
  if (p->root_readonly) {
    int r = do_mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
    if (r == -EPERM) r = do_mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags("/"), NULL);
    if (r < 0) die("rootfs: remount / read-only", NULL, -r);
  }
}
