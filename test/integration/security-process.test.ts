// Issue 5: the rest of the process and linux fields: LSM labels (this host has neither AppArmor
// nor SELinux: they must be refused clearly), capability sets that cannot be applied, scheduler,
// I/O priority, personality, a time namespace with its offsets, and Intel RDT.
import { expect, setDefaultTimeout, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Spec } from "../../src/spec/types.ts";
import type { Bundle } from "../helpers/bundle.ts";
import { trackPerTest } from "../helpers/tracked.ts";
import { bunc, buncOk, describeRoot } from "../helpers/run.ts";

setDefaultTimeout(60_000);

const { bundle, tempDir } = trackPerTest();

async function run(args: string[], mutate: (cfg: Spec) => void) {
  const b = bundle({ args, mutate });
  b.writeConfig();
  const r = await bunc(["run", "-b", b.dir, b.id], { root: b.root });
  return { ...r, b };
}
async function runDetached(args: string[], mutate: (cfg: Spec) => void): Promise<{ b: Bundle; pid: number }> {
  const b = bundle({ args, mutate });
  b.writeConfig();
  await buncOk(["run", "-d", "-b", b.dir, b.id], { root: b.root });
  const st = JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout);
  return { b, pid: st.pid };
}
/** fields of /proc/<pid>/stat after the command name (field 3 is index 0) */
function statFields(pid: number): string[] {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  return s.slice(s.lastIndexOf(")") + 2).split(" ");
}
function hostHasLsm(name: string): boolean {
  try {
    return readFileSync("/sys/kernel/security/lsm", "utf8").split(",").includes(name);
  } catch {
    return existsSync(name === "selinux" ? "/sys/fs/selinux/enforce" : "/sys/module/apparmor/parameters/enabled");
  }
}

describeRoot("LSM labels", () => {
  test.if(!hostHasLsm("apparmor"))("process.apparmorProfile on a host without AppArmor is refused, naming the field", async () => {
    const r = await run(["true"], (cfg) => { cfg.process!.apparmorProfile = "docker-default"; });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("process.apparmorProfile: AppArmor is not enabled on this host");
    expect(existsSync(join(r.b.root, r.b.id))).toBe(false);
  });

  test.if(!hostHasLsm("selinux"))("process.selinuxLabel and linux.mountLabel on a host without SELinux are refused, naming the field", async () => {
    const p = await run(["true"], (cfg) => { cfg.process!.selinuxLabel = "system_u:system_r:container_t:s0:c1,c2"; });
    expect(p.code).not.toBe(0);
    expect(p.stderr).toContain("process.selinuxLabel: SELinux is not enabled on this host");
    const m = await run(["true"], (cfg) => { cfg.linux!.mountLabel = "system_u:object_r:container_file_t:s0:c1,c2"; });
    expect(m.code).not.toBe(0);
    expect(m.stderr).toContain("config.json: linux.mountLabel: SELinux is not enabled on this host");
    // exec refuses the same for its process
    const { b } = await runDetached(["sleep", "100"], () => {});
    const e = await bunc(["exec", "--process-label", "system_u:system_r:container_t:s0", b.id, "true"], { root: b.root });
    expect(e.code).not.toBe(0);
    expect(e.stderr).toContain("process.selinuxLabel: SELinux is not enabled on this host");
  });
});

describeRoot("capabilities", () => {
  test("ambient capabilities need inheritable and permitted; effective needs permitted", async () => {
    const a = await run(["true"], (cfg) => {
      const c = cfg.process!.capabilities!;
      c.ambient = ["CAP_NET_BIND_SERVICE", "CAP_KILL"];
      c.inheritable = ["CAP_KILL"];
    });
    expect(a.code).not.toBe(0);
    expect(a.stderr).toContain("process.capabilities.ambient: CAP_NET_BIND_SERVICE must also be in inheritable and permitted");
    const e = await run(["true"], (cfg) => { cfg.process!.capabilities!.effective!.push("CAP_CHOWN"); });
    expect(e.stderr).toContain("process.capabilities.effective: CAP_CHOWN must also be in permitted");
  });

  test("a complete ambient set reaches a non-root process", async () => {
    const r = await run(["sh", "-c", "grep -E '^Cap(Inh|Prm|Eff|Amb)' /proc/self/status"], (cfg) => {
      cfg.process!.user = { uid: 1000, gid: 1000 };
      const c = cfg.process!.capabilities!;
      c.inheritable = ["CAP_NET_BIND_SERVICE"];
      c.ambient = ["CAP_NET_BIND_SERVICE"];
    });
    expect(r.stderr).toBe("");
    // CAP_NET_BIND_SERVICE is bit 10
    expect(r.stdout.replace(/\t/g, " ")).toBe("CapInh: 0000000000000400\nCapPrm: 0000000000000400\nCapEff: 0000000000000400\nCapAmb: 0000000000000400\n");
  });
});

describeRoot("scheduling", () => {
  test("process.scheduler (sched_setattr) and process.ioPriority (ioprio_set), for run and exec", async () => {
    const { b, pid } = await runDetached(["sleep", "100"], (cfg) => {
      cfg.process!.scheduler = { policy: "SCHED_BATCH", nice: 7 };
      cfg.process!.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 3 };
    });
    const f = statFields(pid);
    expect([f[16], f[38]]).toEqual(["7", "3"]); // nice, policy (SCHED_BATCH = 3)
    expect(spawnSync("ionice", ["-p", String(pid)], { encoding: "utf8" }).stdout.trim()).toBe("best-effort: prio 3");
    const dir = tempDir("bunc-sched-");
    writeFileSync(join(dir, "p.json"), JSON.stringify({
      args: ["sleep", "100"], cwd: "/", env: ["PATH=/bin"], user: { uid: 0, gid: 0 },
      scheduler: { policy: "SCHED_IDLE" }, ioPriority: { class: "IOPRIO_CLASS_IDLE", priority: 0 },
    }));
    await buncOk(["exec", "-d", "--pid-file", join(dir, "pid"), "--process", join(dir, "p.json"), b.id], { root: b.root });
    const epid = Number(readFileSync(join(dir, "pid"), "utf8"));
    expect(statFields(epid)[38]).toBe("5"); // SCHED_IDLE
    expect(spawnSync("ionice", ["-p", String(epid)], { encoding: "utf8" }).stdout.trim()).toBe("idle");
  });
});

describeRoot("personality", () => {
  test("linux.personality LINUX32: uname says a 32-bit machine, in exec'd processes too", async () => {
    if (process.arch !== "x64") return;
    const { b } = await runDetached(["sh", "-c", "uname -m > /tmp/m; exec sleep 100"], (cfg) => {
      cfg.linux!.personality = { domain: "LINUX32" };
    });
    const e = await buncOk(["exec", b.id, "uname", "-m"], { root: b.root });
    expect(e.stdout).toBe("i686\n");
    expect((await buncOk(["exec", b.id, "cat", "/tmp/m"], { root: b.root })).stdout).toBe("i686\n");
  });
});

describeRoot("time namespace", () => {
  test("linux.timeOffsets shift boottime and monotonic for the container and its exec'd processes", async () => {
    const { b, pid } = await runDetached(["sleep", "100"], (cfg) => {
      cfg.linux!.namespaces!.push({ type: "time" });
      cfg.linux!.timeOffsets = { boottime: { secs: 1_000_000, nanosecs: 0 }, monotonic: { secs: 2_000_000 } };
    });
    expect(readlinkSync(`/proc/${pid}/ns/time`)).not.toBe(readlinkSync("/proc/self/ns/time"));
    const hostUptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    const r = await buncOk(["exec", b.id, "sh", "-c", "cat /proc/self/timens_offsets; cut -d' ' -f1 /proc/uptime"], { root: b.root });
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, 2).map((l) => l.trim().split(/\s+/).join(" "))).toEqual(["monotonic 2000000 0", "boottime 1000000 0"]);
    expect(Number(lines[2])).toBeGreaterThanOrEqual(hostUptime + 1_000_000);
  });

  test("timeOffsets without a new time namespace are refused", async () => {
    const r = await run(["true"], (cfg) => {
      cfg.linux!.namespaces!.push({ type: "time", path: "/proc/self/ns/time" });
      cfg.linux!.timeOffsets = { boottime: { secs: 5 } };
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("config.json: linux.timeOffsets: need a new time namespace");
  });
});

describeRoot("Intel RDT", () => {
  test.if(!existsSync("/sys/fs/resctrl/schemata"))("linux.intelRdt on a host without resctrl is refused clearly", async () => {
    const r = await run(["true"], (cfg) => { cfg.linux!.intelRdt = { closID: "guaranteed", l3CacheSchema: "L3:0=ff" }; });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("config.json: linux.intelRdt: Intel RDT is not available on this host");
    expect(existsSync(join(r.b.root, r.b.id))).toBe(false);
  });
});
