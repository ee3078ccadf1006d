// What the numbers were measured on: CPU, cores, kernel, memory, cgroup layout, and the
// versions of every runtime and of Bun.
import { readFileSync, statSync } from "node:fs";
import { cpus, release } from "node:os";
import type { Runtime } from "./runtimes.ts";
import type { Spawner } from "./spawn.ts";

export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  memory: string;
  cgroups: string;
  os: string;
  versions: Record<string, string>;
  /** /proc/loadavg when the run started: other work on the machine makes the numbers noisier */
  loadStart: string;
}

export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

function cgroupLayout(): string {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n");
  const v1: string[] = [];
  let v2: string | undefined;
  for (const line of mounts) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const mountpoint = line.slice(0, sep).split(" ")[4]!;
    const [fstype] = line.slice(sep + 3).split(" ");
    if (fstype === "cgroup") v1.push(mountpoint.replace("/sys/fs/cgroup/", ""));
    else if (fstype === "cgroup2") v2 ??= mountpoint;
  }
  if (v1.length === 0) return `cgroup v2 (unified, ${v2})`;
  const mode = v2 ? `hybrid (cgroup2 at ${v2})` : "v1";
  return `cgroup v1 ${mode}; v1 hierarchies: ${v1.join(", ")}`;
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim();
}

export function describeMachine(rts: Runtime[], sp: Spawner, bunForBuild: string): Machine {
  const meminfo = readFileSync("/proc/meminfo", "utf8");
  const kb = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0);
  const osRelease = readFileSync("/etc/os-release", "utf8");
  const versions: Record<string, string> = {};
  for (const rt of rts) {
    const out = sp.output([rt.binary, "--version"]);
    const lines = out.split("\n");
    const commit = lines.find((l) => l.startsWith("commit:"));
    versions[rt.name] = firstLine(out) + (commit ? ` (${commit.trim()})` : "");
    // bunc is often rebuilt from a work tree: say which binary and when
    if (rt.name === "bunc") versions[rt.name] += `, ${rt.binary} built ${statSync(rt.binary).mtime.toISOString().replace(/\.\d+Z$/, "Z")}`;
  }
  versions["bun (bunc's compiler)"] = firstLine(sp.output([bunForBuild, "--version"]));
  versions["bun (this benchmark)"] = Bun.version;
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    kernel: release(),
    memory: `${(kb / 1024 / 1024).toFixed(1)} GiB`,
    cgroups: cgroupLayout(),
    os: /PRETTY_NAME="([^"]*)"/.exec(osRelease)?.[1] ?? "unknown",
    versions,
    loadStart: loadAverage(),
  };
}
