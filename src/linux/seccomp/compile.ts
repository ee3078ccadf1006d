// Compiles an OCI `linux.seccomp` profile to a classic BPF program (struct sock_filter[]).
//
// Program layout:
//
//   ld arch
//   jeq AUDIT_ARCH_<host>  -> block 1        (one block per arch value; x86_64 and x32 share one)
//   jeq AUDIT_ARCH_<other> -> block 2
//   ret KILL_THREAD                          (any other architecture)
// block:
//   ld nr
//   binary search over the syscall-number line -> an outcome label
//   argument chains (one per syscall with argument rules; shared when identical)
//   ret <each action used in the block>
//
// The search works on intervals, not single syscalls: the whole 32-bit number line is cut where
// the outcome can change (each syscall with a rule, the -ENOSYS threshold, the x32 bit, -1) and
// neighbouring intervals with the same outcome are merged. With Docker's default profile
// (~350 allowed syscalls) a block has ~60 intervals, so every syscall costs ~7 comparisons.
//
// Each block's outcome function composes, in the order runc applies them:
//   1. runc's -ENOSYS stub: a syscall newer than any the profile names on that ABI returns ENOSYS,
//      so that libc falls back (clone3, faccessat2...) instead of seeing EPERM;
//   2. libseccomp's ABI check on x86_64/x32: an x32 syscall (nr has 0x40000000) when only x86_64
//      is filtered is killed, except nr == -1 (which tracers use to skip a syscall), and an
//      x86_64 syscall when only x32 is filtered is killed;
//   3. the syscall's rules (see profile.ts for the priorities), else the default action.

import type { Seccomp } from "../../spec/types.ts";
import { fail } from "../../errors.ts";
import { hostSeccompArch, type TableArch } from "./arch.ts";
import { Assembler, type Label } from "./bpf.ts";
import {
  AUDIT_ARCH,
  BPF,
  BPF_MAXINSNS,
  ENOSYS,
  RET,
  SECCOMP_DATA,
  SOCK_FILTER_SIZE,
  X32_SYSCALL_BIT,
  argHiOffset,
  argLoOffset,
} from "./constants.ts";
import { normalizeProfile, type ArchRules, type Condition, type NormalizedProfile, type Rule, type SyscallRules, type Warn } from "./profile.ts";

export interface CompiledSeccomp {
  /** struct sock_filter[] in host byte order, ready for seccomp(SECCOMP_SET_MODE_FILTER). */
  filter: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* bits to pass to seccomp(2). */
  flags: number;
  /** A rule uses SCMP_ACT_NOTIFY: seccomp(2) returns a listener fd (NEW_LISTENER is in flags). */
  needsListener: boolean;
}

/**
 * runc: a profile with neither a default action nor rules means "no seccomp" (and loads nothing);
 * rules without a default action are an error (compileSeccomp reports it).
 */
export function isSeccompEnabled(s: Seccomp | undefined | null): s is Seccomp {
  return !!s && (!!s.defaultAction || (s.syscalls?.length ?? 0) > 0);
}

export function compileSeccomp(s: Seccomp, hostArch: TableArch = hostSeccompArch(), warn?: Warn): CompiledSeccomp {
  const profile = normalizeProfile(s, hostArch, warn);
  const filter = generate(profile);
  const count = filter.length / SOCK_FILTER_SIZE;
  if (count > BPF_MAXINSNS) {
    fail(`config.json: linux.seccomp: the filter needs ${count} BPF instructions, more than the kernel's limit of ${BPF_MAXINSNS}`);
  }
  return { filter, flags: profile.flags, needsListener: profile.needsListener };
}

/** Everything the syscall number alone decides: return a value, or run an argument chain. */
type RetOutcome = { key: string; ret: number };
type ChainOutcome = { key: string; rules: Rule[]; bits: 32 | 64; otherwise: number };
type Outcome = RetOutcome | ChainOutcome;

interface Block {
  auditArch: number;
  members: ArchRules[];
}

export function generate(p: NormalizedProfile): Uint8Array {
  const asm = new Assembler();
  const blocks = groupByAuditArch(p.archs);
  const labels = blocks.map(() => asm.label());
  asm.loadWord(SECCOMP_DATA.ARCH);
  blocks.forEach((b, i) => asm.jump(BPF.JEQ, b.auditArch, labels[i], null));
  asm.ret(p.badArchAction);
  blocks.forEach((b, i) => {
    asm.bind(labels[i]);
    emitBlock(asm, b, p);
  });
  return asm.assemble();
}

function groupByAuditArch(archs: ArchRules[]): Block[] {
  const blocks: Block[] = [];
  for (const a of archs) {
    const block = blocks.find((b) => b.auditArch === a.arch.auditArch);
    if (block) block.members.push(a);
    else blocks.push({ auditArch: a.arch.auditArch, members: [a] });
  }
  return blocks;
}

function emitBlock(asm: Assembler, block: Block, p: NormalizedProfile): void {
  const intervals = partition(block, outcomeFunction(block, p));
  const rets = new Map<number, Label>();
  const chains = new Map<ChainOutcome, Label>();
  const targetOf = (o: Outcome): Label => {
    if ("ret" in o) {
      let l = rets.get(o.ret);
      if (l === undefined) rets.set(o.ret, (l = asm.label()));
      return l;
    }
    let l = chains.get(o);
    if (l === undefined) chains.set(o, (l = asm.label()));
    return l;
  };
  const targets = intervals.map((iv) => targetOf(iv.outcome));

  asm.loadWord(SECCOMP_DATA.NR);
  emitSearch(
    asm,
    intervals.map((iv) => iv.start),
    targets,
  );
  for (const [outcome, label] of chains) {
    asm.bind(label);
    emitChain(asm, outcome.rules, outcome.bits, outcome.otherwise);
  }
  for (const [value, label] of rets) {
    asm.bind(label);
    asm.ret(value);
  }
}

/** Outcomes are interned: equal outcomes are the same object, so intervals merge by identity. */
function outcomeFunction(block: Block, p: NormalizedProfile): (nr: number) => Outcome {
  const rets = new Map<number, RetOutcome>();
  const ret = (value: number): Outcome => {
    let o = rets.get(value);
    if (!o) rets.set(value, (o = { key: `r${value}`, ret: value >>> 0 }));
    return o;
  };
  const chainOfEntry = new Map<SyscallRules, ChainOutcome>();
  const chainOfKey = new Map<string, ChainOutcome>();
  const chain = (entry: SyscallRules, bits: 32 | 64): Outcome => {
    let o = chainOfEntry.get(entry);
    if (!o) {
      const key = chainKey(entry.conditional, bits, p.defaultAction);
      o = chainOfKey.get(key);
      if (!o) chainOfKey.set(key, (o = { key, rules: entry.conditional, bits, otherwise: p.defaultAction }));
      chainOfEntry.set(entry, o);
    }
    return o;
  };
  const enosys = ret(RET.ERRNO | ENOSYS);
  const x86Family = block.auditArch === AUDIT_ARCH.X86_64;
  const x64 = block.members.find((m) => m.arch.table === "x86_64");
  const x32 = block.members.find((m) => m.arch.table === "x32");

  return (nr) => {
    let member: ArchRules | undefined = block.members[0];
    if (x86Family) member = nr & X32_SYSCALL_BIT ? x32 : x64;
    if (p.enosysStub && member?.maxNr !== undefined && nr > member.maxNr) return enosys;
    if (x86Family && !x32 && nr >= X32_SYSCALL_BIT && nr !== 0xffffffff) return ret(p.badArchAction);
    if (x86Family && !x64 && nr < X32_SYSCALL_BIT) return ret(p.badArchAction);
    const entry = member?.syscalls.get(nr);
    if (!member || !entry) return ret(p.defaultAction);
    if (entry.unconditional !== undefined) return ret(entry.unconditional);
    return chain(entry, member.arch.bits);
  };
}

function chainKey(rules: Rule[], bits: number, otherwise: number): string {
  const conds = (r: Rule) => r.conds.map((c) => `${c.index},${c.op},${c.mask},${c.value}`).join("&");
  return `c${bits};${otherwise};` + rules.map((r) => `${r.action}:${conds(r)}`).join("|");
}

/**
 * Cut [0, 2^32) into intervals on which the outcome is constant: it can only change at a syscall
 * number with a rule (and just after it), just after an ABI's -ENOSYS threshold, and where the
 * x32 bit or the value -1 change the ABI checks.
 */
function partition(block: Block, outcomeAt: (nr: number) => Outcome): { start: number; outcome: Outcome }[] {
  const cuts = new Set<number>([0, X32_SYSCALL_BIT, 0x80000000, 0xc0000000, 0xffffffff]);
  for (const m of block.members) {
    for (const nr of m.syscalls.keys()) cuts.add(nr).add(nr + 1);
    if (m.maxNr !== undefined) cuts.add(m.maxNr + 1);
  }
  const starts = [...cuts].filter((n) => n >= 0 && n <= 0xffffffff).sort((a, b) => a - b);
  const out: { start: number; outcome: Outcome }[] = [];
  for (const start of starts) {
    const outcome = outcomeAt(start);
    if (out.length && out[out.length - 1].outcome === outcome) continue;
    out.push({ start, outcome });
  }
  return out;
}

/** A balanced binary search on interval starts (A holds nr), jumping to targets[i]. */
function emitSearch(asm: Assembler, starts: number[], targets: Label[]): void {
  if (starts.length === 1) {
    asm.ja(targets[0]);
    return;
  }
  const node = (lo: number, hi: number): void => {
    const mid = (lo + hi + 1) >> 1; // the right half starts at interval `mid`
    const right = mid === hi ? targets[hi] : asm.label();
    const left = mid - 1 === lo ? targets[lo] : null;
    asm.jump(BPF.JGE, starts[mid], right, left);
    if (left === null) node(lo, mid - 1);
    if (mid !== hi) {
      asm.bind(right);
      node(mid, hi);
    }
  };
  node(0, starts.length - 1);
}

/** Argument rules of one syscall: the first rule whose conditions all hold decides. */
function emitChain(asm: Assembler, rules: Rule[], bits: 32 | 64, otherwise: number): void {
  for (const rule of rules) {
    const next = asm.label();
    for (const c of rule.conds) emitCondition(asm, c, bits, next);
    asm.ret(rule.action);
    asm.bind(next);
  }
  asm.ret(otherwise);
}

/**
 * Falls through when the condition holds, jumps to `failed` otherwise. A 64-bit argument is two
 * 32-bit words: the high word decides unless equal, then the low word decides (unsigned).
 */
function emitCondition(asm: Assembler, c: Condition, bits: 32 | 64, failed: Label): void {
  const lo = Number(c.value & 0xffffffffn);
  const hi = Number(c.value >> 32n);
  const LO = argLoOffset(c.index);
  const HI = argHiOffset(c.index);
  const wide = bits === 64;
  const ok = asm.label();
  switch (c.op) {
    case "SCMP_CMP_EQ":
      if (wide) {
        asm.loadWord(HI);
        asm.jump(BPF.JEQ, hi, null, failed);
      }
      asm.loadWord(LO);
      asm.jump(BPF.JEQ, lo, null, failed);
      break;
    case "SCMP_CMP_NE":
      if (wide) {
        asm.loadWord(HI);
        asm.jump(BPF.JEQ, hi, null, ok);
      }
      asm.loadWord(LO);
      asm.jump(BPF.JEQ, lo, failed, null);
      break;
    case "SCMP_CMP_MASKED_EQ": {
      const words: [number, number, number][] = [[LO, Number(c.mask & 0xffffffffn), lo]];
      if (wide) words.unshift([HI, Number(c.mask >> 32n), hi]);
      for (const [offset, mask, value] of words) {
        if (mask === 0) continue; // (A & 0) == 0 always holds
        asm.loadWord(offset);
        if (mask !== 0xffffffff) asm.stmt(BPF.ALU | BPF.AND | BPF.K, mask);
        asm.jump(BPF.JEQ, value, null, failed);
      }
      break;
    }
    case "SCMP_CMP_GT":
    case "SCMP_CMP_GE":
      if (wide) {
        asm.loadWord(HI);
        asm.jump(BPF.JGT, hi, ok, null);
        asm.jump(BPF.JEQ, hi, null, failed);
      }
      asm.loadWord(LO);
      asm.jump(c.op === "SCMP_CMP_GT" ? BPF.JGT : BPF.JGE, lo, null, failed);
      break;
    case "SCMP_CMP_LT":
    case "SCMP_CMP_LE":
      if (wide) {
        asm.loadWord(HI);
        asm.jump(BPF.JGT, hi, failed, null);
        asm.jump(BPF.JEQ, hi, null, ok);
      }
      asm.loadWord(LO);
      asm.jump(c.op === "SCMP_CMP_LT" ? BPF.JGE : BPF.JGT, lo, failed, null);
      break;
  }
  asm.bind(ok);
}
