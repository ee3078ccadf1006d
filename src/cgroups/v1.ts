import { closeSync, constants, openSync } from "node:fs";
// The cgroupfs driver for v1 (and hybrid) hosts: one directory per mounted hierarchy.
import { BuncError } from "../errors.ts";
import type { LinuxResources } from "../spec/types.ts";
import { errCode, mkdirTracked, readOptional, readProcsRecursive, removeCgroupDir, rmdirIfEmpty, writeProc, writeValue } from "./fs.ts";
import { hugePageSizes } from "./hugepages.ts";
import type { Stats } from "./stats.ts";
import { oomKillCountV1, statsV1 } from "./stats-v1.ts";
import type { Cgroup, SavedCgroup } from "./types.ts";
import { isFrozenV1 } from "./frozen.ts";
import { cpusetInherit, setRealtime, setV1 } from "./v1-set.ts";

/** runc's freezer retries: a v1 cgroup can stay FREEZING while tasks keep forking. */
export function freezeV1(dir: string): void {
  const file = `${dir}/freezer.state`;
  try {
    for (let i = 0; i < 1000; i++) {
      if (i % 50 === 49) {
        // an occasional thaw lets a forking storm settle
        writeValue(file, "THAWED");
        Bun.sleepSync(10);
      }
      writeValue(file, "FROZEN");
      if (i % 25 === 24) Bun.sleepSync(1);
      const state = readOptional(file)?.trim();
      if (state === "FROZEN") return;
      if (state !== "FREEZING") throw new BuncError(`cgroup: unexpected freezer state "${state}" while freezing ${dir}`);
    }
    throw new BuncError(`cgroup: unable to freeze ${dir}: it stays FREEZING`);
  } catch (e) {
    // never leave a container half frozen
    try {
      writeValue(file, "THAWED");
    } catch {}
    throw e;
  }
}

/** Linux O_CLOEXEC (node's fs.constants does not name it) */
const O_CLOEXEC = 0o2000000;

export class V1Cgroup implements Cgroup {
  constructor(private s: SavedCgroup) {}

  save(): SavedCgroup {
    return structuredClone(this.s);
  }

  paths(): Record<string, string> {
    return { ...this.s.paths };
  }

  private uniqueDirs(): string[] {
    return [...new Set(Object.values(this.s.paths))];
  }

  async create(): Promise<void> {
    const made: string[] = [];
    try {
      for (const dir of this.uniqueDirs()) {
        try {
          mkdirTracked(dir, made);
        } catch (e) {
          // rootless without delegation: runc carries on when no limits were asked for
          if (this.s.rootless && (errCode(e) === "EACCES" || errCode(e) === "EPERM") && !hasLimits(this.s.resources)) continue;
          throw e;
        }
      }
      const cpusetDir = this.s.paths["cpuset"];
      if (cpusetDir) this.cpusetChain(cpusetDir);
      if (this.s.resources) setV1(this.s.paths, this.s.resources, { specDevices: this.s.devices, isUpdate: false, skipDevices: this.s.skipDevices });
      const leaves = new Set(this.uniqueDirs());
      this.s.made = made.filter((d) => !leaves.has(d));
    } catch (e) {
      for (const d of made.reverse()) rmdirIfEmpty(d);
      throw e;
    }
  }

  /** Copy cpuset.cpus/mems down from the hierarchy root to the leaf where they are empty. */
  private cpusetChain(leaf: string): void {
    const dirs: string[] = [];
    for (let d = leaf; d.includes("/") && readOptional(`${d}/cpuset.cpus`) !== undefined; d = d.slice(0, d.lastIndexOf("/"))) dirs.unshift(d);
    for (let i = 1; i < dirs.length; i++) cpusetInherit(dirs[i]!, dirs[i - 1]!);
  }

  async attach(pid: number): Promise<void> {
    const cpuDir = this.s.paths["cpu"];
    // real-time bandwidth first: a SCHED_RR task cannot join a cgroup without it
    if (cpuDir && this.s.resources) setRealtime(cpuDir, this.s.resources);
    for (const dir of this.uniqueDirs()) {
      try {
        writeProc(dir, pid);
      } catch (e) {
        if (this.s.rootless && (errCode(e) === "EACCES" || errCode(e) === "EPERM" || errCode(e) === "ENOENT") && !hasLimits(this.s.resources)) continue;
        throw e;
      }
    }
  }

  /**
   * fds of each hierarchy's `tasks` file for the container child to write "0" to: a single thread
   * moving itself skips the kernel's global cgroup_threadgroup_rwsem, whose write side waits for
   * an RCU grace period (~10 ms) when the parent writes the pid to cgroup.procs instead. The
   * child is single-threaded, so moving its one thread moves the process. The caller closes them.
   */
  selfAttachFds(): number[] {
    const cpuDir = this.s.paths["cpu"];
    if (cpuDir && this.s.resources) setRealtime(cpuDir, this.s.resources);
    const fds: number[] = [];
    try {
      for (const dir of this.uniqueDirs()) {
        try {
          fds.push(openSync(`${dir}/tasks`, constants.O_WRONLY | O_CLOEXEC));
        } catch (e) {
          if (this.s.rootless && (errCode(e) === "EACCES" || errCode(e) === "EPERM" || errCode(e) === "ENOENT") && !hasLimits(this.s.resources)) continue;
          throw e;
        }
      }
    } catch (e) {
      for (const fd of fds) closeSync(fd);
      throw e;
    }
    return fds;
  }

  async update(r: LinuxResources): Promise<void> {
    setV1(this.s.paths, r, { specDevices: this.s.devices, isUpdate: true, skipDevices: this.s.skipDevices });
    this.s.resources = r;
  }

  private freezerDir(): string {
    const d = this.s.paths["freezer"];
    if (!d) throw new BuncError("cgroup: the freezer controller is not mounted on this host: cannot pause");
    return d;
  }

  freeze(): void {
    freezeV1(this.freezerDir());
  }

  thaw(): void {
    writeValue(`${this.freezerDir()}/freezer.state`, "THAWED");
  }

  isFrozen(): boolean {
    const d = this.s.paths["freezer"];
    return d ? isFrozenV1(d) : false;
  }

  pids(): number[] {
    for (const c of ["pids", "devices", "freezer", "memory", "cpu"]) {
      const d = this.s.paths[c];
      if (d) return readProcsRecursive(d);
    }
    const any = this.uniqueDirs()[0];
    return any ? readProcsRecursive(any) : [];
  }

  stats(): Stats {
    return statsV1(this.s.paths, hugePageSizes());
  }

  oomKillCount(): number {
    return oomKillCountV1(this.s.paths["memory"]);
  }

  async destroy(): Promise<void> {
    const errors: string[] = [];
    for (const dir of this.uniqueDirs()) {
      try {
        removeCgroupDir(dir);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    for (const d of [...this.s.made].reverse()) rmdirIfEmpty(d);
    if (errors.length) throw new BuncError(errors.join("; "));
  }
}

/** Does r ask for any limit (so that failing to make a cgroup matters)? */
export function hasLimits(r: LinuxResources | undefined): boolean {
  if (!r) return false;
  const { devices, ...rest } = r;
  void devices;
  return JSON.stringify(rest, (_k, v) => (v === null || (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) ? undefined : v)) !== "{}";
}
