import { describe, expect, test } from "bun:test";
import { blkioWeightToIoWeight, cpuQuotaPerSecUSec, cpuSharesToWeight, MAX_UINT64, memorySwapToV2, pageSizeName, parseCpuList, rangeToBits } from "../../src/cgroups/convert.ts";
import { cleanPath, layoutFrom } from "../../src/cgroups/layout.ts";
import { expandSlice, parseSystemdPath, v1Paths, v2Path } from "../../src/cgroups/paths.ts";
import { parseBlkio } from "../../src/cgroups/stats-v1.ts";
import { parseIoStat } from "../../src/cgroups/stats-v2.ts";
import { emptyStats, toJson } from "../../src/cgroups/stats.ts";

// this machine's shape: v1 controllers, co-mounted cpu,cpuacct elsewhere, plus a cgroup2 mount
const HYBRID_MOUNTINFO = `
24 1 0:22 / / rw - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_SELF = "4:memory:/user.slice/session-1.scope\n3:pids:/user.slice\n2:cpu,cpuacct:/\n1:name=systemd:/user.slice/session-1.scope\n0::/user.slice/session-1.scope\n";
const V2_MOUNTINFO = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";

describe("layout", () => {
  test("hybrid: v1 controllers (co-mounted share one hierarchy) plus the unified mount", () => {
    const l = layoutFrom(HYBRID_MOUNTINFO, HYBRID_SELF);
    expect(l.mode).toBe("hybrid");
    expect(l.v1.get("cpu")).toBe(l.v1.get("cpuacct")!);
    expect(l.v1.get("name=systemd")!.mountpoint).toBe("/sys/fs/cgroup/systemd");
    expect(l.unified).toEqual({ mountpoint: "/sys/fs/cgroup/unified", root: "/" });
    expect(l.own.get("memory")).toBe("/user.slice/session-1.scope");
    expect(l.own.get("")).toBe("/user.slice/session-1.scope");
  });

  test("v2 only and v1 only", () => {
    expect(layoutFrom(V2_MOUNTINFO, "0::/init.scope\n").mode).toBe("v2");
    expect(layoutFrom(HYBRID_MOUNTINFO.replace(/^.*cgroup2.*$/m, ""), HYBRID_SELF).mode).toBe("v1");
    expect(() => layoutFrom("24 1 0:22 / / rw - ext4 /dev/vda rw\n", "")).toThrow("no cgroup filesystem");
  });

  test("cleanPath never climbs above the root", () => {
    expect(cleanPath("/a/../../b/./c/")).toBe("/b/c");
    expect(cleanPath("../../x")).toBe("x");
    expect(cleanPath("")).toBe("");
  });
});

describe("cgroupsPath resolution (runc's rules)", () => {
  const l = layoutFrom(HYBRID_MOUNTINFO, HYBRID_SELF);

  test("absolute paths sit under each hierarchy's root", () => {
    const p = v1Paths(l, "/kubepods/besteffort/pod1/abc", "abc");
    expect(p.memory).toBe("/sys/fs/cgroup/memory/kubepods/besteffort/pod1/abc");
    expect(p.cpu).toBe("/sys/fs/cgroup/cpu,cpuacct/kubepods/besteffort/pod1/abc");
    expect(p.cpuacct).toBe(p.cpu!);
    expect(p["name=systemd"]).toBe("/sys/fs/cgroup/systemd/kubepods/besteffort/pod1/abc");
    expect(v1Paths(l, "/../../etc", "x").memory).toBe("/sys/fs/cgroup/memory/etc");
  });

  test("relative and empty paths sit under our own cgroup (v1) or its parent (v2)", () => {
    expect(v1Paths(l, "foo/bar", "id").memory).toBe("/sys/fs/cgroup/memory/user.slice/session-1.scope/foo/bar");
    expect(v1Paths(l, undefined, "ctr").pids).toBe("/sys/fs/cgroup/pids/user.slice/ctr");
    expect(v2Path(l, undefined, "ctr")).toBe("/sys/fs/cgroup/unified/user.slice/ctr");
    expect(v2Path(l, "/a/b", "ctr")).toBe("/sys/fs/cgroup/unified/a/b");
    const v2 = layoutFrom(V2_MOUNTINFO, "0::/\n");
    expect(v2Path(v2, "", "ctr")).toBe("/sys/fs/cgroup/ctr");
  });

  test("systemd: slice:prefix:name, defaults, and slice expansion", () => {
    expect(parseSystemdPath("kubepods-besteffort-pod1.slice:cri-containerd:abc", "abc", false)).toEqual({ slice: "kubepods-besteffort-pod1.slice", prefix: "cri-containerd", name: "abc", unit: "cri-containerd-abc.scope" });
    expect(parseSystemdPath(undefined, "ctr", false)).toMatchObject({ slice: "system.slice", unit: "runc-ctr.scope" });
    expect(parseSystemdPath(undefined, "ctr", true).slice).toBe("user.slice");
    expect(parseSystemdPath(":p:my.slice", "x", false).unit).toBe("my.slice");
    expect(() => parseSystemdPath("/kubepods/x", "x", false)).toThrow('expected "slice:prefix:name"');
    expect(expandSlice("kubepods-besteffort-pod1.slice")).toBe("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice");
    expect(expandSlice("-.slice")).toBe("/");
    expect(() => expandSlice("a--b.slice")).toThrow("invalid slice name");
    expect(() => expandSlice("foo")).toThrow("invalid slice name");
  });
});

describe("v1 -> v2 conversions (runc's)", () => {
  test("cpu shares to weight hits min, default and max", () => {
    expect(cpuSharesToWeight(0)).toBe(0);
    expect(cpuSharesToWeight(2)).toBe(1);
    expect(cpuSharesToWeight(1024)).toBe(100);
    expect(cpuSharesToWeight(262144)).toBe(10000);
    expect(cpuSharesToWeight(512)).toBe(59); // kubelet's 0.5 CPU request (10^1.7647, rounded up)
  });

  test("blkio weight, swap, quota, cpusets", () => {
    expect(blkioWeightToIoWeight(10)).toBe(1);
    expect(blkioWeightToIoWeight(1000)).toBe(10000);
    expect(blkioWeightToIoWeight(500)).toBe(4950);
    expect(memorySwapToV2(0, -1)).toBe(-1);
    expect(memorySwapToV2(200, 100)).toBe(100);
    expect(memorySwapToV2(100, 100)).toBe(0);
    expect(memorySwapToV2(-1, 100)).toBe(-1);
    expect(() => memorySwapToV2(50, 100)).toThrow("must be >= memory.limit");
    expect(() => memorySwapToV2(50, 0)).toThrow("without a memory limit");
    expect(cpuQuotaPerSecUSec(50000, 100000)).toBe(500000n);
    expect(cpuQuotaPerSecUSec(12345, 100000)).toBe(130000n); // rounded up to whole percent
    expect(cpuQuotaPerSecUSec(-1, 100000)).toBe(MAX_UINT64);
    expect([...rangeToBits("0-3,9")]).toEqual([0x0f, 0x02]);
    expect(parseCpuList("0-2,5\n")).toEqual([0, 1, 2, 5]);
    expect(pageSizeName("hugepages-2048kB")).toBe("2MB");
    expect(pageSizeName("hugepages-1048576kB")).toBe("1GB");
  });
});

describe("stats", () => {
  test("JSON keeps uint64 exact and omits what runc omits", () => {
    const s = emptyStats();
    s.memory.usage = { limit: 9223372036854771712n, usage: 0n, failcnt: 0n };
    s.pids = { current: 3n, limit: 0n };
    s.memory.raw = { cache: 0n, rss: 5n };
    const text = toJson({ type: "stats", id: "x", data: s });
    expect(text).toContain('"limit":9223372036854771712');
    const j = JSON.parse(text);
    expect(j.data.memory.usage).toEqual({ limit: 9223372036854772000, failcnt: 0 });
    expect(j.data.pids).toEqual({ current: 3 });
    expect(j.data.memory.raw).toEqual({ cache: 0, rss: 5 });
    expect(j.data.network_interfaces).toBeNull();
    expect(j.data.cpu.usage).toEqual({ kernel: 0, user: 0 });
  });

  test("blkio and io.stat parsing", () => {
    expect(parseBlkio("8:0 Read 10\n8:0 Write 20\nTotal 30\n")).toEqual([
      { major: 8n, minor: 0n, op: "Read", value: 10n },
      { major: 8n, minor: 0n, op: "Write", value: 20n },
    ]);
    const io = parseIoStat("254:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n");
    expect(io.ioServiceBytesRecursive).toEqual([
      { major: 254n, minor: 0n, op: "Read", value: 4096n },
      { major: 254n, minor: 0n, op: "Write", value: 0n },
    ]);
    expect(io.ioServicedRecursive!.length).toBe(2);
  });
});
