/* Decoder for the plan (see plan.h). Runs in the parent, before clone: it only fills a
 * struct with pointers into the buffer, so the child can walk it without allocating. */
#include "plan.h"
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <stdarg.h>

struct cursor {
  const uint8_t *p, *end;
  int bad;
};

static uint32_t get_u32(struct cursor *c) {
  uint32_t v = 0;
  if (c->end - c->p < 4) { c->bad = 1; return 0; }
  memcpy(&v, c->p, 4);
  c->p += 4;
  return v;
}

static uint64_t get_u64(struct cursor *c) {
  uint64_t v = 0;
  if (c->end - c->p < 8) { c->bad = 1; return 0; }
  memcpy(&v, c->p, 8);
  c->p += 8;
  return v;
}

static const char *get_str(struct cursor *c) {
  const uint8_t *nul = memchr(c->p, 0, (size_t)(c->end - c->p));
  if (!nul) { c->bad = 1; return ""; }
  const char *s = (const char *)c->p;
  c->p = nul + 1;
  return s;
}

/* Read n strings into dst (NULL-terminated); fails if more than max. */
static int get_strv(struct cursor *c, const char **dst, uint32_t n, uint32_t max) {
  if (n > max) return -E2BIG;
  for (uint32_t i = 0; i < n; i++) dst[i] = get_str(c);
  dst[n] = NULL;
  return 0;
}

#define NEED(cond) do { if (!(cond)) return -E2BIG; } while (0)

static int decode_record(uint16_t tag, uint16_t count, struct cursor *c, struct plan *p) {
  switch (tag) {
  case T_MODE: p->mode = get_u32(c); break;
  case T_CLONE_FLAGS: p->clone_flags = get_u64(c); break;
  case T_NS_JOIN:
    NEED(p->nns < PLAN_MAX_NS);
    p->ns[p->nns].type = (int)get_u32(c);
    p->ns[p->nns].fd = (int)get_u32(c);
    p->nns++;
    break;
  case T_SYNC_FD: p->sync_fd = (int)get_u32(c); break;
  case T_ROOTFS: p->rootfs = get_str(c); break;
  case T_ROOTFS_PROPAGATION: p->rootfs_propagation = get_u32(c); break;
  case T_ROOT_READONLY: p->root_readonly = 1; break;
  case T_NO_PIVOT: p->no_pivot = 1; break;
  case T_MOUNT: {
    NEED(p->nmounts < PLAN_MAX_MOUNTS);
    struct plan_mount *m = &p->mounts[p->nmounts++];
    m->flags = get_u32(c); m->clear = get_u32(c); m->kind = get_u32(c); m->nprop = get_u32(c);
    for (int i = 0; i < 4; i++) m->prop[i] = get_u32(c);
    if (m->nprop > 4) return -EINVAL;
    m->attr_set = get_u32(c); m->attr_clr = get_u32(c); m->srcfd = (int32_t)get_u32(c);
    m->source = get_str(c); m->target = get_str(c); m->fstype = get_str(c); m->data = get_str(c);
    break;
  }
  case T_DEVICE: {
    NEED(p->ndevices < PLAN_MAX_DEVICES);
    struct plan_device *d = &p->devices[p->ndevices++];
    d->type = get_u32(c); d->major = get_u32(c); d->minor = get_u32(c); d->mode = get_u32(c);
    d->uid = get_u32(c); d->gid = get_u32(c); d->bind = get_u32(c);
    d->path = get_str(c);
    break;
  }
  case T_SYMLINK:
    NEED(p->nsymlinks < PLAN_MAX_SYMLINKS);
    p->symlinks[p->nsymlinks].target = get_str(c);
    p->symlinks[p->nsymlinks].linkpath = get_str(c);
    p->nsymlinks++;
    break;
  case T_MASKED: NEED(p->nmasked < PLAN_MAX_PATHS); p->masked[p->nmasked++] = get_str(c); break;
  case T_READONLY_PATH: NEED(p->nreadonly < PLAN_MAX_PATHS); p->readonly[p->nreadonly++] = get_str(c); break;
  case T_HOSTNAME: p->hostname = get_str(c); break;
  case T_DOMAINNAME: p->domainname = get_str(c); break;
  case T_SYSCTL:
    NEED(p->nsysctl < PLAN_MAX_SYSCTL);
    p->sysctl[p->nsysctl].key = get_str(c);
    p->sysctl[p->nsysctl].value = get_str(c);
    p->nsysctl++;
    break;
  case T_ARGS: {
    int r = get_strv(c, p->argv_store, count, PLAN_MAX_STRV);
    if (r) return r;
    p->nargs = count; p->args = p->argv_store;
    break;
  }
  case T_ENV: {
    int r = get_strv(c, p->env_store, count, PLAN_MAX_STRV);
    if (r) return r;
    p->nenv = count; p->env = p->env_store;
    break;
  }
  case T_CWD: p->cwd = get_str(c); break;
  case T_USER:
    p->has_user = 1;
    p->uid = get_u32(c); p->gid = get_u32(c); p->umask = (int32_t)get_u32(c);
    p->ngroups = (int)get_u32(c);
    NEED(p->ngroups <= PLAN_MAX_GROUPS);
    for (int i = 0; i < p->ngroups; i++) p->groups[i] = get_u32(c);
    break;
  case T_RLIMIT:
    NEED(p->nrlimits < PLAN_MAX_RLIMITS);
    p->rlimits[p->nrlimits].resource = get_u32(c);
    p->rlimits[p->nrlimits].soft = get_u64(c);
    p->rlimits[p->nrlimits].hard = get_u64(c);
    p->nrlimits++;
    break;
  case T_CAPS:
    p->has_caps = 1;
    p->cap_bounding = get_u64(c); p->cap_effective = get_u64(c); p->cap_inheritable = get_u64(c);
    p->cap_permitted = get_u64(c); p->cap_ambient = get_u64(c);
    break;
  case T_NO_NEW_PRIVS: p->no_new_privs = 1; break;
  case T_OOM_SCORE_ADJ: p->has_oom_score_adj = 1; p->oom_score_adj = (int32_t)get_u32(c); break;
  case T_SECCOMP:
    p->seccomp_flags = get_u32(c);
    p->seccomp_len = get_u32(c);
    if ((size_t)(c->end - c->p) < p->seccomp_len || p->seccomp_len % 8) return -EINVAL;
    p->seccomp = c->p;
    c->p += p->seccomp_len;
    break;
  case T_EXEC_FIFO_FD: p->exec_fifo_fd = (int)get_u32(c); break;
  case T_INIT_FD: p->init_fd = (int)get_u32(c); p->init_mode = get_str(c); break;
  case T_TERMINAL: p->terminal = 1; p->console_fd = (int)get_u32(c); break;
  case T_CONSOLE_SIZE: p->console_rows = get_u32(c); p->console_cols = get_u32(c); break;
  case T_PRESERVE_FDS: p->preserve_fds = get_u32(c); break;
  case T_HOOK: {
    NEED(p->nhooks < PLAN_MAX_HOOKS);
    struct plan_hook *h = &p->hooks[p->nhooks++];
    h->kind = get_u32(c); h->timeout = get_u32(c);
    uint32_t nargs = get_u32(c), nenv = get_u32(c);
    h->path = get_str(c); h->state = get_str(c);
    int r = get_strv(c, h->argv, nargs, PLAN_MAX_HOOK_ARGS);
    if (!r) r = get_strv(c, h->envp, nenv, PLAN_MAX_HOOK_ARGS);
    if (r) return r;
    break;
  }
  case T_PERSONALITY: p->has_personality = 1; p->personality = get_u32(c); break;
  case T_CGROUP_NS_AFTER: p->cgroup_ns_after = 1; break;
  case T_APPARMOR: p->apparmor = get_str(c); break;
  case T_SELINUX: p->selinux = get_str(c); break;
  case T_MOUNT_LABEL: p->mount_label = get_str(c); break;
  case T_IOPRIO: p->has_ioprio = 1; p->ioprio = get_u32(c); break;
  case T_SCHEDULER:
    p->has_scheduler = 1;
    p->sched_policy = get_u32(c); p->sched_nice = (int32_t)get_u32(c); p->sched_priority = get_u32(c);
    p->sched_flags = get_u64(c); p->sched_runtime = get_u64(c); p->sched_deadline = get_u64(c); p->sched_period = get_u64(c);
    break;
  case T_CGROUP_TASKS_FD:
    NEED(p->ncgroup_fds < PLAN_MAX_CGROUP_FDS);
    p->cgroup_fds[p->ncgroup_fds++] = (int)get_u32(c);
    break;
  case T_CGROUP_INTO_FD: p->has_cgroup_into = 1; p->cgroup_into_fd = (int)get_u32(c); break;
  case T_UNSHARE_FLAGS: p->unshare_flags = get_u64(c); break;
  case T_KEYRING: p->keyring = get_str(c); break;
  case T_STDIO:
    p->has_stdio = 1;
    for (int i = 0; i < 3; i++) p->stdio[i] = (int)get_u32(c);
    break;
  case T_TIME_NS: p->time_ns = 1; break;
  case T_TIME_OFFSET:
    NEED(p->ntime_offsets < PLAN_MAX_TIME_OFFSETS);
    p->time_offsets[p->ntime_offsets].clock = get_u32(c);
    p->time_offsets[p->ntime_offsets].secs = (int64_t)get_u64(c);
    p->time_offsets[p->ntime_offsets].nsecs = get_u32(c);
    p->ntime_offsets++;
    break;
  default:
    return -EINVAL; /* an unknown tag means encoder and decoder disagree: refuse */
  }
  return c->bad ? -EINVAL : 0;
}

int plan_decode(const uint8_t *buf, size_t len, struct plan *p) {
  struct cursor c = { buf, buf + len, 0 };
  if (get_u32(&c) != PLAN_MAGIC || get_u32(&c) != PLAN_VERSION || get_u32(&c) != len) return -EINVAL;
  p->sync_fd = p->exec_fifo_fd = p->init_fd = p->console_fd = -1;
  p->umask = -1;
  static const char *empty[1] = { NULL };
  p->args = p->env = empty;
  while (c.p < c.end) {
    uint32_t hdr = get_u32(&c), rlen = get_u32(&c);
    if (c.bad || (size_t)(c.end - c.p) < rlen) return -EINVAL;
    struct cursor rc = { c.p, c.p + rlen, 0 };
    int r = decode_record((uint16_t)(hdr & 0xffff), (uint16_t)(hdr >> 16), &rc, p);
    if (r) return r;
    if (rc.p != rc.end) return -EINVAL; /* every byte of a record must be consumed */
    c.p += (rlen + 3) & ~3u;
  }
  return 0;
}

/* ---- description for the round-trip test: one "name value" line per field ---- */

struct out { char *buf; size_t cap, len; };

static void put(struct out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->buf + o->len, o->len < o->cap ? o->cap - o->len : 0, fmt, ap);
  va_end(ap);
  if (n > 0) o->len += (size_t)n;
}

static void put_strv(struct out *o, const char *name, const char *const *v) {
  put(o, "%s", name);
  for (; v && *v; v++) put(o, " [%s]", *v);
  put(o, "\n");
}

long plan_describe(const struct plan *p, char *buf, size_t cap) {
  struct out o = { buf, cap, 0 };
  put(&o, "mode %u\nclone_flags %llu\n", p->mode, (unsigned long long)p->clone_flags);
  for (int i = 0; i < p->nns; i++) put(&o, "ns %d %d\n", p->ns[i].type, p->ns[i].fd);
  put(&o, "sync_fd %d\n", p->sync_fd);
  if (p->rootfs) put(&o, "rootfs [%s]\n", p->rootfs);
  put(&o, "rootfs_propagation %u\nroot_readonly %d\nno_pivot %d\n", p->rootfs_propagation, p->root_readonly, p->no_pivot);
  for (int i = 0; i < p->nmounts; i++) {
    const struct plan_mount *m = &p->mounts[i];
    put(&o, "mount %u %u %u %u", m->flags, m->clear, m->kind, m->nprop);
    for (uint32_t j = 0; j < m->nprop; j++) put(&o, " %u", m->prop[j]);
    put(&o, " %u %u %d [%s] [%s] [%s] [%s]\n", m->attr_set, m->attr_clr, m->srcfd, m->source, m->target, m->fstype, m->data);
  }
  for (int i = 0; i < p->ndevices; i++) {
    const struct plan_device *d = &p->devices[i];
    put(&o, "device %u %u %u %u %u %u %u [%s]\n", d->type, d->major, d->minor, d->mode, d->uid, d->gid, d->bind, d->path);
  }
  for (int i = 0; i < p->nsymlinks; i++) put(&o, "symlink [%s] [%s]\n", p->symlinks[i].target, p->symlinks[i].linkpath);
  for (int i = 0; i < p->nmasked; i++) put(&o, "masked [%s]\n", p->masked[i]);
  for (int i = 0; i < p->nreadonly; i++) put(&o, "readonly [%s]\n", p->readonly[i]);
  if (p->hostname) put(&o, "hostname [%s]\n", p->hostname);
  if (p->domainname) put(&o, "domainname [%s]\n", p->domainname);
  for (int i = 0; i < p->nsysctl; i++) put(&o, "sysctl [%s] [%s]\n", p->sysctl[i].key, p->sysctl[i].value);
  put_strv(&o, "args", p->args);
  put_strv(&o, "env", p->env);
  if (p->cwd) put(&o, "cwd [%s]\n", p->cwd);
  if (p->has_user) {
    put(&o, "user %u %u %d", p->uid, p->gid, p->umask);
    for (int i = 0; i < p->ngroups; i++) put(&o, " %u", p->groups[i]);
    put(&o, "\n");
  }
  for (int i = 0; i < p->nrlimits; i++)
    put(&o, "rlimit %u %llu %llu\n", p->rlimits[i].resource, (unsigned long long)p->rlimits[i].soft, (unsigned long long)p->rlimits[i].hard);
  if (p->has_caps)
    put(&o, "caps %llu %llu %llu %llu %llu\n", (unsigned long long)p->cap_bounding, (unsigned long long)p->cap_effective,
        (unsigned long long)p->cap_inheritable, (unsigned long long)p->cap_permitted, (unsigned long long)p->cap_ambient);
  put(&o, "no_new_privs %d\n", p->no_new_privs);
  if (p->has_oom_score_adj) put(&o, "oom_score_adj %d\n", p->oom_score_adj);
  if (p->seccomp) put(&o, "seccomp %u %u\n", p->seccomp_flags, p->seccomp_len);
  put(&o, "exec_fifo_fd %d\n", p->exec_fifo_fd);
  if (p->init_mode) put(&o, "init %d [%s]\n", p->init_fd, p->init_mode);
  if (p->terminal) put(&o, "terminal %d\n", p->console_fd);
  if (p->console_rows || p->console_cols) put(&o, "console_size %u %u\n", p->console_rows, p->console_cols);
  put(&o, "preserve_fds %u\n", p->preserve_fds);
  for (int i = 0; i < p->nhooks; i++) {
    const struct plan_hook *h = &p->hooks[i];
    put(&o, "hook %u %u [%s] [%s]\n", h->kind, h->timeout, h->path, h->state);
    put_strv(&o, "hook_args", h->argv);
    put_strv(&o, "hook_env", h->envp);
  }
  if (p->has_personality) put(&o, "personality %u\n", p->personality);
  if (p->cgroup_ns_after) put(&o, "cgroup_ns_after 1\n");
  if (p->apparmor) put(&o, "apparmor [%s]\n", p->apparmor);
  if (p->selinux) put(&o, "selinux [%s]\n", p->selinux);
  if (p->mount_label) put(&o, "mount_label [%s]\n", p->mount_label);
  if (p->has_ioprio) put(&o, "ioprio %u\n", p->ioprio);
  if (p->has_scheduler)
    put(&o, "scheduler %u %d %u %llu %llu %llu %llu\n", p->sched_policy, p->sched_nice, p->sched_priority,
        (unsigned long long)p->sched_flags, (unsigned long long)p->sched_runtime,
        (unsigned long long)p->sched_deadline, (unsigned long long)p->sched_period);
  for (int i = 0; i < p->ncgroup_fds; i++) put(&o, "cgroup_tasks_fd %d\n", p->cgroup_fds[i]);
  if (p->has_cgroup_into) put(&o, "cgroup_into_fd %d\n", p->cgroup_into_fd);
  if (p->unshare_flags) put(&o, "unshare_flags %llu\n", (unsigned long long)p->unshare_flags);
  if (p->keyring) put(&o, "keyring [%s]\n", p->keyring);
  if (p->has_stdio) put(&o, "stdio %d %d %d\n", p->stdio[0], p->stdio[1], p->stdio[2]);
  if (p->time_ns) put(&o, "time_ns 1\n");
  for (int i = 0; i < p->ntime_offsets; i++)
    put(&o, "time_offset %u %lld %u\n", p->time_offsets[i].clock, (long long)p->time_offsets[i].secs, p->time_offsets[i].nsecs);
  return o.len < cap ? (long)o.len : -E2BIG;
}
