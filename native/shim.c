/* Entry points that src/native.ts calls through bun:ffi. Every one returns a value >= 0 or
 * -errno (bun:ffi gives no errno). */
#include "plan.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>

#define EXPORT __attribute__((visibility("default")))

/* The decoded plan lives in the parent's memory; after clone the child has its own copy. */
static struct plan g_plan;

EXPORT long bunc_sys(long nr, long a, long b, long c, long d, long e, long f) {
  long r = syscall(nr, a, b, c, d, e, f);
  return r < 0 ? -errno : r;
}

EXPORT long bunc_plan_describe(const uint8_t *buf, uint64_t len, char *out, uint64_t cap) {
  memset(&g_plan, 0, sizeof g_plan);
  int r = plan_decode(buf, len, &g_plan);
  if (r < 0) return r;
  return plan_describe(&g_plan, out, cap);
}

/* Clone the container child (or, in exec mode, the process that joins a container).
 * All signals are blocked around clone so that none of Bun's handlers runs in the child before
 * it resets them. Returns the child's pid. */
/* In the clone: hand the plan's fds on across execve (they are CLOEXEC in bunc) and become the
 * sealed bunc-child program, which decodes the plan from its memfd and sets the container up.
 * From here on nothing of the container can reach an image of the host's bunc binary, and the
 * setup code runs in a fresh single-threaded process rather than a copy of Bun's. */
__attribute__((noreturn)) static void exec_child(const struct plan *p, int child_fd, int plan_fd) {
  g_sync_fd = p->sync_fd;
  int keep[8 + PLAN_MAX_NS + PLAN_MAX_MOUNTS + PLAN_MAX_CGROUP_FDS];
  int n = 0;
  keep[n++] = plan_fd;
  keep[n++] = p->sync_fd;
  keep[n++] = p->exec_fifo_fd;
  keep[n++] = p->init_fd;
  if (p->terminal) keep[n++] = p->console_fd;
  for (int i = 0; i < p->nns; i++) keep[n++] = p->ns[i].fd;
  for (int i = 0; i < p->nmounts; i++) keep[n++] = p->mounts[i].srcfd;
  for (int i = 0; i < p->ncgroup_fds; i++) keep[n++] = p->cgroup_fds[i];
  if (p->has_stdio) for (int i = 0; i < 3; i++) keep[n++] = p->stdio[i];
  for (int i = 0; i < n; i++)
    if (keep[i] >= 0 && fcntl(keep[i], F_SETFD, 0) < 0) die("hand fds to bunc-child", NULL, errno);
  char arg[24];
  struct sb b = { arg, sizeof arg, 0 };
  sb_int(&b, plan_fd);
  const char *argv[] = { "bunc-child", arg, NULL };
  const char *envp[] = { NULL };
  syscall(SYS_execveat, child_fd, "", argv, envp, AT_EMPTY_PATH);
  die("exec bunc-child", NULL, errno);
}

/* posix_spawn's technique: the clone shares our memory (CLONE_VM) and we wait (CLONE_VFORK) until
 * it has exec'd bunc-child, so no page table of this large process is copied (measured: fork 3 ms,
 * this 0.7 ms). The child runs on its own stack with every signal blocked and writes nothing we
 * read. */
struct exec_args { const struct plan *p; int child_fd, plan_fd; };

static int vfork_child(void *arg) {
  const struct exec_args *a = arg;
  exec_child(a->p, a->child_fd, a->plan_fd);
}

#define CHILD_STACK (256 * 1024)

EXPORT long bunc_spawn(const uint8_t *buf, uint64_t len, int child_fd, int plan_fd) {
  memset(&g_plan, 0, sizeof g_plan);
  int r = plan_decode(buf, len, &g_plan);
  if (r < 0) return r;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  /* A new user namespace is made by bunc-child itself (unshare), after its exec: an execve inside
   * a user namespace that has no uid map yet would drop every capability in it. */
  uint64_t clone_ns = (g_plan.clone_flags & CLONE_NEWUSER) ? 0 : g_plan.clone_flags;
  long pid;
  if (g_plan.has_cgroup_into) {
    /* cgroup v2: born in its cgroup; no migration afterwards. The caller falls back to clone +
     * attach when this fails (older kernels, or a cgroup that cannot take processes). */
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = clone_ns | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)g_plan.cgroup_into_fd;
    pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) pid = -errno;
  } else {
    static char *stack;
    if (!stack) {
      stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
      if (stack == MAP_FAILED) { stack = NULL; pthread_sigmask(SIG_SETMASK, &old, NULL); return -ENOMEM; }
    }
    struct exec_args args = { &g_plan, child_fd, plan_fd };
    pid = clone(vfork_child, stack + CHILD_STACK, (int)clone_ns | CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
    if (pid < 0) pid = -errno;
  }
  if (pid == 0) exec_child(&g_plan, child_fd, plan_fd);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return pid;
}

/* ---- waiting for a child without blocking Bun's event loop ----
 * A thread blocks in waitpid and writes {pid, status} to a pipe the TypeScript side reads. */
struct waiter { int pid, fd; };

static void *waiter_main(void *arg) {
  struct waiter w = *(struct waiter *)arg;
  free(arg);
  int st = 0, r;
  do r = waitpid(w.pid, &st, __WALL); while (r < 0 && errno == EINTR);
  int32_t out[2] = { r < 0 ? -errno : r, st };
  (void)!write(w.fd, out, sizeof out);
  close(w.fd); /* the reader sees EOF: the pipe is the waiter's to close */
  return NULL;
}

EXPORT int bunc_wait_async(int pid, int fd) {
  struct waiter *w = malloc(sizeof *w);
  if (!w) return -ENOMEM;
  w->pid = pid;
  w->fd = fd;
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&a, 64 * 1024);
  int r = pthread_create(&t, &a, waiter_main, w);
  pthread_attr_destroy(&a);
  if (r) { free(w); return -r; }
  return 0;
}

/* Blocking waitpid: status or -errno. */
EXPORT long bunc_waitpid(int pid, int flags) {
  int st = 0, r;
  do r = waitpid(pid, &st, flags | __WALL); while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  if (r == 0) return -EAGAIN;
  return st;
}

/* ---- the sync socket, parent side ---- */

/* Receive one message: writes type, err, value and the message text; returns the type, 0 at EOF,
 * or -errno. A passed fd (SCM_RIGHTS) is returned in *fd_out (else -1). */
EXPORT long bunc_sync_recv(int fd, int64_t *value, int32_t *err, char *msg, uint64_t cap, int32_t *fd_out) {
  struct sync_msg m;
  memset(&m, 0, sizeof m);
  struct iovec iov = { &m, sizeof m };
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t r;
  do r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC); while (r < 0 && errno == EINTR);
  *fd_out = -1;
  if (r < 0) return -errno;
  if (r == 0) return 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(fd_out, CMSG_DATA(c), sizeof(int));
  *value = m.value;
  *err = m.err;
  size_t n = strnlen(m.msg, sizeof m.msg);
  if (n >= cap) n = cap - 1;
  memcpy(msg, m.msg, n);
  msg[n] = 0;
  return m.type;
}

EXPORT int bunc_sync_send(int fd, uint32_t type) {
  return sync_send(fd, type, 0);
}

/* Send data with fd attached (SCM_RIGHTS): the seccomp agent protocol. */
EXPORT int bunc_send_fd(int sock, const uint8_t *data, uint64_t len, int fd) {
  return send_fd(sock, data, len, fd);
}

/* ---- console sockets (runc's protocol: the pty master with SCM_RIGHTS) ---- */

EXPORT int bunc_recv_fd(int sock) {
  char name[256];
  struct iovec iov = { name, sizeof name };
  union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t r;
  do r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC); while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
      return fd;
    }
  return -EBADMSG;
}
