/* Helpers for code that runs after clone: no malloc, no stdio, no locks. */
#ifndef BUNC_UTIL_H
#define BUNC_UTIL_H
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/openat2.h>

/* Messages on the sync socket between the parent (bunc) and the child. */
enum sync_type {
  SYNC_GO = 1,      /* parent -> child: continue */
  SYNC_HOOKS,       /* child -> parent: namespaces and mounts are ready, run prestart/createRuntime hooks */
  SYNC_PID,         /* child -> parent: value = host pid of the process that will exec (after a pid-ns join) */
  SYNC_PTY,         /* child -> parent: the pty master, attached with SCM_RIGHTS */
  SYNC_READY,       /* child -> parent: set up, waiting on the exec fifo (create) or about to exec (exec) */
  SYNC_ERROR,       /* child -> parent: errno + message; the child exits */
  SYNC_SECCOMP,     /* child -> parent: the seccomp listener fd, attached with SCM_RIGHTS */
  SYNC_USERNS,      /* child -> parent: the new user namespace exists, write its uid/gid maps */
};

struct sync_msg {
  uint32_t type;
  int32_t err;
  int64_t value;
  char msg[3072];
};

/* A tiny string builder on a caller buffer. */
struct sb { char *buf; size_t cap, len; };
void sb_str(struct sb *b, const char *s);
void sb_int(struct sb *b, long v);

extern int g_sync_fd;
/* Report a failure to the parent ("what" + errno) and _exit(1). */
__attribute__((noreturn)) void die(const char *what, const char *detail, int err);
int sync_send(int fd, uint32_t type, int64_t value);
int sync_send_fd(int fd, uint32_t type, int passfd);
/* sendmsg of data with passfd attached (SCM_RIGHTS); 0 or -errno */
int send_fd(int sock, const void *data, size_t len, int passfd);
/* Wait for a message of the given type; dies on error/EOF. */
void sync_expect(int fd, uint32_t type);

long raw_clone(unsigned long flags);
long sys_openat2(int dirfd, const char *path, int flags, uint64_t resolve);
/* Open path inside the root given by rootfd (RESOLVE_IN_ROOT), as O_PATH. */
int open_in_root(int rootfd, const char *path, int flags);
/* mkdir -p inside root; the last component a file when is_file. Returns an O_PATH fd of it. */
int mkdirall_in_root(int rootfd, const char *path, int is_file, mode_t mode);
/* "/proc/self/fd/N" into buf */
const char *fdpath(char *buf, int fd);
int str_eq(const char *a, const char *b);
size_t str_len(const char *s);

#endif
