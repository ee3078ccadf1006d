// Leave nothing behind: containers (through each runtime's own delete --force), processes still
// in a /bunc-bench cgroup, the cgroups themselves (every hierarchy), and the temp dir with the
// bundles and state roots. Runs at the end, on failure, and at the start (after a crash).
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { BENCH_CGROUP } from "./bundle.ts";
import type { Runtime } from "./runtimes.ts";
import type { Spawner } from "./spawn.ts";
import { reapAll } from "./sys.ts";

const CGROUP_FS = "/sys/fs/cgroup";

/** Every /sys/fs/cgroup/<hierarchy>/bunc-bench directory that exists. */
function benchCgroupRoots(): string[] {
  let hierarchies: string[] = [];
  try {
    hierarchies = readdirSync(CGROUP_FS);
  } catch {
    return [];
  }
  const roots = hierarchies.map((h) => `${CGROUP_FS}/${h}${BENCH_CGROUP}`);
  roots.push(`${CGROUP_FS}${BENCH_CGROUP}`); // a cgroup2-only host
  return [...new Set(roots)].filter((d) => existsSync(d));
}

/** Directories of a cgroup tree, deepest first. */
function subtree(dir: string): string[] {
  const out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {}
  for (const e of entries) out.push(...subtree(`${dir}/${e}`));
  out.push(dir);
  return out;
}

function pidsIn(dir: string): number[] {
  try {
    return readFileSync(`${dir}/cgroup.procs`, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Kill what is left in the bench cgroups and remove them. Returns what could not be removed. */
export function removeBenchCgroups(): string[] {
  let left: string[] = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    left = [];
    for (const root of benchCgroupRoots()) {
      for (const dir of subtree(root)) {
        for (const pid of pidsIn(dir)) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
        }
        try {
          rmdirSync(dir);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") left.push(dir);
        }
      }
    }
    reapAll();
    if (left.length === 0) return [];
    Bun.sleepSync(20);
  }
  return left;
}

/** delete --force every container a runtime still has in its state root. */
export function deleteAllContainers(rts: Runtime[], sp: Spawner): void {
  for (const rt of rts) {
    let ids: string[] = [];
    try {
      ids = readdirSync(rt.root).filter((n) => !n.startsWith("."));
    } catch {
      continue;
    }
    for (const id of ids) {
      try {
        sp.time(rt.argv(["delete", "--force", id]), true);
      } catch {}
    }
  }
  reapAll();
}

export function cleanupAll(rts: Runtime[], sp: Spawner | undefined, tmp: string): string[] {
  if (sp) deleteAllContainers(rts, sp);
  const left = removeBenchCgroups();
  rmSync(tmp, { recursive: true, force: true });
  return left;
}
