// Host-side plumbing for the client tests: running a command to completion with its output in
// files, finding processes by command line, and removing what a client run left on the host
// (mounts, cgroups, network links). Everything here only touches what the caller names.
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";

// Commands run to completion with their output in files: the test helpers' runner, with a
// longer default timeout (client commands start containers of their own).
import { cmd as runToCompletion, type BuncResult as CmdResult, type CmdOptions } from "../helpers/run.ts";
import { cgroupHierarchies, cgroupPids, cgroupTree } from "../helpers/bundle.ts";

export { cgroupHierarchies, removeCgroupTree } from "../helpers/bundle.ts";
export type { CmdResult, CmdOptions };

export function cmd(argv: string[], opts: CmdOptions = {}): Promise<CmdResult> {
  return runToCompletion(argv, { timeoutMs: 60_000, ...opts });
}

/** cmd(), throwing with the output when the exit status is not 0. */
export async function cmdOk(argv: string[], opts: CmdOptions = {}): Promise<CmdResult> {
  const r = await cmd(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}


export function hasCommand(name: string): boolean {
  return Bun.which(name) !== null;
}

/** The argv of a process, or undefined when it is gone. */
export function cmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "latin1");
    return raw.split("\0").filter((_, i, a) => i < a.length - 1 || a[i] !== "");
  } catch {
    return undefined;
  }
}

export function allPids(): number[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number);
}

/** Is pid alive and not a zombie? */
export function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) [ZX]/s.test(readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return false;
  }
}

export function killPid(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  if (pid <= 1 || pid === process.pid) return;
  try {
    process.kill(pid, signal);
  } catch {}
}

/** Every mount point at or below `dir` (as /proc/self/mountinfo shows them), deepest first. */
export function mountsUnder(dir: string): string[] {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mp = line.split(" ")[4];
    if (!mp) continue;
    const path = mp.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    if (path === real || path.startsWith(`${real}/`)) out.push(path);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Lazily unmount everything below dir (netns files, overlay rootfs, shm binds...). */
export function unmountAllUnder(dir: string): void {
  for (let round = 0; round < 5; round++) {
    const mounts = mountsUnder(dir);
    if (!mounts.length) return;
    for (const m of mounts) Bun.spawnSync(["umount", "-l", m], { stdout: "ignore", stderr: "ignore" });
  }
}

/** Processes in the cgroup `path` (relative to each hierarchy) or below it. */
export function cgroupProcesses(path: string): number[] {
  const pids = new Set<number>();
  for (const h of cgroupHierarchies()) for (const d of cgroupTree(join(h, path))) for (const p of cgroupPids(d)) pids.add(p);
  return [...pids];
}

/** Cgroup directories named `path` (or below) that exist in some hierarchy. */
export function cgroupDirsUnder(path: string): string[] {
  return cgroupHierarchies().flatMap((h) => (existsSync(join(h, path)) ? cgroupTree(join(h, path)) : []));
}

/** The network namespace inode of a process ("net:[4026532...]"). */
export function netnsOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

export function deleteLink(name: string): void {
  if (linkExists(name)) Bun.spawnSync(["ip", "link", "del", name], { stdout: "ignore", stderr: "ignore" });
}
