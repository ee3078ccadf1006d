// What kubelet derives from resources.requests/limits: the pod's QoS class, each container's
// cgroup values and oom_score_adj, and the pod-level cgroup (pkg/kubelet/qos, cm/helpers_linux.go,
// kuberuntime_container_linux.go), with the same integer arithmetic.
import type { LinuxResources } from "../spec/types.ts";
import { parseQuantity, quantityMilli, quantityValue } from "./quantity.ts";
import type { ContainerSpec, PodSpec } from "./types.ts";

export type QosClass = "Guaranteed" | "Burstable" | "BestEffort";

export const CPU_PERIOD = 100_000;
const MIN_SHARES = 2;
const MAX_SHARES = 262_144;
const MIN_QUOTA = 1_000;
export const SANDBOX_OOM_SCORE_ADJ = -998;
const GUARANTEED_OOM_SCORE_ADJ = -997;
const BESTEFFORT_OOM_SCORE_ADJ = 1000;

type Kind = "limits" | "requests";
type Res = "cpu" | "memory";

/** The amount as kubelet uses it: milliCPU for cpu, bytes for memory; 0 when unset. */
function amount(c: ContainerSpec, kind: Kind, res: Res): number {
  const v = c.resources?.[kind]?.[res];
  const q = v === undefined ? undefined : parseQuantity(v);
  if (!q) return 0;
  return res === "cpu" ? quantityMilli(q) : quantityValue(q);
}

/** A request defaults to the limit when only the limit is given (the API server's defaulting). */
export function request(c: ContainerSpec, res: Res): number {
  const given = c.resources?.requests?.[res];
  return given === undefined ? amount(c, "limits", res) : amount(c, "requests", res);
}
export const limit = (c: ContainerSpec, res: Res) => amount(c, "limits", res);

const allContainers = (s: PodSpec) => [...s.containers, ...(s.initContainers ?? [])];

/** GetPodQOS: BestEffort without any cpu/memory request or limit; Guaranteed when every container
 * limits both and the summed requests equal the summed limits; Burstable otherwise. */
export function qosClass(spec: PodSpec): QosClass {
  const reqs = new Map<Res, number>(), lims = new Map<Res, number>();
  let guaranteed = true;
  for (const c of allContainers(spec)) {
    for (const r of ["cpu", "memory"] as const) {
      const q = request(c, r);
      if (q > 0) reqs.set(r, (reqs.get(r) ?? 0) + q);
      const l = limit(c, r);
      if (l > 0) lims.set(r, (lims.get(r) ?? 0) + l);
    }
    if (!(limit(c, "cpu") > 0 && limit(c, "memory") > 0)) guaranteed = false;
  }
  if (reqs.size === 0 && lims.size === 0) return "BestEffort";
  if (guaranteed) for (const [r, q] of reqs) if (lims.get(r) !== q) guaranteed = false;
  return guaranteed && reqs.size === lims.size ? "Guaranteed" : "Burstable";
}

export function milliCpuToShares(milli: number): number {
  if (milli === 0) return MIN_SHARES;
  const shares = Math.floor((milli * 1024) / 1000);
  return Math.min(Math.max(shares, MIN_SHARES), MAX_SHARES);
}

export function milliCpuToQuota(milli: number, period = CPU_PERIOD): number {
  if (milli === 0) return 0;
  return Math.max(Math.floor((milli * period) / 1000), MIN_QUOTA);
}

/** A container's cgroup values (calculateLinuxResources). */
export function containerResources(c: ContainerSpec): LinuxResources {
  const cpuReqGiven = c.resources?.requests?.cpu !== undefined;
  const cpuLimit = limit(c, "cpu");
  const shares = !cpuReqGiven && cpuLimit > 0 ? milliCpuToShares(cpuLimit) : milliCpuToShares(amount(c, "requests", "cpu"));
  const out: LinuxResources = { cpu: { shares, period: CPU_PERIOD } };
  const quota = milliCpuToQuota(cpuLimit);
  if (quota > 0) out.cpu!.quota = quota;
  const mem = limit(c, "memory");
  if (mem > 0) out.memory = { limit: mem };
  return out;
}

/** The pod's effective request/limit: max(sum of containers, largest init container). */
function podAmount(spec: PodSpec, res: Res, of: (c: ContainerSpec, r: Res) => number): number {
  const sum = spec.containers.reduce((a, c) => a + of(c, res), 0);
  return Math.max(sum, ...(spec.initContainers ?? []).map((c) => of(c, res)));
}

/** The pod cgroup's values (ResourceConfigForPod). */
export function podResources(spec: PodSpec, qos: QosClass): LinuxResources {
  if (qos === "BestEffort") return { cpu: { shares: MIN_SHARES } };
  const shares = milliCpuToShares(podAmount(spec, "cpu", request));
  const quota = milliCpuToQuota(podAmount(spec, "cpu", limit));
  const memory = podAmount(spec, "memory", limit);
  const all = allContainers(spec);
  const cpuLimited = qos === "Guaranteed" || all.every((c) => limit(c, "cpu") > 0);
  const memLimited = qos === "Guaranteed" || all.every((c) => limit(c, "memory") > 0);
  const out: LinuxResources = { cpu: { shares } };
  if (cpuLimited && quota > 0) out.cpu = { shares, quota, period: CPU_PERIOD };
  if (memLimited && memory > 0) out.memory = { limit: memory };
  return out;
}

/** GetContainerOOMScoreAdjust: -997 Guaranteed, 1000 BestEffort, Burstable by memory request. */
export function oomScoreAdj(c: ContainerSpec, qos: QosClass, memoryCapacity: number): number {
  if (qos === "Guaranteed") return GUARANTEED_OOM_SCORE_ADJ;
  if (qos === "BestEffort") return BESTEFFORT_OOM_SCORE_ADJ;
  const adj = 1000 - Math.floor((1000 * request(c, "memory")) / memoryCapacity);
  if (adj < 1000 + GUARANTEED_OOM_SCORE_ADJ) return 1000 + GUARANTEED_OOM_SCORE_ADJ;
  if (adj === BESTEFFORT_OOM_SCORE_ADJ) return adj - 1;
  return adj;
}

/** The cgroupfs directory of the QoS class under the root (Guaranteed pods sit right under it). */
export function qosDir(qos: QosClass): string {
  return qos === "Guaranteed" ? "" : `/${qos.toLowerCase()}`;
}
