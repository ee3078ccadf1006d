// bunc's cgroup library. The driver is chosen once, from the host's layout (v1, hybrid, v2) and
// --systemd-cgroup; the container code sees only the Cgroup interface. Nothing outside this
// directory writes cgroup files.
import { readFileSync } from "node:fs";
import { BuncError } from "../errors.ts";
import { hostLayout, type Layout } from "./layout.ts";
import { v1Paths, v2Path } from "./paths.ts";
import { SystemdCgroup, newSystemdCgroup } from "./systemd.ts";
import type { Cgroup, CgroupOptions, SavedCgroup } from "./types.ts";
import { V1Cgroup } from "./v1.ts";
import { V2Cgroup, setBpfSys } from "./v2.ts";
import type { BpfSys } from "./bpf.ts";

export type { Cgroup, CgroupOptions, SavedCgroup } from "./types.ts";
export type { Stats } from "./stats.ts";
export { toJson } from "./stats.ts";
export { setBpfSys } from "./v2.ts";
export type { BpfSys } from "./bpf.ts";
export { hostLayout, type Layout } from "./layout.ts";

/** The v2 device filter needs bpf(2): only src/native.ts may reach system calls, so it is handed in. */
export function useNativeBpf(n: { sys: BpfSys["sys"]; addressOf: BpfSys["addressOf"] }): void {
  setBpfSys({ sys: n.sys, addressOf: n.addressOf });
}

export function newCgroup(opts: CgroupOptions): Cgroup {
  const layout = opts.layout ?? hostLayout();
  if (opts.systemd) return newSystemdCgroup(opts, layout);
  const base = { id: opts.id, made: [], resources: opts.resources, devices: opts.devices, skipDevices: opts.skipDevices, rootless: opts.rootless };
  if (layout.mode === "v2") {
    const s: SavedCgroup = { ...base, driver: "fs2", paths: { "": v2Path(layout, opts.cgroupsPath, opts.id) } };
    return new V2Cgroup(s, layout.unified!.mountpoint);
  }
  return new V1Cgroup({ ...base, driver: "fs1", paths: v1Paths(layout, opts.cgroupsPath, opts.id) });
}

/**
 * OOM kills counted in the parent of a cgroup v2 leaf (memory.events is hierarchical there), or
 * undefined on v1. With the systemd driver a container's scope is gone as soon as its last process
 * is: comparing its parent's count before and after is then the way to tell an OOM kill.
 */
export function parentOomKillCount(cg: Cgroup): number | undefined {
  const leaf = cg.paths()[""];
  if (!leaf) return undefined;
  try {
    const events = readFileSync(`${leaf.slice(0, leaf.lastIndexOf("/"))}/memory.events`, "utf8");
    const m = /^oom_kill (\d+)$/m.exec(events);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function isSaved(x: unknown): x is SavedCgroup {
  const s = x as SavedCgroup;
  return !!s && typeof s === "object" && typeof s.driver === "string" && typeof s.paths === "object" && s.paths !== null;
}

/** Rebuild the driver a container was created with from its record. */
export function loadCgroup(saved: unknown, layout?: Layout): Cgroup {
  if (!isSaved(saved)) throw new BuncError("cgroup: the container record has no usable cgroup entry");
  const s = structuredClone(saved);
  s.made ??= [];
  switch (s.driver) {
    case "fs1":
      return new V1Cgroup(s);
    case "fs2":
      return new V2Cgroup(s, (layout ?? hostLayout()).unified?.mountpoint ?? mountOf(s.paths[""]!));
    case "systemd":
      return new SystemdCgroup(s, layout ?? hostLayout());
    default:
      throw new BuncError(`cgroup: unknown driver "${(s as SavedCgroup).driver}" in the container record`);
  }
}

/** The cgroup2 mount above dir, for a record read on a host whose mounts changed. */
function mountOf(dir: string): string {
  return dir.startsWith("/sys/fs/cgroup/unified/") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
}
