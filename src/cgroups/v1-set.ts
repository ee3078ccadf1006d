// linux.resources -> cgroup v1 files, one writer per controller, in runc's file names and order.
import { BuncError } from "../errors.ts";
import type { LinuxResources } from "../spec/types.ts";
import { containerRules, DeviceEmulator, ruleLine } from "./devices.ts";
import { errCode, exists, readOptional, readText, readUint, writeValue } from "./fs.ts";
import type { Device } from "../spec/types.ts";

export interface SetContext {
  /** linux.devices of the config: their paths replace runc's default device rules */
  specDevices?: Device[];
  /** the update is a `bunc update` of a running container, not the first configuration */
  isUpdate: boolean;
  /** leave the devices controller alone (SavedCgroup.skipDevices) */
  skipDevices?: boolean;
}

type Setter = (dir: string, r: LinuxResources, ctx: SetContext) => void;

interface ControllerSetter {
  /** does r ask anything of this controller? (if so, the controller must be mounted) */
  wants(r: LinuxResources, ctx: SetContext): boolean;
  set: Setter;
}

function setMemoryLimit(dir: string, limit: number): void {
  try {
    writeValue(`${dir}/memory.limit_in_bytes`, String(limit));
  } catch (e) {
    if (errCode(e) !== "EBUSY") throw e;
    // the kernel refuses a limit below what the cgroup uses now
    const usage = readUint(`${dir}/memory.usage_in_bytes`);
    const peak = readUint(`${dir}/memory.max_usage_in_bytes`);
    throw new BuncError(`cgroup: unable to set memory limit to ${limit} (current usage: ${usage}, peak usage: ${peak})`);
  }
}

const memory: ControllerSetter = {
  wants: (r) => {
    const m = r.memory;
    return !!m && (!!m.limit || !!m.swap || !!m.reservation || !!m.disableOOMKiller || (m.swappiness !== undefined && m.swappiness !== -1));
  },
  set(dir, r) {
    const m = r.memory!;
    const limit = m.limit ?? 0;
    let swap = m.swap ?? 0;
    const memswFile = `${dir}/memory.memsw.limit_in_bytes`;
    // "no memory limit" with no swap given means no memory+swap limit either
    if (limit === -1 && swap === 0 && exists(memswFile)) swap = -1;
    if (swap !== 0 && !exists(memswFile)) {
      if (swap !== -1) throw new BuncError("linux.resources.memory.swap: this kernel has no swap accounting (memory.memsw.limit_in_bytes is missing)");
      swap = 0;
    }
    // memsw must stay >= memory at every step: raise swap first when growing, memory first when shrinking
    let swapFirst = false;
    if (limit !== 0 && swap !== 0) {
      const cur = readUint(`${dir}/memory.limit_in_bytes`);
      swapFirst = swap === -1 || cur < BigInt(swap);
    }
    if (swapFirst) {
      writeValue(memswFile, String(swap));
      setMemoryLimit(dir, limit);
    } else {
      if (limit !== 0) setMemoryLimit(dir, limit);
      if (swap !== 0) writeValue(memswFile, String(swap));
    }
    if (m.reservation) writeValue(`${dir}/memory.soft_limit_in_bytes`, String(m.reservation));
    if (m.disableOOMKiller) writeValue(`${dir}/memory.oom_control`, "1");
    if (m.swappiness !== undefined && m.swappiness !== -1) {
      if (m.swappiness < 0 || m.swappiness > 100) throw new BuncError(`linux.resources.memory.swappiness: ${m.swappiness}: must be 0-100`);
      writeValue(`${dir}/memory.swappiness`, String(m.swappiness));
    }
  },
};

/** Real-time bandwidth must be in place before a SCHED_RR/FIFO task joins, so it is also set at attach. */
export function setRealtime(dir: string, r: LinuxResources): void {
  const c = r.cpu;
  if (!c) return;
  if (c.realtimePeriod) writeValue(`${dir}/cpu.rt_period_us`, String(c.realtimePeriod));
  if (c.realtimeRuntime) writeValue(`${dir}/cpu.rt_runtime_us`, String(c.realtimeRuntime));
}

const cpu: ControllerSetter = {
  wants: (r) => {
    const c = r.cpu;
    return !!c && (!!c.shares || !!c.quota || !!c.period || c.burst !== undefined || !!c.realtimePeriod || !!c.realtimeRuntime || c.idle !== undefined);
  },
  set(dir, r) {
    const c = r.cpu!;
    if (c.shares) {
      writeValue(`${dir}/cpu.shares`, String(c.shares));
      // the kernel clamps silently: read back and say so, as runc does
      const got = Number(readUint(`${dir}/cpu.shares`));
      if (c.shares > got) throw new BuncError(`linux.resources.cpu.shares: the maximum allowed cpu-shares is ${got}`);
      if (c.shares < got) throw new BuncError(`linux.resources.cpu.shares: the minimum allowed cpu-shares is ${got}`);
    }
    let pendingPeriod: string | undefined;
    if (c.period) {
      try {
        writeValue(`${dir}/cpu.cfs_period_us`, String(c.period));
      } catch (e) {
        // a shorter period can exceed the parent's quota until the quota shrinks: retry after it
        if (errCode(e) !== "EINVAL") throw e;
        pendingPeriod = String(c.period);
      }
    }
    if (c.quota) {
      writeValue(`${dir}/cpu.cfs_quota_us`, String(c.quota));
      if (pendingPeriod) writeValue(`${dir}/cpu.cfs_period_us`, pendingPeriod);
    } else if (pendingPeriod) {
      writeValue(`${dir}/cpu.cfs_period_us`, pendingPeriod); // throws the kernel's reason
    }
    if (c.burst !== undefined) writeValue(`${dir}/cpu.cfs_burst_us`, String(c.burst));
    if (c.idle !== undefined) writeValue(`${dir}/cpu.idle`, String(c.idle));
    setRealtime(dir, r);
  },
};

const cpuset: ControllerSetter = {
  wants: (r) => !!r.cpu?.cpus || !!r.cpu?.mems,
  set(dir, r) {
    if (r.cpu?.cpus) writeValue(`${dir}/cpuset.cpus`, r.cpu.cpus);
    if (r.cpu?.mems) writeValue(`${dir}/cpuset.mems`, r.cpu.mems);
  },
};

/** pids.limit: a positive number is the limit; 0 or -1 mean no limit. */
export function pidsValue(limit: number): string {
  return limit > 0 ? String(limit) : "max";
}

const pids: ControllerSetter = {
  wants: (r) => r.pids?.limit !== undefined,
  set(dir, r) {
    writeValue(`${dir}/pids.max`, pidsValue(r.pids!.limit!));
  },
};

/** CFQ had blkio.weight; with BFQ the files are blkio.bfq.weight*. */
function weightFile(dir: string, name: "weight" | "weight_device" | "leaf_weight" | "leaf_weight_device"): string {
  if (exists(`${dir}/blkio.${name}`)) return `${dir}/blkio.${name}`;
  if ((name === "weight" || name === "weight_device") && exists(`${dir}/blkio.bfq.${name}`)) return `${dir}/blkio.bfq.${name}`;
  throw new BuncError(`linux.resources.blockIO: blkio.${name} is not supported by this kernel's I/O scheduler (neither CFQ nor BFQ is in use)`);
}

const blkio: ControllerSetter = {
  wants: (r) => {
    const b = r.blockIO;
    return !!b && (!!b.weight || !!b.leafWeight || !!b.weightDevice?.length || !!b.throttleReadBpsDevice?.length || !!b.throttleWriteBpsDevice?.length ||
      !!b.throttleReadIOPSDevice?.length || !!b.throttleWriteIOPSDevice?.length);
  },
  set(dir, r) {
    const b = r.blockIO!;
    if (b.weight) writeValue(weightFile(dir, "weight"), String(b.weight));
    if (b.leafWeight) writeValue(weightFile(dir, "leaf_weight"), String(b.leafWeight));
    for (const wd of b.weightDevice ?? []) {
      if (wd.weight) writeValue(weightFile(dir, "weight_device"), `${wd.major}:${wd.minor} ${wd.weight}`);
      if (wd.leafWeight) writeValue(weightFile(dir, "leaf_weight_device"), `${wd.major}:${wd.minor} ${wd.leafWeight}`);
    }
    const throttle = [
      ["read_bps_device", b.throttleReadBpsDevice],
      ["write_bps_device", b.throttleWriteBpsDevice],
      ["read_iops_device", b.throttleReadIOPSDevice],
      ["write_iops_device", b.throttleWriteIOPSDevice],
    ] as const;
    for (const [file, list] of throttle) for (const t of list ?? []) writeValue(`${dir}/blkio.throttle.${file}`, `${t.major}:${t.minor} ${t.rate}`);
  },
};

const hugetlb: ControllerSetter = {
  wants: (r) => !!r.hugepageLimits?.length,
  set(dir, r) {
    for (const l of r.hugepageLimits!) {
      const file = `${dir}/hugetlb.${l.pageSize}.limit_in_bytes`;
      if (!exists(file)) throw new BuncError(`linux.resources.hugepageLimits: page size "${l.pageSize}" is not supported by this kernel`);
      writeValue(file, String(l.limit));
      // reservation accounting (Linux 5.7+) gets the same limit, as runc does
      const rsvd = `${dir}/hugetlb.${l.pageSize}.rsvd.limit_in_bytes`;
      if (exists(rsvd)) writeValue(rsvd, String(l.limit));
    }
  },
};

const netCls: ControllerSetter = {
  wants: (r) => !!r.network?.classID,
  set(dir, r) {
    writeValue(`${dir}/net_cls.classid`, String(r.network!.classID));
  },
};

const netPrio: ControllerSetter = {
  wants: (r) => !!r.network?.priorities?.length,
  set(dir, r) {
    for (const p of r.network!.priorities!) writeValue(`${dir}/net_prio.ifpriomap`, `${p.name} ${p.priority}`);
  },
};

/** rdma.max lines: "mlx4_0 hca_handle=2 hca_object=2000" (v1 and v2 alike). */
export function rdmaLines(r: LinuxResources): string[] {
  return Object.entries(r.rdma ?? {}).map(([dev, l]) => {
    const parts = [dev];
    if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
    if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
    return parts.join(" ");
  });
}

const rdma: ControllerSetter = {
  wants: (r) => Object.keys(r.rdma ?? {}).length > 0,
  set(dir, r) {
    for (const line of rdmaLines(r)) writeValue(`${dir}/rdma.max`, line);
  },
};

const devices: ControllerSetter = {
  // runc always programs the devices cgroup (its default rules at least), unless told to skip it
  wants: (_r, ctx) => !ctx.skipDevices,
  set(dir, r, ctx) {
    const target = DeviceEmulator.fromRules(containerRules(r.devices, ctx.specDevices), DeviceEmulator.denyAll());
    const current = DeviceEmulator.fromList(readText(`${dir}/devices.list`));
    for (const rule of current.transitionTo(target)) writeValue(`${dir}/${rule.allow ? "devices.allow" : "devices.deny"}`, ruleLine(rule));
  },
};

/** In the order runc's fs manager sets them (devices before the rest, like its subsystem list). */
export const V1_SETTERS: [string, ControllerSetter][] = [
  ["cpuset", cpuset],
  ["devices", devices],
  ["memory", memory],
  ["cpu", cpu],
  ["pids", pids],
  ["blkio", blkio],
  ["hugetlb", hugetlb],
  ["net_cls", netCls],
  ["net_prio", netPrio],
  ["rdma", rdma],
];

/** Apply r to the container's v1 directories (controller -> dir). */
export function setV1(paths: Record<string, string>, r: LinuxResources, ctx: SetContext): void {
  if (r.unified && Object.keys(r.unified).length > 0)
    throw new BuncError("linux.resources.unified: cgroup v2 settings cannot be applied on a cgroup v1 host");
  for (const [name, s] of V1_SETTERS) {
    if (!s.wants(r, ctx)) continue;
    const dir = paths[name];
    if (!dir) {
      // devices: runc tolerates a missing devices hierarchy only when nothing was asked for
      if (name === "devices" && !r.devices?.length) continue;
      throw new BuncError(`cgroup: cannot set ${name} limits: the ${name} controller is not mounted on this host`);
    }
    s.set(dir, r, ctx);
  }
}

/** v1 cpuset cgroups start empty: a task cannot join until cpus and mems are set. */
export function cpusetInherit(dir: string, parent: string): void {
  for (const f of ["cpuset.cpus", "cpuset.mems"]) {
    const cur = readOptional(`${dir}/${f}`)?.trim();
    if (cur) continue;
    const fromParent = readText(`${parent}/${f}`).trim();
    writeValue(`${dir}/${f}`, fromParent);
  }
}
