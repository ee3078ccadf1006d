/* The container child, from clone to execve. It works only on the decoded plan, with syscalls:
 * no malloc, no stdio, no locks (the parent is a multi-threaded Bun process). */
#include "child.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/magic.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
/* the new mount API's constants (glibc's sys/mount.h has them; musl's does not) */
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x1
#endif
#ifndef FSCONFIG_CMD_CREATE
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x1
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#define LAST_CAP 63


static void reset_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int s = 1; s < 65; s++) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    sigaction(s, &sa, NULL); /* Bun's handlers must not run in the container */
  }
}

static void join_namespaces(const struct plan *p, int *joined_pid) {
  for (int i = 0; i < p->nns; i++) {
    if (setns(p->ns[i].fd, p->ns[i].type) < 0) {
      const char *what = "join namespace";
      switch (p->ns[i].type) {
      case CLONE_NEWUSER: what = "join user namespace"; break;
      case CLONE_NEWNS: what = "join mount namespace"; break;
      case CLONE_NEWNET: what = "join network namespace"; break;
      case CLONE_NEWPID: what = "join pid namespace"; break;
      case CLONE_NEWIPC: what = "join ipc namespace"; break;
      case CLONE_NEWUTS: what = "join uts namespace"; break;
      case CLONE_NEWCGROUP: what = "join cgroup namespace"; break;
      }
      die(what, NULL, errno);
    }
    if (p->ns[i].type == CLONE_NEWPID) *joined_pid = 1;
    close(p->ns[i].fd);
  }
}

/* Write a value through a procfs we opened ourselves and proved to be procfs, never through a
 * path the container could have redirected (CVE-2025-52881). */
static int open_procfs(void) {
  int fd = (int)syscall(SYS_fsopen, "proc", FSOPEN_CLOEXEC);
  if (fd >= 0) {
    if (syscall(SYS_fsconfig, fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) {
      int m = (int)syscall(SYS_fsmount, fd, FSMOUNT_CLOEXEC, 0);
      close(fd);
      if (m >= 0) return m;
    } else close(fd);
  }
  fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct statfs sf;
  if (fd < 0 || fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC) {
    if (fd >= 0) close(fd);
    return -EPERM;
  }
  return fd;
}

/* The host's procfs, opened (and proved to be procfs) when the child starts: before it joins or
 * builds anything a container controls. Per-process writes (oom_score_adj, timens_offsets, LSM
 * attributes) go through it as "self/..." or "thread-self/...", so neither a joined mount namespace
 * (exec) nor the container's own /proc can redirect them to another file (CVE-2025-52881). */
static int g_procfd = -1;

static void open_host_proc(void) {
  int fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct statfs sf;
  if (fd < 0 || fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC) die("open /proc: not a procfs", NULL, fd < 0 ? errno : EPERM);
  g_procfd = fd;
}

/* Write value to rel under procfd; 0 or -errno. "self" and "thread-self" are ordinary symlinks
 * within procfs (follow_self); magic links and other mounts are never crossed. */
static int proc_write_try(int procfd, const char *rel, const char *value, int follow_self) {
  uint64_t resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV | (follow_self ? 0 : RESOLVE_NO_SYMLINKS);
  long fd = sys_openat2(procfd, rel, O_WRONLY | O_CLOEXEC | O_NOFOLLOW, resolve);
  if (fd < 0) return (int)fd;
  size_t n = str_len(value);
  ssize_t w = write((int)fd, value, n);
  int e = w < 0 ? -errno : 0;
  close((int)fd);
  return e;
}

static void proc_write(int procfd, const char *rel, const char *value, const char *what) {
  int r = proc_write_try(procfd, rel, value, 0);
  if (r < 0) die(what, rel, -r);
}

static void apply_sysctls(const struct plan *p) {
  if (!p->nsysctl) return;
  int procfd = open_procfs();
  if (procfd < 0) die("sysctl: open procfs", NULL, -procfd);
  for (int i = 0; i < p->nsysctl; i++) {
    char rel[512];
    struct sb b = { rel, sizeof rel, 0 };
    sb_str(&b, "sys/");
    size_t start = b.len;
    sb_str(&b, p->sysctl[i].key);
    for (size_t k = start; k < b.len; k++) if (rel[k] == '.') rel[k] = '/';
    proc_write(procfd, rel, p->sysctl[i].value, "sysctl: write");
  }
  close(procfd);
}

static void set_oom_score_adj(const struct plan *p) {
  if (!p->has_oom_score_adj) return;
  char v[16];
  struct sb b = { v, sizeof v, 0 };
  sb_int(&b, p->oom_score_adj);
  int r = proc_write_try(g_procfd, "self/oom_score_adj", v, 1);
  if (r < 0) die("set oom_score_adj to", v, -r);
}

/* linux.timeOffsets: a new time namespace for the processes we exec or fork from now on (execve
 * moves the caller into its time_for_children namespace); its offsets must be written before any
 * process is in it. */
static void enter_time_ns(const struct plan *p) {
  if (!p->time_ns) return;
  if (unshare(CLONE_NEWTIME) < 0) die("create time namespace", NULL, errno);
  if (!p->ntime_offsets) return;
  char v[256];
  struct sb b = { v, sizeof v, 0 };
  for (int i = 0; i < p->ntime_offsets; i++) {
    sb_int(&b, p->time_offsets[i].clock); sb_str(&b, " ");
    sb_int(&b, (long)p->time_offsets[i].secs); sb_str(&b, " ");
    sb_int(&b, p->time_offsets[i].nsecs); sb_str(&b, "\n");
  }
  int r = proc_write_try(g_procfd, "self/timens_offsets", v, 1);
  if (r < 0) die("linux.timeOffsets: write /proc/self/timens_offsets", NULL, -r);
}

/* In a user namespace (made by clone or joined) we start as the overflow uid: become its root. */
static void become_userns_root(const struct plan *p) {
  int userns = (p->clone_flags & CLONE_NEWUSER) != 0;
  for (int i = 0; i < p->nns; i++) if (p->ns[i].type == CLONE_NEWUSER) userns = 1;
  if (!userns) return;
  if (syscall(SYS_setresgid, 0, 0, 0) < 0) /* raw: see switch_user */ die("user namespace: setgid to 0 (is gid 0 in linux.gidMappings?)", NULL, errno);
  if (syscall(SYS_setresuid, 0, 0, 0) < 0) die("user namespace: setuid to 0 (is uid 0 in linux.uidMappings?)", NULL, errno);
}

/* process.scheduler (sched_setattr) and process.ioPriority (ioprio_set), while we still hold the
 * capabilities a real-time policy or a negative nice needs. */
struct bunc_sched_attr {
  uint32_t size, sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
};

static void apply_scheduling(const struct plan *p) {
  if (p->has_scheduler) {
    struct bunc_sched_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.sched_policy = p->sched_policy;
    a.sched_flags = p->sched_flags;
    a.sched_nice = p->sched_nice;
    a.sched_priority = p->sched_priority;
    a.sched_runtime = p->sched_runtime;
    a.sched_deadline = p->sched_deadline;
    a.sched_period = p->sched_period;
    if (syscall(SYS_sched_setattr, 0, &a, 0) < 0) die("process.scheduler: sched_setattr", NULL, errno);
  }
  if (p->has_ioprio && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)p->ioprio) < 0)
    die("process.ioPriority: ioprio_set", NULL, errno);
}

/* process.apparmorProfile / selinuxLabel: the label the next execve takes, written to our own
 * attr files through the host procfs (the parent checked that the host has the LSM). */
static void apply_lsm_labels(const struct plan *p) {
  if (p->apparmor && p->apparmor[0]) {
    char v[4200];
    struct sb b = { v, sizeof v, 0 };
    sb_str(&b, "exec ");
    sb_str(&b, p->apparmor);
    int r = proc_write_try(g_procfd, "thread-self/attr/apparmor/exec", v, 1);
    if (r == -ENOENT) r = proc_write_try(g_procfd, "thread-self/attr/exec", v, 1); /* kernels before 5.8 */
    if (r < 0) die("process.apparmorProfile: set the exec profile", p->apparmor, -r);
  }
  if (p->selinux && p->selinux[0]) {
    int r = proc_write_try(g_procfd, "thread-self/attr/exec", p->selinux, 1);
    if (r < 0) die("process.selinuxLabel: set the exec label", p->selinux, -r);
  }
}

static void apply_rlimits(const struct plan *p) {
  for (int i = 0; i < p->nrlimits; i++) {
    struct rlimit rl = { p->rlimits[i].soft, p->rlimits[i].hard };
    if (setrlimit((int)p->rlimits[i].resource, &rl) < 0) {
      char n[16];
      struct sb b = { n, sizeof n, 0 };
      sb_int(&b, p->rlimits[i].resource);
      die("setrlimit: resource", n, errno);
    }
  }
}

static void capset_all(uint64_t eff, uint64_t perm, uint64_t inh) {
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[2];
  d[0].effective = (uint32_t)eff; d[1].effective = (uint32_t)(eff >> 32);
  d[0].permitted = (uint32_t)perm; d[1].permitted = (uint32_t)(perm >> 32);
  d[0].inheritable = (uint32_t)inh; d[1].inheritable = (uint32_t)(inh >> 32);
  if (syscall(SYS_capset, &h, d) < 0) die("capset", NULL, errno);
}

/* Bounding set first (needs CAP_SETPCAP), then the user switch keeping capabilities, then the
 * final effective/permitted/inheritable sets, then ambient (which needs inheritable+permitted). */
static void drop_bounding(const struct plan *p) {
  if (!p->has_caps) return;
  for (int c = 0; c <= LAST_CAP; c++) {
    if (p->cap_bounding & (1ull << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) die("drop capability from bounding set", NULL, errno);
  }
}

/* Raw system calls, not glibc's setgroups/setresgid/setresuid: glibc broadcasts those to every
 * thread it believes the process has (the parent's threads, copied but not running here) and
 * waits on a futex for them forever. */
static void switch_user(const struct plan *p) {
  if (!p->has_user) return;
  if (p->has_caps) prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
  gid_t groups[PLAN_MAX_GROUPS];
  for (int i = 0; i < p->ngroups; i++) groups[i] = p->groups[i];
  if (syscall(SYS_setgroups, (size_t)p->ngroups, groups) < 0 && errno != EPERM) die("setgroups", NULL, errno);
  if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0) die("setgid", NULL, errno);
  if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0) die("setuid", NULL, errno);
  if (p->has_caps) prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

static void apply_caps(const struct plan *p) {
  if (!p->has_caps) return;
  capset_all(p->cap_effective, p->cap_permitted, p->cap_inheritable);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) die("clear ambient capabilities", NULL, errno);
  for (int c = 0; c <= LAST_CAP; c++)
    if ((p->cap_ambient & (1ull << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
      die("raise ambient capability (it must be in the permitted and inheritable sets)", NULL, errno);
}

static const char *env_get(const struct plan *p, const char *name) {
  size_t n = str_len(name);
  for (int i = 0; i < p->nenv; i++)
    if (strncmp(p->env[i], name, n) == 0 && p->env[i][n] == '=') return p->env[i] + n + 1;
  return NULL;
}

static int is_executable(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) return -errno;
  if (S_ISDIR(st.st_mode)) return -EACCES;
  if (access(path, X_OK) < 0) return -errno;
  return 0;
}

/* Resolve args[0] as execvp would, inside the container, as the container's user. */
static void resolve_exec(const struct plan *p, char *out, size_t cap) {
  if (p->nargs == 0) die("process.args must not be empty", NULL, EINVAL);
  const char *a0 = p->args[0];
  struct sb b = { out, cap, 0 };
  if (strchr(a0, '/')) {
    sb_str(&b, a0);
    int r = is_executable(out);
    if (r < 0) die("exec:", a0, -r);
    return;
  }
  const char *path = env_get(p, "PATH");
  if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  int last_err = ENOENT;
  while (1) {
    const char *end = strchr(path, ':');
    size_t len = end ? (size_t)(end - path) : str_len(path);
    b.len = 0;
    if (len == 0) sb_str(&b, ".");
    else { char dir[4096]; if (len >= sizeof dir) len = sizeof dir - 1; memcpy(dir, path, len); dir[len] = 0; sb_str(&b, dir); }
    sb_str(&b, "/");
    sb_str(&b, a0);
    int r = is_executable(out);
    if (r == 0) return;
    if (r == -EACCES) last_err = EACCES;
    if (!end) break;
    path = end + 1;
  }
  char msg[600];
  struct sb m = { msg, sizeof msg, 0 };
  sb_str(&m, "\""); sb_str(&m, a0); sb_str(&m, "\": executable file not found in $PATH");
  die("exec:", msg, last_err == EACCES ? EACCES : 0);
}

/* Block until `bunc start` writes to the exec fifo. The fifo was opened O_RDONLY|O_NONBLOCK by
 * the parent: poll sees POLLIN only once a writer has written, and needs no path in the rootfs. */
static void wait_exec_fifo(const struct plan *p) {
  if (p->exec_fifo_fd < 0) return;
  struct pollfd pf = { p->exec_fifo_fd, POLLIN, 0 };
  for (;;) {
    int r = poll(&pf, 1, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("wait for start: poll exec fifo", NULL, errno);
    char c;
    ssize_t n = read(p->exec_fifo_fd, &c, 1);
    if (n == 1) break;
    if (n < 0 && errno == EAGAIN) continue;
    if (n == 0) { struct timespec ts = { 0, 1000000 }; nanosleep(&ts, NULL); continue; }
    die("wait for start: read exec fifo", NULL, errno);
  }
  close(p->exec_fifo_fd);
}

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

static int wants_listener(const struct plan *p) {
  return p->seccomp && (p->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
}

static void load_seccomp(const struct plan *p) {
  static int loaded;
  if (!p->seccomp || loaded) return;
  struct sock_fprog prog = { (unsigned short)(p->seccomp_len / 8), (struct sock_filter *)(uintptr_t)p->seccomp };
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->seccomp_flags, &prog);
  if (r < 0) die("seccomp: load filter", NULL, errno);
  loaded = 1;
  if (wants_listener(p)) {
    /* SCMP_ACT_NOTIFY: r is the listener; bunc hands it to the agent at linux.seccomp.listenerPath. */
    if (sync_send_fd(g_sync_fd, SYNC_SECCOMP, (int)r) < 0) die("seccomp: send the listener fd to bunc", NULL, errno);
    close((int)r);
  }
}

/* HOME as runc sets it when the environment has none: the user's home in the container's
 * /etc/passwd, or "/". Read after pivot_root (or the mount namespace join), as root. */
static void default_home(struct plan *p) {
  if (env_get(p, "HOME") || p->nenv >= PLAN_MAX_STRV) return;
  static char passwd[65536], home[4096 + 6];
  struct sb h = { home, sizeof home, 0 };
  sb_str(&h, "HOME=");
  size_t prefix = h.len;
  int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd >= 0) {
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof passwd - 1 && (r = read(fd, passwd + n, sizeof passwd - 1 - (size_t)n)) > 0) n += r;
    close(fd);
    passwd[n > 0 ? n : 0] = 0;
    uint32_t uid = p->has_user ? p->uid : 0;
    for (char *line = passwd; line && *line; ) {
      char *next = strchr(line, '\n');
      if (next) *next++ = 0;
      /* name:password:uid:gid:gecos:home:shell */
      char *f[7] = { line };
      int nf = 1;
      for (char *c = line; *c && nf < 7; c++) if (*c == ':') { *c = 0; f[nf++] = c + 1; }
      if (nf >= 6) {
        char *end = f[2];
        unsigned long v = 0;
        int digits = 0;
        for (; *end >= '0' && *end <= '9'; end++, digits++) v = v * 10 + (unsigned long)(*end - '0');
        if (digits && *end == 0 && v == uid && f[5][0]) { sb_str(&h, f[5]); break; }
      }
      line = next;
    }
  }
  if (h.len == prefix) sb_str(&h, "/");
  p->env_store[p->nenv++] = home;
  p->env_store[p->nenv] = NULL;
  p->env = p->env_store;
}

__attribute__((noreturn)) static void finish_and_exec(struct plan *p) {
  default_home(p);
  if (p->has_personality && personality(p->personality) < 0) die("personality", NULL, errno);
  if (p->terminal) setup_terminal(p);
  apply_scheduling(p);
  apply_lsm_labels(p);
  /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we still have it
   * (runc does the same); the profile must then allow what the rest of the setup calls. */
  if (!p->no_new_privs) load_seccomp(p);
  drop_bounding(p);
  switch_user(p);
  apply_caps(p);
  if (p->cwd && chdir(p->cwd) < 0) die("chdir to cwd", p->cwd, errno);
  /* CVE-2024-21626: make sure the cwd is inside the container, not a leaked host directory
   * (e.g. process.cwd "/proc/self/fd/N"): the kernel's getcwd then says "(unreachable)/...". */
  static char cwdbuf[4096];
  long cw = syscall(SYS_getcwd, cwdbuf, sizeof cwdbuf);
  if ((cw < 0 && errno == ENOENT) || (cw > 0 && cwdbuf[0] != '/'))
    die("process.cwd is outside the container:", p->cwd, ENOENT);
  umask(p->umask >= 0 ? (mode_t)p->umask : 022);
  static char exe[4096];
  /* bunc's pause ignores process.args: nothing to look up. */
  if (!str_eq(p->init_mode, "pause")) resolve_exec(p, exe, sizeof exe);
  /* Nothing of bunc's may reach the user process: every fd past stdio + preserved is closed at exec. */
  syscall(SYS_close_range, 3 + p->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
  if (wants_listener(p) && p->no_new_privs) {
    /* The listener must reach bunc before `create` returns (as runc): load the filter now. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("set no_new_privs", NULL, errno);
    load_seccomp(p);
  }
  if (p->mode == MODE_CREATE) {
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0); /* `create` exits now; the container lives on */
    if (sync_send(g_sync_fd, SYNC_READY, 0) < 0) _exit(1);
    wait_exec_fifo(p);
  }
  /* The process outlives bunc (exec --detach, create): no death signal from here on. */
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  run_hooks(p, HOOK_START_CONTAINER);
  if (p->no_new_privs) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("set no_new_privs", NULL, errno);
    load_seccomp(p); /* the last step before exec */
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (p->init_fd >= 0) {
    /* Exec through the sealed memfd of bunc-init, so the pre-exec image is never the host's
     * bunc binary (CVE-2019-5736); in "init"/"pause" mode it also stays as PID 1. */
    static const char *argv[PLAN_MAX_STRV + 4];
    argv[0] = "bunc-init";
    argv[1] = p->init_mode;
    argv[2] = exe;
    int i = 0;
    for (; i < p->nargs && i < PLAN_MAX_STRV; i++) argv[3 + i] = p->args[i];
    argv[3 + i] = NULL;
    syscall(SYS_execveat, p->init_fd, "", argv, p->env, AT_EMPTY_PATH);
    die("exec bunc-init", NULL, errno);
  }
  execve(exe, (char *const *)p->args, (char *const *)p->env);
  die("exec:", exe, errno);
}

/* Put the given fds on 0, 1, 2 (through high copies, so a source that is itself 0-2 survives). */
static void apply_stdio(const struct plan *p) {
  if (!p->has_stdio) return;
  int tmp[3];
  for (int i = 0; i < 3; i++) {
    tmp[i] = fcntl(p->stdio[i], F_DUPFD_CLOEXEC, 64);
    if (tmp[i] < 0) die("stdio: duplicate fd", NULL, errno);
  }
  for (int i = 0; i < 3; i++) {
    if (dup2(tmp[i], i) < 0) die("stdio: dup2", NULL, errno);
    close(tmp[i]);
  }
}

/* Join the v1 cgroups by writing "0" (this thread) to each hierarchy's tasks file: a thread moving
 * itself does not take the kernel's global threadgroup lock (no RCU grace period to wait for). */
static void join_cgroups(const struct plan *p) {
  for (int i = 0; i < p->ncgroup_fds; i++) {
    if (write(p->cgroup_fds[i], "0", 1) < 0) die("join cgroup (write tasks)", NULL, errno);
    close(p->cgroup_fds[i]);
  }
}

/* MODE_USERNS: hold the user namespace clone made until the parent sends a message (or is gone). */
__attribute__((noreturn)) static void hold_userns(const struct plan *p) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  char c;
  while (read(p->sync_fd, &c, 1) < 0 && errno == EINTR) {}
  _exit(0);
}

/* A session keyring of the container's own, so it does not share (or read) the caller's; made
 * searchable for its user, as runc does. Kernels without keyrings (ENOSYS) are fine. */
static void join_keyring(const struct plan *p) {
  if (!p->keyring) return;
  long id = syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, p->keyring);
  if (id < 0) {
    if (errno == ENOSYS) return;
    die("join session keyring", p->keyring, errno);
  }
  char desc[512];
  long n = syscall(SYS_keyctl, 6 /* KEYCTL_DESCRIBE */, id, desc, sizeof desc - 1);
  if (n < 0) die("describe session keyring", p->keyring, errno);
  desc[n < (long)sizeof desc ? n : (long)sizeof desc - 1] = 0;
  /* "type;uid;gid;perm;description": the perm field is hex */
  const char *f = desc;
  for (int i = 0; i < 3 && f; i++) { f = strchr(f, ';'); if (f) f++; }
  unsigned long perm = 0;
  for (; f && *f && *f != ';'; f++) {
    int d = (*f >= '0' && *f <= '9') ? *f - '0' : (*f >= 'a' && *f <= 'f') ? *f - 'a' + 10 : -1;
    if (d < 0) break;
    perm = perm * 16 + (unsigned long)d;
  }
  if (syscall(SYS_keyctl, 5 /* KEYCTL_SETPERM */, id, perm | 0x080000 /* KEY_USR_SEARCH */) < 0)
    die("set session keyring permissions", p->keyring, errno);
}

void child_main(struct plan *p) {
  g_sync_fd = p->sync_fd;
  /* A new user namespace, and the namespaces it owns, are ours to make (bunc cloned us without
   * them, see bunc_spawn); bunc writes the maps when we say so, before GO. A new pid namespace
   * then takes the fork below, as a joined one does. */
  int deferred_pid = 0;
  if (p->clone_flags & CLONE_NEWUSER) {
    /* Namespaces given by path are joined before: in the new user namespace we would have no
     * capability over them. */
    join_namespaces(p, &deferred_pid);
    p->nns = 0;
    if (unshare((int)p->clone_flags) < 0) die("create the user namespace (and the namespaces it owns)", NULL, errno);
    deferred_pid = (p->clone_flags & CLONE_NEWPID) != 0;
    if (sync_send(g_sync_fd, SYNC_USERNS, 0) < 0) _exit(1);
  }
  if (p->mode == MODE_USERNS) hold_userns(p);
  reset_signals();
  apply_stdio(p);
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  open_host_proc();
  /* Not dumpable until execve: a container process cannot ptrace us or open /proc/<pid>/exe.
   * Unprivileged (rootless), we stay dumpable until GO: our /proc/<pid>/uid_map must belong to
   * our user for bunc or newuidmap to write it; nothing of a container can see us before GO. */
  if (geteuid() == 0) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  /* create: the parent attaches us to the cgroup while we set up (we wait again before hooks);
   * exec: it has attached us already, so the process forked below inherits the cgroup. */
  sync_expect(g_sync_fd, SYNC_GO);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  join_cgroups(p); /* before any namespace join: a forked process must inherit the cgroup */
  int joined_pid = deferred_pid;
  join_namespaces(p, &joined_pid);
  become_userns_root(p);
  if (p->unshare_flags) {
    /* New namespaces owned by the user namespace we just joined; a new pid namespace takes the
     * fork below, as a joined one does. */
    if (unshare((int)p->unshare_flags) < 0) die("create namespaces in the joined user namespace", NULL, errno);
    if (p->unshare_flags & CLONE_NEWPID) joined_pid = 1;
  }
  if (joined_pid) {
    /* setns(CLONE_NEWPID) only applies to children: fork once more; the grandchild is a child
     * of bunc (CLONE_PARENT) and is the container's process. */
    long pid = raw_clone(CLONE_PARENT | SIGCHLD);
    if (pid < 0) die("fork into the pid namespace", NULL, (int)-pid);
    if (pid > 0) {
      sync_send(g_sync_fd, SYNC_PID, pid);
      _exit(0);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* not inherited across fork */
  }
  /* A session (and process group) of its own, as runc's process gets: a Ctrl-C at the caller's
   * terminal reaches bunc, which forwards it, not the container directly. */
  if (setsid() < 0 && errno != EPERM) die("setsid", NULL, errno);
  enter_time_ns(p);
  join_keyring(p);
  set_oom_score_adj(p);
  apply_rlimits(p);
  if (p->mode == MODE_CREATE) {
    umask(0);
    if (p->hostname && sethostname(p->hostname, str_len(p->hostname)) < 0) die("sethostname", p->hostname, errno);
    if (p->domainname && setdomainname(p->domainname, str_len(p->domainname)) < 0) die("setdomainname", p->domainname, errno);
    int rootfd = setup_rootfs(p);
    /* prestart and createRuntime hooks run in the parent, now that the namespaces and mounts exist. */
    if (sync_send(g_sync_fd, SYNC_HOOKS, 0) < 0) _exit(1);
    sync_expect(g_sync_fd, SYNC_GO); /* the parent has also put us in our cgroup by now */
    if (p->cgroup_ns_after && unshare(CLONE_NEWCGROUP) < 0) die("create cgroup namespace", NULL, errno);
    run_hooks(p, HOOK_CREATE_CONTAINER);
    finish_rootfs(rootfd, p);
    enter_rootfs(rootfd, p);
    close(rootfd);
    apply_sysctls(p);
  }
  finish_and_exec(p);
}
