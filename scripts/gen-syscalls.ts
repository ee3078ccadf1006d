#!/usr/bin/env bun
// Generates src/linux/seccomp/syscalls.gen.ts: syscall name -> number for every architecture the
// seccomp compiler supports, read from the kernel UAPI headers that Debian installs with gcc
// (package linux-libc-dev). Nothing in the table is typed by hand.
//
//   bun scripts/gen-syscalls.ts [--include DIR] [--out FILE] [--check]
//
//   --include DIR  root of the UAPI headers (default /usr/include)
//   --out FILE     where to write (default src/linux/seccomp/syscalls.gen.ts)
//   --check        do not write; exit 1 if FILE differs from what the headers give
//
// Sources:
//   x86_64   asm/unistd_64.h
//   x86      asm/unistd_32.h
//   x32      asm/unistd_x32.h   (numbers carry __X32_SYSCALL_BIT, taken from asm/unistd.h)
//   aarch64  asm-generic/unistd.h, preprocessed as arm64's asm/unistd.h does (see AARCH64_KNOBS)
// and the call numbers of the multiplexed i386 syscalls (for libseccomp's socketcall/ipc rules):
//   socketcall  linux/net.h  SYS_SOCKET ... SYS_SENDMMSG   -> socket ... sendmmsg
//   ipc         linux/ipc.h  SEMOP ... SHMCTL              -> semop ... shmctl
//
// The x86 "asm" directory is the multiarch one (x86_64-linux-gnu/asm) on Debian x86_64 hosts.
// When a header is missing (a build host without linux-libc-dev, or a non-x86 build host), the
// script leaves an existing output file alone and says so: the committed table keeps working.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

/**
 * arm64's own uapi asm/unistd.h (Linux 5.14 to 6.10) is nothing but these knobs followed by
 * `#include <asm-generic/unistd.h>`. The generic table is shared by all new architectures;
 * each one picks the optional entries it implements:
 *   __ARCH_WANT_RENAMEAT        renameat (38)
 *   __ARCH_WANT_NEW_STAT        newfstatat (79) and fstat (80)
 *   __ARCH_WANT_SET_GET_RLIMIT  getrlimit (163) and setrlimit (164)
 *   __ARCH_WANT_TIME32_SYSCALLS no effect on a 64-bit ABI (those entries are kept anyway)
 *   __ARCH_WANT_SYS_CLONE3      clone3 (435)
 *   __ARCH_WANT_MEMFD_SECRET    memfd_secret (447)
 * Not defined on arm64: __ARCH_WANT_SYNC_FILE_RANGE2 (so 84 is sync_file_range),
 * __ARCH_NOMMU (so the mm syscalls are present), __SYSCALL_COMPAT (native table, not compat).
 * __BITS_PER_LONG is 64 (LP64), which selects the 64-bit names (fcntl, not fcntl64; mmap, not mmap2).
 */
export const AARCH64_KNOBS: Record<string, string> = {
  __BITS_PER_LONG: "64",
  __ARCH_WANT_RENAMEAT: "",
  __ARCH_WANT_NEW_STAT: "",
  __ARCH_WANT_SET_GET_RLIMIT: "",
  __ARCH_WANT_TIME32_SYSCALLS: "",
  __ARCH_WANT_SYS_CLONE3: "",
  __ARCH_WANT_MEMFD_SECRET: "",
};

export type TableArch = "x86_64" | "x86" | "x32" | "aarch64";
export type SyscallTables = Record<TableArch, Map<string, number>>;

const X86_ASM_DIRS = ["x86_64-linux-gnu/asm", "asm"];

interface Sources {
  include: string;
  version: string;
  files: Record<TableArch, string>;
  x86Unistd: string;
  netH: string;
  ipcH: string;
}

export interface Generated {
  tables: SyscallTables;
  /** syscall name -> the call number socketcall(2) / ipc(2) take as their first argument */
  socketcall: Map<string, number>;
  ipc: Map<string, number>;
}

/** Locate the headers under an include root; null when something is missing. */
export function findSources(include = "/usr/include"): Sources | { missing: string } {
  const asmDir = X86_ASM_DIRS.map((d) => join(include, d)).find((d) => existsSync(join(d, "unistd_64.h")));
  if (!asmDir) return { missing: `${include}/{${X86_ASM_DIRS.join(",")}}/unistd_64.h` };
  const files: Record<TableArch, string> = {
    x86_64: join(asmDir, "unistd_64.h"),
    x86: join(asmDir, "unistd_32.h"),
    x32: join(asmDir, "unistd_x32.h"),
    aarch64: join(include, "asm-generic/unistd.h"),
  };
  const x86Unistd = join(asmDir, "unistd.h");
  const netH = join(include, "linux/net.h");
  const ipcH = join(include, "linux/ipc.h");
  for (const f of [...Object.values(files), x86Unistd, netH, ipcH]) if (!existsSync(f)) return { missing: f };
  return { include, version: headerVersion(include), files, x86Unistd, netH, ipcH };
}

function headerVersion(include: string): string {
  const path = join(include, "linux/version.h");
  if (!existsSync(path)) return "unknown";
  const defs = preprocess(readFileSync(path, "utf8"));
  const part = (n: string) => defs.get(n)?.body.trim();
  const [a, b, c] = ["LINUX_VERSION_MAJOR", "LINUX_VERSION_PATCHLEVEL", "LINUX_VERSION_SUBLEVEL"].map(part);
  if (a && b && c) return `${a}.${b}.${c}`;
  const code = Number(part("LINUX_VERSION_CODE"));
  return Number.isInteger(code) ? `${code >> 16}.${(code >> 8) & 255}.${code & 255}` : "unknown";
}

/** Read everything the generated file holds. */
export function readAll(src: Sources): Generated {
  return { tables: readTables(src), socketcall: multiplexCalls(src.netH, /^SYS_([A-Z0-9]+)$/), ipc: multiplexCalls(src.ipcH, /^((?:SEM|MSG|SHM)[A-Z]+)$/) };
}

/** Macros named like `pattern` with a small number: lower-cased capture -> value. */
function multiplexCalls(file: string, pattern: RegExp): Map<string, number> {
  const defs = preprocess(readFileSync(file, "utf8"));
  const calls = new Map<string, number>();
  for (const [macro, def] of defs) {
    const m = pattern.exec(macro);
    if (!m || def.params) continue;
    const value = evaluate(def.body, defs);
    if (!Number.isInteger(value) || value <= 0 || value > 255) throw new Error(`${file}: ${macro} is not a call number: ${def.body}`);
    calls.set(m[1].toLowerCase(), value);
  }
  if (calls.size < 10) throw new Error(`${file}: only ${calls.size} call numbers found`);
  return new Map([...calls].sort((x, y) => x[1] - y[1]));
}

/** Read all four tables from the headers. */
export function readTables(src: Sources): SyscallTables {
  const x32Bit = preprocess(readFileSync(src.x86Unistd, "utf8")).get("__X32_SYSCALL_BIT");
  if (!x32Bit) throw new Error(`${src.x86Unistd}: no __X32_SYSCALL_BIT`);
  const predefs: Record<TableArch, Record<string, string>> = {
    x86_64: {},
    x86: {},
    x32: { __X32_SYSCALL_BIT: x32Bit.body },
    aarch64: AARCH64_KNOBS,
  };
  const out = {} as SyscallTables;
  for (const arch of Object.keys(src.files) as TableArch[]) {
    out[arch] = syscallNumbers(src.files[arch], readFileSync(src.files[arch], "utf8"), predefs[arch]);
  }
  return out;
}

/** Every active `__NR_<name>` macro of a header, evaluated to a number. */
export function syscallNumbers(file: string, text: string, predefined: Record<string, string>): Map<string, number> {
  const defs = preprocess(text, predefined);
  const table = new Map<string, number>();
  for (const [macro, def] of defs) {
    if (!macro.startsWith("__NR_") || macro === "__NR_syscalls" || def.params) continue;
    const value = evaluate(def.body, defs);
    if (!Number.isInteger(value) || value < 0) throw new Error(`${file}: ${macro} is not a syscall number: ${def.body}`);
    table.set(macro.slice("__NR_".length), value);
  }
  if (table.size < 100) throw new Error(`${file}: only ${table.size} syscalls found; is this a unistd header?`);
  return new Map([...table].sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1)));
}

// ---------------------------------------------------------------------------------------------
// A small C preprocessor: just what the unistd headers use (#define/#undef of object-like
// macros, #if/#ifdef/#ifndef/#elif/#else/#endif with defined() and integer arithmetic).
// #include is ignored: the caller predefines what the included files would have defined.

interface Define {
  body: string;
  params?: string; // set for function-like macros, which are only ever tested with defined()
}

export function preprocess(text: string, predefined: Record<string, string> = {}): Map<string, Define> {
  const defs = new Map<string, Define>(Object.entries(predefined).map(([k, v]) => [k, { body: v }]));
  // Each frame: is this branch live, has any branch of the group been taken, was the parent live.
  const stack: { live: boolean; taken: boolean; parentLive: boolean }[] = [];
  const live = () => stack.length === 0 || stack[stack.length - 1].live;
  const lines = stripComments(text).replace(/\\\n/g, " ").split("\n");
  lines.forEach((line, i) => {
    const m = /^\s*#\s*(\w+)\s*(.*?)\s*$/.exec(line);
    if (!m) return;
    const [, directive, rest] = m;
    const where = `line ${i + 1}`;
    switch (directive) {
      case "if":
      case "ifdef":
      case "ifndef": {
        const parentLive = live();
        let cond = false;
        if (parentLive) {
          if (directive === "if") cond = evaluate(rest, defs, true) !== 0;
          else cond = defs.has(identifier(rest, where)) === (directive === "ifdef");
        }
        stack.push({ live: parentLive && cond, taken: cond, parentLive });
        return;
      }
      case "elif": {
        const top = stack[stack.length - 1] ?? fatal(`${where}: #elif without #if`);
        const cond = top.parentLive && !top.taken && evaluate(rest, defs, true) !== 0;
        top.live = cond;
        top.taken ||= cond;
        return;
      }
      case "else": {
        const top = stack[stack.length - 1] ?? fatal(`${where}: #else without #if`);
        top.live = top.parentLive && !top.taken;
        top.taken = true;
        return;
      }
      case "endif":
        if (!stack.pop()) fatal(`${where}: #endif without #if`);
        return;
    }
    if (!live()) return;
    if (directive === "define") {
      const d = /^(\w+)(\([^)]*\))?\s*(.*)$/.exec(rest) ?? fatal(`${where}: bad #define`);
      defs.set(d[1], { body: d[3], params: d[2] });
    } else if (directive === "undef") {
      defs.delete(identifier(rest, where));
    }
    // #include, #error, #pragma: nothing to do for these headers.
  });
  if (stack.length) fatal("unterminated #if");
  return defs;
}

function stripComments(text: string): string {
  // Keep newlines inside block comments so line numbers stay right.
  return text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")).replace(/\/\/[^\n]*/g, "");
}

function identifier(s: string, where: string): string {
  return /^(\w+)/.exec(s)?.[1] ?? fatal(`${where}: expected an identifier in "${s}"`);
}

function fatal(msg: string): never {
  throw new Error(msg);
}

/**
 * Evaluate a C integer expression. Identifiers that are macros expand to their value; others are
 * 0 as in #if. `inIf` enables `defined`. Values are JS numbers: plenty for syscall numbers.
 */
export function evaluate(expr: string, defs: Map<string, Define>, inIf = false, depth = 0): number {
  if (depth > 32) fatal(`macro expansion too deep in "${expr}"`);
  const tokens = expr.match(/0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|\w+|&&|\|\||==|!=|<=|>=|<<|>>|[-+*/%()!~<>&|^]/g) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  const take = (t?: string) => {
    const tok = tokens[pos++];
    if (t !== undefined && tok !== t) fatal(`expected "${t}" in "${expr}"`);
    return tok;
  };
  const binary = (ops: string[], next: () => number, apply: (op: string, a: number, b: number) => number) => () => {
    let v = next();
    while (ops.includes(peek())) {
      const op = take();
      v = apply(op, v, next());
    }
    return v;
  };
  const primary = (): number => {
    const tok = take();
    if (tok === undefined) fatal(`unexpected end of "${expr}"`);
    if (tok === "(") {
      const v = orExpr();
      take(")");
      return v;
    }
    if (tok === "!") return primary() ? 0 : 1;
    if (tok === "~") return ~primary();
    if (tok === "-") return -primary();
    if (tok === "+") return primary();
    if (/^\d/.test(tok)) return Number(tok.replace(/[uUlL]+$/, "").replace(/^0(?=[0-7])/, "0o"));
    if (tok === "defined" && inIf) {
      const paren = peek() === "(";
      if (paren) take();
      const name = take();
      if (paren) take(")");
      return defs.has(name) ? 1 : 0;
    }
    const def = defs.get(tok);
    if (!def || def.params) return 0;
    return evaluate(def.body, defs, inIf, depth + 1);
  };
  const mul = binary(["*", "/", "%"], primary, (op, a, b) => (op === "*" ? a * b : op === "/" ? Math.trunc(a / b) : a % b));
  const add = binary(["+", "-"], mul, (op, a, b) => (op === "+" ? a + b : a - b));
  const shift = binary(["<<", ">>"], add, (op, a, b) => (op === "<<" ? a * 2 ** b : Math.floor(a / 2 ** b)));
  const rel = binary(["<", ">", "<=", ">="], shift, (op, a, b) =>
    Number(op === "<" ? a < b : op === ">" ? a > b : op === "<=" ? a <= b : a >= b),
  );
  const eq = binary(["==", "!="], rel, (op, a, b) => Number(op === "==" ? a === b : a !== b));
  const band = binary(["&"], eq, (_, a, b) => a & b);
  const bxor = binary(["^"], band, (_, a, b) => a ^ b);
  const bor = binary(["|"], bxor, (_, a, b) => a | b);
  const andExpr = binary(["&&"], bor, (_, a, b) => Number(a !== 0 && b !== 0));
  const orExpr: () => number = binary(["||"], andExpr, (_, a, b) => Number(a !== 0 || b !== 0));
  if (tokens.length === 0) return 0;
  const v = orExpr();
  if (pos !== tokens.length) fatal(`trailing "${tokens.slice(pos).join(" ")}" in "${expr}"`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Output

export function render(g: Generated, src: Sources): string {
  const files = [...Object.values(src.files), src.netH, src.ipcH].map((f) => relative(src.include, f));
  const lines = [
    "// GENERATED by scripts/gen-syscalls.ts from the Linux UAPI headers; do not edit.",
    `// Headers: Linux ${src.version}: ${files.join(", ")}.`,
    "// Regenerate: bun scripts/gen-syscalls.ts (the Makefile does it before building).",
    "// x32 numbers include __X32_SYSCALL_BIT (0x40000000), as the kernel and libseccomp see them.",
    "",
    `export const SYSCALL_HEADERS_VERSION = ${JSON.stringify(src.version)};`,
    "",
    "export const SYSCALL_TABLES = {",
  ];
  for (const arch of Object.keys(g.tables) as TableArch[]) {
    lines.push(`  ${arch}: {`);
    for (const [name, nr] of g.tables[arch]) lines.push(`    ${name}: ${nr},`);
    lines.push("  },");
  }
  lines.push("} as const satisfies Record<string, Readonly<Record<string, number>>>;", "");
  const calls = (name: string, doc: string, m: Map<string, number>) => {
    lines.push(`/** ${doc} */`, `export const ${name}: Readonly<Record<string, number>> = {`);
    for (const [call, n] of m) lines.push(`  ${call}: ${n},`);
    lines.push("};", "");
  };
  calls("SOCKETCALL_CALLS", "socketcall(2)'s first argument for each socket syscall (linux/net.h SYS_*).", g.socketcall);
  calls("IPC_CALLS", "ipc(2)'s first argument for each System V IPC syscall (linux/ipc.h).", g.ipc);
  return lines.join("\n");
}

function main(argv: string[]): number {
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const root = resolve(import.meta.dir, "..");
  const out = opt("--out") ?? join(root, "src/linux/seccomp/syscalls.gen.ts");
  const src = findSources(opt("--include"));
  if ("missing" in src) {
    if (existsSync(out) && !argv.includes("--check")) {
      console.error(`gen-syscalls: ${src.missing} not found; keeping the existing ${out}`);
      return 0;
    }
    console.error(`gen-syscalls: ${src.missing} not found (install linux-libc-dev)`);
    return 1;
  }
  const text = render(readAll(src), src);
  if (argv.includes("--check")) {
    const same = existsSync(out) && readFileSync(out, "utf8") === text;
    if (!same) console.error(`gen-syscalls: ${out} is stale; run bun scripts/gen-syscalls.ts`);
    return same ? 0 : 1;
  }
  writeFileSync(out, text);
  return 0;
}

if (import.meta.main) process.exit(main(process.argv.slice(2)));
