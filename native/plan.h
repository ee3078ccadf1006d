/*
 * The plan: the contract between the TypeScript side (which parses and validates the config)
 * and the C child (which runs after clone and must not parse, allocate or lock).
 *
 * Wire format (little-endian), encoded by src/linux/plan-encode.ts:
 *   header:  u32 magic 'BPLN', u32 version, u32 total length
 *   records: u16 tag, u16 count, u32 length, payload[length], padded to 4 bytes
 * A payload is a run of fields: fixed-size integers first, then NUL-terminated strings.
 * "count" is the number of strings in the payload.
 * The decoder (plan.c) only points into the buffer; it never copies or allocates.
 */
#ifndef BUNC_PLAN_H
#define BUNC_PLAN_H
#include <stdint.h>
#include <stddef.h>

#define PLAN_MAGIC 0x4e4c5042u /* "BPLN" */
#define PLAN_VERSION 1u

enum plan_tag {
  T_MODE = 1,          /* u32 mode (MODE_CREATE / MODE_EXEC) */
  T_CLONE_FLAGS,       /* u64 CLONE_NEW* flags for the child's clone */
  T_NS_JOIN,           /* i32 nstype (CLONE_NEW*), i32 fd: setns in record order */
  T_SYNC_FD,           /* i32 fd: the child's end of the sync socket */
  T_ROOTFS,            /* str absolute host path of the rootfs */
  T_ROOTFS_PROPAGATION,/* u32 MS_* flags for "/" (default MS_SLAVE|MS_REC) */
  T_ROOT_READONLY,     /* no payload */
  T_NO_PIVOT,          /* no payload */
  T_MOUNT,             /* u32 flags, u32 clear, u32 kind, u32 nprop, u32 prop[4], u32 attr_set, u32 attr_clr,
                          i32 srcfd (a detached mount tree made by the parent, e.g. idmapped, moved into place
                          instead of a bind of source; -1 none); str source, str target (absolute in
                          container), str fstype, str data */
  T_DEVICE,            /* u32 type (S_IFCHR..), u32 major, u32 minor, u32 mode, u32 uid, u32 gid, u32 bind; str path */
  T_SYMLINK,           /* str target (what it points to), str linkpath (in container) */
  T_MASKED,            /* str path */
  T_READONLY_PATH,     /* str path */
  T_HOSTNAME,          /* str */
  T_DOMAINNAME,        /* str */
  T_SYSCTL,            /* str key (dotted or slashed), str value */
  T_ARGS,              /* strs */
  T_ENV,               /* strs */
  T_CWD,               /* str */
  T_USER,              /* u32 uid, u32 gid, i32 umask (-1 keep), u32 ngroups, u32 groups[ngroups] */
  T_RLIMIT,            /* u32 resource, u64 soft, u64 hard */
  T_CAPS,              /* u64 bounding, effective, inheritable, permitted, ambient */
  T_NO_NEW_PRIVS,      /* no payload */
  T_OOM_SCORE_ADJ,     /* i32 */
  T_SECCOMP,           /* u32 flags, u32 nbytes, bytes (struct sock_filter[]) */
  T_EXEC_FIFO_FD,      /* i32 fd (O_RDONLY|O_NONBLOCK of <state>/exec.fifo) */
  T_INIT_FD,           /* i32 fd of the sealed memfd holding bunc-init; str mode ("exec", "init", "pause") */
  T_TERMINAL,          /* i32 console socket fd (-1: send the pty master over the sync socket) */
  T_PRESERVE_FDS,      /* u32 count of fds after stdio kept open */
  T_HOOK,              /* u32 kind (HOOK_*), u32 timeout seconds (0 none), u32 nargs, u32 nenv; str path, str state, args..., env... */
  T_CONSOLE_SIZE,      /* u32 rows, u32 cols */
  T_PERSONALITY,       /* u32 persona */
  T_CGROUP_TASKS_FD,   /* i32 fd of a v1 hierarchy's "tasks" file: the child writes "0" to join */
  T_CGROUP_NS_AFTER,   /* no payload: unshare(CLONE_NEWCGROUP) after the parent attached the cgroup */
  T_APPARMOR,          /* str profile */
  T_SELINUX,           /* str label */
  T_MOUNT_LABEL,       /* str label */
  T_IOPRIO,            /* u32 value for ioprio_set */
  T_SCHEDULER,         /* u32 policy, i32 nice, u32 priority, u64 flags, u64 runtime, u64 deadline, u64 period */
  T_STDIO,             /* i32 fd x3: the container process's stdin, stdout, stderr (default: inherited) */
  T_TIME_NS,           /* no payload: unshare(CLONE_NEWTIME); the exec'd process enters it */
  T_TIME_OFFSET,       /* u32 clock (CLOCK_MONOTONIC / CLOCK_BOOTTIME), i64 secs, u32 nsecs: timens_offsets */
  T_KEYRING,           /* str name of the session keyring to join (absent: --no-new-keyring) */
  T_CGROUP_INTO_FD,    /* i32 fd of a cgroup2 directory: clone3(CLONE_INTO_CGROUP) puts the child there at birth */
  T_UNSHARE_FLAGS,     /* u64 CLONE_NEW* flags the child unshares after its setns calls (a user namespace
                          joined by path must own the namespaces made for the container) */
  T_TAG_MAX
};

/* MODE_USERNS: a helper that only sits in the user namespace clone made for it (the parent writes its
 * maps and opens /proc/<pid>/ns/user, e.g. for an idmapped mount) until a message on the sync socket. */
enum plan_mode { MODE_CREATE = 1, MODE_EXEC = 2, MODE_USERNS = 3 };

/* mount kinds (bits of T_MOUNT's "kind") */
#define MK_BIND        0x1u  /* bind / rbind: source is a host path */
#define MK_FILE        0x2u  /* target must be a file (bind of a non-directory) */
#define MK_REMOUNT     0x4u  /* flags need a remount after the bind (ro, nosuid, ...) */
#define MK_CGROUP      0x8u  /* "cgroup" type: bind the container's cgroup view read-only */
#define MK_TMPCOPYUP   0x10u /* tmpfs: copy the underlying contents up */
#define MK_PROC        0x20u /* procfs: mount only where the target is a plain directory */
#define MK_REC_ATTR    0x40u /* apply attr_set/attr_clr recursively with mount_setattr */
#define MK_REMOUNT_ONLY 0x80u /* no new mount: remount the mount at target with flags (e.g. the cgroup tmpfs read-only) */
#define MK_SYSFS       0x100u /* sysfs: fall back to a recursive bind of /sys when the kernel refuses a new sysfs */

enum hook_kind { HOOK_CREATE_CONTAINER = 1, HOOK_START_CONTAINER = 2 };

#define PLAN_MAX_NS 8
#define PLAN_MAX_MOUNTS 256
#define PLAN_MAX_DEVICES 256
#define PLAN_MAX_PATHS 128
#define PLAN_MAX_SYMLINKS 16
#define PLAN_MAX_SYSCTL 128
#define PLAN_MAX_STRV 4096
#define PLAN_MAX_GROUPS 64
#define PLAN_MAX_RLIMITS 16
#define PLAN_MAX_HOOKS 32
#define PLAN_MAX_HOOK_ARGS 64
#define PLAN_MAX_CGROUP_FDS 16
#define PLAN_MAX_TIME_OFFSETS 2

struct plan_mount {
  uint32_t flags, clear, kind, nprop, prop[4], attr_set, attr_clr;
  int32_t srcfd;
  const char *source, *target, *fstype, *data;
};

struct plan_device {
  uint32_t type, major, minor, mode, uid, gid, bind;
  const char *path;
};

struct plan_hook {
  uint32_t kind, timeout;
  const char *path, *state;
  const char *argv[PLAN_MAX_HOOK_ARGS + 1];
  const char *envp[PLAN_MAX_HOOK_ARGS + 1];
};

struct plan {
  uint32_t mode;
  uint64_t clone_flags;
  int nns;
  struct { int type, fd; } ns[PLAN_MAX_NS];
  int sync_fd;
  const char *rootfs;
  uint32_t rootfs_propagation;
  int root_readonly, no_pivot;
  int nmounts;
  struct plan_mount mounts[PLAN_MAX_MOUNTS];
  int ndevices;
  struct plan_device devices[PLAN_MAX_DEVICES];
  int nsymlinks;
  struct { const char *target, *linkpath; } symlinks[PLAN_MAX_SYMLINKS];
  int nmasked, nreadonly;
  const char *masked[PLAN_MAX_PATHS], *readonly[PLAN_MAX_PATHS];
  const char *hostname, *domainname;
  int nsysctl;
  struct { const char *key, *value; } sysctl[PLAN_MAX_SYSCTL];
  int nargs, nenv;
  const char **args, **env; /* point into argv_store / env_store, NULL-terminated */
  const char *argv_store[PLAN_MAX_STRV + 1];
  const char *env_store[PLAN_MAX_STRV + 1];
  const char *cwd;
  int has_user;
  uint32_t uid, gid;
  int32_t umask;
  int ngroups;
  uint32_t groups[PLAN_MAX_GROUPS];
  int nrlimits;
  struct { uint32_t resource; uint64_t soft, hard; } rlimits[PLAN_MAX_RLIMITS];
  int has_caps;
  uint64_t cap_bounding, cap_effective, cap_inheritable, cap_permitted, cap_ambient;
  int no_new_privs;
  int has_oom_score_adj;
  int32_t oom_score_adj;
  uint32_t seccomp_flags, seccomp_len;
  const uint8_t *seccomp;
  int exec_fifo_fd;
  int init_fd;
  const char *init_mode;
  int terminal, console_fd;
  uint32_t console_rows, console_cols;
  uint32_t preserve_fds;
  int nhooks;
  struct plan_hook hooks[PLAN_MAX_HOOKS];
  int has_personality;
  uint32_t personality;
  int cgroup_ns_after;
  const char *apparmor, *selinux, *mount_label;
  int has_ioprio;
  uint32_t ioprio;
  int has_scheduler;
  uint32_t sched_policy, sched_priority;
  int32_t sched_nice;
  uint64_t sched_flags, sched_runtime, sched_deadline, sched_period;
  int ncgroup_fds;
  int cgroup_fds[PLAN_MAX_CGROUP_FDS];
  const char *keyring;
  int has_cgroup_into;
  int cgroup_into_fd;
  uint64_t unshare_flags;
  int has_stdio;
  int stdio[3];
  int time_ns;
  int ntime_offsets;
  struct { uint32_t clock; int64_t secs; uint32_t nsecs; } time_offsets[PLAN_MAX_TIME_OFFSETS];
};

/* Decode buf into p (p must be zeroed by the caller). Returns 0 or -EINVAL / -E2BIG. */
int plan_decode(const uint8_t *buf, size_t len, struct plan *p);
/* Write a canonical, line-per-field text description of p (for the round-trip test). */
long plan_describe(const struct plan *p, char *out, size_t cap);

#endif
