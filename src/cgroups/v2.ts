// The cgroupfs driver for the unified (v2) hierarchy: one leaf directory, controllers enabled
// in every ancestor's cgroup.subtree_control, devices through an eBPF program.
import { openSync, constants } from "node:fs";
import { BuncError } from "../errors.ts";
import type { LinuxResources } from "../spec/types.ts";
import { attachDeviceFilter, type BpfSys } from "./bpf.ts";
import { containerRules, DeviceEmulator } from "./devices.ts";
import { deviceFilter, encode } from "./ebpf.ts";
import { errCode, exists, mkdirTracked, readOptional, readProcsRecursive, removeCgroupDir, rmdirIfEmpty, writeProc, writeValue } from "./fs.ts";
import { hugePageSizes } from "./hugepages.ts";
import type { Stats } from "./stats.ts";
import { oomKillCountV2, statsV2 } from "./stats-v2.ts";
import type { Cgroup, SavedCgroup } from "./types.ts";
import { isFrozenV2 } from "./frozen.ts";
import { hasLimits } from "./v1.ts";
import { setV2 } from "./v2-set.ts";

let bpfSys: BpfSys | undefined;

/** bunc's native layer hands over bpf(2) access here (v2 device filters need it). */
export function setBpfSys(s: BpfSys | undefined): void {
  bpfSys = s;
}

/** Controllers that only memory/io/cpu-style domains support: a threaded subtree cannot take them. */
function wantsDomainControllers(r: LinuxResources | undefined): boolean {
  return !!(r?.memory?.limit || r?.memory?.reservation || r?.memory?.swap || r?.blockIO || r?.hugepageLimits?.length || r?.cpu?.shares || r?.cpu?.quota || r?.cpu?.period);
}

function words(path: string): Set<string> {
  return new Set((readOptional(path) ?? "").split(/\s+/).filter(Boolean));
}

export class V2Cgroup implements Cgroup {
  constructor(private s: SavedCgroup, private mountpoint: string) {}

  private get dir(): string {
    return this.s.paths[""]!;
  }

  save(): SavedCgroup {
    return structuredClone(this.s);
  }

  paths(): Record<string, string> {
    return { "": this.dir };
  }

  /** mkdir from the mount down, enabling every available controller for the level below. */
  private makePath(made: string[]): void {
    const dir = this.dir;
    if (!dir.startsWith(this.mountpoint + "/")) throw new BuncError(`cgroup: ${dir} is not under the cgroup2 mount ${this.mountpoint}`);
    const available = [...words(`${this.mountpoint}/cgroup.controllers`)];
    const parts = dir.slice(this.mountpoint.length + 1).split("/");
    let cur = this.mountpoint;
    for (let i = 0; i <= parts.length; i++) {
      if (i > 0) {
        cur += "/" + parts[i - 1];
        mkdirTracked(cur, made);
        const type = readOptional(`${cur}/cgroup.type`)?.trim();
        if (type === "domain invalid") {
          if (wantsDomainControllers(this.s.resources)) throw new BuncError(`cgroup: cannot use ${cur} with memory/io/cpu limits: it is in an invalid state ("domain invalid")`);
          writeValue(`${cur}/cgroup.type`, "threaded");
        } else if ((type === "threaded" || type === "domain threaded") && wantsDomainControllers(this.s.resources)) {
          throw new BuncError(`cgroup: cannot use ${cur} with memory/io/cpu limits: it is in ${type} mode`);
        }
      }
      if (i === parts.length || available.length === 0) continue;
      // enable all at once; if the kernel refuses one (e.g. a threaded subtree), one by one
      try {
        writeValue(`${cur}/cgroup.subtree_control`, available.map((c) => "+" + c).join(" "));
      } catch {
        for (const c of available) {
          try {
            writeValue(`${cur}/cgroup.subtree_control`, "+" + c);
          } catch {
            // missing controllers are reported when a limit needs them
          }
        }
      }
    }
  }

  private setDevices = (r: LinuxResources): void => {
    const rules = containerRules(r.devices, this.s.devices);
    const emu = DeviceEmulator.fromRules(rules, DeviceEmulator.denyAll());
    if (emu.isAllowAll()) return; // nothing to filter: no program (as runc)
    if (!bpfSys) throw new BuncError("cgroup: the v2 device filter needs bpf(2), which this build does not provide");
    attachDeviceFilter(bpfSys, this.dir, encode(deviceFilter(rules)));
  };

  private apply(r: LinuxResources, devices = true): void {
    const setDevices = devices && !this.s.rootless && !this.s.skipDevices ? this.setDevices : undefined;
    setV2(this.dir, r, { controllers: words(`${this.dir}/cgroup.controllers`), setDevices });
  }

  async create(): Promise<void> {
    const made: string[] = [];
    try {
      try {
        this.makePath(made);
      } catch (e) {
        if (this.s.rootless && (errCode(e) === "EACCES" || errCode(e) === "EPERM") && !hasLimits(this.s.resources)) return;
        throw e;
      }
      this.apply(this.s.resources ?? {});
      this.s.made = made.filter((d) => d !== this.dir);
    } catch (e) {
      for (const d of made.reverse()) rmdirIfEmpty(d);
      throw e;
    }
  }

  async attach(pid: number): Promise<void> {
    try {
      writeProc(this.dir, pid);
    } catch (e) {
      if (this.s.rootless && (errCode(e) === "EACCES" || errCode(e) === "EPERM" || errCode(e) === "ENOENT") && !hasLimits(this.s.resources)) return;
      throw e;
    }
  }

  intoCgroupFd(): number {
    try {
      return openSync(this.dir, constants.O_RDONLY | constants.O_DIRECTORY | 0o2000000 /* O_CLOEXEC */);
    } catch (e) {
      throw new BuncError(`cgroup: open ${this.dir}: ${(e as Error).message}`);
    }
  }

  async update(r: LinuxResources): Promise<void> {
    // the filter is only replaced when the rules change (most updates are about limits)
    const sameDevices = JSON.stringify(r.devices ?? []) === JSON.stringify(this.s.resources?.devices ?? []);
    this.apply(r, !sameDevices);
    this.s.resources = r;
  }

  freeze(): void {
    this.setFrozen(true);
  }

  thaw(): void {
    this.setFrozen(false);
  }

  private setFrozen(frozen: boolean): void {
    const file = `${this.dir}/cgroup.freeze`;
    if (!exists(file)) throw new BuncError(`cgroup: ${file} is missing (freezing needs Linux 5.2 or later)`);
    writeValue(file, frozen ? "1" : "0");
    // cgroup.freeze is a request; cgroup.events says when every task has stopped
    for (let i = 0; i < 2000; i++) {
      const events = readOptional(`${this.dir}/cgroup.events`) ?? "";
      const m = /^frozen (\d)$/m.exec(events);
      if (!m || (m[1] === "1") === frozen) return;
      Bun.sleepSync(i < 100 ? 1 : 10);
    }
    if (frozen) {
      writeValue(file, "0");
      throw new BuncError(`cgroup: unable to freeze ${this.dir}: tasks did not stop`);
    }
    throw new BuncError(`cgroup: unable to thaw ${this.dir}`);
  }

  isFrozen(): boolean {
    return isFrozenV2(this.dir);
  }

  pids(): number[] {
    return readProcsRecursive(this.dir);
  }

  stats(): Stats {
    return statsV2(this.dir, hugePageSizes());
  }

  oomKillCount(): number {
    return oomKillCountV2(this.dir);
  }

  async destroy(): Promise<void> {
    removeCgroupDir(this.dir);
    for (const d of [...this.s.made].reverse()) rmdirIfEmpty(d);
  }
}
