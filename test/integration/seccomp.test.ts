// Issue 5: linux.seccomp compiled to BPF and loaded by the container child, observed from inside.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeBundle, type Bundle } from "../helpers/bundle.ts";
import { trackPerTest } from "../helpers/tracked.ts";
import { bunc, describeRoot, waitFor } from "../helpers/run.ts";
import type { Seccomp } from "../../src/spec/types.ts";

const { track } = trackPerTest();

async function run(script: string, seccomp: Seccomp, nnp = true) {
  const b = makeBundle({ args: ["sh", "-c", script] });
  track(b);
  b.config.linux!.seccomp = seccomp;
  b.config.process!.noNewPrivileges = nnp;
  b.writeConfig();
  return bunc(["run", "-b", b.dir, b.id], { root: b.root });
}

const allowAll = (syscalls: Seccomp["syscalls"]): Seccomp => ({
  defaultAction: "SCMP_ACT_ALLOW",
  architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  syscalls,
});

describeRoot("seccomp", () => {
  const dockerDefault = JSON.parse(readFileSync(join(import.meta.dir, "../data/seccomp/default.json"), "utf8")) as Seccomp;

  test("Docker's default profile runs a normal shell, with and without no_new_privs", async () => {
    for (const nnp of [true, false]) {
      const r = await run("echo hi; ls / | wc -l; cat /etc/passwd | head -1; grep Seccomp: /proc/self/status", dockerDefault, nnp);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines[0]).toBe("hi");
      expect(lines[2]).toStartWith("root:");
      expect(lines[3]).toMatch(/Seccomp:\s+2/);
    }
  });

  test("the default profile denies what Docker denies (unshare of a user namespace, mount)", async () => {
    const r = await run("unshare -U true 2>&1; echo rc=$?; mount -t tmpfs t /mnt 2>&1; echo rc=$?", dockerDefault);
    expect(r.stdout).toContain("Operation not permitted");
    expect(r.stdout.match(/rc=1/g)?.length).toBe(2);
  });

  test("a rule denies a syscall with the chosen errno", async () => {
    const r = await run("mkdir /tmp/x 2>&1; echo rc=$?", allowAll([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 18 }]));
    expect(r.stdout).toContain("Invalid cross-device link"); // EXDEV = 18
    expect(r.stdout).toContain("rc=1");
  });

  test("argument conditions select which calls are denied", async () => {
    // deny kill(2) only when the signal (arg 1) is SIGUSR1 (10): kill -0 still works
    const prof = allowAll([{ names: ["kill"], action: "SCMP_ACT_ERRNO", errnoRet: 1, args: [{ index: 1, value: 10, op: "SCMP_CMP_EQ" }] }]);
    const r = await run("trap '' USR1; kill -USR1 $$ 2>&1; echo usr1=$?; kill -0 $$; echo zero=$?", prof);
    expect(r.stdout).toContain("Operation not permitted");
    expect(r.stdout).toContain("usr1=1");
    expect(r.stdout).toContain("zero=0");
  });

  test("a kill action kills the process that makes the call", async () => {
    const r = await run("mkdir /tmp/y; echo rc=$?", allowAll([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_KILL_PROCESS" }]));
    expect(r.stdout.trim()).toBe(`rc=${128 + 31}`); // the mkdir child died of SIGSYS
  });

  test("SCMP_ACT_NOTIFY: the listener fd and the state go to the agent at listenerPath, which answers the calls", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bunc-agent-"));
    const agent = join(dir, "agent");
    const cc = Bun.spawnSync(["gcc", "-O1", "-o", agent, join(import.meta.dir, "../helpers/seccomp-agent.c")]);
    expect(cc.stderr.toString()).toBe("");
    const sock = join(dir, "agent.sock");
    const p = Bun.spawn([agent, sock, "18"], { stdout: "pipe" });
    const out: string[] = [];
    const reader = (async () => {
      for await (const c of p.stdout) out.push(new TextDecoder().decode(c));
    })();
    try {
      await waitFor(() => out.join("").includes("listening"), 10_000);
      const b = makeBundle({ args: ["sh", "-c", "mkdir /tmp/n 2>&1; echo rc=$?"] });
      track(b);
      b.config.linux!.seccomp = { ...allowAll([{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }]), listenerPath: sock, listenerMetadata: "meta" };
      b.writeConfig();
      const r = await bunc(["run", "-b", b.dir, b.id], { root: b.root });
      expect(r.stdout).toContain("Invalid cross-device link"); // the agent answered EXDEV
      expect(r.stdout).toContain("rc=1");
      await reader.catch(() => {});
      const text = out.join("");
      const state = JSON.parse(text.split("\n").find((l) => l.startsWith("{"))!);
      expect(state).toMatchObject({ fds: ["seccompFd"], metadata: "meta", state: { id: b.id, bundle: b.dir } });
      expect(state.pid).toBeGreaterThan(0);
      expect(text).toMatch(/notified nr=(83|258)/); // mkdir / mkdirat on x86_64
    } finally {
      p.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("SCMP_ACT_NOTIFY without listenerPath is refused", async () => {
    const r = await run("true", allowAll([{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }]));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("listenerPath");
  });

  test("a syscall of an architecture the filter does not list is killed", async () => {
    // A static x86_64 program that makes a 32-bit syscall (int $0x80: AUDIT_ARCH_I386).
    const dir = mkdtempSync(join(tmpdir(), "bunc-int80-"));
    try {
      writeFileSync(join(dir, "int80.c"), `#include <unistd.h>
int main(void) { long r; __asm__ volatile ("int $0x80" : "=a"(r) : "a"(20L) : "memory"); /* getpid */
  write(1, r > 0 ? "alive\\n" : "fail\\n", r > 0 ? 6 : 5); return 0; }`);
      const cc = Bun.spawnSync(["gcc", "-static", "-O1", "-o", join(dir, "int80"), join(dir, "int80.c")]);
      expect(cc.stderr.toString()).toBe("");
      expect(cc.exitCode).toBe(0);
      const b = makeBundle({ args: ["/x/int80"] });
      track(b);
      b.config.mounts!.push({ destination: "/x", type: "bind", source: dir, options: ["bind", "ro"] });
      b.config.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"], syscalls: [] };
      b.writeConfig();
      const killed = await bunc(["run", "-b", b.dir, b.id], { root: b.root });
      expect(killed.stdout).toBe("");
      expect(killed.code).toBe(128 + 31);
      b.cleanup();
      const c = makeBundle({ args: ["/x/int80"] });
      track(c);
      c.config.mounts!.push({ destination: "/x", type: "bind", source: dir, options: ["bind", "ro"] });
      c.config.linux!.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], syscalls: [] };
      c.writeConfig();
      const ok = await bunc(["run", "-b", c.dir, c.id], { root: c.root });
      expect(ok.stdout).toBe("alive\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
