/* tmpcopyup (podman's --tmpfs and --read-only mounts ask for it): a tmpfs mounted over a directory
 * of the rootfs starts with a copy of what that directory held. The copy goes from an fd of the
 * covered directory (opened before the mount) to an fd of the new tmpfs, one entry at a time
 * relative to those fds and never following a symlink: the rootfs belongs to the image, so a link
 * in it is copied as a link, and nothing outside the two trees is read or written. Owners, modes
 * and times are kept, as runc and crun do. */
#include "child.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* Deeper trees than this are refused rather than recursed into without bound. */
#define COPYUP_MAX_DEPTH 64

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static void copy_data(int src, int dst, const char *name, const struct stat *st) {
  int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) die("tmpcopyup: open", name, errno);
  int out = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
  if (out < 0) die("tmpcopyup: create", name, errno);
  for (off_t left = st->st_size; left > 0;) {
    ssize_t n = sendfile(out, in, NULL, left > 0x40000000 ? 0x40000000 : (size_t)left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("tmpcopyup: copy", name, errno);
    if (n == 0) break; /* the file shrank meanwhile */
    left -= n;
  }
  close(in);
  close(out);
}

/* The entry's owner, then its mode (a chown clears set-id bits), then its times. In a user
 * namespace an owner the maps do not cover reads as the overflow id and cannot be given back
 * (EINVAL): the copy then stays owned by the container's root rather than failing the container. */
static void copy_meta(int dst, const char *name, const struct stat *st) {
  if (fchownat(dst, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL) die("tmpcopyup: chown", name, errno);
  if (!S_ISLNK(st->st_mode) && fchmodat(dst, name, st->st_mode & 07777, 0) < 0) die("tmpcopyup: chmod", name, errno);
  struct timespec t[2] = { st->st_atim, st->st_mtim };
  if (utimensat(dst, name, t, AT_SYMLINK_NOFOLLOW) < 0) die("tmpcopyup: set times of", name, errno);
}

static void copy_dir(int src, int dst, int depth);

static void copy_entry(int src, int dst, const char *name, int depth) {
  struct stat st;
  if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) die("tmpcopyup: stat", name, errno);
  if (S_ISDIR(st.st_mode)) {
    if (mkdirat(dst, name, 0700) < 0) die("tmpcopyup: mkdir", name, errno);
    int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0) die("tmpcopyup: open directory", name, errno);
    int d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0) die("tmpcopyup: open new directory", name, errno);
    copy_dir(s, d, depth + 1);
    close(s);
    close(d);
  } else if (S_ISREG(st.st_mode)) {
    copy_data(src, dst, name, &st);
  } else if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlinkat(src, name, target, sizeof target - 1);
    if (n < 0) die("tmpcopyup: readlink", name, errno);
    target[n] = 0;
    if (symlinkat(target, dst, name) < 0) die("tmpcopyup: symlink", name, errno);
  } else if (mknodat(dst, name, st.st_mode, st.st_rdev) < 0) {
    die("tmpcopyup: mknod", name, errno);
  }
  copy_meta(dst, name, &st); /* for a directory: after its entries, so its times stay */
}

static void copy_dir(int src, int dst, int depth) {
  if (depth > COPYUP_MAX_DEPTH) die("tmpcopyup: directory tree too deep", NULL, ELOOP);
  char buf[2048];
  for (;;) {
    long n = syscall(SYS_getdents64, src, buf, sizeof buf);
    if (n < 0) die("tmpcopyup: read directory", NULL, errno);
    if (n == 0) return;
    for (long off = 0; off < n;) {
      struct linux_dirent64 *e = (struct linux_dirent64 *)(buf + off);
      off += e->d_reclen;
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      copy_entry(src, dst, e->d_name, depth);
    }
  }
}

void copy_up(int src, int dst) {
  copy_dir(src, dst, 0);
}
