// Compiled filters loaded into the real kernel: a small C program (test/data/seccomp/probe.c)
// loads the filter for itself with no_new_privs + seccomp(2) and reports what its system calls
// return. No container, no root needed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { syscallNumber } from "../../src/linux/seccomp/arch.ts";
import { compileSeccomp } from "../../src/linux/seccomp/compile.ts";
import { FILTER_FLAG } from "../../src/linux/seccomp/constants.ts";
import type { Seccomp } from "../../src/spec/types.ts";

const canRun = process.platform === "linux" && process.arch === "x64" && Bun.which("gcc") !== null;
const defaultProfile: Seccomp = await Bun.file(new URL("../data/seccomp/default.json", import.meta.url)).json();
const nr = (name: string) => syscallNumber("x86_64", name)!;

let dir = "";
let probe = "";

beforeAll(() => {
  if (!canRun) return;
  dir = mkdtempSync(join(tmpdir(), "bunc-seccomp-"));
  probe = join(dir, "probe");
  const src = new URL("../data/seccomp/probe.c", import.meta.url).pathname;
  const cc = Bun.spawnSync(["gcc", "-O1", "-Wall", "-o", probe, src]);
  if (cc.exitCode !== 0) throw new Error(`gcc: ${cc.stderr.toString()}`);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface ProbeResult {
  exitCode: number | null;
  signal: string | undefined;
  lines: string[];
  /** op -> [ret, errno] */
  results: Record<string, [number, number]>;
}

let runs = 0;
function runProbe(profile: Seccomp, ops: string[]): ProbeResult {
  const { filter, flags } = compileSeccomp(profile, "x86_64");
  const file = join(dir, `filter-${runs++}.bin`);
  writeFileSync(file, filter);
  const p = Bun.spawnSync([probe, file, String(flags), ...ops], { cwd: dir });
  const stderr = p.stderr.toString();
  if (p.exitCode === 3) throw new Error(`the kernel refused the filter: ${stderr}`);
  const lines = p.stdout.toString().trim().split("\n");
  const results: Record<string, [number, number]> = {};
  for (const line of lines) {
    const m = /^(\S+) ret=(-?\d+) errno=(\d+)$/.exec(line);
    if (m) results[m[1]] = [Number(m[2]), Number(m[3])];
  }
  return { exitCode: p.exitCode, signal: p.signalCode ? String(p.signalCode) : undefined, lines, results };
}

describe.skipIf(!canRun)("filters in the kernel", () => {
  test("containerd's RuntimeDefault: allowed calls work, the rest fail as the profile says", () => {
    const r = runProbe(defaultProfile, [
      "getcwd",
      "mkdirat:made-by-probe",
      `sys:${nr("mount")}`,
      `sys:${nr("unshare")}:0x10000000`,
      `sys:${nr("clone3")}`,
      `sys:${nr("clone")}:0x10000011`, // CLONE_NEWUSER|SIGCHLD
      `sys:${nr("personality")}:0x1234`,
      `sys:${nr("personality")}:0xffffffff`,
      `sys:${nr("getpid")}`,
      "sys:1000",
    ]);
    expect(r.exitCode).toBe(0);
    expect(r.results["getcwd"][0]).toBe(dir.length);
    expect(r.results["mkdirat:made-by-probe"]).toEqual([0, 0]);
    expect(existsSync(join(dir, "made-by-probe"))).toBe(true);
    expect(r.results[`sys:${nr("mount")}`]).toEqual([-1, 1]); // EPERM
    expect(r.results[`sys:${nr("unshare")}:0x10000000`]).toEqual([-1, 1]);
    expect(r.results[`sys:${nr("clone3")}`]).toEqual([-1, 38]); // ENOSYS
    expect(r.results[`sys:${nr("clone")}:0x10000011`]).toEqual([-1, 1]);
    expect(r.results[`sys:${nr("personality")}:0x1234`]).toEqual([-1, 1]);
    expect(r.results[`sys:${nr("personality")}:0xffffffff`][1]).toBe(0); // a query: allowed
    expect(r.results[`sys:${nr("getpid")}`][0]).toBeGreaterThan(0);
    expect(r.results["sys:1000"]).toEqual([-1, 38]);
  });

  test("the i386 ABI (int $0x80) is filtered with the x86 table", () => {
    const r = runProbe(defaultProfile, ["int80:20", "int80:21"]); // i386 getpid, mount
    expect(r.exitCode).toBe(0);
    expect(r.results["int80:20"][0]).toBeGreaterThan(0);
    expect(r.results["int80:21"]).toEqual([-1, 1]);
  });

  test("i386 socketcall(2) cannot get around a socket rule", () => {
    const profile: Seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86"], syscalls: [{ names: ["socket"], action: "SCMP_ACT_ERRNO", errnoRet: 97 }] };
    // i386: socket is 359; socketcall is 102 and takes (call, pointer to the arguments).
    const r = runProbe(profile, ["int80:359:2:1:0", "int80:102:1:0", "int80:102:2:0"]);
    expect(r.results["int80:359:2:1:0"]).toEqual([-1, 97]);
    expect(r.results["int80:102:1:0"]).toEqual([-1, 97]); // SYS_SOCKET
    expect(r.results["int80:102:2:0"]).toEqual([-1, 14]); // SYS_BIND reaches the kernel: EFAULT on the NULL argument block
  });

  test("a rule's errnoRet is what the syscall returns", () => {
    const r = runProbe({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdirat", "mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 18 }] }, ["mkdirat:nope", "getcwd"]);
    expect(r.results["mkdirat:nope"]).toEqual([-1, 18]); // EXDEV
    expect(r.results["getcwd"][0]).toBe(dir.length);
    expect(existsSync(join(dir, "nope"))).toBe(false);
  });

  test("an argument condition: personality denied only for 0x1234", () => {
    const profile: Seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0x1234, op: "SCMP_CMP_EQ" }] }],
    };
    const p = nr("personality");
    const r = runProbe(profile, [`sys:${p}:0x1234`, `sys:${p}:0xffffffff`, `sys:${p}:0x100001234`]);
    expect(r.results[`sys:${p}:0x1234`]).toEqual([-1, 1]);
    expect(r.results[`sys:${p}:0xffffffff`][1]).toBe(0);
    // seccomp sees all 64 bits and the filter compares both words (personality itself then
    // truncates to an unsigned int, so this call does succeed).
    expect(r.results[`sys:${p}:0x100001234`][1]).not.toBe(1);
  });

  test("a wrong architecture is killed: i386 and x32 when only x86_64 is listed", () => {
    const profile: Seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"], syscalls: [{ names: ["mount"], action: "SCMP_ACT_ERRNO" }] };
    const native = runProbe(profile, [`sys:${nr("getpid")}`]);
    expect(native.exitCode).toBe(0);
    const i386 = runProbe(profile, ["int80:20"]);
    expect(i386.signal).toBe("SIGSYS");
    expect(i386.lines).toEqual(["loaded listener=-1"]);
    const x32 = runProbe(profile, ["sys:0x40000027"]); // x32 getpid
    expect(x32.signal).toBe("SIGSYS");
  });

  test("KILL_PROCESS kills, TRAP raises a catchable SIGSYS", () => {
    const kill = runProbe({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getppid"], action: "SCMP_ACT_KILL_PROCESS" }] }, [`sys:${nr("getppid")}`]);
    expect(kill.signal).toBe("SIGSYS");
    const trap = runProbe({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getppid"], action: "SCMP_ACT_TRAP" }] }, [`sys:${nr("getppid")}`]);
    expect(trap.exitCode).toBe(42);
    expect(trap.lines).toContain(`trap nr=${nr("getppid")}`);
  });

  test("SCMP_ACT_NOTIFY: the listener answers for the kernel", () => {
    const profile: Seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getppid"], action: "SCMP_ACT_NOTIFY" }] };
    expect(compileSeccomp(profile, "x86_64").flags).toBe(FILTER_FLAG.NEW_LISTENER);
    const r = runProbe(profile, [`notify:${nr("getppid")}`]);
    expect(r.exitCode).toBe(0);
    expect(r.results["notify"]).toEqual([4242, 0]);
    expect(r.results[`notify:${nr("getppid")}`]).toEqual([0, 0]);
  });

  test("the kernel accepts every flag bunc passes", () => {
    const r = runProbe(
      {
        defaultAction: "SCMP_ACT_ALLOW",
        flags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        syscalls: [{ names: ["getppid"], action: "SCMP_ACT_NOTIFY" }],
      },
      [`sys:${nr("getpid")}`],
    );
    expect(r.exitCode).toBe(0);
  });
});
