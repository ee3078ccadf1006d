// Looking at processes: RSS, name, which run a given binary, which sit in a container's cgroup.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** VmRSS and RssAnon in KiB (0 when the process is gone). */
export function rssKiB(pid: number): { rss: number; anon: number } {
  try {
    const st = readFileSync(`/proc/${pid}/status`, "utf8");
    const get = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(st)?.[1] ?? 0);
    return { rss: get("VmRSS"), anon: get("RssAnon") };
  } catch {
    return { rss: 0, anon: 0 };
  }
}

export function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

/** Live processes running binary (by /proc/<pid>/exe). */
export function processesOf(binary: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/exe`) === binary) out.push(Number(e));
    } catch {}
  }
  return out;
}

/** Processes of the container's cgroup (the memory hierarchy on v1, the unified one on v2). */
export function containerProcesses(cgroupsPath: string): number[] {
  for (const dir of [`/sys/fs/cgroup/memory${cgroupsPath}`, `/sys/fs/cgroup${cgroupsPath}`]) {
    try {
      return readFileSync(`${dir}/cgroup.procs`, "utf8").split("\n").filter(Boolean).map(Number);
    } catch {}
  }
  return [];
}
