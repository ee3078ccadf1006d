// A container's record on disk: <root>/<id>/state.json, written once by `create` (atomically)
// and read by every other command. The *status* is never stored: it is derived from the live
// process (pid + its start time, so a recycled pid is not mistaken for ours), the exec fifo
// (present until `start`) and the freezer.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { BuncError } from "../errors.ts";
import type { ContainerStatus, OciState, Spec } from "../spec/types.ts";

export const OCI_VERSION = "1.2.1";

export interface ContainerRecord {
  id: string;
  bundle: string;
  rootfs: string;
  pid: number;
  /** field 22 of /proc/<pid>/stat when the container was created */
  pidStartTime: string;
  created: string;
  owner: string;
  /** the config the container was created from (exec, hooks and cgroups read it) */
  config: Spec;
  /** what the cgroup driver needs to find the container's cgroup again (opaque to this file) */
  cgroup?: unknown;
  /** set once the container's process has been released by `start` */
  started?: boolean;
}

/** ids are path components under --root: refuse anything that could escape it. */
export function checkId(id: string): void {
  if (id === "") throw new BuncError("container id: must not be empty");
  if (id === "." || id === ".." || id.includes("/") || id.includes("\0"))
    throw new BuncError(`container id "${id}": must not contain "/" or be "." or ".."`);
  if (!/^[\w+\-.]+$/.test(id)) throw new BuncError(`container id "${id}": invalid characters (allowed: letters, digits, _ + - .)`);
  if (id.length > 1024) throw new BuncError(`container id: longer than 1024 characters`);
}

export function containerDir(root: string, id: string): string {
  checkId(id);
  return `${root}/${id}`;
}

export const execFifoPath = (dir: string) => `${dir}/exec.fifo`;

export function writeRecord(dir: string, rec: ContainerRecord): void {
  const tmp = `${dir}/.state.json.tmp`;
  writeFileSync(tmp, JSON.stringify(rec), { mode: 0o600 });
  renameSync(tmp, `${dir}/state.json`);
}

export function readRecord(root: string, id: string): ContainerRecord {
  const dir = containerDir(root, id);
  let text: string;
  try {
    text = readFileSync(`${dir}/state.json`, "utf8");
  } catch {
    throw new BuncError(`container "${id}" does not exist`);
  }
  try {
    return JSON.parse(text) as ContainerRecord;
  } catch {
    throw new BuncError(`container "${id}": ${dir}/state.json is corrupt`);
  }
}

/** Field 22 (starttime) of /proc/<pid>/stat, or undefined when the process is gone. */
export function pidStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: split after the last ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (rest[0] === "Z" || rest[0] === "X") return undefined; // a zombie has exited
  return rest[19];
}

export function isAlive(rec: ContainerRecord): boolean {
  return rec.pid > 0 && pidStartTime(rec.pid) === rec.pidStartTime;
}

/** Derive the status from what the kernel says now. `frozen` asks the cgroup driver. */
export function deriveStatus(root: string, rec: ContainerRecord, frozen: () => boolean): ContainerStatus {
  if (!isAlive(rec)) return "stopped";
  if (existsSync(execFifoPath(containerDir(root, rec.id)))) return "created";
  return frozen() ? "paused" : "running";
}

export function ociState(rec: ContainerRecord, status: ContainerStatus): OciState {
  return {
    ociVersion: OCI_VERSION,
    id: rec.id,
    pid: status === "stopped" ? 0 : rec.pid,
    status,
    bundle: rec.bundle,
    rootfs: rec.rootfs,
    created: rec.created,
    owner: rec.owner,
    annotations: rec.config.annotations ?? {},
  };
}

/** Make <root> (0700, like runc) if needed. */
export function ensureRoot(root: string): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
}
