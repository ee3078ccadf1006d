/* Helpers for the child after clone: only syscalls and caller-provided buffers. */
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

int g_sync_fd = -1;

size_t str_len(const char *s) { size_t n = 0; while (s && s[n]) n++; return n; }
int str_eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

void sb_str(struct sb *b, const char *s) {
  for (; s && *s && b->len + 1 < b->cap; s++) b->buf[b->len++] = *s;
  b->buf[b->len] = 0;
}

void sb_int(struct sb *b, long v) {
  char tmp[24];
  int i = 0, neg = v < 0;
  unsigned long u = neg ? -(unsigned long)v : (unsigned long)v;
  do { tmp[i++] = (char)('0' + u % 10); u /= 10; } while (u);
  if (neg) tmp[i++] = '-';
  char out[24];
  int j = 0;
  while (i) out[j++] = tmp[--i];
  out[j] = 0;
  sb_str(b, out);
}

const char *fdpath(char *buf, int fd) {
  struct sb b = { buf, 32, 0 };
  sb_str(&b, "/proc/self/fd/");
  sb_int(&b, fd);
  return buf;
}

int sync_send(int fd, uint32_t type, int64_t value) {
  struct sync_msg m;
  memset(&m, 0, sizeof m);
  m.type = type;
  m.value = value;
  ssize_t r;
  do r = send(fd, &m, offsetof(struct sync_msg, msg), MSG_NOSIGNAL); while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

int send_fd(int sock, const void *data, size_t len, int passfd) {
  struct iovec iov = { (void *)data, len };
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  memset(&u, 0, sizeof u);
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &passfd, sizeof(int));
  ssize_t r;
  do r = sendmsg(sock, &mh, MSG_NOSIGNAL); while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

int sync_send_fd(int fd, uint32_t type, int passfd) {
  struct sync_msg m;
  memset(&m, 0, sizeof m);
  m.type = type;
  return send_fd(fd, &m, offsetof(struct sync_msg, msg), passfd);
}

void die(const char *what, const char *detail, int err) {
  struct sync_msg m;
  memset(&m, 0, sizeof m);
  m.type = SYNC_ERROR;
  m.err = err;
  struct sb b = { m.msg, sizeof m.msg, 0 };
  sb_str(&b, what);
  if (detail) { sb_str(&b, " "); sb_str(&b, detail); }
  if (g_sync_fd >= 0) {
    ssize_t r;
    do r = send(g_sync_fd, &m, sizeof m, MSG_NOSIGNAL); while (r < 0 && errno == EINTR);
    if (r >= 0) _exit(1);
  }
  /* Nobody listens any more (after `create` returned): say it on stderr. */
  char line[3200];
  struct sb l = { line, sizeof line, 0 };
  sb_str(&l, "bunc: container process: ");
  sb_str(&l, m.msg);
  if (err) { sb_str(&l, ": errno "); sb_int(&l, err); }
  sb_str(&l, "\n");
  (void)!write(2, line, l.len);
  _exit(127);
}

void sync_expect(int fd, uint32_t type) {
  struct sync_msg m;
  ssize_t r;
  do r = recv(fd, &m, sizeof m, 0); while (r < 0 && errno == EINTR);
  if (r <= 0) _exit(1); /* the parent is gone or gave up: nothing to report to */
  if (m.type != type) die("sync: unexpected message from parent", NULL, EPROTO);
}

long sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)flags;
  how.resolve = resolve;
  if (flags & O_CREAT) how.mode = 0644;
  long r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
  return r < 0 ? -errno : r;
}

int open_in_root(int rootfd, const char *path, int flags) {
  long r;
  do r = sys_openat2(rootfd, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  while (r == -EAGAIN || r == -EINTR);
  return (int)r;
}

/* Walk path one component at a time, each resolved inside the root, creating what is missing.
 * A symlink met on the way is followed *inside* the root (RESOLVE_IN_ROOT), never out of it; a
 * dangling one is replaced by its target (read with readlinkat) and the walk starts again, so
 * the directories are created where the symlink points within the rootfs (as runc does). */
int mkdirall_in_root(int rootfd, const char *path, int is_file, mode_t mode) {
  static char work[2][4096];
  int cur = 0, hops = 0;
  size_t n = str_len(path);
  if (n >= sizeof work[0]) return -ENAMETOOLONG;
  memcpy(work[cur], path, n + 1);
restart:
  path = work[cur];
  n = str_len(path);
  int dirfd = open_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
  if (dirfd < 0) return dirfd;
  size_t i = 0;
  while (i < n) {
    while (i < n && path[i] == '/') i++;
    if (i >= n) break;
    size_t start = i;
    while (i < n && path[i] != '/') i++;
    size_t clen = i - start;
    int last = 1;
    for (size_t k = i; k < n; k++) if (path[k] != '/') { last = 0; break; }
    char comp[256], prefix[4096];
    if (clen >= sizeof comp) { close(dirfd); return -ENAMETOOLONG; }
    memcpy(comp, path + start, clen);
    comp[clen] = 0;
    memcpy(prefix, path, i);
    prefix[i] = 0;
    int fd = open_in_root(rootfd, prefix, O_PATH);
    if (fd == -ENOENT) {
      int r = (last && is_file) ? mknodat(dirfd, comp, S_IFREG | 0644, 0) /* no O_CREAT through a symlink */
                                : mkdirat(dirfd, comp, mode);
      if (r < 0 && errno != EEXIST) { int e = -errno; close(dirfd); return e; }
      fd = open_in_root(rootfd, prefix, O_PATH);
      if (fd == -ENOENT && r < 0) {
        /* comp exists but does not resolve: a dangling symlink. Rewrite the path through it. */
        char target[4096];
        ssize_t tl = readlinkat(dirfd, comp, target, sizeof target - 1);
        if (tl < 0) { int e = -errno; close(dirfd); return e; }
        target[tl] = 0;
        if (++hops > 40) { close(dirfd); return -ELOOP; }
        struct sb b = { work[!cur], sizeof work[0], 0 };
        if (target[0] != '/') { memcpy(prefix, path, start); prefix[start] = 0; sb_str(&b, prefix); sb_str(&b, "/"); }
        sb_str(&b, target);
        sb_str(&b, path + i);
        if (b.len + 1 >= b.cap) { close(dirfd); return -ENAMETOOLONG; }
        cur = !cur;
        close(dirfd);
        goto restart;
      }
    }
    close(dirfd);
    if (fd < 0) return fd;
    if (!last) {
      struct stat st;
      if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) { close(fd); return -ENOTDIR; }
    }
    dirfd = fd;
  }
  return dirfd;
}

/* A raw clone with no stack behaves like fork but skips glibc's atfork handlers and locks. */
long raw_clone(unsigned long flags) {
  long r = syscall(SYS_clone, flags, 0, 0, 0, 0);
  return r < 0 ? -errno : r;
}
