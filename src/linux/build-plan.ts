// config.json (validated) -> the plan the C child executes. Everything that needs a decision,
// a lookup or a host stat happens here, before clone.
import { statSync, statfsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { BuncError } from "../errors.ts";
import { logDebug } from "../log.ts";
import type { Hook, Mount, Process, Spec } from "../spec/types.ts";
import { CAPABILITIES, capMask, hostLastCap } from "./capabilities.ts";
import type { IdmapRequest } from "./idmap.ts";
import { hostLsms } from "./lsm.ts";
import { MS, parseMountOptions } from "./mountopts.ts";
import { rlimitNumber, rlimitValue } from "./rlimits.ts";
import { HookKind, MK, PlanMode, emptyPlan, type Plan, type PlanDevice, type PlanHook, type PlanMount } from "./plan.ts";

const S_IFCHR = 0o020000, S_IFBLK = 0o060000, S_IFIFO = 0o010000;

/** The devices every container gets (runc's AllowedDevices that are created as nodes). */
const DEFAULT_DEVICES: [string, number, number][] = [
  ["/dev/null", 1, 3], ["/dev/zero", 1, 5], ["/dev/full", 1, 7],
  ["/dev/random", 1, 8], ["/dev/urandom", 1, 9], ["/dev/tty", 5, 0],
];

const DEV_SYMLINKS: [string, string][] = [
  ["/proc/self/fd", "/dev/fd"], ["/proc/self/fd/0", "/dev/stdin"], ["/proc/self/fd/1", "/dev/stdout"],
  ["/proc/self/fd/2", "/dev/stderr"], ["pts/ptmx", "/dev/ptmx"],
];

export interface CgroupMountInfo {
  /** hierarchy mount dir name (e.g. "memory", "cpu,cpuacct", "" for v2) -> host dir of the container's cgroup */
  dirs: { name: string; hostDir: string }[];
  v2: boolean;
}

export interface PlanContext {
  mode: PlanMode;
  bundle: string;
  rootfs: string;
  syncFd: number;
  execFifoFd: number;
  initFd: number;
  initMode: "exec" | "init" | "init-pgrp" | "pause";
  consoleFd?: number; // -1: terminal, pty master goes to the parent; undefined: no terminal
  preserveFds: number;
  noPivot: boolean;
  cloneFlags: number;
  cgroupNsAfter: boolean;
  nsJoin: { type: number; fd: number }[];
  userns: boolean;
  /** a new time namespace (linux.timeOffsets apply to it) */
  timeNew?: boolean;
  /** new namespaces the child unshares after joining a user namespace by path */
  unshareFlags?: number;
  /** makes the detached idmapped tree of a bind mount (src/linux/idmap.ts); absent: refused */
  idmapTree?: (r: IdmapRequest) => number;
  cgroupMount?: CgroupMountInfo;
  hookState: (status: "creating" | "created") => string;
  warn: (msg: string) => void;
}

function sourcePath(bundle: string, m: Mount): string {
  const src = m.source ?? "";
  return isAbsolute(src) ? src : resolve(bundle, src);
}

function normTarget(dest: string): string {
  // runc 1.1 takes a relative destination as relative to "/"; so do we.
  return dest.startsWith("/") ? dest : "/" + dest;
}

function bindMount(m: Mount, i: number, ctx: PlanContext): PlanMount {
  const o = parseMountOptions(m.options);
  const source = sourcePath(ctx.bundle, m);
  let st;
  try {
    st = statSync(source);
  } catch {
    throw new BuncError(`config.json: mounts[${i}].source: ${source}: no such file or directory`);
  }
  const extra = o.flags & ~(MS.BIND | MS.REC);
  let kind = MK.BIND;
  if (!st.isDirectory()) kind |= MK.FILE;
  if (extra || o.clearedFlags) kind |= MK.REMOUNT;
  if (o.recAttrSet || o.recAttrClr) kind |= MK.REC_ATTR;
  let srcfd: number | undefined;
  if (o.idmap || m.uidMappings?.length || m.gidMappings?.length) {
    if (!ctx.idmapTree) throw new BuncError(`config.json: mounts[${i}]: idmapped mounts are not supported here`);
    srcfd = ctx.idmapTree({ mount: m, index: i, source, recursiveBind: o.recursive, recursiveIdmap: !!o.idmap?.recursive });
  }
  return {
    flags: o.flags | MS.BIND, clear: o.clearedFlags, kind, propagation: o.propagation, attrSet: o.recAttrSet,
    attrClr: o.recAttrClr, srcfd, source, target: normTarget(m.destination), fstype: "", data: "",
  };
}

/** The "cgroup" mount: a tmpfs with the container's own cgroup of each hierarchy bound read-only
 * (v1), or the container's cgroup2 directory bound at the destination (v2). */
function cgroupMounts(m: Mount, info: CgroupMountInfo | undefined): PlanMount[] {
  const o = parseMountOptions(m.options);
  const dest = normTarget(m.destination);
  const ro = (o.flags & MS.RDONLY) !== 0;
  const bindFlags = MS.BIND | MS.REC | MS.NOSUID | MS.NODEV | MS.NOEXEC | (ro ? MS.RDONLY : 0);
  const bind = (source: string, target: string): PlanMount => ({
    flags: bindFlags, clear: 0, kind: MK.BIND | MK.REMOUNT, propagation: [], attrSet: 0, attrClr: 0,
    source, target, fstype: "", data: "",
  });
  if (!info || info.dirs.length === 0) return [];
  if (info.v2) return [bind(info.dirs[0]!.hostDir, dest)];
  const out: PlanMount[] = [{
    flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, clear: 0, kind: 0, propagation: [], attrSet: 0, attrClr: 0,
    source: "tmpfs", target: dest, fstype: "tmpfs", data: "mode=755",
  }];
  for (const d of info.dirs) out.push(bind(d.hostDir, `${dest}/${d.name}`));
  if (ro) out.push({ flags: MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, clear: 0, kind: MK.REMOUNT_ONLY, propagation: [],
    attrSet: 0, attrClr: 0, source: "", target: dest, fstype: "", data: "" });
  return out;
}

function planMounts(spec: Spec, ctx: PlanContext): PlanMount[] {
  const out: PlanMount[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    const o = parseMountOptions(m.options);
    if (m.type === "bind" || o.bind) return void out.push(bindMount(m, i, ctx));
    if (o.idmap) throw new BuncError(`config.json: mounts[${i}]: "idmap"/"ridmap" apply to bind mounts only`);
    if (m.type === "cgroup" || m.type === "cgroup2") return void out.push(...cgroupMounts(m, ctx.cgroupMount));
    let kind = 0;
    // as runc: the option means something for a tmpfs only, and is ignored elsewhere
    if (o.tmpcopyup && m.type === "tmpfs") kind |= MK.TMPCOPYUP;
    if (m.type === "proc") kind |= MK.PROC;
    if (m.type === "sysfs") kind |= MK.SYSFS;
    if (o.recAttrSet || o.recAttrClr) kind |= MK.REC_ATTR;
    out.push({
      flags: o.flags, clear: o.clearedFlags, kind, propagation: o.propagation, attrSet: o.recAttrSet, attrClr: o.recAttrClr,
      source: m.source ?? m.type ?? "none", target: normTarget(m.destination), fstype: m.type ?? "", data: withMountLabel(m.type, o.data, spec),
    });
  });
  return out;
}

/** linux.mountLabel: the SELinux context of the filesystems bunc mounts fresh (runc's FormatMountLabel). */
function withMountLabel(type: string | undefined, data: string, spec: Spec): string {
  const label = spec.linux?.mountLabel;
  if (!label || !(type === "tmpfs" || type === "devpts" || type === "mqueue")) return data;
  return [data, `context="${label}"`].filter((x) => x).join(",");
}

function checkMountLabel(spec: Spec): void {
  const lsm = hostLsms();
  if (spec.linux?.mountLabel && !lsm.selinux) throw new BuncError(`config.json: linux.mountLabel: SELinux is not enabled on this host (${lsm.source})`);
}

function planDevices(spec: Spec, userns: boolean): PlanDevice[] {
  const out: PlanDevice[] = [];
  const seen = new Set<string>();
  for (const d of spec.linux?.devices ?? []) {
    const type = d.type === "b" ? S_IFBLK : d.type === "p" ? S_IFIFO : S_IFCHR;
    seen.add(d.path);
    out.push({ type, major: d.major ?? 0, minor: d.minor ?? 0, mode: d.fileMode ?? 0o666, uid: d.uid ?? 0, gid: d.gid ?? 0,
      bind: userns, path: d.path });
  }
  for (const [path, major, minor] of DEFAULT_DEVICES) {
    if (seen.has(path)) continue;
    out.push({ type: S_IFCHR, major, minor, mode: 0o666, uid: 0, gid: 0, bind: userns, path });
  }
  return out;
}

/** A /dev bind mount from the host means the devices are already there (runc skips them too). */
function bindsDev(spec: Spec): boolean {
  return (spec.mounts ?? []).some((m) => normTarget(m.destination) === "/dev" && (m.type === "bind" || parseMountOptions(m.options).bind));
}

function hookArgs(h: Hook): string[] {
  return h.args && h.args.length ? h.args : [h.path];
}

function planHooks(spec: Spec, ctx: PlanContext): PlanHook[] {
  const out: PlanHook[] = [];
  const add = (kind: HookKind, list: Hook[] | undefined, state: string) => {
    for (const h of list ?? []) out.push({ kind, timeout: h.timeout ?? 0, path: h.path, state, args: hookArgs(h), env: h.env ?? [] });
  };
  if (spec.hooks?.createContainer?.length) add(HookKind.CreateContainer, spec.hooks.createContainer, ctx.hookState("creating"));
  if (spec.hooks?.startContainer?.length) add(HookKind.StartContainer, spec.hooks.startContainer, ctx.hookState("created"));
  return out;
}

/** linux.seccomp compiled to classic BPF (the child loads it last before exec). The compiler and
 * its syscall tables load only when a config has a profile: most commands never pay for them. */
export async function planSeccomp(plan: Plan, spec: Spec): Promise<void> {
  const s = spec.linux?.seccomp;
  if (!s) return;
  const { compileSeccomp, isSeccompEnabled } = await import("./seccomp/compile.ts");
  if (!isSeccompEnabled(s)) return;
  // Unknown syscall names are skipped quietly, as runc does (debug output only).
  const c = compileSeccomp(s, undefined, logDebug);
  if (c.needsListener && !s.listenerPath)
    throw new BuncError("config.json: linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY");
  plan.seccomp = { flags: c.flags, filter: c.filter };
}

/** The parts of the plan that describe the process (shared by create and exec). */
export function planProcess(plan: Plan, proc: Process, warn: (m: string) => void): void {
  plan.args = proc.args ?? [];
  plan.env = proc.env ?? [];
  plan.cwd = proc.cwd || "/";
  plan.user = {
    uid: proc.user?.uid ?? 0, gid: proc.user?.gid ?? 0, umask: proc.user?.umask ?? -1,
    groups: proc.user?.additionalGids ?? [],
  };
  for (const r of proc.rlimits ?? []) {
    const resource = rlimitNumber(r.type);
    if (resource === undefined) throw new BuncError(`process.rlimits: unknown type "${r.type}"`);
    plan.rlimits.push({ resource, soft: rlimitValue(r.soft), hard: rlimitValue(r.hard) });
  }
  if (proc.capabilities) {
    const c = proc.capabilities;
    const last = hostLastCap();
    plan.caps = {
      bounding: capMask(c.bounding, warn, last), effective: capMask(c.effective, warn, last),
      inheritable: capMask(c.inheritable, warn, last), permitted: capMask(c.permitted, warn, last),
      ambient: capMask(c.ambient, warn, last),
    };
  }
  plan.noNewPrivs = !!proc.noNewPrivileges;
  if (proc.oomScoreAdj !== undefined) plan.oomScoreAdj = proc.oomScoreAdj;
  if (proc.consoleSize) plan.consoleSize = { rows: proc.consoleSize.height, cols: proc.consoleSize.width };
  if (plan.caps) checkCapSets(plan.caps);
  planLsmLabels(plan, proc);
  if (proc.scheduler) plan.scheduler = planScheduler(proc.scheduler);
  if (proc.ioPriority) plan.ioprio = (IOPRIO_CLASS[proc.ioPriority.class]! << 13) | (proc.ioPriority.priority & 7);
}

function capNames(mask: bigint): string {
  return CAPABILITIES.filter((_, i) => mask & (1n << BigInt(i))).join(", ");
}

/** capset(2) and PR_CAP_AMBIENT_RAISE would refuse these with a bare EPERM: say which and why. */
function checkCapSets(c: NonNullable<Plan["caps"]>): void {
  const notPermitted = c.effective & ~c.permitted;
  if (notPermitted) throw new BuncError(`process.capabilities.effective: ${capNames(notPermitted)} must also be in permitted`);
  const ambientMissing = c.ambient & ~(c.permitted & c.inheritable);
  if (ambientMissing) throw new BuncError(`process.capabilities.ambient: ${capNames(ambientMissing)} must also be in inheritable and permitted`);
}

function planLsmLabels(plan: Plan, proc: Process): void {
  if (!proc.apparmorProfile && !proc.selinuxLabel) return;
  const lsm = hostLsms();
  if (proc.apparmorProfile) {
    if (!lsm.apparmor) throw new BuncError(`process.apparmorProfile: AppArmor is not enabled on this host (${lsm.source})`);
    plan.apparmor = proc.apparmorProfile;
  }
  if (proc.selinuxLabel) {
    if (!lsm.selinux) throw new BuncError(`process.selinuxLabel: SELinux is not enabled on this host (${lsm.source})`);
    plan.selinux = proc.selinuxLabel;
  }
}

const SCHED_POLICY: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
const SCHED_FLAG: Record<string, bigint> = {
  SCHED_FLAG_RESET_ON_FORK: 0x1n, SCHED_FLAG_RECLAIM: 0x2n, SCHED_FLAG_DL_OVERRUN: 0x4n, SCHED_FLAG_KEEP_POLICY: 0x8n,
  SCHED_FLAG_KEEP_PARAMS: 0x10n, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20n, SCHED_FLAG_UTIL_CLAMP_MAX: 0x40n,
};
const IOPRIO_CLASS: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

function planScheduler(s: NonNullable<Process["scheduler"]>): NonNullable<Plan["scheduler"]> {
  let flags = 0n;
  for (const f of s.flags ?? []) flags |= SCHED_FLAG[f] ?? 0n;
  return {
    policy: SCHED_POLICY[s.policy] ?? 0, nice: s.nice ?? 0, priority: s.priority ?? 0, flags,
    runtime: BigInt(s.runtime ?? 0), deadline: BigInt(s.deadline ?? 0), period: BigInt(s.period ?? 0),
  };
}

/** linux.personality (the child calls personality(2) before exec; exec'd processes get it too). */
export function planPersonality(plan: Plan, spec: Spec): void {
  const d = spec.linux?.personality?.domain;
  if (d !== undefined) plan.personality = d === "LINUX32" ? 0x0008 : 0x0000;
}

const RDTGROUP_SUPER_MAGIC = 0x7655821;

/** linux.intelRdt needs the resctrl filesystem; bunc does not manage resctrl groups yet. */
function checkIntelRdt(spec: Spec): void {
  if (!spec.linux?.intelRdt) return;
  let mounted = false;
  try {
    mounted = statfsSync("/sys/fs/resctrl").type === RDTGROUP_SUPER_MAGIC;
  } catch {}
  if (!mounted) throw new BuncError("config.json: linux.intelRdt: Intel RDT is not available on this host (no resctrl filesystem at /sys/fs/resctrl)");
  throw new BuncError("config.json: linux.intelRdt: not supported by this build of bunc");
}

const CLOCK_MONOTONIC = 1, CLOCK_BOOTTIME = 7;

function planTimeNs(spec: Spec, ctx: PlanContext): Plan["timeNs"] {
  const offsets = Object.entries(spec.linux?.timeOffsets ?? {});
  if (!ctx.timeNew) {
    if (offsets.length) throw new BuncError("config.json: linux.timeOffsets: need a new time namespace (the time namespace is joined by path)");
    return undefined;
  }
  return {
    offsets: offsets.map(([clock, o]) => ({
      clock: clock === "boottime" ? CLOCK_BOOTTIME : CLOCK_MONOTONIC, secs: BigInt(o.secs ?? 0), nsecs: o.nanosecs ?? 0,
    })),
  };
}

export function buildCreatePlan(spec: Spec, ctx: PlanContext): Plan {
  const p = emptyPlan(PlanMode.Create);
  p.cloneFlags = BigInt(ctx.cloneFlags);
  if (ctx.unshareFlags) p.unshareFlags = BigInt(ctx.unshareFlags);
  p.cgroupNsAfter = ctx.cgroupNsAfter;
  p.nsJoin = ctx.nsJoin;
  p.syncFd = ctx.syncFd;
  p.rootfs = ctx.rootfs;
  const prop = spec.linux?.rootfsPropagation;
  if (prop) {
    const o = parseMountOptions([prop]);
    if (o.propagation.length !== 1) throw new BuncError(`config.json: linux.rootfsPropagation: unknown value "${prop}"`);
    p.rootfsPropagation = o.propagation[0]!;
  }
  p.rootReadonly = !!spec.root?.readonly;
  p.noPivot = ctx.noPivot;
  checkIntelRdt(spec);
  checkMountLabel(spec);
  p.timeNs = planTimeNs(spec, ctx);
  planPersonality(p, spec);
  p.mounts = planMounts(spec, ctx);
  if (!bindsDev(spec)) {
    p.devices = planDevices(spec, ctx.userns);
    p.symlinks = DEV_SYMLINKS.map(([target, linkpath]) => ({ target, linkpath }));
  }
  p.masked = spec.linux?.maskedPaths ?? [];
  p.readonly = spec.linux?.readonlyPaths ?? [];
  if (spec.hostname !== undefined && spec.hostname !== "") p.hostname = spec.hostname;
  if (spec.domainname !== undefined && spec.domainname !== "") p.domainname = spec.domainname;
  p.sysctl = Object.entries(spec.linux?.sysctl ?? {}).map(([key, value]) => ({ key, value }));
  planProcess(p, spec.process!, ctx.warn);
  p.execFifoFd = ctx.execFifoFd;
  p.init = { fd: ctx.initFd, mode: ctx.initMode };
  if (ctx.consoleFd !== undefined) p.terminal = { consoleFd: ctx.consoleFd };
  p.preserveFds = ctx.preserveFds;
  p.hooks = planHooks(spec, ctx);
  return p;
}
