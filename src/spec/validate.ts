// config.json (and exec's process.json) validation. Every field bunc reads is checked for its
// JSON type and its value before anything is set up, and a failure names the file and the JSON
// path: `config.json: linux.namespaces[2].type: unknown namespace type "foo"`.
//
// Rules follow the runtime-spec and what runc does with the same input:
// - unknown fields are ignored (the spec says so); a known field with the wrong type is refused,
//   as Go's json decoder refuses it for runc;
// - `null` means "absent", as for Go; such keys are removed so later code sees `undefined`;
// - where runc only warns (unknown capabilities, relative mount destinations, personality
//   flags, kernel memory limits), bunc warns through `warn` and goes on.
// The returned object is the input, typed, with these normalisations: nulls dropped, a missing
// process.user becomes uid 0 / gid 0, a missing resources.devices[].allow becomes false, and
// a relative mount destination is made absolute ("/" + it, runc's reading of it).
import { BuncError } from "../errors.ts";
import { capNumber } from "../linux/capabilities.ts";
import { parseMountOptions, PROPAGATION } from "../linux/mountopts.ts";
import { rlimitNumber } from "../linux/rlimits.ts";
import type { IDMapping, Process, Spec } from "./types.ts";

export type Warn = (message: string) => void;

type Obj = Record<string, unknown>;

export const NAMESPACE_TYPES = ["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"] as const;
export const HOOK_KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;

/** The seccomp names the runtime-spec (libseccomp 2.5) defines; support is the seccomp compiler's business. */
export const SECCOMP_SPEC_ACTIONS = [
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
] as const;
export const SECCOMP_SPEC_OPERATORS = [
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
] as const;
export const SECCOMP_SPEC_ARCHS = [
  "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
] as const;
export const SECCOMP_SPEC_FLAGS = [
  "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
] as const;

const SCHED_POLICIES = ["SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"];
const SCHED_FLAGS = [
  "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_KEEP_POLICY",
  "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN", "SCHED_FLAG_UTIL_CLAMP_MAX",
];
const IOPRIO_CLASSES = ["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"];
const CAP_SETS = ["bounding", "effective", "inheritable", "permitted", "ambient"] as const;
const TIME_CLOCKS = ["boottime", "monotonic"];

/** Integer ranges of the Go types the spec uses. JSON numbers are doubles: 2^64-1 reads as 2^64. */
interface IntKind { min: number; max: number; range: string }
const U16: IntKind = { min: 0, max: 0xffff, range: "must be between 0 and 65535" };
const U32: IntKind = { min: 0, max: 0xffff_ffff, range: "must be between 0 and 4294967295" };
const I32: IntKind = { min: -(2 ** 31), max: 2 ** 31 - 1, range: "must fit in 32 bits" };
const I64: IntKind = { min: -(2 ** 63), max: 2 ** 63, range: "must fit in 64 bits" };
const U64: IntKind = { min: 0, max: 2 ** 64, range: "must not be negative" };

const at = (path: string, key: string) => (path ? `${path}.${key}` : key);
const idx = (path: string, i: number) => `${path}[${i}]`;
const entry = (path: string, key: string) => `${path}[${JSON.stringify(key)}]`;
const absent = (v: unknown) => v === undefined || v === null;

/** A walk over one document: knows the file name for messages and where warnings go. */
class Checker {
  constructor(readonly file: string, readonly warn: Warn) {}

  fail(path: string, message: string): never {
    throw new BuncError(path ? `${this.file}: ${path}: ${message}` : `${this.file}: ${message}`);
  }

  note(path: string, message: string): void {
    this.warn(`${this.file}: ${path}: ${message}`);
  }

  required<T>(v: T | undefined, path: string): T {
    if (v === undefined) this.fail(path, "is required");
    return v;
  }

  obj(v: unknown, path: string): Obj | undefined {
    if (absent(v)) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) this.fail(path, "must be an object");
    return v as Obj;
  }

  arr(v: unknown, path: string): unknown[] | undefined {
    if (absent(v)) return undefined;
    if (!Array.isArray(v)) this.fail(path, "must be an array");
    return v;
  }

  str(v: unknown, path: string): string | undefined {
    if (absent(v)) return undefined;
    if (typeof v !== "string") this.fail(path, "must be a string");
    // Strings reach the kernel and the C side as NUL-terminated; a NUL would silently cut them.
    if (v.includes("\0")) this.fail(path, "must not contain a NUL byte");
    return v;
  }

  bool(v: unknown, path: string): boolean | undefined {
    if (absent(v)) return undefined;
    if (typeof v !== "boolean") this.fail(path, "must be a boolean");
    return v;
  }

  int(v: unknown, path: string, kind: IntKind): number | undefined {
    if (absent(v)) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) this.fail(path, "must be an integer");
    if (v < kind.min || v > kind.max) this.fail(path, kind.range);
    return v;
  }

  strs(v: unknown, path: string): string[] | undefined {
    const a = this.arr(v, path);
    a?.forEach((s, i) => {
      if (absent(s)) this.fail(idx(path, i), "must be a string");
      this.str(s, idx(path, i));
    });
    return a as string[] | undefined;
  }

  ints(v: unknown, path: string, kind: IntKind): number[] | undefined {
    const a = this.arr(v, path);
    a?.forEach((n, i) => {
      if (absent(n)) this.fail(idx(path, i), "must be an integer");
      this.int(n, idx(path, i), kind);
    });
    return a as number[] | undefined;
  }

  /** An object of strings (annotations, sysctl, unified). */
  strMap(v: unknown, path: string): Record<string, string> | undefined {
    const o = this.obj(v, path);
    if (!o) return undefined;
    for (const [k, val] of Object.entries(o)) {
      if (k === "") this.fail(path, "keys must not be empty");
      if (k.includes("\0")) this.fail(entry(path, k), "key must not contain a NUL byte");
      this.str(val, entry(path, k));
    }
    return o as Record<string, string>;
  }

  /** Objects of an array, each checked by `each`. */
  objs(v: unknown, path: string, each: (o: Obj, path: string, i: number) => void): void {
    this.arr(v, path)?.forEach((item, i) => {
      const p = idx(path, i);
      if (absent(item)) this.fail(p, "must be an object");
      each(this.obj(item, p)!, p, i);
    });
  }

  oneOf(v: string | undefined, path: string, allowed: readonly string[], what: string): void {
    if (v !== undefined && !allowed.includes(v)) this.fail(path, `unknown ${what} ${JSON.stringify(v)}`);
  }

  absolute(v: string | undefined, path: string): void {
    if (v !== undefined && !v.startsWith("/")) this.fail(path, "must be an absolute path");
  }
}

/** Go decodes JSON null as "not set": drop null-valued keys so later code only sees undefined. */
function dropNulls(v: unknown): void {
  if (Array.isArray(v)) {
    for (const item of v) dropNulls(item);
  } else if (v !== null && typeof v === "object") {
    const o = v as Obj;
    for (const k of Object.keys(o)) {
      if (o[k] === null) delete o[k];
      else dropNulls(o[k]);
    }
  }
}

/**
 * Check a parsed config.json and return it as a Spec. `process` is required (create and run
 * need it; runc: "process property must not be empty"), as is `root`.
 */
export function validateSpec(x: unknown, file = "config.json", warn: Warn = () => {}): Spec {
  const c = new Checker(file, warn);
  if (absent(x) || typeof x !== "object" || Array.isArray(x)) c.fail("", "must be a JSON object");
  dropNulls(x);
  const o = x as Obj;
  c.str(o.ociVersion, "ociVersion"); // REQUIRED by the spec, but runc runs configs without it
  if (o.process === undefined) c.fail("process", "is required");
  checkProcess(c, o.process, "process");
  const root = c.required(c.obj(o.root, "root"), "root");
  const rootPath = c.required(c.str(root.path, "root.path"), "root.path");
  if (rootPath === "") c.fail("root.path", "must not be empty");
  c.bool(root.readonly, "root.readonly");
  c.str(o.hostname, "hostname");
  c.str(o.domainname, "domainname");
  checkMounts(c, o.mounts);
  checkHooks(c, o.hooks);
  c.strMap(o.annotations, "annotations");
  checkLinux(c, o.linux);
  checkAcrossFields(c, o as Spec);
  return o as Spec;
}

/** Check a process object: config.json's `process` or exec's `--process` file (path ""). */
export function validateProcess(x: unknown, file = "process.json", path = "", warn: Warn = () => {}): Process {
  const c = new Checker(file, warn);
  if (absent(x) || typeof x !== "object" || Array.isArray(x)) c.fail(path, path ? "must be an object" : "must be a JSON object");
  dropNulls(x);
  checkProcess(c, x, path);
  return x as Process;
}

function checkProcess(c: Checker, v: unknown, path: string): void {
  const p = c.obj(v, path)!;
  c.bool(p.terminal, at(path, "terminal"));
  const box = c.obj(p.consoleSize, at(path, "consoleSize"));
  if (box) {
    c.int(box.height, at(path, "consoleSize.height"), U32);
    c.int(box.width, at(path, "consoleSize.width"), U32);
  }
  checkUser(c, p, at(path, "user"));

  const args = c.strs(p.args, at(path, "args"));
  if (!args || args.length === 0) c.fail(at(path, "args"), "must not be empty");
  c.str(p.commandLine, at(path, "commandLine"));
  checkEnv(c, p.env, at(path, "env"));

  const cwd = c.required(c.str(p.cwd, at(path, "cwd")), at(path, "cwd"));
  if (cwd === "") c.fail(at(path, "cwd"), "must not be empty");
  c.absolute(cwd, at(path, "cwd"));

  const caps = c.obj(p.capabilities, at(path, "capabilities"));
  for (const set of CAP_SETS) {
    const sp = at(path, `capabilities.${set}`);
    c.strs(caps?.[set], sp)?.forEach((name, i) => {
      // runc ignores capabilities it does not know, with a warning, rather than failing.
      if (capNumber(name) === undefined) c.note(idx(sp, i), `unknown capability ${JSON.stringify(name)}, ignored`);
    });
  }

  const seen = new Set<string>();
  c.objs(p.rlimits, at(path, "rlimits"), (r, rp) => {
    const type = c.required(c.str(r.type, at(rp, "type")), at(rp, "type"));
    if (rlimitNumber(type) === undefined) c.fail(at(rp, "type"), `unknown rlimit type ${JSON.stringify(type)}`);
    if (seen.has(type)) c.fail(at(rp, "type"), `duplicate rlimit type ${JSON.stringify(type)}`);
    seen.add(type);
    const hard = c.required(c.int(r.hard, at(rp, "hard"), U64), at(rp, "hard"));
    const soft = c.required(c.int(r.soft, at(rp, "soft"), U64), at(rp, "soft"));
    if (soft > hard) c.fail(rp, `soft limit ${soft} is above hard limit ${hard}`);
  });

  c.bool(p.noNewPrivileges, at(path, "noNewPrivileges"));
  c.str(p.apparmorProfile, at(path, "apparmorProfile"));
  c.str(p.selinuxLabel, at(path, "selinuxLabel"));
  const oom = c.int(p.oomScoreAdj, at(path, "oomScoreAdj"), I32);
  if (oom !== undefined && (oom < -1000 || oom > 1000)) c.fail(at(path, "oomScoreAdj"), "must be between -1000 and 1000");
  checkScheduler(c, p.scheduler, at(path, "scheduler"));

  const io = c.obj(p.ioPriority, at(path, "ioPriority"));
  if (io) {
    const cls = c.required(c.str(io.class, at(path, "ioPriority.class")), at(path, "ioPriority.class"));
    c.oneOf(cls, at(path, "ioPriority.class"), IOPRIO_CLASSES, "I/O priority class");
    const prio = c.int(io.priority, at(path, "ioPriority.priority"), I32);
    if (prio !== undefined && (prio < 0 || prio > 7)) c.fail(at(path, "ioPriority.priority"), "must be between 0 and 7");
  }

  const aff = c.obj(p.execCPUAffinity, at(path, "execCPUAffinity"));
  for (const k of ["initial", "final"]) {
    const list = c.str(aff?.[k], at(path, `execCPUAffinity.${k}`));
    if (list !== undefined && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list)) {
      c.fail(at(path, `execCPUAffinity.${k}`), `invalid CPU list ${JSON.stringify(list)} (e.g. "0-3,7")`);
    }
  }
}

function checkUser(c: Checker, p: Obj, path: string): void {
  // Go's decoder leaves a missing user as uid 0, gid 0 (runc runs it as root).
  if (p.user === undefined) p.user = { uid: 0, gid: 0 };
  const u = c.obj(p.user, path)!;
  if (u.uid === undefined) u.uid = 0;
  if (u.gid === undefined) u.gid = 0;
  c.int(u.uid, at(path, "uid"), U32);
  c.int(u.gid, at(path, "gid"), U32);
  c.int(u.umask, at(path, "umask"), U32);
  c.ints(u.additionalGids, at(path, "additionalGids"), U32);
  c.str(u.username, at(path, "username"));
}

/** Environment entries are KEY=VALUE with a non-empty KEY (runc refuses the rest). */
function checkEnv(c: Checker, v: unknown, path: string): void {
  c.strs(v, path)?.forEach((kv, i) => {
    const eq = kv.indexOf("=");
    if (eq < 0) c.fail(idx(path, i), `${JSON.stringify(kv)} must be of the form KEY=VALUE`);
    if (eq === 0) c.fail(idx(path, i), `${JSON.stringify(kv)} has an empty variable name`);
  });
}

function checkScheduler(c: Checker, v: unknown, path: string): void {
  const s = c.obj(v, path);
  if (!s) return;
  const policy = c.required(c.str(s.policy, at(path, "policy")), at(path, "policy"));
  c.oneOf(policy, at(path, "policy"), SCHED_POLICIES, "scheduler policy");
  const nice = c.int(s.nice, at(path, "nice"), I32);
  if (nice !== undefined && (nice < -20 || nice > 19)) c.fail(at(path, "nice"), "must be between -20 and 19");
  const priority = c.int(s.priority, at(path, "priority"), I32);
  c.strs(s.flags, at(path, "flags"))?.forEach((f, i) => c.oneOf(f, idx(at(path, "flags"), i), SCHED_FLAGS, "scheduler flag"));
  const runtime = c.int(s.runtime, at(path, "runtime"), U64);
  const deadline = c.int(s.deadline, at(path, "deadline"), U64);
  const period = c.int(s.period, at(path, "period"), U64);
  // runc's rules (sched_setattr(2)): priority is for the real-time policies only, and the
  // runtime/deadline/period triple for SCHED_DEADLINE only.
  if (priority && policy !== "SCHED_FIFO" && policy !== "SCHED_RR") {
    c.fail(at(path, "priority"), "can only be set for SCHED_FIFO or SCHED_RR");
  }
  if ((runtime || deadline || period) && policy !== "SCHED_DEADLINE") {
    c.fail(path, "runtime, deadline and period can only be set for SCHED_DEADLINE");
  }
}

function checkIDMappings(c: Checker, v: unknown, path: string): IDMapping[] | undefined {
  c.objs(v, path, (m, mp) => {
    c.int(m.containerID, at(mp, "containerID"), U32);
    c.int(m.hostID, at(mp, "hostID"), U32);
    const size = c.required(c.int(m.size, at(mp, "size"), U32), at(mp, "size"));
    if (size === 0) c.fail(at(mp, "size"), "must be at least 1");
    m.containerID ??= 0;
    m.hostID ??= 0;
  });
  return v as IDMapping[] | undefined;
}

function checkMounts(c: Checker, v: unknown): void {
  c.objs(v, "mounts", (m, mp) => {
    const dest = c.required(c.str(m.destination, at(mp, "destination")), at(mp, "destination"));
    if (dest === "") c.fail(at(mp, "destination"), "must not be empty");
    if (!dest.startsWith("/")) {
      // runc 1.x accepts a relative destination with a deprecation warning and mounts it
      // relative to the container's "/"; do the same, and make it absolute here once.
      c.note(at(mp, "destination"), `relative path ${JSON.stringify(dest)} is deprecated, using "/${dest}"`);
      m.destination = `/${dest}`;
    }
    c.str(m.type, at(mp, "type"));
    const source = c.str(m.source, at(mp, "source"));
    const options = c.strs(m.options, at(mp, "options"));
    const uid = checkIDMappings(c, m.uidMappings, at(mp, "uidMappings"));
    const gid = checkIDMappings(c, m.gidMappings, at(mp, "gidMappings"));
    const bind = parseMountOptions(options).bind;
    if (bind && !source) c.fail(at(mp, "source"), "a bind mount needs a source");
    if ((uid || gid) && !bind) c.fail(mp, "uidMappings/gidMappings need a bind mount (\"bind\" or \"rbind\" in options)");
  });
}

function checkHooks(c: Checker, v: unknown): void {
  const hooks = c.obj(v, "hooks");
  if (!hooks) return;
  for (const kind of HOOK_KINDS) {
    c.objs(hooks[kind], `hooks.${kind}`, (h, hp) => {
      const path = c.required(c.str(h.path, at(hp, "path")), at(hp, "path"));
      c.absolute(path, at(hp, "path"));
      c.strs(h.args, at(hp, "args"));
      checkEnv(c, h.env, at(hp, "env"));
      const timeout = c.int(h.timeout, at(hp, "timeout"), I64);
      if (timeout !== undefined && timeout <= 0) c.fail(at(hp, "timeout"), "must be greater than zero");
    });
  }
}

function checkLinux(c: Checker, v: unknown): void {
  const l = c.obj(v, "linux");
  if (!l) return;
  checkIDMappings(c, l.uidMappings, "linux.uidMappings");
  checkIDMappings(c, l.gidMappings, "linux.gidMappings");
  const sysctl = c.strMap(l.sysctl, "linux.sysctl");
  for (const key of Object.keys(sysctl ?? {})) {
    if (sysctlPath(key) === undefined) c.fail(entry("linux.sysctl", key), "not a valid sysctl name");
  }
  checkResources(c, l.resources, "linux.resources");
  c.str(l.cgroupsPath, "linux.cgroupsPath");

  const seen = new Set<string>();
  c.objs(l.namespaces, "linux.namespaces", (ns, np) => {
    const type = c.required(c.str(ns.type, at(np, "type")), at(np, "type"));
    c.oneOf(type, at(np, "type"), NAMESPACE_TYPES, "namespace type");
    if (seen.has(type)) c.fail(at(np, "type"), `duplicate namespace type ${JSON.stringify(type)}`);
    seen.add(type);
    c.absolute(c.str(ns.path, at(np, "path")) || undefined, at(np, "path"));
  });

  c.objs(l.devices, "linux.devices", (d, dp) => {
    const type = c.required(c.str(d.type, at(dp, "type")), at(dp, "type"));
    c.oneOf(type, at(dp, "type"), ["c", "b", "u", "p"], "device type");
    const path = c.required(c.str(d.path, at(dp, "path")), at(dp, "path"));
    c.absolute(path, at(dp, "path"));
    const major = c.int(d.major, at(dp, "major"), I64);
    const minor = c.int(d.minor, at(dp, "minor"), I64);
    if (type !== "p") {
      if (major === undefined) c.fail(at(dp, "major"), `is required for a device of type "${type}"`);
      if (minor === undefined) c.fail(at(dp, "minor"), `is required for a device of type "${type}"`);
    }
    c.int(d.fileMode, at(dp, "fileMode"), U32);
    c.int(d.uid, at(dp, "uid"), U32);
    c.int(d.gid, at(dp, "gid"), U32);
  });

  checkSeccomp(c, l.seccomp, "linux.seccomp");
  const prop = c.str(l.rootfsPropagation, "linux.rootfsPropagation");
  if (prop) c.oneOf(prop, "linux.rootfsPropagation", Object.keys(PROPAGATION), "rootfs propagation");
  for (const key of ["maskedPaths", "readonlyPaths"]) {
    c.strs(l[key], `linux.${key}`)?.forEach((p, i) => c.absolute(p, idx(`linux.${key}`, i)));
  }
  c.str(l.mountLabel, "linux.mountLabel");

  const rdt = c.obj(l.intelRdt, "linux.intelRdt");
  if (rdt) {
    const clos = c.str(rdt.closID, "linux.intelRdt.closID");
    if (clos !== undefined && (clos === "." || clos === ".." || clos.includes("/"))) {
      c.fail("linux.intelRdt.closID", `invalid CLOS id ${JSON.stringify(clos)}`);
    }
    c.str(rdt.l3CacheSchema, "linux.intelRdt.l3CacheSchema");
    c.str(rdt.memBwSchema, "linux.intelRdt.memBwSchema");
    if (Array.isArray(rdt.schemata)) c.strs(rdt.schemata, "linux.intelRdt.schemata");
    else c.str(rdt.schemata, "linux.intelRdt.schemata");
    for (const k of ["enableCMT", "enableMBM", "enableMonitoring"]) c.bool(rdt[k], `linux.intelRdt.${k}`);
  }

  const pers = c.obj(l.personality, "linux.personality");
  if (pers) {
    const domain = c.required(c.str(pers.domain, "linux.personality.domain"), "linux.personality.domain");
    c.oneOf(domain, "linux.personality.domain", ["LINUX", "LINUX32"], "personality domain");
    const flags = c.strs(pers.flags, "linux.personality.flags");
    if (flags && flags.length > 0) c.note("linux.personality.flags", "no personality flags are supported, ignored");
  }

  const offsets = c.obj(l.timeOffsets, "linux.timeOffsets");
  for (const [clock, off] of Object.entries(offsets ?? {})) {
    const tp = entry("linux.timeOffsets", clock);
    if (!TIME_CLOCKS.includes(clock)) c.fail(tp, `unknown clock (must be "boottime" or "monotonic")`);
    const o = c.obj(off, tp);
    c.int(o?.secs, at(tp, "secs"), I64);
    const ns = c.int(o?.nanosecs, at(tp, "nanosecs"), U32);
    if (ns !== undefined && ns >= 1e9) c.fail(at(tp, "nanosecs"), "must be below 1000000000");
  }
}

function checkResources(c: Checker, v: unknown, path: string): void {
  const r = c.obj(v, path);
  if (!r) return;
  c.objs(r.devices, at(path, "devices"), (d, dp) => {
    d.allow ??= false;
    c.bool(d.allow, at(dp, "allow"));
    const type = c.str(d.type, at(dp, "type"));
    if (type) c.oneOf(type, at(dp, "type"), ["a", "b", "c"], "device cgroup type");
    c.int(d.major, at(dp, "major"), I64);
    c.int(d.minor, at(dp, "minor"), I64);
    const access = c.str(d.access, at(dp, "access"));
    if (!access) c.fail(at(dp, "access"), "must not be empty (some of \"rwm\")");
    if (!/^[rwm]+$/.test(access)) c.fail(at(dp, "access"), `invalid access ${JSON.stringify(access)} (some of "rwm")`);
  });

  const mem = c.obj(r.memory, at(path, "memory"));
  if (mem) {
    const mp = at(path, "memory");
    for (const k of ["limit", "reservation", "swap"]) c.int(mem[k], at(mp, k), I64);
    for (const k of ["kernel", "kernelTCP"]) {
      if (c.int(mem[k], at(mp, k), I64) !== undefined) c.note(at(mp, k), "kernel memory limits are ignored (as by runc)");
    }
    const swappiness = c.int(mem.swappiness, at(mp, "swappiness"), U64);
    if (swappiness !== undefined && swappiness > 100) c.fail(at(mp, "swappiness"), "must be between 0 and 100");
    for (const k of ["disableOOMKiller", "useHierarchy", "checkBeforeUpdate"]) c.bool(mem[k], at(mp, k));
  }

  const cpu = c.obj(r.cpu, at(path, "cpu"));
  if (cpu) {
    const cp = at(path, "cpu");
    for (const k of ["shares", "burst", "period", "realtimePeriod"]) c.int(cpu[k], at(cp, k), U64);
    for (const k of ["quota", "realtimeRuntime", "idle"]) c.int(cpu[k], at(cp, k), I64);
    for (const k of ["cpus", "mems"]) c.str(cpu[k], at(cp, k));
  }

  const pids = c.obj(r.pids, at(path, "pids"));
  c.int(pids?.limit, at(path, "pids.limit"), I64);

  const bio = c.obj(r.blockIO, at(path, "blockIO"));
  if (bio) {
    const bp = at(path, "blockIO");
    c.int(bio.weight, at(bp, "weight"), U16);
    c.int(bio.leafWeight, at(bp, "leafWeight"), U16);
    c.objs(bio.weightDevice, at(bp, "weightDevice"), (d, dp) => {
      c.required(c.int(d.major, at(dp, "major"), I64), at(dp, "major"));
      c.required(c.int(d.minor, at(dp, "minor"), I64), at(dp, "minor"));
      c.int(d.weight, at(dp, "weight"), U16);
      c.int(d.leafWeight, at(dp, "leafWeight"), U16);
    });
    for (const k of ["throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"]) {
      c.objs(bio[k], at(bp, k), (d, dp) => {
        c.required(c.int(d.major, at(dp, "major"), I64), at(dp, "major"));
        c.required(c.int(d.minor, at(dp, "minor"), I64), at(dp, "minor"));
        c.required(c.int(d.rate, at(dp, "rate"), U64), at(dp, "rate"));
      });
    }
  }

  c.objs(r.hugepageLimits, at(path, "hugepageLimits"), (h, hp) => {
    const size = c.required(c.str(h.pageSize, at(hp, "pageSize")), at(hp, "pageSize"));
    if (!/^\d+[KMG]B$/.test(size)) c.fail(at(hp, "pageSize"), `invalid page size ${JSON.stringify(size)} (e.g. "2MB")`);
    c.required(c.int(h.limit, at(hp, "limit"), U64), at(hp, "limit"));
  });

  const net = c.obj(r.network, at(path, "network"));
  if (net) {
    c.int(net.classID, at(path, "network.classID"), U32);
    c.objs(net.priorities, at(path, "network.priorities"), (p, pp) => {
      c.required(c.str(p.name, at(pp, "name")), at(pp, "name"));
      c.int(p.priority, at(pp, "priority"), U32);
    });
  }

  const rdma = c.obj(r.rdma, at(path, "rdma"));
  for (const [dev, lim] of Object.entries(rdma ?? {})) {
    const lp = entry(at(path, "rdma"), dev);
    const o = c.obj(lim, lp);
    c.int(o?.hcaHandles, at(lp, "hcaHandles"), U32);
    c.int(o?.hcaObjects, at(lp, "hcaObjects"), U32);
  }

  c.strMap(r.unified, at(path, "unified"));
}

const ERRNO_ACTIONS = ["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"];

function checkSeccomp(c: Checker, v: unknown, path: string): void {
  const s = c.obj(v, path);
  if (!s) return;
  const defaultAction = c.str(s.defaultAction, at(path, "defaultAction"));
  c.oneOf(defaultAction || undefined, at(path, "defaultAction"), SECCOMP_SPEC_ACTIONS, "seccomp action");
  if (defaultAction === "SCMP_ACT_NOTIFY") c.fail(at(path, "defaultAction"), "SCMP_ACT_NOTIFY cannot be the default action");
  const defaultErrno = c.int(s.defaultErrnoRet, at(path, "defaultErrnoRet"), U32);
  if (defaultErrno !== undefined && !ERRNO_ACTIONS.includes(defaultAction ?? "")) {
    c.fail(at(path, "defaultErrnoRet"), `cannot be used with ${defaultAction || "no default action"} (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE)`);
  }
  c.strs(s.architectures, at(path, "architectures"))?.forEach((a, i) =>
    c.oneOf(a, idx(at(path, "architectures"), i), SECCOMP_SPEC_ARCHS, "seccomp architecture"),
  );
  c.strs(s.flags, at(path, "flags"))?.forEach((f, i) => c.oneOf(f, idx(at(path, "flags"), i), SECCOMP_SPEC_FLAGS, "seccomp flag"));
  const listener = c.str(s.listenerPath, at(path, "listenerPath"));
  c.absolute(listener || undefined, at(path, "listenerPath"));
  if (c.str(s.listenerMetadata, at(path, "listenerMetadata")) && !listener) {
    c.fail(at(path, "listenerMetadata"), "needs listenerPath");
  }
  const syscalls = c.arr(s.syscalls, at(path, "syscalls"));
  // runc: no default action and no rules means seccomp is off; rules need a default action.
  if (!defaultAction && syscalls && syscalls.length > 0) c.fail(at(path, "defaultAction"), "is required when syscalls are listed");
  c.objs(syscalls, at(path, "syscalls"), (sc, sp) => {
    const names = c.required(c.strs(sc.names, at(sp, "names")), at(sp, "names"));
    if (names.length === 0) c.fail(at(sp, "names"), "must not be empty");
    const action = c.required(c.str(sc.action, at(sp, "action")), at(sp, "action"));
    c.oneOf(action, at(sp, "action"), SECCOMP_SPEC_ACTIONS, "seccomp action");
    if (action === "SCMP_ACT_NOTIFY" && names.includes("write")) {
      c.fail(at(sp, "names"), "SCMP_ACT_NOTIFY cannot be used for write (the notify agent could not log)");
    }
    const errno = c.int(sc.errnoRet, at(sp, "errnoRet"), U32);
    if (errno !== undefined && !ERRNO_ACTIONS.includes(action)) {
      c.fail(at(sp, "errnoRet"), `cannot be used with ${action} (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE)`);
    }
    c.objs(sc.args, at(sp, "args"), (a, ap) => {
      const index = c.required(c.int(a.index, at(ap, "index"), U32), at(ap, "index"));
      if (index > 5) c.fail(at(ap, "index"), "must be between 0 and 5");
      c.required(c.int(a.value, at(ap, "value"), U64), at(ap, "value"));
      c.int(a.valueTwo, at(ap, "valueTwo"), U64);
      const op = c.required(c.str(a.op, at(ap, "op")), at(ap, "op"));
      c.oneOf(op, at(ap, "op"), SECCOMP_SPEC_OPERATORS, "seccomp operator");
    });
  });
}

/**
 * A sysctl key as its path under /proc/sys, or undefined if it is not a plain name. Keys use
 * "." between components, or "/" (then a "." is part of a component: sysctl.d(5)).
 */
export function sysctlPath(key: string): string | undefined {
  const sep = /[./]/.exec(key)?.[0] ?? ".";
  const other = sep === "." ? "/" : ".";
  const parts = key.split(sep).map((p) => p.split(other).join("."));
  if (parts.some((p) => p === "" || p === "." || p === ".." || p.includes("/"))) return undefined;
  return parts.join("/");
}

/** IPC sysctls: namespaced by the IPC namespace (runc's list). */
const IPC_SYSCTLS = new Set([
  "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
  "kernel.shmmni", "kernel.shm_rmid_forced",
]);

/** Rules that tie fields together (runc's libcontainer/configs/validate), checked without I/O. */
function checkAcrossFields(c: Checker, spec: Spec): void {
  const linux = spec.linux;
  const types = new Map((linux?.namespaces ?? []).map((ns) => [ns.type as string, ns.path ?? ""]));
  const has = (t: string) => types.has(t);

  if (spec.hostname && !has("uts")) c.fail("hostname", 'needs a UTS namespace (no "uts" in linux.namespaces)');
  if (spec.domainname && !has("uts")) c.fail("domainname", 'needs a UTS namespace (no "uts" in linux.namespaces)');
  for (const key of ["maskedPaths", "readonlyPaths"] as const) {
    if ((linux?.[key]?.length ?? 0) > 0 && !has("mount")) c.fail(`linux.${key}`, 'needs a mount namespace (no "mount" in linux.namespaces)');
  }
  for (const key of ["uidMappings", "gidMappings"] as const) {
    const maps = linux?.[key];
    if (maps && maps.length > 0 && !has("user")) c.fail(`linux.${key}`, 'needs a user namespace (no "user" in linux.namespaces)');
    if ((!maps || maps.length === 0) && has("user") && types.get("user") === "") {
      c.fail(`linux.${key}`, "a new user namespace needs at least one mapping");
    }
  }
  if (linux?.timeOffsets && Object.keys(linux.timeOffsets).length > 0 && !has("time")) {
    c.fail("linux.timeOffsets", 'needs a time namespace (no "time" in linux.namespaces)');
  }

  // /proc/sys is only partly namespaced: a sysctl outside the container's own namespaces would
  // change the host.
  for (const key of Object.keys(linux?.sysctl ?? {})) {
    const name = sysctlPath(key)!.split("/").join(".");
    const at = entry("linux.sysctl", key);
    if (IPC_SYSCTLS.has(name) || name.startsWith("fs.mqueue.")) {
      if (!has("ipc")) c.fail(at, 'needs an IPC namespace (no "ipc" in linux.namespaces)');
    } else if (name.startsWith("net.")) {
      // A joined network namespace (a path) is checked against the host's in loadBundle.
      if (!has("network")) c.fail(at, 'needs a network namespace (no "network" in linux.namespaces)');
    } else if (name === "kernel.domainname" && has("uts")) {
      // namespaced, and no OCI field for it
    } else if (name === "kernel.hostname" && has("uts")) {
      c.fail(at, 'conflicts with the "hostname" field; set that instead');
    } else {
      c.fail(at, "is not namespaced: the container would change the host's value");
    }
  }
}
