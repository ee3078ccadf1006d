// Issue 3: ps, pause, resume, update, events and OOM on real containers (cgroup v1 here).
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { makeBundle, type Bundle } from "../helpers/bundle.ts";
import { trackPerTest } from "../helpers/tracked.ts";
import { bunc, buncBin, buncOk, describeRoot, waitFor } from "../helpers/run.ts";
import type { LinuxResources } from "../../src/spec/types.ts";

const { track } = trackPerTest();

function bundle(args: string[], resources?: LinuxResources): Bundle {
  const b = makeBundle({ args, mutate: (cfg) => { if (resources) cfg.linux!.resources = { ...cfg.linux!.resources, ...resources }; } });
  return track(b);
}

const read = (p: string) => readFileSync(p, "utf8").trim();
const cg = (b: Bundle, ctrl: string, file: string) => `/sys/fs/cgroup/${ctrl}${b.cgroupsPath}/${file}`;

async function startSleeper(resources?: LinuxResources): Promise<{ b: Bundle; pid: number }> {
  const b = bundle(["sleep", "1000"], resources);
  await buncOk(["create", "--bundle", b.dir, b.id], { root: b.root });
  await buncOk(["start", b.id], { root: b.root });
  const st = JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout);
  return { b, pid: st.pid };
}

async function status(b: Bundle): Promise<string> {
  return JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout).status;
}

describeRoot("cgroup commands", () => {
  test("ps lists the container's host pids (json) and its ps(1) lines (table)", async () => {
    const { b, pid } = await startSleeper();
    const json = await buncOk(["ps", "--format", "json", b.id], { root: b.root });
    expect(JSON.parse(json.stdout)).toEqual([pid]);
    const table = await buncOk(["ps", b.id], { root: b.root });
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/\bPID\b/);
    expect(lines.length).toBe(2);
    expect(lines[1]).toContain("sleep 1000");
    const custom = await buncOk(["ps", b.id, "--", "-o", "pid,comm"], { root: b.root });
    expect(custom.stdout.trim().split("\n")[1]!.trim().split(/\s+/)).toEqual([String(pid), "sleep"]);
  });

  test("pause freezes the container (state paused), resume thaws it; wrong states are refused", async () => {
    const { b, pid } = await startSleeper();
    await buncOk(["pause", b.id], { root: b.root });
    expect(await status(b)).toBe("paused");
    expect(read(cg(b, "freezer", "freezer.state"))).toBe("FROZEN");
    expect(readFileSync(`/proc/${pid}/status`, "utf8")).toMatch(/State:\s+D/);
    const again = await bunc(["pause", b.id], { root: b.root });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("is not running");
    await buncOk(["resume", b.id], { root: b.root });
    expect(await status(b)).toBe("running");
    expect(read(cg(b, "freezer", "freezer.state"))).toBe("THAWED");
    const notPaused = await bunc(["resume", b.id], { root: b.root });
    expect(notPaused.code).not.toBe(0);
    expect(notPaused.stderr).toContain("is not paused");
    // delete --force works on a paused container too
    await buncOk(["pause", b.id], { root: b.root });
    await buncOk(["delete", "--force", b.id], { root: b.root });
    expect(existsSync(`/sys/fs/cgroup/freezer${b.cgroupsPath}`)).toBe(false);
  });

  test("exec into a paused container is refused, unless --ignore-paused: then the process runs once the container is resumed", async () => {
    const { b } = await startSleeper();
    await buncOk(["pause", b.id], { root: b.root });
    const refused = await bunc(["exec", b.id, "true"], { root: b.root });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("cannot exec in a paused container");
    let finished = false;
    const exec = bunc(["exec", "--ignore-paused", b.id, "sh", "-c", "echo ran"], { root: b.root }).finally(() => (finished = true));
    await Bun.sleep(700);
    expect(finished).toBe(false); // frozen with the container
    await buncOk(["resume", b.id], { root: b.root });
    const r = await exec;
    expect(r.stdout).toBe("ran\n");
    expect(r.code).toBe(0);
  });

  test("update with runc's flags changes the files and the saved config", async () => {
    const { b } = await startSleeper({ memory: { limit: 128 << 20 } });
    await buncOk(["update", "--memory", "64m", "--memory-swap", "96m", "--pids-limit", "50", "--cpu-share", "512", "--cpu-quota", "20000", "--cpu-period", "100000", "--cpuset-cpus", "0", b.id], { root: b.root });
    expect(read(cg(b, "memory", "memory.limit_in_bytes"))).toBe(String(64 << 20));
    if (existsSync(cg(b, "memory", "memory.memsw.limit_in_bytes"))) expect(read(cg(b, "memory", "memory.memsw.limit_in_bytes"))).toBe(String(96 << 20));
    expect(read(cg(b, "pids", "pids.max"))).toBe("50");
    expect(read(cg(b, "cpu", "cpu.shares"))).toBe("512");
    expect(read(cg(b, "cpu", "cpu.cfs_quota_us"))).toBe("20000");
    expect(read(cg(b, "cpuset", "cpuset.cpus"))).toBe("0");
    const rec = JSON.parse(readFileSync(join(b.root, b.id, "state.json"), "utf8"));
    expect(rec.config.linux.resources.memory).toMatchObject({ limit: 64 << 20, swap: 96 << 20 });
    expect(rec.config.linux.resources.pids).toEqual({ limit: 50 });
    expect(rec.cgroup.resources.cpu.shares).toBe(512);
    // a second update sees the first one's values and keeps what it does not change
    await buncOk(["update", "--pids-limit", "-1", b.id], { root: b.root });
    expect(read(cg(b, "pids", "pids.max"))).toBe("max");
    const rec2 = JSON.parse(readFileSync(join(b.root, b.id, "state.json"), "utf8"));
    expect(rec2.config.linux.resources.memory.limit).toBe(64 << 20);
    const bad = await bunc(["update", "--memory", "lots", b.id], { root: b.root });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--memory: invalid size "lots"');
  });

  test("update --memory alone keeps the swap amount (memory+swap moves with the limit)", async () => {
    const { b } = await startSleeper({ memory: { limit: 64 << 20, swap: 64 << 20 } });
    await buncOk(["update", "--memory", "128m", b.id], { root: b.root });
    expect(read(cg(b, "memory", "memory.limit_in_bytes"))).toBe(String(128 << 20));
    if (existsSync(cg(b, "memory", "memory.memsw.limit_in_bytes"))) expect(read(cg(b, "memory", "memory.memsw.limit_in_bytes"))).toBe(String(128 << 20));
    const rec = JSON.parse(readFileSync(join(b.root, b.id, "state.json"), "utf8"));
    expect(rec.config.linux.resources.memory).toMatchObject({ limit: 128 << 20, swap: 128 << 20 });
  });

  test("update --resources - takes containerd's LinuxResources JSON on stdin", async () => {
    const { b } = await startSleeper();
    const r = { memory: { limit: 100000000, swap: 100000000 }, cpu: { shares: 256, quota: 50000, period: 100000 }, pids: { limit: 77 } };
    await buncOk(["update", "--resources", "-", b.id], { root: b.root, stdin: JSON.stringify(r) });
    expect(read(cg(b, "memory", "memory.limit_in_bytes"))).toBe(String(Math.floor(100000000 / 4096) * 4096));
    expect(read(cg(b, "cpu", "cpu.shares"))).toBe("256");
    expect(read(cg(b, "pids", "pids.max"))).toBe("77");
    const notJson = await bunc(["update", "-r", "-", b.id], { root: b.root, stdin: "{nope" });
    expect(notJson.code).not.toBe(0);
    expect(notJson.stderr).toContain("invalid LinuxResources JSON");
  });

  test("events --stats prints one runc stats record", async () => {
    const { b } = await startSleeper({ memory: { limit: 64 << 20 }, pids: { limit: 20 } });
    const r = await buncOk(["events", "--stats", b.id], { root: b.root });
    const lines = r.stdout.trim().split("\n");
    expect(lines.length).toBe(1);
    const ev = JSON.parse(lines[0]!);
    expect(ev.type).toBe("stats");
    expect(ev.id).toBe(b.id);
    expect(ev.data.memory.usage.limit).toBe(64 << 20);
    expect(ev.data.pids).toEqual({ current: 1, limit: 20 });
    expect(ev.data.cpu.usage).toHaveProperty("kernel");
    expect(typeof ev.data.memory.raw.cache).toBe("number");
    expect(ev.data.hugetlb).toEqual({});
  });

  test("events streams stats at --interval", async () => {
    const { b } = await startSleeper();
    const p = Bun.spawn([buncBin(), "--root", b.root, "events", "--interval", "100ms", b.id], { stdout: "pipe", stderr: "pipe" });
    try {
      const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
      let text = "";
      while (text.split("\n").length < 3) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      const evs = text.trim().split("\n").slice(0, 2).map((l) => JSON.parse(l));
      expect(evs.map((e) => e.type)).toEqual(["stats", "stats"]);
    } finally {
      p.kill(9);
      await p.exited;
    }
  });

  test("a container over its memory limit is OOM-killed: run exits 137, events reports the oom", async () => {
    const hog = ["sh", "-c", "sleep 0.5; x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"];
    const lim = { memory: { limit: 32 << 20, swap: 32 << 20 } };
    const first = bundle(hog, lim);
    const r = await bunc(["run", "--bundle", first.dir, first.id], { root: first.root });
    expect(r.code).toBe(137);
    expect(r.stdout).not.toContain("survived");

    const b = bundle(hog, lim);
    await buncOk(["create", "--bundle", b.dir, b.id], { root: b.root });
    const ev = Bun.spawn([buncBin(), "--root", b.root, "events", "--interval", "10s", b.id], { stdout: "pipe", stderr: "pipe" });
    try {
      await buncOk(["start", b.id], { root: b.root });
      // the stream ends by itself once the container has stopped
      const out = await new Response(ev.stdout as ReadableStream).text();
      await ev.exited;
      expect(out.trim().split("\n").map((l) => JSON.parse(l))).toContainEqual({ type: "oom", id: b.id });
    } finally {
      ev.kill(9);
      await ev.exited;
    }
    await waitFor(async () => (await status(b)) === "stopped", 10_000, "the container to stop");
  });

  test("commands on an unknown container fail with runc's wording", async () => {
    const b = bundle(["true"]);
    for (const cmd of [["ps"], ["pause"], ["resume"], ["update", "--memory", "1m"], ["events", "--stats"]]) {
      const r = await bunc([...cmd, "nope-" + b.id], { root: b.root });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("does not exist");
    }
  });
});
