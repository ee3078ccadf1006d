// The v2 driver on this host's real cgroup2 mount (the hybrid /sys/fs/cgroup/unified, which has
// no controllers here): directories, attach, freeze through cgroup.freeze, and the eBPF device
// filter loaded into the kernel and seen to block and allow device opens.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, openSync, closeSync } from "node:fs";
import { newCgroup, setBpfSys } from "../../src/cgroups/index.ts";
import { queryDevicePrograms } from "../../src/cgroups/bpf.ts";
import type { Layout } from "../../src/cgroups/layout.ts";
import { Cleanup, hasUnified, layout as host, read, removeTree, uniquePath, waitFor } from "./helpers.ts";
import { testBpfSys } from "./ffi-sys.ts";

const cleanup = new Cleanup();
let base = "";
let layout: Layout;

beforeEach(() => {
  if (!hasUnified) return;
  // a private directory acts as the mount, so no controller is enabled anywhere outside it
  base = `${host!.unified!.mountpoint}${uniquePath("v2")}`;
  mkdirSync(base, { recursive: true });
  cleanup.dirs.push(base);
  layout = { mode: "v2", v1: new Map(), unified: { mountpoint: base, root: "/" }, own: new Map([["", "/"]]) };
  setBpfSys(testBpfSys);
});
afterEach(async () => {
  await cleanup.run();
  setBpfSys(undefined);
  if (base) removeTree(base);
});

function gated(script: string) {
  return cleanup.spawn(["sh", "-c", `read _go; ${script}`], { stdin: "pipe" });
}

async function release(p: ReturnType<typeof gated>): Promise<string> {
  const stdin = p.stdin as import("bun").FileSink;
  stdin.write("go\n");
  await stdin.end();
  const out = await new Response(p.stdout as ReadableStream).text();
  await p.exited;
  return out.trim();
}

describe.skipIf(!hasUnified)("cgroup v2 driver on the real cgroup2 mount", () => {
  test("the eBPF device filter blocks what the rules deny and update swaps it live", async () => {
    const cg = newCgroup({ id: "dev", cgroupsPath: "/dev-ctr", systemd: false, layout, resources: { devices: [{ allow: false, access: "rwm" }] } });
    cleanup.cgroups.push(cg);
    await cg.create();
    const dir = cg.paths()[""]!;
    const fd = openSync(dir, "r");
    try {
      expect(queryDevicePrograms(testBpfSys, fd).length).toBe(1);
    } finally {
      closeSync(fd);
    }
    const probe = async () => {
      const sh = gated("(exec 3</dev/kmsg) 2>/dev/null && echo kmsg-open || echo kmsg-denied; echo x > /dev/null && echo null-ok");
      await cg.attach(sh.pid);
      return release(sh);
    };
    expect(await probe()).toBe("kmsg-denied\nnull-ok");
    await cg.update({ devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 11, access: "r" }] });
    const fd2 = openSync(dir, "r");
    try {
      expect(queryDevicePrograms(testBpfSys, fd2).length).toBe(1); // the old program was detached
    } finally {
      closeSync(fd2);
    }
    expect(await probe()).toBe("kmsg-open\nnull-ok");
  });

  test("skipDevices (a pod's cgroup): no device program is attached, even with no device rules at all", async () => {
    const plain = newCgroup({ id: "p", cgroupsPath: "/plain", systemd: false, layout });
    const pod = newCgroup({ id: "s", cgroupsPath: "/podlevel", systemd: false, layout, skipDevices: true });
    cleanup.cgroups.push(plain, pod);
    await plain.create();
    await pod.create();
    const programs = (dir: string) => {
      const fd = openSync(dir, "r");
      try {
        return queryDevicePrograms(testBpfSys, fd).length;
      } finally {
        closeSync(fd);
      }
    };
    expect(programs(plain.paths()[""]!)).toBe(1); // runc's default device list
    expect(programs(pod.paths()[""]!)).toBe(0);
    await pod.update({ devices: [{ allow: false, access: "rwm" }] }); // an update does not bring one either
    expect(programs(pod.paths()[""]!)).toBe(0);
  });

  test("attach, freeze via cgroup.freeze, pids, destroy", async () => {
    const cg = newCgroup({ id: "f", cgroupsPath: "/a/b", systemd: false, layout });
    cleanup.cgroups.push(cg);
    await cg.create();
    const dir = cg.paths()[""]!;
    expect(dir).toBe(`${base}/a/b`);
    const sleep = cleanup.spawn(["sleep", "60"]);
    await cg.attach(sleep.pid);
    expect(read(`${dir}/cgroup.procs`)).toBe(String(sleep.pid));
    expect(cg.pids()).toEqual([sleep.pid]);
    cg.freeze();
    expect(read(`${dir}/cgroup.events`)).toContain("frozen 1");
    expect(cg.isFrozen()).toBe(true);
    cg.thaw();
    expect(read(`${dir}/cgroup.events`)).toContain("frozen 0");
    expect(cg.stats().cpu.usage.user).toBeGreaterThanOrEqual(0n);
    sleep.kill(9);
    await sleep.exited;
    await waitFor(() => cg.pids().length === 0, "the cgroup to empty");
    await cg.destroy();
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`${base}/a`)).toBe(false); // made by create, removed by destroy
  });
});
