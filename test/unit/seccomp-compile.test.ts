// The seccomp compiler, checked by running the BPF it produces in an interpreter on many
// seccomp_data inputs (no containers, no kernel).
import { describe, expect, test } from "bun:test";
import { BuncError } from "../../src/errors.ts";
import { syscallNumber } from "../../src/linux/seccomp/arch.ts";
import { Assembler } from "../../src/linux/seccomp/bpf.ts";
import { compileSeccomp, isSeccompEnabled } from "../../src/linux/seccomp/compile.ts";
import { AUDIT_ARCH, BPF, FILTER_FLAG, RET, X32_SYSCALL_BIT } from "../../src/linux/seccomp/constants.ts";
import { check, decode, describeRet, disassemble, run, type Insn } from "../../src/linux/seccomp/interp.ts";
import { SUPPORTED_ACTIONS, SUPPORTED_ARCHS, SUPPORTED_OPERATORS, supportedFlags } from "../../src/linux/seccomp/support.ts";
import { SYSCALL_TABLES } from "../../src/linux/seccomp/syscalls.gen.ts";
import type { Seccomp, SeccompSyscall } from "../../src/spec/types.ts";

const defaultProfile: Seccomp = await Bun.file(new URL("../data/seccomp/default.json", import.meta.url)).json();

const ERRNO = (e: number) => (RET.ERRNO | e) >>> 0;
const EPERM = ERRNO(1);
const ENOSYS = ERRNO(38);
const X86_64 = AUDIT_ARCH.X86_64;
const I386 = AUDIT_ARCH.I386;

/** Compile and return an evaluator; the program must pass the kernel's load checks. */
function compile(s: Seccomp, host: "x86_64" | "aarch64" = "x86_64", warnings: string[] = []) {
  const out = compileSeccomp(s, host, (m) => warnings.push(m));
  const prog = decode(out.filter);
  const problem = check(prog);
  if (problem) throw new Error(`${problem}\n${disassemble(prog)}`);
  const evalOn = (arch: number, nr: number, args: (number | bigint)[] = []) => run(prog, { arch, nr, args });
  return { ...out, prog, evalOn, x64: (nr: number, ...args: (number | bigint)[]) => evalOn(X86_64, nr, args) };
}

const nr64 = (name: string) => syscallNumber("x86_64", name)!;

describe("containerd's RuntimeDefault profile", () => {
  const warnings: string[] = [];
  const f = compile(defaultProfile, "x86_64", warnings);
  const allowed = new Set(defaultProfile.syscalls![0].names);
  const named = new Set(defaultProfile.syscalls!.flatMap((r) => r.names));

  test("compiles to a small program that the kernel would accept", () => {
    expect(f.prog.length).toBeLessThan(600);
    expect(f.flags).toBe(0);
    expect(f.needsListener).toBe(false);
    // send and recv exist only through i386's socketcall(2), so every name applies somewhere.
    expect(warnings).toEqual([]);
  });

  const tables = [
    ["x86_64", X86_64],
    ["x86", I386],
    ["x32", X86_64],
  ] as const;
  for (const [table, arch] of tables) {
    test(`${table}: every syscall gets the profile's answer`, () => {
      const entries = Object.entries(SYSCALL_TABLES[table]);
      const max = Math.max(...entries.filter(([n]) => named.has(n)).map(([, v]) => v));
      let checked = 0;
      for (const [name, nr] of entries) {
        const got = f.evalOn(arch, nr);
        if (allowed.has(name)) expect([name, describeRet(got)]).toEqual([name, "ALLOW"]);
        else if (name === "clone3") expect(got).toBe(ENOSYS);
        else if (nr > max) expect([name, describeRet(got)]).toEqual([name, "ERRNO(38)"]); // newer than the profile
        else if (!["personality", "clone", "ptrace", "arch_prctl", "modify_ldt", "chroot"].includes(name))
          expect([name, describeRet(got)]).toEqual([name, "ERRNO(1)"]);
        checked++;
      }
      expect(checked).toBeGreaterThan(300);
    });
  }

  test("denied syscalls return EPERM", () => {
    for (const name of ["mount", "umount2", "unshare", "setns", "reboot", "kexec_load", "init_module", "bpf", "add_key", "keyctl", "pivot_root", "swapon"]) {
      expect([name, describeRet(f.x64(nr64(name)))]).toEqual([name, "ERRNO(1)"]);
    }
  });

  test("clone is allowed unless it asks for new namespaces (MASKED_EQ 0x7e020000)", () => {
    const clone = nr64("clone");
    const SIGCHLD = 17;
    const threadFlags = 0x3d0f00; // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
    expect(f.x64(clone, SIGCHLD)).toBe(RET.ALLOW);
    expect(f.x64(clone, threadFlags)).toBe(RET.ALLOW);
    for (const ns of [0x10000000 /* NEWUSER */, 0x20000 /* NEWNS */, 0x20000000 /* NEWPID */, 0x40000000 /* NEWNET */, 0x04000000 /* NEWUTS */, 0x08000000 /* NEWIPC */, 0x02000000 /* NEWCGROUP */]) {
      expect(f.x64(clone, SIGCHLD | ns)).toBe(EPERM);
    }
    // The mask only covers the low word: high bits do not matter.
    expect(f.x64(clone, (1n << 40n) | BigInt(SIGCHLD))).toBe(RET.ALLOW);
    // Same on i386 (clone is 120 there) and x32.
    expect(f.evalOn(I386, 120, [0x10000000 | SIGCHLD])).toBe(EPERM);
    expect(f.evalOn(I386, 120, [SIGCHLD])).toBe(RET.ALLOW);
    expect(f.evalOn(X86_64, syscallNumber("x32", "clone")!, [0x10000000])).toBe(EPERM);
  });

  test("clone3 returns ENOSYS so that libc falls back to clone", () => {
    expect(f.x64(nr64("clone3"))).toBe(ENOSYS);
    expect(f.evalOn(I386, syscallNumber("x86", "clone3")!)).toBe(ENOSYS);
  });

  test("personality: only the listed personas", () => {
    const p = nr64("personality");
    for (const ok of [0, 8, 0x20000, 0x20008, 0xffffffff]) expect(f.x64(p, ok)).toBe(RET.ALLOW);
    for (const bad of [0x1234, 1, 0x20001, 0x1ffffffffn, 0xffffffff00000000n]) expect(f.x64(p, bad)).toBe(EPERM);
    // i386 compares the low word only.
    expect(f.evalOn(I386, syscallNumber("x86", "personality")!, [0xffffffff])).toBe(RET.ALLOW);
    expect(f.evalOn(I386, syscallNumber("x86", "personality")!, [0x1234])).toBe(EPERM);
  });

  test("other architectures are killed", () => {
    expect(f.evalOn(AUDIT_ARCH.AARCH64, 56)).toBe(RET.KILL_THREAD);
    expect(f.evalOn(AUDIT_ARCH.ARM, 0)).toBe(RET.KILL_THREAD);
    expect(f.evalOn(0x12345678, 0)).toBe(RET.KILL_THREAD);
  });

  test("syscalls newer than the profile return ENOSYS", () => {
    expect(f.x64(nr64("futex_waitv"))).toBe(RET.ALLOW); // the newest one it names
    expect(f.x64(nr64("futex_waitv") + 1)).toBe(ENOSYS);
    expect(f.x64(1000)).toBe(ENOSYS);
    expect(f.x64(X32_SYSCALL_BIT - 1)).toBe(ENOSYS);
    expect(f.x64(0x80000000)).toBe(ENOSYS); // x32 bit clear: compared with the x86_64 maximum, as runc does
    expect(f.evalOn(X86_64, X32_SYSCALL_BIT + 2000)).toBe(ENOSYS);
    expect(f.evalOn(I386, 5000)).toBe(ENOSYS);
  });

  test("every syscall is decided in a handful of instructions", () => {
    let worst = 0;
    for (const nr of [...Object.values(SYSCALL_TABLES.x86_64), 1000, 0xffffffff]) {
      const stats = { steps: 0 };
      run(f.prog, { arch: X86_64, nr, args: [0, 0] }, stats);
      worst = Math.max(worst, stats.steps);
    }
    expect(worst).toBeLessThanOrEqual(24);
  });
});

describe("x86_64 and x32 share an arch value", () => {
  const base = { defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read", "getpid"], action: "SCMP_ACT_ALLOW" }] };
  const read64 = nr64("read");
  const read32 = syscallNumber("x32", "read")!;

  test("x86_64 only: x32 syscalls are killed, except nr -1", () => {
    const f = compile({ ...base, architectures: ["SCMP_ARCH_X86_64"] });
    expect(f.x64(read64)).toBe(RET.ALLOW);
    expect(f.x64(read32)).toBe(RET.KILL_THREAD);
    expect(f.x64(X32_SYSCALL_BIT + 39)).toBe(RET.KILL_THREAD);
    expect(f.x64(0xffffffff)).toBe(EPERM); // the tracer's "skip this syscall" number goes to the default
    expect(f.evalOn(I386, 3)).toBe(RET.KILL_THREAD); // i386 not listed
  });

  test("x32 listed too: both tables apply", () => {
    const f = compile({ ...base, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"] });
    expect(f.x64(read64)).toBe(RET.ALLOW);
    expect(f.x64(read32)).toBe(RET.ALLOW);
    expect(f.x64(syscallNumber("x32", "close")!)).toBe(EPERM);
    expect(f.x64(syscallNumber("x32", "mount")!)).toBe(ENOSYS); // above the newest syscall the profile names
    expect(f.x64(syscallNumber("x32", "getpid")!)).toBe(RET.ALLOW);
  });

  test("the host arch is always filtered, even when architectures omits it", () => {
    const f = compile({ ...base, architectures: ["SCMP_ARCH_X86"] });
    expect(f.x64(read64)).toBe(RET.ALLOW);
    expect(f.evalOn(I386, syscallNumber("x86", "read")!)).toBe(RET.ALLOW);
  });

  test("no architectures at all: the host's", () => {
    const f = compile(base);
    expect(f.x64(nr64("getpid"))).toBe(RET.ALLOW);
    expect(f.evalOn(I386, 20)).toBe(RET.KILL_THREAD);
  });
});

describe("i386 socketcall(2) and ipc(2), as libseccomp", () => {
  const socketcall = syscallNumber("x86", "socketcall")!;
  const ipc = syscallNumber("x86", "ipc")!;
  const i386 = (f: ReturnType<typeof compile>, nr: number, ...args: number[]) => f.evalOn(I386, nr, args);

  test("a socket rule also covers socketcall(SYS_SOCKET, ...)", () => {
    const f = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86"],
      syscalls: [
        { names: ["socket", "send"], action: "SCMP_ACT_ERRNO", errnoRet: 97 },
        { names: ["shmat"], action: "SCMP_ACT_ERRNO", errnoRet: 98 },
      ],
    });
    expect(i386(f, syscallNumber("x86", "socket")!)).toBe(ERRNO(97));
    expect(i386(f, socketcall, 1 /* SYS_SOCKET */)).toBe(ERRNO(97));
    expect(i386(f, socketcall, 9 /* SYS_SEND: no direct syscall on i386 */)).toBe(ERRNO(97));
    expect(i386(f, socketcall, 2 /* SYS_BIND */)).toBe(RET.ALLOW);
    expect(i386(f, ipc, 21 /* SHMAT */)).toBe(ERRNO(98));
    expect(i386(f, ipc, 22 /* SHMDT */)).toBe(RET.ALLOW);
    expect(i386(f, syscallNumber("x86", "shmat")!)).toBe(ERRNO(98));
    expect(f.x64(nr64("socket"))).toBe(ERRNO(97)); // x86_64 has no multiplexer
  });

  test("argument conditions: arg0 becomes the call number, the others stay", () => {
    const f = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86"],
      syscalls: [{ names: ["socket"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 40, op: "SCMP_CMP_EQ" }, { index: 1, value: 5, op: "SCMP_CMP_EQ" }] }],
    });
    expect(i386(f, syscallNumber("x86", "socket")!, 40, 5)).toBe(EPERM);
    expect(i386(f, syscallNumber("x86", "socket")!, 2, 5)).toBe(RET.ALLOW);
    expect(i386(f, socketcall, 1, 5)).toBe(EPERM);
    expect(i386(f, socketcall, 1, 6)).toBe(RET.ALLOW);
  });

  test("an allow-list that names socket allows socketcall(SYS_SOCKET) too", () => {
    const f = compile({ defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86"], syscalls: [{ names: ["socket", "futex_waitv"], action: "SCMP_ACT_ALLOW" }] });
    expect(i386(f, socketcall, 1)).toBe(RET.ALLOW);
    expect(i386(f, socketcall, 3 /* SYS_CONNECT */)).toBe(EPERM);
    expect(i386(f, syscallNumber("x86", "socket")!)).toBe(RET.ALLOW);
  });
});

describe("actions", () => {
  const one = (action: string, extra: Partial<SeccompSyscall> = {}, top: Partial<Seccomp> = {}) =>
    compile({ defaultAction: "SCMP_ACT_ALLOW", ...top, syscalls: [{ names: ["mkdirat"], action, ...extra }] }).x64(nr64("mkdirat"));

  test("each action's return value", () => {
    expect(one("SCMP_ACT_KILL")).toBe(RET.KILL_THREAD);
    expect(one("SCMP_ACT_KILL_THREAD")).toBe(RET.KILL_THREAD);
    expect(one("SCMP_ACT_KILL_PROCESS")).toBe(RET.KILL_PROCESS);
    expect(one("SCMP_ACT_TRAP")).toBe(RET.TRAP);
    expect(one("SCMP_ACT_ERRNO")).toBe(EPERM);
    expect(one("SCMP_ACT_ERRNO", { errnoRet: 18 })).toBe(ERRNO(18));
    expect(one("SCMP_ACT_ERRNO", { errnoRet: 0 })).toBe(ERRNO(0));
    expect(one("SCMP_ACT_TRACE")).toBe((RET.TRACE | 1) >>> 0);
    expect(one("SCMP_ACT_TRACE", { errnoRet: 77 })).toBe((RET.TRACE | 77) >>> 0);
    expect(one("SCMP_ACT_LOG")).toBe(RET.LOG);
    expect(one("SCMP_ACT_NOTIFY")).toBe(RET.USER_NOTIF);
    expect(one("SCMP_ACT_ALLOW", {}, { defaultAction: "SCMP_ACT_KILL" })).toBe(RET.ALLOW);
  });

  test("the default action and defaultErrnoRet", () => {
    const other = (top: Seccomp) => compile(top).x64(nr64("getcwd"));
    expect(other({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 13 })).toBe(ERRNO(13));
    expect(other({ defaultAction: "SCMP_ACT_TRACE", defaultErrnoRet: 5 })).toBe((RET.TRACE | 5) >>> 0);
    expect(other({ defaultAction: "SCMP_ACT_KILL_PROCESS" })).toBe(RET.KILL_PROCESS);
    expect(other({ defaultAction: "SCMP_ACT_LOG" })).toBe(RET.LOG);
  });

  test("the -ENOSYS stub only with a non-permissive default (runc)", () => {
    const rule = [{ names: ["getpid"], action: "SCMP_ACT_ERRNO" }];
    expect(compile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: rule }).x64(1000)).toBe(RET.ALLOW);
    expect(compile({ defaultAction: "SCMP_ACT_LOG", syscalls: rule }).x64(1000)).toBe(RET.LOG);
    expect(compile({ defaultAction: "SCMP_ACT_TRACE", syscalls: rule }).x64(1000)).toBe((RET.TRACE | 1) >>> 0);
    const allow = [{ names: ["getpid"], action: "SCMP_ACT_ALLOW" }];
    expect(compile({ defaultAction: "SCMP_ACT_KILL", syscalls: allow }).x64(1000)).toBe(ENOSYS);
    expect(compile({ defaultAction: "SCMP_ACT_KILL", syscalls: allow }).x64(nr64("read"))).toBe(RET.KILL_THREAD);
    // No syscalls named: nothing to compare with, everything gets the default.
    expect(compile({ defaultAction: "SCMP_ACT_ERRNO" }).x64(1000)).toBe(EPERM);
  });
});

describe("rule priorities", () => {
  const getpid = nr64("getpid");
  const rules = (...syscalls: SeccompSyscall[]) => compile({ defaultAction: "SCMP_ACT_ALLOW", syscalls });
  const eq = (index: number, value: number) => ({ index, value, op: "SCMP_CMP_EQ" });

  test("an unconditional rule beats argument rules, whatever the order", () => {
    const a = rules({ names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 5, args: [eq(0, 1)] }, { names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 7 });
    expect([a.x64(getpid, 1), a.x64(getpid, 2)]).toEqual([ERRNO(7), ERRNO(7)]);
    const b = rules({ names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 7 }, { names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 5, args: [eq(0, 1)] });
    expect([b.x64(getpid, 1), b.x64(getpid, 2)]).toEqual([ERRNO(7), ERRNO(7)]);
  });

  test("the first unconditional rule wins", () => {
    const f = rules({ names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 7 }, { names: ["getpid"], action: "SCMP_ACT_KILL" });
    expect(f.x64(getpid)).toBe(ERRNO(7));
  });

  test("argument rules: first match in profile order, else the default", () => {
    const f = rules(
      { names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [eq(0, 1), eq(1, 2)] },
      { names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 2, args: [eq(0, 1)] },
      { names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 3, args: [eq(1, 2)] },
    );
    expect(f.x64(getpid, 1, 2)).toBe(ERRNO(1)); // AND of both args
    expect(f.x64(getpid, 1, 3)).toBe(ERRNO(2));
    expect(f.x64(getpid, 0, 2)).toBe(ERRNO(3));
    expect(f.x64(getpid, 0, 0)).toBe(RET.ALLOW);
  });

  test("a rule with the default action is dropped, so it does not shadow later rules (runc)", () => {
    const f = rules({ names: ["getpid"], action: "SCMP_ACT_ALLOW", args: [eq(0, 1)] }, { names: ["getpid"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0, op: "SCMP_CMP_GE" }, eq(1, 9)] });
    expect(f.x64(getpid, 1, 9)).toBe(EPERM);
    expect(f.x64(getpid, 1, 8)).toBe(RET.ALLOW);
  });

  test("one argument index twice: the conditions are OR-ed (runc)", () => {
    const f = rules({
      names: ["getpid"],
      action: "SCMP_ACT_ERRNO",
      args: [eq(0, 3), eq(0, 5)],
    });
    expect([f.x64(getpid, 3), f.x64(getpid, 5), f.x64(getpid, 4)]).toEqual([EPERM, EPERM, RET.ALLOW]);
  });

  test("conditions that always hold make a rule unconditional (libseccomp)", () => {
    const f = rules(
      { names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 4, args: [eq(0, 1)] },
      { names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 9, args: [{ index: 2, value: 0, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }] },
    );
    expect([f.x64(getpid, 1), f.x64(getpid, 0)]).toEqual([ERRNO(9), ERRNO(9)]);
  });

  test("identical argument chains of different syscalls share code", () => {
    const names = ["getpid", "getppid", "gettid", "getuid", "getgid"];
    const f = rules({ names, action: "SCMP_ACT_ERRNO", args: [eq(0, 1)] });
    const g = rules({ names: ["getpid"], action: "SCMP_ACT_ERRNO", args: [eq(0, 1)] });
    expect(f.prog.length).toBeLessThan(g.prog.length + 12);
    for (const n of names) expect([f.x64(nr64(n), 1), f.x64(nr64(n), 2)]).toEqual([EPERM, RET.ALLOW]);
  });
});

describe("64-bit argument comparisons (two 32-bit words)", () => {
  const ops = {
    SCMP_CMP_EQ: (a: bigint, v: bigint) => a === v,
    SCMP_CMP_NE: (a: bigint, v: bigint) => a !== v,
    SCMP_CMP_LT: (a: bigint, v: bigint) => a < v,
    SCMP_CMP_LE: (a: bigint, v: bigint) => a <= v,
    SCMP_CMP_GT: (a: bigint, v: bigint) => a > v,
    SCMP_CMP_GE: (a: bigint, v: bigint) => a >= v,
  };
  const M = (1n << 64n) - 1n;
  const around = (v: bigint) => [v - 1n, v, v + 1n, v + (1n << 32n), v - (1n << 32n), v ^ 0xffffffffn, v ^ (0xffffffffn << 32n)].filter((x) => x >= 0n && x <= M);
  const values = [0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x1234567890abcdefn, 0xffffffff00000000n, M - 1n];
  const args = [...new Set(values.flatMap(around).concat([0n, M]))];

  for (const [op, ref] of Object.entries(ops)) {
    test(op, () => {
      for (const v of values) {
        const f = compile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ERRNO", args: [{ index: 3, value: v as unknown as number, op }] }] });
        for (const a of args) {
          const want = ref(a, v) ? EPERM : RET.ALLOW;
          expect([op, v, a, f.x64(nr64("getpid"), 0, 0, 0, a)]).toEqual([op, v, a, want]);
        }
      }
    });
  }

  test("SCMP_CMP_MASKED_EQ: (arg & value) == valueTwo, valueTwo masked", () => {
    const masks = [0xffn, 0xff00000000n, 0xffffffffffffffffn, 0x7e020000n];
    for (const mask of masks) {
      for (const datum of [0n, 0x10n, 0xff00000000n, 0x123400000000n]) {
        const f = compile({
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ERRNO", args: [{ index: 5, value: mask as unknown as number, valueTwo: datum as unknown as number, op: "SCMP_CMP_MASKED_EQ" }] }],
        });
        for (const a of args) {
          const want = (a & mask) === (datum & mask) ? EPERM : RET.ALLOW;
          expect([mask, datum, a, f.x64(nr64("getpid"), 0, 0, 0, 0, 0, a)]).toEqual([mask, datum, a, want]);
        }
      }
    }
  });

  test("i386: only the low words are compared", () => {
    const f = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86"],
      syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0x100000005 as number, op: "SCMP_CMP_EQ" }] }],
    });
    expect(f.evalOn(I386, 20, [5])).toBe(EPERM);
    expect(f.evalOn(I386, 20, [6])).toBe(RET.ALLOW);
    expect(f.x64(nr64("getpid"), 5)).toBe(RET.ALLOW); // x86_64 compares all 64 bits
    expect(f.x64(nr64("getpid"), 0x100000005)).toBe(EPERM);
  });

  test("u64 max arrives as 2^64 from JSON and still means 2^64-1", () => {
    const f = compile(JSON.parse('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}'));
    expect(f.x64(nr64("getpid"), M)).toBe(EPERM);
    expect(f.x64(nr64("getpid"), M - 1n)).toBe(RET.ALLOW);
  });
});

describe("long jumps", () => {
  test("the assembler turns jumps over 255 instructions into ja", () => {
    const asm = new Assembler();
    const far = asm.label();
    asm.loadWord(0);
    asm.jump(BPF.JEQ, 7, far, null);
    for (let i = 0; i < 300; i++) asm.ret(RET.KILL_THREAD);
    asm.bind(far);
    asm.ret(RET.ALLOW);
    const prog = decode(asm.assemble());
    expect(check(prog)).toBeNull();
    expect(prog.some((i: Insn) => i.code === (BPF.JMP | BPF.JA) && i.k > 255)).toBe(true);
    expect(run(prog, { arch: 0, nr: 7 })).toBe(RET.ALLOW);
    expect(run(prog, { arch: 0, nr: 8 })).toBe(RET.KILL_THREAD);
  });

  test("a profile with a large program still decides right", () => {
    const names = Object.keys(SYSCALL_TABLES.x86_64).slice(0, 150);
    const syscalls = names.map((name, i) => ({ names: [name], action: "SCMP_ACT_ERRNO", errnoRet: 100 + i, args: [{ index: 1, value: i, op: "SCMP_CMP_EQ" }] }));
    const f = compile({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"], syscalls });
    expect(f.prog.length).toBeGreaterThan(1000);
    expect(f.prog.length).toBeLessThanOrEqual(4096);
    expect(f.prog.some((i) => i.code === (BPF.JMP | BPF.JA))).toBe(true);
    names.forEach((name, i) => {
      expect(f.x64(nr64(name), 0, i)).toBe(ERRNO(100 + i));
      expect(f.x64(nr64(name), 0, i + 1)).toBe(RET.ALLOW);
      const x32 = syscallNumber("x32", name);
      if (x32 !== undefined) expect(f.x64(x32, 0, i)).toBe(ERRNO(100 + i));
    });
  });

  test("a program over BPF_MAXINSNS is refused", () => {
    const names = Object.keys(SYSCALL_TABLES.x86_64);
    const args = [0, 1, 2, 3, 4, 5].map((index) => ({ index, value: 1, op: "SCMP_CMP_GT" }));
    const syscalls = names.map((name, i) => ({ names: [name], action: "SCMP_ACT_ERRNO", errnoRet: i, args }));
    expect(() => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", syscalls }, "x86_64")).toThrow(/more than the kernel's limit of 4096/);
  });
});

describe("flags", () => {
  const flags = (s: Partial<Seccomp>, warnings: string[] = []) => compileSeccomp({ defaultAction: "SCMP_ACT_ALLOW", ...s }, "x86_64", (m) => warnings.push(m));
  const notify = [{ names: ["getppid"], action: "SCMP_ACT_NOTIFY" }];

  test("profile flags map to SECCOMP_FILTER_FLAG_*", () => {
    expect(flags({ flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"] }).flags).toBe(FILTER_FLAG.LOG | FILTER_FLAG.SPEC_ALLOW);
    expect(flags({ flags: ["SECCOMP_FILTER_FLAG_TSYNC"] }).flags).toBe(FILTER_FLAG.TSYNC);
  });

  test("SCMP_ACT_NOTIFY asks for a listener", () => {
    const r = flags({ syscalls: notify });
    expect([r.needsListener, r.flags]).toEqual([true, FILTER_FLAG.NEW_LISTENER]);
    expect(flags({ syscalls: notify, flags: ["SECCOMP_FILTER_FLAG_TSYNC"] }).flags).toBe(FILTER_FLAG.NEW_LISTENER | FILTER_FLAG.TSYNC | FILTER_FLAG.TSYNC_ESRCH);
    expect(flags({ syscalls: notify, flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] }).flags).toBe(FILTER_FLAG.NEW_LISTENER | FILTER_FLAG.WAIT_KILLABLE_RECV);
  });

  test("WAIT_KILLABLE_RECV without a listener is dropped with a warning", () => {
    const warnings: string[] = [];
    expect(flags({ flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] }, warnings).flags).toBe(0);
    expect(warnings[0]).toContain("no effect without an SCMP_ACT_NOTIFY rule");
  });
});

describe("errors and warnings", () => {
  const bad = (s: unknown) => () => compileSeccomp(s as Seccomp, "x86_64");
  test("invalid profiles are BuncErrors naming the field", () => {
    expect(bad({ defaultAction: "SCMP_ACT_NOPE" })).toThrow(BuncError);
    expect(bad({ defaultAction: "SCMP_ACT_NOPE" })).toThrow('config.json: linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE"');
    expect(bad({ defaultAction: "SCMP_ACT_NOTIFY" })).toThrow("cannot be the default action");
    expect(bad({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["write"], action: "SCMP_ACT_NOTIFY" }] })).toThrow("linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY cannot be used for the write syscall");
    expect(bad({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }] }] })).toThrow("linux.seccomp.syscalls[0].args[0].index: must be 0..5");
    expect(bad({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0, op: "SCMP_CMP_XX" }] }] })).toThrow('args[0].op: unknown operator "SCMP_CMP_XX"');
    expect(bad({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: -1, op: "SCMP_CMP_EQ" }] }] })).toThrow("args[0].value: must be an unsigned 64-bit integer");
    expect(bad({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 70000 })).toThrow("linux.seccomp.defaultErrnoRet: 70000 is not an errno");
    expect(bad({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_VAX"] })).toThrow('linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_VAX"');
    expect(bad({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_NEW_LISTENER"] })).toThrow('linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_NEW_LISTENER"');
    expect(bad({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: [""], action: "SCMP_ACT_ERRNO" }] })).toThrow("names[0]: must be a syscall name");
  });

  test("an architecture without a table is skipped with a warning", () => {
    const warnings: string[] = [];
    const f = compile({ defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_S390X"], syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] }, "x86_64", warnings);
    expect(warnings).toEqual(["seccomp: architecture SCMP_ARCH_S390X is not supported by bunc; its syscalls will be killed"]);
    expect(f.x64(0)).toBe(RET.ALLOW);
  });

  test("isSeccompEnabled follows runc: nothing set means off", () => {
    expect(isSeccompEnabled(undefined)).toBe(false);
    expect(isSeccompEnabled({ defaultAction: "" })).toBe(false);
    expect(isSeccompEnabled({ defaultAction: "SCMP_ACT_ALLOW" })).toBe(true);
  });
});

describe("aarch64 host", () => {
  const warnings: string[] = [];
  const f = compile({ ...defaultProfile, architectures: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"] }, "aarch64", warnings);
  const a64 = (name: string, ...args: number[]) => f.evalOn(AUDIT_ARCH.AARCH64, syscallNumber("aarch64", name)!, args);

  test("the generic table decides", () => {
    expect(warnings).toContain("seccomp: architecture SCMP_ARCH_ARM is not supported by bunc; its syscalls will be killed");
    expect(a64("openat")).toBe(RET.ALLOW);
    expect(a64("mount")).toBe(EPERM);
    expect(a64("clone", 17)).toBe(RET.ALLOW);
    expect(a64("clone", 0x10000000)).toBe(EPERM);
    expect(a64("clone3")).toBe(ENOSYS);
    expect(f.evalOn(AUDIT_ARCH.AARCH64, 1000)).toBe(ENOSYS);
    expect(f.evalOn(X86_64, 0)).toBe(RET.KILL_THREAD);
    expect(f.evalOn(AUDIT_ARCH.ARM, 3)).toBe(RET.KILL_THREAD);
  });
});

test("support lists for `bunc features`", () => {
  expect(SUPPORTED_ACTIONS).toContain("SCMP_ACT_NOTIFY");
  expect(SUPPORTED_ACTIONS.length).toBe(9);
  expect(SUPPORTED_OPERATORS.length).toBe(7);
  expect(SUPPORTED_ARCHS).toEqual(["SCMP_ARCH_AARCH64", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"]);
  expect(supportedFlags("5.10.0-28-amd64")).toEqual(["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"]);
  expect(supportedFlags("6.1.0")).toContain("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
});
