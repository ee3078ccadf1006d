// The v2 driver's file writing against a fake cgroup2 tree (a temp dir standing in for
// /sys/fs/cgroup), and the systemd unit properties (pure).
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { newCgroup } from "../../src/cgroups/index.ts";
import { layoutFrom } from "../../src/cgroups/layout.ts";
import { containerRules } from "../../src/cgroups/devices.ts";
import { annotationProps, deviceProperties, unitProperties } from "../../src/cgroups/systemd-props.ts";
import { MAX_UINT64 } from "../../src/cgroups/convert.ts";
import { setBpfSys, type BpfSys } from "../../src/cgroups/index.ts";
import { deviceFilter } from "../../src/cgroups/ebpf.ts";

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  setBpfSys(undefined);
});

/** Records bpf(2) calls; program fds are real (/dev/null) so the driver can close them. */
function fakeBpf() {
  const calls: { cmd: number; attr: DataView }[] = [];
  const sys: BpfSys = {
    sys(_nr, cmd, attr) {
      const a = attr as Uint8Array;
      calls.push({ cmd: cmd as number, attr: new DataView(a.slice().buffer) });
      if (cmd === 5) return openSync("/dev/null", "r"); // BPF_PROG_LOAD
      if (cmd === 16) new DataView(a.buffer, a.byteOffset).setUint32(24, 0, true); // QUERY: no programs yet
      return 0; // ATTACH
    },
    addressOf: () => 0x1000n,
  };
  setBpfSys(sys);
  return calls;
}

/** A fake cgroup2 mount whose leaf already has the files the kernel would create. */
function fakeTree(leafRel: string, controllers = "cpuset cpu io memory hugetlb pids rdma") {
  const root = mkdtempSync(`${tmpdir()}/bunc-fake-cg2-`);
  roots.push(root);
  writeFileSync(`${root}/cgroup.controllers`, controllers + "\n");
  writeFileSync(`${root}/cgroup.subtree_control`, "");
  const leaf = `${root}${leafRel}`;
  mkdirSync(leaf, { recursive: true });
  writeFileSync(`${leaf}/cgroup.controllers`, controllers + "\n");
  for (const f of ["memory.current", "memory.swap.max", "memory.max", "memory.low", "cpu.weight", "cpu.max", "io.max", "io.weight", "pids.max", "cpuset.cpus", "cpuset.mems", "hugetlb.2MB.max", "memory.high", "cgroup.freeze"])
    writeFileSync(`${leaf}/${f}`, "0\n");
  writeFileSync(`${leaf}/cgroup.events`, "populated 0\nfrozen 0\n");
  const layout = layoutFrom(`30 23 0:26 / ${root} rw - cgroup2 cgroup2 rw\n`, "0::/\n");
  return { root, leaf, layout };
}

const read = (p: string) => readFileSync(p, "utf8").trim();

describe("cgroup v2 driver (fake tree)", () => {
  afterEach(() => undefined);
  const bpfCalls = () => fakeBpf();
  test("create enables controllers down the path and writes converted values", async () => {
    const { root, leaf, layout } = fakeTree("/kubepods/pod1/ctr");
    const calls = bpfCalls();
    const cg = newCgroup({
      id: "ctr", cgroupsPath: "/kubepods/pod1/ctr", systemd: false, layout,
      resources: {
        memory: { limit: 100 << 20, swap: 150 << 20, reservation: 50 << 20 },
        cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0-1", mems: "0" },
        pids: { limit: 0 },
        blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] },
        hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }],
        unified: { "memory.high": "90000000" },
      },
    });
    await cg.create();
    expect(cg.paths()).toEqual({ "": leaf });
    for (const d of [root, `${root}/kubepods`, `${root}/kubepods/pod1`])
      expect(read(`${d}/cgroup.subtree_control`)).toBe("+cpuset +cpu +io +memory +hugetlb +pids +rdma");
    expect(read(`${leaf}/memory.max`)).toBe(String(100 << 20));
    expect(read(`${leaf}/memory.swap.max`)).toBe(String(50 << 20)); // swap is memory+swap in OCI
    expect(read(`${leaf}/memory.low`)).toBe(String(50 << 20));
    expect(read(`${leaf}/cpu.weight`)).toBe("100");
    expect(read(`${leaf}/cpu.max`)).toBe("50000 100000");
    expect(read(`${leaf}/cpuset.cpus`)).toBe("0-1");
    expect(read(`${leaf}/pids.max`)).toBe("max");
    expect(read(`${leaf}/io.max`)).toBe("8:0 rbps=1000");
    expect(read(`${leaf}/hugetlb.2MB.max`)).toBe("4194304");
    expect(read(`${leaf}/memory.high`)).toBe("90000000");
    expect(cg.save().made).toEqual([]); // every directory pre-existed
    // the device filter: loaded as a cgroup device program, attached with ALLOW_MULTI
    const load = calls.find((c) => c.cmd === 5)!;
    expect(load.attr.getUint32(0, true)).toBe(15); // BPF_PROG_TYPE_CGROUP_DEVICE
    expect(load.attr.getUint32(4, true)).toBe(deviceFilter(containerRules([])).length);
    const attach = calls.find((c) => c.cmd === 8)!;
    expect(attach.attr.getUint32(8, true)).toBe(6); // BPF_CGROUP_DEVICE
    expect(attach.attr.getUint32(12, true)).toBe(2); // BPF_F_ALLOW_MULTI
  });

  test("limits that need a missing controller fail clearly", async () => {
    const { layout } = fakeTree("/a", "pids");
    const cg = newCgroup({ id: "a", cgroupsPath: "/a", systemd: false, layout, resources: { memory: { limit: 1 << 20 } } });
    await expect(cg.create()).rejects.toThrow("the memory controller is not enabled for this cgroup");
  });

  test("swap == limit disables swap; v1-only settings are refused", async () => {
    const { leaf, layout } = fakeTree("/b");
    bpfCalls();
    const cg = newCgroup({ id: "b", cgroupsPath: "/b", systemd: false, layout, resources: { memory: { limit: 1 << 20, swap: 1 << 20 } } });
    await cg.create();
    expect(read(`${leaf}/memory.swap.max`)).toBe("0");
    await expect(cg.update({ memory: { swappiness: 10 } })).rejects.toThrow("not supported on cgroup v2");
    await expect(cg.update({ network: { classID: 1 } })).rejects.toThrow("net_cls/net_prio do not exist on cgroup v2");
  });

  test("checkBeforeUpdate refuses a limit below the current usage", async () => {
    const { leaf, layout } = fakeTree("/c");
    bpfCalls();
    const cg = newCgroup({ id: "c", cgroupsPath: "/c", systemd: false, layout });
    await cg.create();
    writeFileSync(`${leaf}/memory.current`, "5000000\n");
    await expect(cg.update({ memory: { limit: 4000000, checkBeforeUpdate: true } })).rejects.toThrow("rejecting memory limit 4000000");
    await cg.update({ memory: { limit: 6000000, checkBeforeUpdate: true } });
    expect(read(`${leaf}/memory.max`)).toBe("6000000");
  });

  test("freeze waits for cgroup.events; isFrozen reads cgroup.freeze", async () => {
    const { leaf, layout } = fakeTree("/d");
    bpfCalls();
    const cg = newCgroup({ id: "d", cgroupsPath: "/d", systemd: false, layout });
    await cg.create();
    writeFileSync(`${leaf}/cgroup.events`, "populated 1\nfrozen 1\n"); // what the kernel reports once stopped
    cg.freeze();
    expect(read(`${leaf}/cgroup.freeze`)).toBe("1");
    expect(cg.isFrozen()).toBe(true);
    writeFileSync(`${leaf}/cgroup.events`, "populated 1\nfrozen 0\n");
    cg.thaw();
    expect(cg.isFrozen()).toBe(false);
  });

  test("a failed create removes the directories it made", async () => {
    const { root, layout } = fakeTree("/existing");
    const cg = newCgroup({ id: "x", cgroupsPath: "/newleaf", systemd: false, layout, resources: { pids: { limit: 5 } } });
    // a new leaf has no cgroup.controllers in a fake tree, so pids is "not enabled"
    await expect(cg.create()).rejects.toThrow("pids controller is not enabled");
    expect(existsSync(`${root}/newleaf`)).toBe(false);
  });
});

describe("systemd unit properties", () => {
  const rules = containerRules([{ allow: false, access: "rwm" }]);

  test("a kubelet-style container on cgroup v2", () => {
    const props = unitProperties({
      unit: "cri-containerd-abc.scope", slice: "kubepods-burstable-pod1.slice", name: "abc", pid: 4242, fs: "v2", rules, sdVersion: 252,
      resources: { memory: { limit: 256 << 20, swap: 256 << 20 }, cpu: { shares: 512, quota: 25000, period: 100000 }, pids: { limit: -1 } },
    });
    const m = new Map(props.map(([n, s, v]) => [n, [s, v]]));
    expect(m.get("Description")).toEqual(["s", "libcontainer container abc"]);
    expect(m.get("Slice")).toEqual(["s", "kubepods-burstable-pod1.slice"]);
    expect(m.get("Delegate")).toEqual(["b", true]);
    expect(m.get("PIDs")).toEqual(["au", [4242]]);
    expect(m.get("DefaultDependencies")).toEqual(["b", false]);
    for (const a of ["MemoryAccounting", "CPUAccounting", "IOAccounting", "TasksAccounting"]) expect(m.get(a)).toEqual(["b", true]);
    expect(m.get("MemoryMax")).toEqual(["t", BigInt(256 << 20)]);
    expect(m.has("MemorySwapMax")).toBe(false); // swap == limit: 0 swap, nothing to set
    expect(m.get("CPUWeight")).toEqual(["t", 59n]);
    expect(m.get("CPUQuotaPerSecUSec")).toEqual(["t", 250000n]);
    expect(m.get("CPUQuotaPeriodUSec")).toEqual(["t", 100000n]);
    expect(m.get("TasksMax")).toEqual(["t", MAX_UINT64]);
    expect(m.get("DevicePolicy")).toEqual(["s", "strict"]);
    expect(m.get("DeviceAllow")![1]).toContainEqual(["/dev/char/1:3", "rwm"]);
    expect(m.get("DeviceAllow")![1]).toContainEqual(["char-136", "rwm"]);
    expect(m.get("DeviceAllow")![1]).toContainEqual(["char-*", "m"]);
  });

  test("v1 hosts get the v1 property names", () => {
    const props = unitProperties({ unit: "runc-x.scope", slice: "system.slice", name: "x", pid: 1, fs: "v1", rules, sdVersion: 247, resources: { memory: { limit: 1 << 20 }, cpu: { shares: 100 }, blockIO: { weight: 300 } } });
    const names = props.map((p) => p[0]);
    expect(names).toContain("MemoryLimit");
    expect(names).toContain("CPUShares");
    expect(names).toContain("BlockIOWeight");
    expect(names).toContain("BlockIOAccounting");
    expect(names).not.toContain("MemoryMax");
  });

  test("allow-all devices, and annotations as properties", () => {
    expect(deviceProperties(containerRules([{ allow: true, access: "rwm" }]), 250)).toEqual([["DevicePolicy", "s", "auto"], ["DeviceAllow", "a(ss)", []]]);
    expect(annotationProps({ "org.systemd.property.TimeoutStopSec": "uint64 5", "org.systemd.property.CollectMode": "'inactive-or-failed'", other: "x" })).toEqual([
      ["TimeoutStopUSec", "t", 5_000_000n],
      ["CollectMode", "s", "inactive-or-failed"],
    ]);
    expect(() => annotationProps({ "org.systemd.property.X": "1" })).toThrow("3 or more latin letters");
  });
});
