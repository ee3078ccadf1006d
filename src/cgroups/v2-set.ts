// linux.resources -> cgroup v2 files (runc's fs2 names and conversions).
import { BuncError } from "../errors.ts";
import type { LinuxResources } from "../spec/types.ts";
import { blkioWeightToIoWeight, cpuSharesToWeight, memorySwapToV2, v2Limit } from "./convert.ts";
import { errCode, exists, readUint, writeValue } from "./fs.ts";
import { pidsValue, rdmaLines } from "./v1-set.ts";

/** Refuse a new memory limit below what the container uses (memory.checkBeforeUpdate). */
export function checkMemoryUsage(dir: string, r: LinuxResources): void {
  const limit = r.memory?.limit ?? 0;
  if (!r.memory?.checkBeforeUpdate || limit <= 0) return;
  const file = `${dir}/memory.current`;
  if (!exists(file)) return;
  const usage = readUint(file);
  if (usage >= BigInt(limit))
    throw new BuncError(`cgroup: rejecting memory limit ${limit}: it is not above the current usage ${usage} (memory.checkBeforeUpdate)`);
}

function setMemory(dir: string, r: LinuxResources): void {
  const m = r.memory;
  if (!m) return;
  if (m.swappiness !== undefined && m.swappiness !== -1)
    throw new BuncError("linux.resources.memory.swappiness: not supported on cgroup v2 (there is no memory.swappiness)");
  if (m.disableOOMKiller) throw new BuncError("linux.resources.memory.disableOOMKiller: not supported on cgroup v2");
  const limit = m.limit ?? 0;
  const swapSet = m.swap ?? 0;
  if (!limit && !swapSet && !m.reservation) return;
  checkMemoryUsage(dir, r);
  const swap = memorySwapToV2(swapSet, limit);
  // swap == limit asks for no swap at all: write 0 (0 otherwise means "leave it")
  const swapStr = swap !== 0 ? v2Limit(swap) : swapSet > 0 ? "0" : "";
  if (swapStr) {
    try {
      writeValue(`${dir}/memory.swap.max`, swapStr);
    } catch (e) {
      // no swap accounting: "max" or "0" ask for nothing that could be enforced anyway
      if (!(errCode(e) === "ENOENT" && (swapStr === "max" || swapStr === "0"))) throw e;
    }
  }
  if (limit) writeValue(`${dir}/memory.max`, v2Limit(limit));
  if (m.reservation) writeValue(`${dir}/memory.low`, v2Limit(m.reservation));
}

function setCpu(dir: string, r: LinuxResources): void {
  const c = r.cpu;
  if (!c) return;
  if (c.realtimePeriod || c.realtimeRuntime) throw new BuncError("linux.resources.cpu.realtimePeriod/realtimeRuntime: not supported on cgroup v2");
  if (c.idle !== undefined) writeValue(`${dir}/cpu.idle`, String(c.idle));
  if (c.shares) writeValue(`${dir}/cpu.weight`, String(cpuSharesToWeight(c.shares)));
  if (c.quota || c.period) {
    const quota = c.quota && c.quota > 0 ? String(c.quota) : "max";
    writeValue(`${dir}/cpu.max`, `${quota} ${c.period || 100000}`);
  }
  if (c.burst !== undefined) writeValue(`${dir}/cpu.max.burst`, String(c.burst));
}

function setCpuset(dir: string, r: LinuxResources): void {
  if (r.cpu?.cpus) writeValue(`${dir}/cpuset.cpus`, r.cpu.cpus);
  if (r.cpu?.mems) writeValue(`${dir}/cpuset.mems`, r.cpu.mems);
}

function setIo(dir: string, r: LinuxResources): void {
  const b = r.blockIO;
  if (!b) return;
  if (b.leafWeight || b.weightDevice?.some((w) => w.leafWeight)) throw new BuncError("linux.resources.blockIO.leafWeight: not supported on cgroup v2");
  // BFQ takes the v1 range directly; without it, io.weight takes the converted value
  const bfq = exists(`${dir}/io.bfq.weight`);
  if (b.weight) {
    if (bfq) writeValue(`${dir}/io.bfq.weight`, String(b.weight));
    else writeValue(`${dir}/io.weight`, `default ${blkioWeightToIoWeight(b.weight)}`);
  }
  for (const wd of b.weightDevice ?? []) {
    if (!wd.weight) continue;
    if (bfq) writeValue(`${dir}/io.bfq.weight`, `${wd.major}:${wd.minor} ${wd.weight}`);
    else writeValue(`${dir}/io.weight`, `${wd.major}:${wd.minor} ${blkioWeightToIoWeight(wd.weight)}`);
  }
  const max = [
    ["rbps", b.throttleReadBpsDevice],
    ["wbps", b.throttleWriteBpsDevice],
    ["riops", b.throttleReadIOPSDevice],
    ["wiops", b.throttleWriteIOPSDevice],
  ] as const;
  // a rate of 0 means "no limit" in v1; v2 spells it "max"
  for (const [key, list] of max) for (const t of list ?? []) writeValue(`${dir}/io.max`, `${t.major}:${t.minor} ${key}=${t.rate === 0 ? "max" : t.rate}`);
}

function setHugetlb(dir: string, r: LinuxResources): void {
  for (const l of r.hugepageLimits ?? []) {
    const file = `${dir}/hugetlb.${l.pageSize}.max`;
    if (!exists(file)) throw new BuncError(`linux.resources.hugepageLimits: page size "${l.pageSize}" is not supported (no ${file})`);
    writeValue(file, String(l.limit));
    const rsvd = `${dir}/hugetlb.${l.pageSize}.rsvd.max`;
    if (exists(rsvd)) writeValue(rsvd, String(l.limit));
  }
}

function setUnified(dir: string, unified: Record<string, string>, controllers: Set<string>): void {
  for (const [k, v] of Object.entries(unified)) {
    if (k.includes("/")) throw new BuncError(`linux.resources.unified: "${k}" must be a file name (no "/")`);
    const dot = k.indexOf(".");
    if (dot <= 0) throw new BuncError(`linux.resources.unified: "${k}" must have the form CONTROLLER.PARAMETER`);
    try {
      writeValue(`${dir}/${k}`, v);
    } catch (e) {
      const ctrl = k.slice(0, dot);
      if ((errCode(e) === "ENOENT" || errCode(e) === "EACCES" || errCode(e) === "EPERM") && ctrl !== "cgroup" && !controllers.has(ctrl))
        throw new BuncError(`linux.resources.unified: "${k}" cannot be set: controller "${ctrl}" is not available`);
      throw e;
    }
  }
}

export interface V2SetOptions {
  /** controllers enabled for the leaf (its cgroup.controllers) */
  controllers: Set<string>;
  /** device filter programming (eBPF), done by the driver */
  setDevices?: (r: LinuxResources) => void;
}

/** Requests that need a controller: fail clearly when it is not enabled for this cgroup. */
function requireControllers(r: LinuxResources, have: Set<string>): void {
  const need: [string, boolean][] = [
    ["pids", r.pids?.limit !== undefined],
    ["memory", !!(r.memory?.limit || r.memory?.swap || r.memory?.reservation)],
    ["cpu", !!(r.cpu?.shares || r.cpu?.quota || r.cpu?.period || r.cpu?.burst !== undefined || r.cpu?.idle !== undefined)],
    ["cpuset", !!(r.cpu?.cpus || r.cpu?.mems)],
    ["io", !!(r.blockIO && (r.blockIO.weight || r.blockIO.weightDevice?.length || r.blockIO.throttleReadBpsDevice?.length || r.blockIO.throttleWriteBpsDevice?.length || r.blockIO.throttleReadIOPSDevice?.length || r.blockIO.throttleWriteIOPSDevice?.length))],
    ["hugetlb", !!r.hugepageLimits?.length],
    ["rdma", Object.keys(r.rdma ?? {}).length > 0],
  ];
  for (const [ctrl, wanted] of need)
    if (wanted && !have.has(ctrl)) throw new BuncError(`cgroup: cannot set ${ctrl} limits: the ${ctrl} controller is not enabled for this cgroup (not in cgroup.controllers)`);
  if (r.network?.classID || r.network?.priorities?.length)
    throw new BuncError("linux.resources.network: net_cls/net_prio do not exist on cgroup v2");
}

export function setV2(dir: string, r: LinuxResources, o: V2SetOptions): void {
  requireControllers(r, o.controllers);
  if (r.pids?.limit !== undefined) writeValue(`${dir}/pids.max`, pidsValue(r.pids.limit));
  setMemory(dir, r);
  setIo(dir, r);
  setCpu(dir, r);
  o.setDevices?.(r);
  setCpuset(dir, r);
  setHugetlb(dir, r);
  for (const line of rdmaLines(r)) writeValue(`${dir}/rdma.max`, line);
  if (r.unified) setUnified(dir, r.unified, o.controllers);
}
