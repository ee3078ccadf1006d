// Reading and writing cgroup files. Every failure becomes one BuncError line naming the file,
// the value and the kernel's reason; callers that need to branch on the errno catch CgroupFileError.
import { mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { BuncError } from "../errors.ts";

export class CgroupFileError extends BuncError {
  constructor(readonly op: string, readonly path: string, readonly code: string, detail: string) {
    super(`cgroup: ${op} ${path}: ${detail}`);
  }
}

/** Node's error text carries the syscall and path already; keep only the reason. */
function reason(e: NodeJS.ErrnoException): string {
  const m = /^[A-Z]+: ([^,]+)/.exec(e.message);
  return m ? m[1]! : e.message;
}

function wrap(op: string, path: string, e: unknown, value?: string): never {
  const err = e as NodeJS.ErrnoException;
  const what = value === undefined ? op : `${op} ${JSON.stringify(value)} to`;
  throw new CgroupFileError(what, path, err.code ?? "EIO", reason(err));
}

export function errCode(e: unknown): string | undefined {
  return e instanceof CgroupFileError ? e.code : (e as NodeJS.ErrnoException)?.code;
}

export function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    wrap("read", path, e);
  }
}

/** undefined when the file does not exist (an optional kernel feature). */
export function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENODEV" || code === "EOPNOTSUPP") return undefined;
    wrap("read", path, e);
  }
}

/** cgroup files take one value per write(2); writeFileSync does exactly one write for short data. */
export function writeValue(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (e) {
    wrap("write", path, e, value);
  }
}

/** A number file; "max" (v2) reads as the largest uint64 like runc reports it. */
export function readUint(path: string): bigint {
  const text = readText(path).trim();
  if (text === "max") return 0xffff_ffff_ffff_ffffn;
  try {
    const v = BigInt(text);
    return v < 0n ? 0n : v; // v1 reports -1 for "unlimited" in a few places: runc clamps to 0
  } catch {
    throw new BuncError(`cgroup: ${path}: not a number: ${JSON.stringify(text)}`);
  }
}

export function readUintOptional(path: string): bigint | undefined {
  const text = readOptional(path);
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === "max") return 0xffff_ffff_ffff_ffffn;
  try {
    const v = BigInt(t);
    return v < 0n ? 0n : v;
  } catch {
    return undefined;
  }
}

/** "key value" lines (memory.stat, cpu.stat, memory.events ...) as a map. */
export function parseFlatKeyed(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (!k || v === undefined) continue;
    try {
      out.set(k, v === "max" ? 0xffff_ffff_ffff_ffffn : BigInt(v));
    } catch {
      // a non-numeric field (new kernel): skip it as runc does for unknown keys
    }
  }
  return out;
}

export function readFlatKeyed(path: string): Map<string, bigint> | undefined {
  const text = readOptional(path);
  return text === undefined ? undefined : parseFlatKeyed(text);
}

export function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * mkdir -p that reports which directories it made (outermost first), so a failed create can
 * remove exactly those and nothing that was there before.
 */
export function mkdirTracked(path: string, made: string[]): void {
  // The leaf first: its parents usually exist, so this is one mkdir instead of one per level.
  try {
    mkdirSync(path, { mode: 0o755 });
    made.push(path);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    const parent = path.slice(0, path.lastIndexOf("/"));
    if (code !== "ENOENT" || parent === "") wrap("mkdir", path, e);
    mkdirTracked(parent, made); // outermost first in `made`
  }
  try {
    mkdirSync(path, { mode: 0o755 });
    made.push(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") wrap("mkdir", path, e);
  }
}

/** pids listed in <dir>/cgroup.procs (threaded v2 cgroups list in cgroup.threads instead). */
export function readProcs(dir: string): number[] {
  let text = readOptional(`${dir}/cgroup.procs`);
  if (text === undefined) text = readOptional(`${dir}/tasks`) ?? "";
  return text.split("\n").filter(Boolean).map(Number);
}

/** every pid in dir and its sub-cgroups (a container may make its own children). */
export function readProcsRecursive(dir: string): number[] {
  const out = new Set<number>(readProcs(dir));
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [...out];
  }
  for (const name of entries) for (const p of readProcsRecursive(`${dir}/${name}`)) out.add(p);
  return [...out].sort((a, b) => a - b);
}

/**
 * Move pid into dir. The kernel answers EINVAL while a just-cloned task is still TASK_NEW:
 * retry a few times, as runc does.
 */
export function writeProc(dir: string, pid: number): void {
  for (let i = 0; ; i++) {
    try {
      writeFileSync(`${dir}/cgroup.procs`, String(pid));
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EINVAL" && i < 5) {
        Bun.sleepSync(30);
        continue;
      }
      wrap("write", `${dir}/cgroup.procs`, e, String(pid));
    }
  }
}

function rmdirRetry(path: string, retry: boolean): string | undefined {
  let delay = 1;
  for (let tries = 0; ; tries++) {
    try {
      rmdirSync(path);
      return undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "EIO";
      if (code === "ENOENT") return undefined;
      // EBUSY: tasks that were just killed are still leaving the cgroup
      if (code === "EBUSY" && retry && tries < 10) {
        Bun.sleepSync(delay);
        delay *= 2;
        continue;
      }
      return code;
    }
  }
}

/** Remove a cgroup directory and its sub-cgroups (deepest first); throws when it stays. */
export function removeCgroupDir(path: string): void {
  if (rmdirRetry(path, false) === undefined) return;
  let entries: string[];
  try {
    entries = readdirSync(path, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    wrap("read directory", path, e);
  }
  for (const name of entries) removeCgroupDir(`${path}/${name}`);
  const code = rmdirRetry(path, true);
  if (code !== undefined) throw new CgroupFileError("rmdir", path, code, code === "EBUSY" ? "device or resource busy (processes still in it)" : code);
}

/** rmdir that gives up quietly: for parents we made that another container may now use. */
export function rmdirIfEmpty(path: string): void {
  rmdirRetry(path, false);
}
