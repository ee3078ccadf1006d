// Shared pieces of the real-cgroup tests: a unique path under /bunc-test, processes that are
// always killed, and a cleanup that removes whatever a failed test left.
import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import type { Subprocess } from "bun";
import type { Cgroup } from "../../src/cgroups/index.ts";
import { hostLayout } from "../../src/cgroups/layout.ts";

export const isRoot = process.getuid?.() === 0;
export const layout = (() => {
  try {
    return hostLayout();
  } catch {
    return undefined;
  }
})();
export const hasV1 = isRoot && !!layout && layout.mode !== "v2" && layout.v1.has("memory") && layout.v1.has("pids") && layout.v1.has("freezer");
export const hasUnified = isRoot && !!layout?.unified;

export function uniquePath(tag: string): string {
  return `/bunc-test/${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export const read = (path: string) => readFileSync(path, "utf8").trim();

/** Tracks what a test made so afterEach can remove it even when the test failed half way. */
export class Cleanup {
  procs: Subprocess[] = [];
  cgroups: Cgroup[] = [];
  dirs: string[] = [];

  spawn(cmd: string[], opts: Parameters<typeof Bun.spawn>[1] = {}): Subprocess {
    const p = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", ...opts });
    this.procs.push(p);
    return p;
  }

  async run(): Promise<void> {
    for (const p of this.procs) {
      try {
        p.kill(9);
      } catch {}
      await p.exited;
    }
    for (const cg of this.cgroups) {
      try {
        for (const pid of cg.pids()) process.kill(pid, 9);
        if (cg.isFrozen()) cg.thaw();
        await cg.destroy();
      } catch {}
    }
    for (const d of this.dirs.reverse()) removeTree(d);
    this.procs = [];
    this.cgroups = [];
    this.dirs = [];
  }
}

/** rmdir a cgroup tree (cgroupfs directories hold only kernel files). */
export function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeTree(`${dir}/${e.name}`);
  try {
    rmdirSync(dir);
  } catch {}
}

/** /proc/<pid>/status State letter (R, S, D, ...). */
export function procState(pid: number): string {
  const m = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? m[1]! : "?";
}

export async function waitFor(cond: () => boolean, what: string, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}
