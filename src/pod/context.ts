// Everything about a pod that follows from its record alone: the spec-building context, the
// ids of its bunc containers, the directories it uses.
import { readFileSync } from "node:fs";
import { qosClass, qosDir } from "./resources.ts";
import type { PodContext } from "./spec-build.ts";
import { podDataDir, type PodRecord } from "./store.ts";

/** MemTotal in bytes: kubelet's node memory capacity (for Burstable oom_score_adj). */
export function memoryCapacity(): number {
  try {
    const m = /^MemTotal:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {}
  return 1 << 30;
}

export function podCgroupPath(parent: string, spec: PodRecord["pod"]["spec"], uid: string): string {
  const base = parent === "/" ? "" : parent.replace(/\/+$/, "");
  return `${base}${qosDir(qosClass(spec))}/pod${uid}`;
}

export function contextOf(rec: PodRecord): PodContext {
  const p = rec.pod;
  return {
    name: p.metadata.name,
    namespace: p.metadata.namespace,
    uid: p.metadata.uid,
    spec: p.spec,
    qos: p.status.qosClass,
    hostname: p.spec.hostname ?? p.metadata.name,
    podCgroup: podCgroupPath(rec.bunc.cgroupParent, p.spec, p.metadata.uid),
    systemd: rec.bunc.systemd,
    images: rec.bunc.images,
    data: podDataDir(rec.bunc.dataDir, p.metadata.uid),
    memoryCapacity: memoryCapacity(),
  };
}

/** The containers of the pod in spec order: init containers first. */
export function allSpecs(rec: PodRecord) {
  return [
    ...(rec.pod.spec.initContainers ?? []).map((c, i) => ({ c, init: true, index: i })),
    ...rec.pod.spec.containers.map((c, i) => ({ c, init: false, index: i })),
  ];
}
