/* OCI hooks that run in the container's namespaces (createContainer, startContainer): forked
 * from the child, given the state JSON on stdin, killed when they run past their timeout. */
#include "child.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const char *kind_name(uint32_t kind) {
  return kind == HOOK_CREATE_CONTAINER ? "createContainer hook" : "startContainer hook";
}

static void run_hook(const struct plan_hook *h) {
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0) die(kind_name(h->kind), h->path, errno);
  long pid = raw_clone(SIGCHLD);
  if (pid < 0) die(kind_name(h->kind), h->path, errno);
  if (pid == 0) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    if (dup2(in[0], 0) < 0) _exit(126);
    execve(h->path, (char *const *)h->argv, (char *const *)h->envp);
    _exit(127);
  }
  close(in[0]);
  size_t n = str_len(h->state), off = 0;
  while (off < n) {
    ssize_t w = write(in[1], h->state + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break; /* a hook that does not read its stdin is fine */
    off += (size_t)w;
  }
  close(in[1]);
  int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (h->timeout && pidfd >= 0) {
    struct pollfd pf = { pidfd, POLLIN, 0 };
    int r;
    do r = poll(&pf, 1, (int)h->timeout * 1000); while (r < 0 && errno == EINTR);
    if (r == 0) {
      kill((pid_t)pid, SIGKILL);
      waitpid((pid_t)pid, NULL, 0);
      struct sb b;
      char msg[512];
      b.buf = msg; b.cap = sizeof msg; b.len = 0;
      sb_str(&b, h->path);
      sb_str(&b, " timed out after ");
      sb_int(&b, h->timeout);
      sb_str(&b, "s");
      die(kind_name(h->kind), msg, ETIMEDOUT);
    }
  }
  if (pidfd >= 0) close(pidfd);
  int st = 0;
  while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return;
  char msg[512];
  struct sb b = { msg, sizeof msg, 0 };
  sb_str(&b, h->path);
  if (WIFEXITED(st)) { sb_str(&b, " failed: exit status "); sb_int(&b, WEXITSTATUS(st)); }
  else { sb_str(&b, " failed: killed by signal "); sb_int(&b, WTERMSIG(st)); }
  die(kind_name(h->kind), msg, 0);
}

void run_hooks(const struct plan *p, uint32_t kind) {
  for (int i = 0; i < p->nhooks; i++)
    if (p->hooks[i].kind == kind) run_hook(&p->hooks[i]);
}
