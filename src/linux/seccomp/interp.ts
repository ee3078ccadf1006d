// A classic-BPF interpreter for seccomp filters, with the kernel's load-time checks and a
// disassembler. It lets tests (and `bunc` debugging) evaluate a compiled filter on any
// seccomp_data without loading it: the same program the kernel would run, byte for byte.

import { BPF, BPF_MAXINSNS, RET, RET_ACTION_FULL_MASK, RET_DATA_MASK, SECCOMP_DATA, SOCK_FILTER_SIZE } from "./constants.ts";

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  args?: (bigint | number)[];
}

const BPF_MEMWORDS = 16;

export function decode(filter: Uint8Array): Insn[] {
  if (filter.length % SOCK_FILTER_SIZE) throw new Error(`bpf: ${filter.length} bytes is not a whole number of instructions`);
  const view = new DataView(filter.buffer, filter.byteOffset, filter.byteLength);
  const out: Insn[] = [];
  for (let o = 0; o < filter.length; o += SOCK_FILTER_SIZE) {
    out.push({ code: view.getUint16(o, true), jt: view.getUint8(o + 2), jf: view.getUint8(o + 3), k: view.getUint32(o + 4, true) });
  }
  return out;
}

const cls = (code: number) => code & 0x07;
const size = (code: number) => code & 0x18;
const mode = (code: number) => code & 0xe0;
const op = (code: number) => code & 0xf0;
const src = (code: number) => code & 0x08;

/**
 * The checks the kernel makes when a seccomp filter is loaded (bpf_check_classic and
 * seccomp_check_filter); returns the first problem, or null when the program would load.
 */
export function check(prog: Insn[]): string | null {
  if (prog.length === 0 || prog.length > BPF_MAXINSNS) return `length ${prog.length} is not 1..${BPF_MAXINSNS}`;
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc];
    const at = `insn ${pc} (code 0x${code.toString(16)})`;
    switch (cls(code)) {
      case BPF.LD:
      case BPF.LDX:
        if (size(code) !== BPF.W) return `${at}: only word loads`;
        switch (mode(code)) {
          case BPF.ABS:
            if (cls(code) !== BPF.LD) return `${at}: bad load`;
            if (k >= SECCOMP_DATA.SIZE || k & 3) return `${at}: load outside seccomp_data or unaligned (k=${k})`;
            break;
          case BPF.IMM:
          case BPF.LEN:
            break;
          case BPF.MEM:
            if (k >= BPF_MEMWORDS) return `${at}: scratch index ${k}`;
            break;
          default:
            return `${at}: load mode not allowed in seccomp`;
        }
        break;
      case BPF.ST:
      case BPF.STX:
        if (k >= BPF_MEMWORDS) return `${at}: scratch index ${k}`;
        break;
      case BPF.ALU:
        if (![BPF.ADD, BPF.SUB, BPF.MUL, BPF.DIV, BPF.OR, BPF.AND, BPF.LSH, BPF.RSH, BPF.NEG, BPF.MOD, BPF.XOR].includes(op(code) as never))
          return `${at}: bad alu op`;
        if ((op(code) === BPF.DIV || op(code) === BPF.MOD) && src(code) === BPF.K && k === 0) return `${at}: division by 0`;
        break;
      case BPF.JMP:
        if (op(code) === BPF.JA) {
          if (pc + 1 + k >= prog.length) return `${at}: ja out of the program`;
        } else {
          if (![BPF.JEQ, BPF.JGT, BPF.JGE, BPF.JSET].includes(op(code) as never)) return `${at}: bad jump op`;
          if (pc + 1 + jt >= prog.length || pc + 1 + jf >= prog.length) return `${at}: jump out of the program`;
        }
        break;
      case BPF.RET:
        if (code !== (BPF.RET | BPF.K) && code !== (BPF.RET | BPF.A)) return `${at}: bad ret`;
        break;
      case BPF.MISC:
        if (code !== (BPF.MISC | BPF.TAX) && code !== (BPF.MISC | BPF.TXA)) return `${at}: bad misc op`;
        break;
    }
  }
  const last = prog[prog.length - 1].code;
  if (last !== (BPF.RET | BPF.K) && last !== (BPF.RET | BPF.A)) return "the last instruction is not a ret";
  return null;
}

function dataWord(d: SeccompData, offset: number): number {
  if (offset === SECCOMP_DATA.NR) return d.nr >>> 0;
  if (offset === SECCOMP_DATA.ARCH) return d.arch >>> 0;
  const word = (v: bigint, high: boolean) => Number(high ? (v >> 32n) & 0xffffffffn : v & 0xffffffffn);
  if (offset === SECCOMP_DATA.IP || offset === SECCOMP_DATA.IP + 4) return word(d.instructionPointer ?? 0n, offset !== SECCOMP_DATA.IP);
  const i = (offset - SECCOMP_DATA.ARGS) >> 3;
  const arg = BigInt.asUintN(64, BigInt(d.args?.[i] ?? 0));
  return word(arg, (offset - SECCOMP_DATA.ARGS) % 8 === 4);
}

/**
 * Run the filter on one syscall; returns the seccomp return value (e.g. RET.ALLOW).
 * `stats.steps` receives the number of instructions executed.
 */
export function run(filter: Uint8Array | Insn[], data: SeccompData, stats?: { steps: number }): number {
  const prog = filter instanceof Uint8Array ? decode(filter) : filter;
  const problem = check(prog);
  if (problem) throw new Error(`bpf: ${problem}`);
  let A = 0;
  let X = 0;
  const M = new Uint32Array(BPF_MEMWORDS);
  for (let pc = 0; pc < prog.length; pc++) {
    const { code, jt, jf, k } = prog[pc];
    if (stats) stats.steps++;
    switch (cls(code)) {
      case BPF.LD:
        A = mode(code) === BPF.ABS ? dataWord(data, k) : mode(code) === BPF.LEN ? SECCOMP_DATA.SIZE : mode(code) === BPF.MEM ? M[k] : k;
        break;
      case BPF.LDX:
        X = mode(code) === BPF.LEN ? SECCOMP_DATA.SIZE : mode(code) === BPF.MEM ? M[k] : k;
        break;
      case BPF.ST:
        M[k] = A;
        break;
      case BPF.STX:
        M[k] = X;
        break;
      case BPF.ALU: {
        const b = src(code) === BPF.X ? X : k;
        A = alu(op(code), A, b);
        break;
      }
      case BPF.JMP: {
        if (op(code) === BPF.JA) {
          pc += k;
          break;
        }
        const b = src(code) === BPF.X ? X : k;
        const taken =
          op(code) === BPF.JEQ ? A === b : op(code) === BPF.JGT ? A > b : op(code) === BPF.JGE ? A >= b : (A & b) !== 0;
        pc += taken ? jt : jf;
        break;
      }
      case BPF.RET:
        return (src(code) === BPF.A ? A : k) >>> 0;
      case BPF.MISC:
        if (code === (BPF.MISC | BPF.TAX)) X = A;
        else A = X;
        break;
    }
  }
  throw new Error("bpf: fell off the end of the program");
}

function alu(o: number, a: number, b: number): number {
  switch (o) {
    case BPF.ADD:
      return (a + b) >>> 0;
    case BPF.SUB:
      return (a - b) >>> 0;
    case BPF.MUL:
      return Number((BigInt(a) * BigInt(b)) & 0xffffffffn);
    case BPF.DIV:
      return b === 0 ? 0 : Math.floor(a / b);
    case BPF.MOD:
      return b === 0 ? 0 : a % b;
    case BPF.OR:
      return (a | b) >>> 0;
    case BPF.AND:
      return (a & b) >>> 0;
    case BPF.XOR:
      return (a ^ b) >>> 0;
    case BPF.LSH:
      return b >= 32 ? 0 : (a << b) >>> 0;
    case BPF.RSH:
      return b >= 32 ? 0 : a >>> b;
    case BPF.NEG:
      return -a >>> 0;
  }
  throw new Error(`bpf: alu op 0x${o.toString(16)}`);
}

/** A seccomp return value as text, e.g. "ERRNO(38)", "ALLOW". */
export function describeRet(value: number): string {
  const action = (value & RET_ACTION_FULL_MASK) >>> 0;
  const data = value & RET_DATA_MASK;
  const name = Object.entries(RET).find(([, v]) => v === action)?.[0] ?? `0x${action.toString(16)}`;
  return action === RET.ERRNO || action === RET.TRACE ? `${name}(${data})` : name;
}

/** One line per instruction, like `bpf_dbg`'s output. */
export function disassemble(filter: Uint8Array | Insn[]): string {
  const prog = filter instanceof Uint8Array ? decode(filter) : filter;
  const jmpName: Record<number, string> = { [BPF.JEQ]: "jeq", [BPF.JGT]: "jgt", [BPF.JGE]: "jge", [BPF.JSET]: "jset" };
  const hex = (n: number) => `0x${n.toString(16)}`;
  return prog
    .map(({ code, jt, jf, k }, pc) => {
      let text: string;
      if (code === (BPF.LD | BPF.W | BPF.ABS)) text = `ld [${k}]`;
      else if (code === (BPF.RET | BPF.K)) text = `ret ${describeRet(k)}`;
      else if (code === (BPF.JMP | BPF.JA)) text = `ja ${pc + 1 + k}`;
      else if (cls(code) === BPF.JMP) text = `${jmpName[op(code)] ?? "j?"} #${hex(k)} jt ${pc + 1 + jt} jf ${pc + 1 + jf}`;
      else if (code === (BPF.ALU | BPF.AND | BPF.K)) text = `and #${hex(k)}`;
      else text = `code ${hex(code)} jt ${jt} jf ${jf} k ${hex(k)}`;
      return `${String(pc).padStart(4)}: ${text}`;
    })
    .join("\n");
}
