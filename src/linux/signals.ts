// Signal names and numbers on Linux (x86-64 and arm64 share asm-generic's numbering), for
// `bunc kill ID [SIGNAL]` and for naming a signal in messages.
//
// Real-time signals use the C library's numbering, as bash's `kill -l`, Docker and containerd
// do: SIGRTMIN is 34 (glibc keeps 32 and 33 for itself), SIGRTMAX is 64. 32 and 33 have no
// name but are accepted as numbers.
import { BuncError } from "../errors.ts";

export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

/** Standard signals 1..31 by name without "SIG" (the unit test checks them against bash's `kill -l`). */
export const STANDARD_SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10,
  SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19,
  TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28,
  IO: 29, PWR: 30, SYS: 31,
};

/** Other spellings of the same numbers, accepted when parsing but never printed. */
const ALIASES: Readonly<Record<string, number>> = { IOT: 6, CLD: 17, POLL: 29 };

const NAME_OF = new Map(Object.entries(STANDARD_SIGNALS).map(([name, n]) => [n, name]));

/** 15 -> "SIGTERM", 37 -> "SIGRTMIN+3", 62 -> "SIGRTMAX-2"; undefined for 0, 32, 33 and out of range. */
export function signalName(n: number): string | undefined {
  const std = NAME_OF.get(n);
  if (std) return `SIG${std}`;
  if (n === SIGRTMIN) return "SIGRTMIN";
  if (n === SIGRTMAX) return "SIGRTMAX";
  // bash's split: RTMIN+1..RTMIN+15, then RTMAX-14..RTMAX-1.
  if (n > SIGRTMIN && n <= SIGRTMIN + 15) return `SIGRTMIN+${n - SIGRTMIN}`;
  if (n > SIGRTMIN + 15 && n < SIGRTMAX) return `SIGRTMAX-${SIGRTMAX - n}`;
  return undefined;
}

/**
 * "TERM", "SIGTERM", "sigterm", "15", "SIGRTMIN+3", "RTMAX-1" -> the signal number.
 * Numbers 0..64 are accepted as they are (0 only checks that the process exists).
 */
export function parseSignal(raw: string): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n <= SIGRTMAX) return n;
    throw new BuncError(`invalid signal number ${raw} (must be 0..${SIGRTMAX})`);
  }
  let name = raw.toUpperCase();
  if (name.startsWith("SIG")) name = name.slice(3);
  if (Object.hasOwn(STANDARD_SIGNALS, name)) return STANDARD_SIGNALS[name]!;
  if (Object.hasOwn(ALIASES, name)) return ALIASES[name]!;
  const rt = /^RT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (rt) {
    const base = rt[1] === "MIN" ? SIGRTMIN : SIGRTMAX;
    const offset = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === "+" ? 1 : -1);
    const n = base + offset;
    if (n >= SIGRTMIN && n <= SIGRTMAX && (rt[1] === "MIN" ? offset >= 0 : offset <= 0)) return n;
  }
  throw new BuncError(`unknown signal "${raw}"`);
}
