// Turns an OCI `linux.seccomp` profile into per-architecture rule tables, with runc's and
// libseccomp's semantics:
//
// - The host's architecture is always filtered (libseccomp's filter always holds the native arch);
//   `architectures` adds others. A syscall from any other architecture gets KILL_THREAD
//   (libseccomp's default "bad arch" action, which runc keeps).
// - Syscall names are looked up per architecture: a name that an ABI lacks (chown32 on x86_64,
//   open on aarch64) just does not apply there; a name no filtered ABI knows is skipped with a
//   warning (runc logs it at debug level and goes on).
// - A rule whose action equals the default action is dropped (runc does; it is redundant).
// - Several args on one rule are AND-ed, except when one argument index appears twice: then
//   runc adds one rule per condition, i.e. they are OR-ed. Several rules for one syscall are OR-ed.
// - Priority: a rule without args for a syscall overrides every rule with args for it, and the
//   first rule without args wins (libseccomp keeps the first unconditional entry and replaces
//   argument chains with it). Rules with args are tried in profile order, first match wins.
//   (libseccomp merges argument chains into a tree and rejects some overlapping rules with
//   different actions with EEXIST; bunc accepts them and uses profile order.)
// - On 32-bit ABIs (x86) only the low 32 bits of an argument and of the rule's value are
//   compared, as libseccomp does.
// - On x86 a rule for a socket or System V IPC syscall (socket, sendto, semop, shmat, send...)
//   also applies to socketcall(2) / ipc(2) with that call number as argument 0, as libseccomp
//   does, so a 32-bit program cannot get around a rule through the multiplexer.

import type { Seccomp, SeccompArg } from "../../spec/types.ts";
import { fail } from "../../errors.ts";
import { ARCHS, archByOciName, hostSeccompArch, KNOWN_OCI_ARCHS, multiplexedCall, syscallNumber, type ArchInfo, type TableArch } from "./arch.ts";
import { ENOSYS, EPERM, FILTER_FLAG, RET, RET_ACTION_FULL_MASK, RET_DATA_MASK } from "./constants.ts";
import { ACTIONS, FLAGS, OPERATORS, type Operator } from "./support.ts";

export interface Condition {
  index: number; // 0..5
  op: Operator;
  /** The comparison value; for MASKED_EQ the datum (already masked). */
  value: bigint;
  /** MASKED_EQ only: the mask. */
  mask: bigint;
}

export interface Rule {
  action: number; // a full seccomp return value
  conds: Condition[]; // all must hold; empty = unconditional
}

export interface SyscallRules {
  unconditional?: number;
  conditional: Rule[];
}

export interface ArchRules {
  arch: ArchInfo;
  syscalls: Map<number, SyscallRules>;
  /** Largest syscall number the profile names on this ABI (for the -ENOSYS stub). */
  maxNr?: number;
}

export interface NormalizedProfile {
  defaultAction: number;
  badArchAction: number;
  /** Return -ENOSYS for syscalls newer than any the profile names, as runc's patchbpf does. */
  enosysStub: boolean;
  archs: ArchRules[]; // host first
  flags: number;
  needsListener: boolean;
}

export type Warn = (msg: string) => void;

const PATH = "config.json: linux.seccomp";
const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffffffffn;
const MAX_ARGS = 6;

export function normalizeProfile(s: Seccomp, hostArch: TableArch = hostSeccompArch(), warn: Warn = () => {}): NormalizedProfile {
  if (typeof s !== "object" || s === null) fail(`${PATH}: must be an object`);
  if (typeof s.defaultAction !== "string") fail(`${PATH}.defaultAction: required`);
  if (s.defaultAction === "SCMP_ACT_NOTIFY") fail(`${PATH}.defaultAction: SCMP_ACT_NOTIFY cannot be the default action`);
  const defaultAction = actionValue(s.defaultAction, s.defaultErrnoRet, `${PATH}.defaultAction`, "defaultErrnoRet", warn);

  const archs = selectArchs(s.architectures, hostArch, warn);
  const known = new Set<string>();
  let needsListener = false;

  const syscalls = list(s.syscalls, `${PATH}.syscalls`);
  syscalls.forEach((sc, i) => {
    const path = `${PATH}.syscalls[${i}]`;
    if (typeof sc !== "object" || sc === null) fail(`${path}: must be an object`);
    const names = list(sc.names, `${path}.names`);
    names.forEach((name, j) => {
      if (typeof name !== "string" || name === "") fail(`${path}.names[${j}]: must be a syscall name`);
    });
    if (typeof sc.action !== "string") fail(`${path}.action: required`);
    const action = actionValue(sc.action, sc.errnoRet, `${path}.action`, "errnoRet", warn);
    if (sc.action === "SCMP_ACT_NOTIFY") {
      // As runc: the container process may need write() to hand over the listener fd after
      // loading the filter, so write() must never wait for the listener.
      if (names.includes("write")) fail(`${path}: SCMP_ACT_NOTIFY cannot be used for the write syscall`);
      needsListener = true;
    }
    const conds = list(sc.args, `${path}.args`).map((a, j) => condition(a, `${path}.args[${j}]`));
    const rulesByBits = new Map<number, Rule[]>();

    for (const ar of archs) {
      const bits = ar.arch.bits;
      let rules = rulesByBits.get(bits);
      if (!rules) rulesByBits.set(bits, (rules = action === defaultAction ? [] : splitRule(action, conds, bits)));
      for (const name of names) {
        const nr = syscallNumber(ar.arch.table, name);
        const mux = multiplexedCall(ar.arch, name);
        if (nr === undefined && !mux) continue;
        known.add(name);
        if (mux) {
          for (const rule of rules) addRule(ar.syscalls, mux.nr, viaMultiplexer(rule, mux.call, bits));
        } else if (ar.maxNr === undefined || nr! > ar.maxNr) {
          // (libseccomp resolves multiplexed names to pseudo numbers there, so runc's -ENOSYS
          // stub does not count them: neither do we.)
          ar.maxNr = nr;
        }
        if (nr !== undefined) for (const rule of rules) addRule(ar.syscalls, nr, rule);
      }
    }
    for (const name of names) {
      if (!known.has(name)) warn(`seccomp: syscall "${name}" is unknown on ${archs.map((a) => a.arch.table).join(", ")}; rule ignored`);
    }
  });

  const enosysStub =
    defaultAction !== RET.ALLOW &&
    defaultAction !== RET.LOG &&
    ((defaultAction & RET_ACTION_FULL_MASK) >>> 0) !== RET.TRACE &&
    defaultAction !== ((RET.ERRNO | ENOSYS) >>> 0);

  return {
    defaultAction,
    badArchAction: RET.KILL_THREAD,
    enosysStub,
    archs,
    flags: filterFlags(s.flags, needsListener, warn),
    needsListener,
  };
}

function list<T>(v: T[] | undefined, path: string): T[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(`${path}: must be an array`);
  return v;
}

function actionValue(name: string, errnoRet: number | undefined, path: string, errnoField: string, warn: Warn): number {
  const base = Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : fail(`${path}: unknown action "${name}"`);
  const fieldPath = path.replace(/\.[^.]+$/, `.${errnoField}`);
  if (base === RET.ERRNO || base === RET.TRACE) {
    const data = errnoRet ?? EPERM;
    if (!Number.isInteger(data) || data < 0 || data > RET_DATA_MASK) fail(`${fieldPath}: ${data} is not an errno (0..65535)`);
    return (base | data) >>> 0;
  }
  if (errnoRet !== undefined && errnoRet !== null) warn(`seccomp: ${fieldPath.replace("config.json: ", "")} is ignored with ${name}`);
  return base >>> 0;
}

function selectArchs(names: string[] | undefined, hostArch: TableArch, warn: Warn): ArchRules[] {
  if (!Object.hasOwn(ARCHS, hostArch)) fail(`seccomp: unsupported host architecture ${hostArch}`);
  const picked: ArchInfo[] = [ARCHS[hostArch]];
  list(names, `${PATH}.architectures`).forEach((name, i) => {
    const arch = archByOciName(name);
    if (arch) {
      if (!picked.includes(arch)) picked.push(arch);
    } else if (KNOWN_OCI_ARCHS.includes(name)) {
      warn(`seccomp: architecture ${name} is not supported by bunc; its syscalls will be killed`);
    } else {
      fail(`${PATH}.architectures[${i}]: unknown architecture "${name}"`);
    }
  });
  return picked.map((arch) => ({ arch, syscalls: new Map() }));
}

function condition(a: SeccompArg, path: string): Condition & { valueTwo: bigint } {
  if (typeof a !== "object" || a === null) fail(`${path}: must be an object`);
  if (!Number.isInteger(a.index) || a.index < 0 || a.index >= MAX_ARGS) fail(`${path}.index: must be 0..5`);
  if (!(OPERATORS as readonly string[]).includes(a.op)) fail(`${path}.op: unknown operator "${a.op}"`);
  const value = u64(a.value, `${path}.value`);
  const valueTwo = a.valueTwo === undefined || a.valueTwo === null ? 0n : u64(a.valueTwo, `${path}.valueTwo`);
  return { index: a.index, op: a.op as Operator, value, mask: U64_MAX, valueTwo };
}

/**
 * JSON numbers above 2^53 arrive rounded; the common one, 2^64-1, rounds up to 2^64, so that
 * is taken back to 2^64-1. A bigint (from a precise parser) is used as is.
 */
function u64(v: unknown, path: string): bigint {
  let b: bigint;
  if (typeof v === "bigint") b = v;
  else if (typeof v === "number" && Number.isInteger(v)) b = BigInt(v);
  else return fail(`${path}: must be an unsigned 64-bit integer`);
  if (b === 1n << 64n) b = U64_MAX;
  if (b < 0n || b > U64_MAX) fail(`${path}: must be an unsigned 64-bit integer`);
  return b;
}

/**
 * The rules one profile entry stands for on an ABI of `bits` bits: one AND-rule, or one rule per
 * condition when an argument index repeats (runc). Conditions that always hold are dropped (as
 * libseccomp does), which can make a rule unconditional.
 */
function splitRule(action: number, conds: (Condition & { valueTwo: bigint })[], bits: 32 | 64): Rule[] {
  const counts = new Map<number, number>();
  for (const c of conds) counts.set(c.index, (counts.get(c.index) ?? 0) + 1);
  const repeated = [...counts.values()].some((n) => n > 1);
  const groups = repeated ? conds.map((c) => [c]) : [conds];
  return groups.map((g) => ({ action, conds: g.map((c) => forAbi(c, bits)).filter((c) => !alwaysTrue(c, bits)) }));
}

function forAbi(c: Condition & { valueTwo: bigint }, bits: 32 | 64): Condition {
  const width = bits === 64 ? U64_MAX : U32_MAX;
  if (c.op === "SCMP_CMP_MASKED_EQ") {
    // OCI: value is the mask, valueTwo the datum; libseccomp masks the datum.
    const mask = c.value & width;
    return { index: c.index, op: c.op, mask, value: c.valueTwo & mask };
  }
  return { index: c.index, op: c.op, mask: width, value: c.value & width };
}

function alwaysTrue(c: Condition, bits: 32 | 64): boolean {
  const width = bits === 64 ? U64_MAX : U32_MAX;
  return (
    (c.op === "SCMP_CMP_MASKED_EQ" && c.mask === 0n) ||
    (c.op === "SCMP_CMP_GE" && c.value === 0n) ||
    (c.op === "SCMP_CMP_LE" && c.value === width)
  );
}

/**
 * The rule as libseccomp applies it to the multiplexer: argument 0 must be the call number (any
 * condition of the rule on argument 0 is replaced); the other conditions stay as they are.
 */
function viaMultiplexer(rule: Rule, call: number, bits: 32 | 64): Rule {
  const callCond: Condition = { index: 0, op: "SCMP_CMP_EQ", value: BigInt(call), mask: bits === 64 ? U64_MAX : U32_MAX };
  return { action: rule.action, conds: [callCond, ...rule.conds.filter((c) => c.index !== 0)] };
}

function addRule(table: Map<number, SyscallRules>, nr: number, rule: Rule): void {
  let entry = table.get(nr);
  if (!entry) table.set(nr, (entry = { conditional: [] }));
  if (entry.unconditional !== undefined) return; // the first unconditional rule wins
  if (rule.conds.length === 0) {
    entry.unconditional = rule.action;
    entry.conditional = [];
  } else {
    entry.conditional.push(rule);
  }
}

function filterFlags(names: string[] | undefined, needsListener: boolean, warn: Warn): number {
  let flags = needsListener ? FILTER_FLAG.NEW_LISTENER : 0;
  list(names, `${PATH}.flags`).forEach((name, i) => {
    if (!Object.hasOwn(FLAGS, name)) fail(`${PATH}.flags[${i}]: unknown flag "${name}"`);
    if (name === "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" && !needsListener) {
      warn(`seccomp: ${name} has no effect without an SCMP_ACT_NOTIFY rule; ignored`);
      return;
    }
    flags |= FLAGS[name];
  });
  // The kernel refuses TSYNC together with NEW_LISTENER unless TSYNC_ESRCH says how to report
  // a thread that could not be synced.
  if (flags & FILTER_FLAG.TSYNC && flags & FILTER_FLAG.NEW_LISTENER) flags |= FILTER_FLAG.TSYNC_ESRCH;
  return flags;
}
