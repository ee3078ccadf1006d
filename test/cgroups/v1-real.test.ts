// The v1 driver against this host's real cgroup v1 hierarchies (root only): files read back,
// and limits seen to act on real processes.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { loadCgroup, newCgroup, toJson } from "../../src/cgroups/index.ts";
import type { LinuxResources } from "../../src/spec/types.ts";
import { Cleanup, hasV1, procState, read, uniquePath, waitFor } from "./helpers.ts";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** major:minor of a real disk (throttle files refuse devices without a request queue). */
function blockDevice(): { major: number; minor: number } {
  for (const name of readdirSync("/sys/block")) {
    if (name.startsWith("loop") || name.startsWith("ram")) continue;
    const [major, minor] = readFileSync(`/sys/block/${name}/dev`, "utf8").trim().split(":").map(Number);
    return { major: major!, minor: minor! };
  }
  throw new Error("no block device");
}

function make(resources: LinuxResources = {}, tag = "v1") {
  const path = uniquePath(tag);
  const cg = newCgroup({ id: tag, cgroupsPath: path, systemd: false, resources });
  cleanup.cgroups.push(cg);
  return { cg, path };
}

/** A shell that waits for a line on stdin, so it can be moved into the cgroup before it acts. */
function gated(script: string) {
  return cleanup.spawn(["sh", "-c", `read _go; ${script}`], { stdin: "pipe" });
}

async function release(p: ReturnType<typeof gated>): Promise<{ out: string; code: number | null }> {
  const stdin = p.stdin as import("bun").FileSink;
  stdin.write("go\n");
  await stdin.end();
  const out = await new Response(p.stdout as ReadableStream).text();
  return { out, code: await p.exited };
}

describe.skipIf(!hasV1)("cgroup v1 driver (real)", () => {
  test("create writes every resource file; attach puts the pid everywhere; destroy removes it all", async () => {
    const disk = blockDevice();
    const r: LinuxResources = {
      memory: { limit: 64 << 20, swap: 96 << 20, reservation: 32 << 20, swappiness: 10 },
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0", mems: "0" },
      pids: { limit: 42 },
      blockIO: { throttleReadBpsDevice: [{ ...disk, rate: 1048576 }] },
    };
    const { cg, path } = make(r);
    await cg.create();
    const p = cg.paths();
    expect(p.memory).toBe(`/sys/fs/cgroup/memory${path}`);
    expect(read(`${p.memory}/memory.limit_in_bytes`)).toBe(String(64 << 20));
    if (existsSync(`${p.memory}/memory.memsw.limit_in_bytes`)) expect(read(`${p.memory}/memory.memsw.limit_in_bytes`)).toBe(String(96 << 20));
    expect(read(`${p.memory}/memory.soft_limit_in_bytes`)).toBe(String(32 << 20));
    expect(read(`${p.memory}/memory.swappiness`)).toBe("10");
    expect(read(`${p.cpu}/cpu.shares`)).toBe("512");
    expect(read(`${p.cpu}/cpu.cfs_quota_us`)).toBe("50000");
    expect(read(`${p.cpu}/cpu.cfs_period_us`)).toBe("100000");
    expect(read(`${p.cpuset}/cpuset.cpus`)).toBe("0");
    expect(read(`${p.cpuset}/cpuset.mems`)).toBe("0");
    expect(read(`${p.pids}/pids.max`)).toBe("42");
    expect(read(`${p.blkio}/blkio.throttle.read_bps_device`)).toBe(`${disk.major}:${disk.minor} 1048576`);
    // runc's default device rules, as a white list
    const devices = read(`${p.devices}/devices.list`).split("\n");
    expect(devices).toContain("c 1:3 rwm");
    expect(devices).toContain("c 136:* rwm");
    expect(devices).toContain("b *:* m");
    expect(devices).not.toContain("a *:* rwm");

    const sleep = cleanup.spawn(["sleep", "60"]);
    await cg.attach(sleep.pid);
    for (const dir of new Set(Object.values(p))) expect(read(`${dir}/cgroup.procs`).split("\n")).toContain(String(sleep.pid));
    const self = readFileSync(`/proc/${sleep.pid}/cgroup`, "utf8");
    expect(self).toContain(`:memory:${path}\n`);
    expect(self).toContain(`:pids:${path}\n`);
    expect(cg.pids()).toEqual([sleep.pid]);

    sleep.kill(9);
    await sleep.exited;
    await cg.destroy();
    for (const dir of new Set(Object.values(p))) expect(existsSync(dir)).toBe(false);
    // the /bunc-test parents it made are gone too when nothing else uses them
    for (const d of cg.save().made) if (existsSync(d)) expect(readFileSync(`${d}/cgroup.procs`, "utf8")).toBe("");
  });

  test("a new cpuset cgroup inherits cpus and mems so tasks can join", async () => {
    const { cg } = make({});
    await cg.create();
    const dir = cg.paths().cpuset!;
    expect(read(`${dir}/cpuset.cpus`)).toBe(read("/sys/fs/cgroup/cpuset/cpuset.cpus"));
    expect(read(`${dir}/cpuset.mems`)).toBe(read("/sys/fs/cgroup/cpuset/cpuset.mems"));
    const sleep = cleanup.spawn(["sleep", "60"]);
    await cg.attach(sleep.pid);
    expect(read(`${dir}/cgroup.procs`)).toBe(String(sleep.pid));
  });

  test("freeze stops the processes; thaw lets them go on", async () => {
    const { cg } = make({});
    await cg.create();
    const dir = `/tmp/bunc-freeze-${process.pid}`;
    const counter = gated(`i=0; while :; do i=$((i+1)); echo $i > ${dir}; done`);
    await cg.attach(counter.pid);
    (counter.stdin as import("bun").FileSink).write("go\n");
    await (counter.stdin as import("bun").FileSink).flush();
    await waitFor(() => existsSync(dir) && Number(readFileSync(dir, "utf8") || 0) > 10, "the counter to run");
    cg.freeze();
    expect(cg.isFrozen()).toBe(true);
    expect(read(`${cg.paths().freezer}/freezer.state`)).toBe("FROZEN");
    expect(procState(counter.pid)).toBe("D"); // v1 frozen tasks sleep uninterruptibly in the refrigerator
    const before = readFileSync(dir, "utf8");
    await Bun.sleep(200);
    expect(readFileSync(dir, "utf8")).toBe(before);
    cg.thaw();
    expect(cg.isFrozen()).toBe(false);
    await waitFor(() => readFileSync(dir, "utf8") !== before, "the counter to go on");
    cleanup.procs.forEach((p) => p.kill(9));
    Bun.spawnSync(["rm", "-f", dir]);
  });

  test("pids.limit stops a fork bomb", async () => {
    const { cg } = make({ pids: { limit: 8 } });
    await cg.create();
    const bomb = gated("for i in $(seq 1 40); do sleep 30 & done 2>/dev/null; echo forked; wait");
    await cg.attach(bomb.pid);
    const stdin = bomb.stdin as import("bun").FileSink;
    stdin.write("go\n");
    await stdin.flush();
    await waitFor(() => Number(read(`${cg.paths().pids}/pids.events`).split(" ")[1]) > 0, "pids.events max > 0");
    expect(Number(read(`${cg.paths().pids}/pids.current`))).toBeLessThanOrEqual(8);
    expect(cg.pids().length).toBeLessThanOrEqual(8);
    // (dash gives up when fork fails, so the bomb's own shell may be gone by now)
    const stats = cg.stats();
    expect(stats.pids.limit).toBe(8n);
    for (const pid of cg.pids()) process.kill(pid, 9);
  });

  test("a memory hog is OOM-killed (137) and the kill is counted", async () => {
    const { cg } = make({ memory: { limit: 32 << 20, swap: 32 << 20 } });
    await cg.create();
    // the inner shell grows a 200 MB variable; the outer one reports how it ended
    const outer = gated(`sh -c 'x=$(head -c 200000000 /dev/zero | tr "\\\\0" a); echo survived'; echo "rc=$?"`);
    await cg.attach(outer.pid);
    const { out } = await release(outer);
    expect(out).toContain("rc=137");
    expect(out).not.toContain("survived");
    expect(cg.oomKillCount()).toBeGreaterThanOrEqual(1);
    const s = cg.stats();
    expect(s.memory.usage.limit).toBe(BigInt(32 << 20));
    // the hog reached the limit (this kernel leaves failcnt at 0 on an OOM kill, so check the peak)
    expect(s.memory.usage.max).toBe(BigInt(32 << 20));
    expect(JSON.parse(toJson(s)).memory.usage.limit).toBe(32 << 20);
  });

  test("device rules are enforced and changed live by update", async () => {
    const { cg } = make({ devices: [{ allow: false, access: "rwm" }] });
    await cg.create();
    const open = async () => {
      const sh = gated("(exec 3</dev/kmsg) 2>/dev/null && echo opened || echo denied");
      await cg.attach(sh.pid);
      return (await release(sh)).out.trim();
    };
    expect(await open()).toBe("denied");
    await cg.update({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 11, access: "r" }] });
    expect(read(`${cg.paths().devices}/devices.list`).split("\n")).toContain("c 1:11 r");
    expect(await open()).toBe("opened");
  });

  test("update changes limits live and saves them; loadCgroup finds the same cgroup", async () => {
    const { cg } = make({ memory: { limit: 64 << 20 }, pids: { limit: 10 } });
    await cg.create();
    const sleep = cleanup.spawn(["sleep", "60"]);
    await cg.attach(sleep.pid);
    const again = loadCgroup(JSON.parse(JSON.stringify(cg.save())));
    await again.update({ memory: { limit: 128 << 20, swap: -1 }, pids: { limit: -1 }, cpu: { shares: 256 } });
    expect(read(`${cg.paths().memory}/memory.limit_in_bytes`)).toBe(String(128 << 20));
    expect(read(`${cg.paths().pids}/pids.max`)).toBe("max");
    expect(read(`${cg.paths().cpu}/cpu.shares`)).toBe("256");
    expect(again.save().resources?.memory?.limit).toBe(128 << 20);
    expect(again.pids()).toEqual([sleep.pid]);
  });

  test("a failing create leaves no directory behind and says why", async () => {
    const { cg } = make({ cpu: { cpus: "63" } }, "bad");
    await expect(cg.create()).rejects.toThrow(/cpuset\.cpus/);
    for (const dir of new Set(Object.values(cg.paths()))) expect(existsSync(dir)).toBe(false);
  });

  test("unified settings are refused on v1 with a clear error", async () => {
    const { cg } = make({ unified: { "memory.high": "1000000" } }, "unified");
    await expect(cg.create()).rejects.toThrow("cannot be applied on a cgroup v1 host");
  });
});
