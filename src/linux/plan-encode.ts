// Binary encoder for the plan (format described in native/plan.h; decoder in native/plan.c).
import type { Plan } from "./plan.ts";

const MAGIC = 0x4e4c5042;
const VERSION = 1;

// Tags: keep in the order of enum plan_tag in native/plan.h.
const T = {
  MODE: 1, CLONE_FLAGS: 2, NS_JOIN: 3, SYNC_FD: 4, ROOTFS: 5, ROOTFS_PROPAGATION: 6, ROOT_READONLY: 7,
  NO_PIVOT: 8, MOUNT: 9, DEVICE: 10, SYMLINK: 11, MASKED: 12, READONLY_PATH: 13, HOSTNAME: 14,
  DOMAINNAME: 15, SYSCTL: 16, ARGS: 17, ENV: 18, CWD: 19, USER: 20, RLIMIT: 21, CAPS: 22,
  NO_NEW_PRIVS: 23, OOM_SCORE_ADJ: 24, SECCOMP: 25, EXEC_FIFO_FD: 26, INIT_FD: 27, TERMINAL: 28,
  PRESERVE_FDS: 29, HOOK: 30, CONSOLE_SIZE: 31, PERSONALITY: 32, CGROUP_TASKS_FD: 33, CGROUP_NS_AFTER: 34,
  APPARMOR: 35, SELINUX: 36, MOUNT_LABEL: 37, IOPRIO: 38, SCHEDULER: 39, STDIO: 40,
  TIME_NS: 41, TIME_OFFSET: 42, KEYRING: 43, CGROUP_INTO_FD: 44, UNSHARE_FLAGS: 45,
} as const;

type Field = { u32: number } | { u64: bigint } | { str: string } | { bytes: Uint8Array };

const enc = new TextEncoder();

/** Writes records straight into one growing buffer (start-up time matters: no per-field arrays). */
class Writer {
  private buf = new Uint8Array(16384);
  private dv = new DataView(this.buf.buffer);
  private off = 12;

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.off));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }

  record(tag: number, fields: Field[]): void {
    this.ensure(8);
    const head = this.off;
    this.off += 8;
    let count = 0;
    for (const f of fields) {
      if ("u32" in f) {
        this.ensure(4);
        this.dv.setUint32(this.off, f.u32 >>> 0, true);
        this.off += 4;
      } else if ("u64" in f) {
        this.ensure(8);
        this.dv.setBigUint64(this.off, BigInt.asUintN(64, f.u64), true);
        this.off += 8;
      } else if ("str" in f) {
        if (f.str.includes("\0")) throw new Error(`plan: string contains NUL: ${JSON.stringify(f.str)}`);
        this.ensure(f.str.length * 3 + 1);
        this.off += enc.encodeInto(f.str, this.buf.subarray(this.off)).written;
        this.buf[this.off++] = 0;
        count++;
      } else {
        this.ensure(f.bytes.length);
        this.buf.set(f.bytes, this.off);
        this.off += f.bytes.length;
      }
    }
    const len = this.off - head - 8;
    this.dv.setUint32(head, (tag & 0xffff) | ((count & 0xffff) << 16), true);
    this.dv.setUint32(head + 4, len, true);
    const pad = (4 - (len % 4)) % 4;
    this.ensure(pad);
    this.buf.fill(0, this.off, this.off + pad);
    this.off += pad;
  }

  finish(): Uint8Array {
    this.dv.setUint32(0, MAGIC, true);
    this.dv.setUint32(4, VERSION, true);
    this.dv.setUint32(8, this.off, true);
    return this.buf.slice(0, this.off);
  }
}

const u32 = (v: number): Field => ({ u32: v });
const u64 = (v: bigint): Field => ({ u64: v });
const str = (v: string): Field => ({ str: v });

export function encodePlan(p: Plan): Uint8Array {
  const w = new Writer();
  w.record(T.MODE, [u32(p.mode)]);
  w.record(T.CLONE_FLAGS, [u64(p.cloneFlags)]);
  for (const ns of p.nsJoin) w.record(T.NS_JOIN, [u32(ns.type), u32(ns.fd)]);
  w.record(T.SYNC_FD, [u32(p.syncFd)]);
  if (p.rootfs !== undefined) w.record(T.ROOTFS, [str(p.rootfs)]);
  w.record(T.ROOTFS_PROPAGATION, [u32(p.rootfsPropagation)]);
  if (p.rootReadonly) w.record(T.ROOT_READONLY, []);
  if (p.noPivot) w.record(T.NO_PIVOT, []);
  for (const m of p.mounts) {
    if (m.propagation.length > 4) throw new Error(`plan: mount ${m.target}: more than 4 propagation options`);
    const prop = [...m.propagation, 0, 0, 0, 0].slice(0, 4);
    w.record(T.MOUNT, [
      u32(m.flags), u32(m.clear), u32(m.kind), u32(m.propagation.length), ...prop.map(u32),
      u32(m.attrSet), u32(m.attrClr), u32(m.srcfd ?? -1), str(m.source), str(m.target), str(m.fstype), str(m.data),
    ]);
  }
  for (const d of p.devices)
    w.record(T.DEVICE, [u32(d.type), u32(d.major), u32(d.minor), u32(d.mode), u32(d.uid), u32(d.gid), u32(d.bind ? 1 : 0), str(d.path)]);
  for (const s of p.symlinks) w.record(T.SYMLINK, [str(s.target), str(s.linkpath)]);
  for (const m of p.masked) w.record(T.MASKED, [str(m)]);
  for (const r of p.readonly) w.record(T.READONLY_PATH, [str(r)]);
  if (p.hostname !== undefined) w.record(T.HOSTNAME, [str(p.hostname)]);
  if (p.domainname !== undefined) w.record(T.DOMAINNAME, [str(p.domainname)]);
  for (const s of p.sysctl) w.record(T.SYSCTL, [str(s.key), str(s.value)]);
  w.record(T.ARGS, p.args.map(str));
  w.record(T.ENV, p.env.map(str));
  if (p.cwd !== undefined) w.record(T.CWD, [str(p.cwd)]);
  if (p.user) w.record(T.USER, [u32(p.user.uid), u32(p.user.gid), u32(p.user.umask), u32(p.user.groups.length), ...p.user.groups.map(u32)]);
  for (const r of p.rlimits) w.record(T.RLIMIT, [u32(r.resource), u64(r.soft), u64(r.hard)]);
  if (p.caps) {
    const c = p.caps;
    w.record(T.CAPS, [u64(c.bounding), u64(c.effective), u64(c.inheritable), u64(c.permitted), u64(c.ambient)]);
  }
  if (p.noNewPrivs) w.record(T.NO_NEW_PRIVS, []);
  if (p.oomScoreAdj !== undefined) w.record(T.OOM_SCORE_ADJ, [u32(p.oomScoreAdj)]);
  if (p.seccomp) w.record(T.SECCOMP, [u32(p.seccomp.flags), u32(p.seccomp.filter.length), { bytes: p.seccomp.filter }]);
  w.record(T.EXEC_FIFO_FD, [u32(p.execFifoFd)]);
  if (p.init) w.record(T.INIT_FD, [u32(p.init.fd), str(p.init.mode)]);
  if (p.terminal) w.record(T.TERMINAL, [u32(p.terminal.consoleFd)]);
  if (p.consoleSize) w.record(T.CONSOLE_SIZE, [u32(p.consoleSize.rows), u32(p.consoleSize.cols)]);
  w.record(T.PRESERVE_FDS, [u32(p.preserveFds)]);
  for (const h of p.hooks)
    w.record(T.HOOK, [u32(h.kind), u32(h.timeout), u32(h.args.length), u32(h.env.length), str(h.path), str(h.state), ...h.args.map(str), ...h.env.map(str)]);
  if (p.personality !== undefined) w.record(T.PERSONALITY, [u32(p.personality)]);
  if (p.cgroupNsAfter) w.record(T.CGROUP_NS_AFTER, []);
  if (p.apparmor !== undefined) w.record(T.APPARMOR, [str(p.apparmor)]);
  if (p.selinux !== undefined) w.record(T.SELINUX, [str(p.selinux)]);
  if (p.mountLabel !== undefined) w.record(T.MOUNT_LABEL, [str(p.mountLabel)]);
  if (p.ioprio !== undefined) w.record(T.IOPRIO, [u32(p.ioprio)]);
  if (p.scheduler) {
    const s = p.scheduler;
    w.record(T.SCHEDULER, [u32(s.policy), u32(s.nice), u32(s.priority), u64(s.flags), u64(s.runtime), u64(s.deadline), u64(s.period)]);
  }
  for (const fd of p.cgroupTasksFds) w.record(T.CGROUP_TASKS_FD, [u32(fd)]);
  if (p.cgroupIntoFd !== undefined) w.record(T.CGROUP_INTO_FD, [u32(p.cgroupIntoFd)]);
  if (p.unshareFlags) w.record(T.UNSHARE_FLAGS, [u64(p.unshareFlags)]);
  if (p.keyring !== undefined) w.record(T.KEYRING, [str(p.keyring)]);
  if (p.stdio) w.record(T.STDIO, p.stdio.map(u32));
  if (p.timeNs) {
    w.record(T.TIME_NS, []);
    for (const o of p.timeNs.offsets) w.record(T.TIME_OFFSET, [u32(o.clock), u64(o.secs), u32(o.nsecs)]);
  }
  return w.finish();
}

/** The text native/plan.c's plan_describe() prints for the same plan (round-trip test). */
export function describePlan(p: Plan): string {
  const L: string[] = [];
  const sv = (name: string, v: string[]) => L.push(name + v.map((s) => ` [${s}]`).join(""));
  L.push(`mode ${p.mode}`, `clone_flags ${BigInt.asUintN(64, p.cloneFlags)}`);
  for (const ns of p.nsJoin) L.push(`ns ${ns.type} ${ns.fd}`);
  L.push(`sync_fd ${p.syncFd}`);
  if (p.rootfs !== undefined) L.push(`rootfs [${p.rootfs}]`);
  L.push(`rootfs_propagation ${p.rootfsPropagation}`, `root_readonly ${+p.rootReadonly}`, `no_pivot ${+p.noPivot}`);
  for (const m of p.mounts)
    L.push(`mount ${m.flags >>> 0} ${m.clear >>> 0} ${m.kind} ${m.propagation.length}${m.propagation.map((x) => ` ${x >>> 0}`).join("")} ${m.attrSet} ${m.attrClr} ${m.srcfd ?? -1} [${m.source}] [${m.target}] [${m.fstype}] [${m.data}]`);
  for (const d of p.devices) L.push(`device ${d.type} ${d.major} ${d.minor} ${d.mode} ${d.uid} ${d.gid} ${+d.bind} [${d.path}]`);
  for (const s of p.symlinks) L.push(`symlink [${s.target}] [${s.linkpath}]`);
  for (const m of p.masked) L.push(`masked [${m}]`);
  for (const r of p.readonly) L.push(`readonly [${r}]`);
  if (p.hostname !== undefined) L.push(`hostname [${p.hostname}]`);
  if (p.domainname !== undefined) L.push(`domainname [${p.domainname}]`);
  for (const s of p.sysctl) L.push(`sysctl [${s.key}] [${s.value}]`);
  sv("args", p.args);
  sv("env", p.env);
  if (p.cwd !== undefined) L.push(`cwd [${p.cwd}]`);
  if (p.user) L.push(`user ${p.user.uid} ${p.user.gid} ${p.user.umask}${p.user.groups.map((g) => ` ${g}`).join("")}`);
  for (const r of p.rlimits) L.push(`rlimit ${r.resource} ${BigInt.asUintN(64, r.soft)} ${BigInt.asUintN(64, r.hard)}`);
  if (p.caps) {
    const c = p.caps;
    L.push(`caps ${c.bounding} ${c.effective} ${c.inheritable} ${c.permitted} ${c.ambient}`);
  }
  L.push(`no_new_privs ${+p.noNewPrivs}`);
  if (p.oomScoreAdj !== undefined) L.push(`oom_score_adj ${p.oomScoreAdj}`);
  if (p.seccomp) L.push(`seccomp ${p.seccomp.flags} ${p.seccomp.filter.length}`);
  L.push(`exec_fifo_fd ${p.execFifoFd}`);
  if (p.init) L.push(`init ${p.init.fd} [${p.init.mode}]`);
  if (p.terminal) L.push(`terminal ${p.terminal.consoleFd}`);
  if (p.consoleSize) L.push(`console_size ${p.consoleSize.rows} ${p.consoleSize.cols}`);
  L.push(`preserve_fds ${p.preserveFds}`);
  for (const h of p.hooks) {
    L.push(`hook ${h.kind} ${h.timeout} [${h.path}] [${h.state}]`);
    sv("hook_args", h.args);
    sv("hook_env", h.env);
  }
  if (p.personality !== undefined) L.push(`personality ${p.personality}`);
  if (p.cgroupNsAfter) L.push(`cgroup_ns_after 1`);
  if (p.apparmor !== undefined) L.push(`apparmor [${p.apparmor}]`);
  if (p.selinux !== undefined) L.push(`selinux [${p.selinux}]`);
  if (p.mountLabel !== undefined) L.push(`mount_label [${p.mountLabel}]`);
  if (p.ioprio !== undefined) L.push(`ioprio ${p.ioprio}`);
  if (p.scheduler) {
    const s = p.scheduler;
    L.push(`scheduler ${s.policy} ${s.nice} ${s.priority} ${s.flags} ${s.runtime} ${s.deadline} ${s.period}`);
  }
  for (const fd of p.cgroupTasksFds) L.push(`cgroup_tasks_fd ${fd}`);
  if (p.cgroupIntoFd !== undefined) L.push(`cgroup_into_fd ${p.cgroupIntoFd}`);
  if (p.unshareFlags) L.push(`unshare_flags ${BigInt.asUintN(64, p.unshareFlags)}`);
  if (p.keyring !== undefined) L.push(`keyring [${p.keyring}]`);
  if (p.stdio) L.push(`stdio ${p.stdio.join(" ")}`);
  if (p.timeNs) {
    L.push("time_ns 1");
    for (const o of p.timeNs.offsets) L.push(`time_offset ${o.clock} ${o.secs} ${o.nsecs}`);
  }
  return L.join("\n") + "\n";
}
