// The generated syscall tables: produced from the installed UAPI headers, checked against gcc's
// own preprocessor, and the committed copy is current.
import { describe, expect, test } from "bun:test";
import { AARCH64_KNOBS, evaluate, findSources, preprocess, readAll, render, type TableArch } from "../../scripts/gen-syscalls.ts";
import { syscallNumber } from "../../src/linux/seccomp/arch.ts";
import { IPC_CALLS, SOCKETCALL_CALLS, SYSCALL_TABLES } from "../../src/linux/seccomp/syscalls.gen.ts";

const sources = findSources();
const haveHeaders = !("missing" in sources);
const haveGcc = Bun.which("gcc") !== null;

describe("generated syscall tables", () => {
  test.skipIf(!haveHeaders)("the committed syscalls.gen.ts is what the installed headers give", async () => {
    if ("missing" in sources) return;
    const fresh = render(readAll(sources), sources);
    const committed = await Bun.file(new URL("../../src/linux/seccomp/syscalls.gen.ts", import.meta.url)).text();
    // On mismatch: run `bun scripts/gen-syscalls.ts` (or `make`) and commit the result.
    expect(committed).toBe(fresh);
  });

  // gcc preprocesses the same headers; every __NR_ macro it ends up with must be in our table
  // with the same value, and nothing else.
  const oracle: Record<TableArch, { flags: string[]; include: string }> = {
    x86_64: { flags: [], include: "#include <asm/unistd_64.h>" },
    x86: { flags: [], include: "#include <asm/unistd_32.h>" },
    x32: { flags: ["-D__ILP32__"], include: "#include <asm/unistd.h>" }, // asm/unistd.h picks unistd_x32.h
    aarch64: {
      flags: Object.keys(AARCH64_KNOBS)
        .filter((k) => k !== "__BITS_PER_LONG") // <asm/bitsperlong.h> says 64 on this x86_64 host too
        .map((k) => `-D${k}`),
      include: "#include <asm-generic/unistd.h>",
    },
  };
  for (const arch of Object.keys(oracle) as TableArch[]) {
    test.skipIf(!haveGcc || !haveHeaders)(`${arch} matches gcc -E`, () => {
      const { flags, include } = oracle[arch];
      const cpp = (input: string, extra: string[]) => {
        const r = Bun.spawnSync(["gcc", "-E", ...extra, ...flags, "-x", "c", "-"], { stdin: Buffer.from(input) });
        if (r.exitCode !== 0) throw new Error(r.stderr.toString());
        return r.stdout.toString();
      };
      const names = [...cpp(include, ["-dM"]).matchAll(/^#define __NR_(\w+) /gm)].map((m) => m[1]).filter((n) => n !== "syscalls");
      const expanded = cpp(`${include}\n${names.map((n) => `@${n}=__NR_${n}`).join("\n")}\n`, ["-P"]);
      const gccTable = new Map<string, number>();
      for (const m of expanded.matchAll(/^@(\w+)=(.*)$/gm)) {
        const x32 = /^\((0x[0-9a-fA-F]+) \+ (\d+)\)$/.exec(m[2].trim());
        gccTable.set(m[1], x32 ? Number(x32[1]) + Number(x32[2]) : Number(m[2].trim()));
      }
      expect(gccTable.size).toBeGreaterThan(250);
      expect(Object.fromEntries(gccTable)).toEqual({ ...SYSCALL_TABLES[arch] });
    });
  }

  test.skipIf(!haveGcc || !haveHeaders)("socketcall and ipc call numbers match gcc -dM", () => {
    const r = Bun.spawnSync(["gcc", "-E", "-dM", "-x", "c", "-"], { stdin: Buffer.from("#include <linux/net.h>\n#include <linux/ipc.h>\n") });
    const defs = new Map([...r.stdout.toString().matchAll(/^#define (\w+) (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
    for (const [name, call] of Object.entries(SOCKETCALL_CALLS)) expect([name, defs.get(`SYS_${name.toUpperCase()}`)]).toEqual([name, call]);
    for (const [name, call] of Object.entries(IPC_CALLS)) expect([name, defs.get(name.toUpperCase())]).toEqual([name, call]);
    expect(Object.keys(SOCKETCALL_CALLS).length).toBe(20);
    expect(Object.keys(IPC_CALLS)).toEqual(["semop", "semget", "semctl", "semtimedop", "msgsnd", "msgrcv", "msgget", "msgctl", "shmat", "shmdt", "shmget", "shmctl"]);
  });

  test("aarch64 uses the generic table with arm64's knobs", () => {
    const nr = (n: string) => syscallNumber("aarch64", n);
    expect([nr("openat"), nr("clone"), nr("clone3"), nr("execve"), nr("mmap"), nr("fcntl")]).toEqual([56, 220, 435, 221, 222, 25]);
    expect([nr("renameat"), nr("newfstatat"), nr("fstat"), nr("getrlimit"), nr("setrlimit")]).toEqual([38, 79, 80, 163, 164]);
    expect([nr("memfd_secret"), nr("sync_file_range")]).toEqual([447, 84]);
    // Not on arm64: legacy calls, 32-bit names, the other sync_file_range, NOMMU-only variants.
    for (const absent of ["open", "fork", "stat", "mmap2", "fcntl64", "sync_file_range2", "clock_gettime64", "syscalls"]) {
      expect(nr(absent)).toBeUndefined();
    }
  });

  test("x86 tables hold the ABI-specific names", () => {
    expect(syscallNumber("x86_64", "read")).toBe(0);
    expect(syscallNumber("x86_64", "epoll_ctl_old")).toBe(214);
    expect(syscallNumber("x86_64", "chown32")).toBeUndefined();
    expect(syscallNumber("x86", "_llseek")).toBe(140);
    expect(syscallNumber("x86", "socketcall")).toBe(102);
    expect(syscallNumber("x86", "chown32")).toBe(212);
    expect(syscallNumber("x32", "read")).toBe(0x40000000);
    expect(syscallNumber("x32", "rt_sigaction")).toBe(0x40000000 + 512);
    expect(syscallNumber("x32", "toString")).toBeUndefined(); // no prototype leaks
  });
});

describe("the generator's preprocessor", () => {
  test("conditionals, defined(), #elif/#else, #undef and nesting", () => {
    const defs = preprocess(
      [
        "#define A 1",
        "#if defined(A) && !defined(B)",
        "#  define X 10",
        "#  ifdef B",
        "#    define WRONG 1",
        "#  endif",
        "#elif 1",
        "#  define WRONG 2",
        "#else",
        "#  define WRONG 3",
        "#endif",
        "#if __BITS_PER_LONG == 32 || defined(__SYSCALL_COMPAT)",
        "#define Y 32",
        "#else",
        "#define Y 64",
        "#endif",
        "#define F(x, y) x",
        "#define Z \\",
        "  (X + 2) /* comment */",
        "#undef A",
      ].join("\n"),
      { __BITS_PER_LONG: "64" },
    );
    expect(defs.has("WRONG")).toBe(false);
    expect(defs.has("A")).toBe(false);
    expect(evaluate("Y", defs)).toBe(64);
    expect(evaluate("Z", defs)).toBe(12);
    expect(defs.get("F")?.params).toBe("(x, y)");
  });

  test("integer expressions", () => {
    const none = new Map();
    expect(evaluate("(0x40000000 + 546)", none)).toBe(0x40000222);
    expect(evaluate("1 << 4 | 3", none)).toBe(19);
    expect(evaluate("010 + 1UL", none)).toBe(9);
    expect(evaluate("UNDEFINED == 0", none)).toBe(1);
    expect(evaluate("2 * 3 + 4 > 9 && !0", none)).toBe(1);
  });
});
