// The systemd driver (--systemd-cgroup): systemd owns the container's cgroup as a transient scope
// (StartTransientUnit with Delegate=yes and the resource properties), then the file drivers set
// what systemd cannot express and do freeze, stats and pids, as in runc.
//
// A scope needs a process to start, so the unit is started by the first attach(pid); create()
// only checks that systemd answers and remembers its version.
import { BuncError } from "../errors.ts";
import type { LinuxResources } from "../spec/types.ts";
// dbus.ts (and the D-Bus library) load only when a systemd container is really handled
import type { SystemdBus } from "./dbus.ts";
import { containerRules } from "./devices.ts";
import { joinPath, v1Hierarchies, type Layout } from "./layout.ts";
import { expandSlice, parseSystemdPath } from "./paths.ts";
import type { Stats } from "./stats.ts";
import { unitProperties, v1ResourceProps, v2ResourceProps, type Prop } from "./systemd-props.ts";
import type { Cgroup, CgroupOptions, SavedCgroup } from "./types.ts";
import { V1Cgroup } from "./v1.ts";
import { V2Cgroup } from "./v2.ts";

export function newSystemdCgroup(opts: CgroupOptions, layout: Layout): SystemdCgroup {
  const u = parseSystemdPath(opts.cgroupsPath, opts.id, !!opts.rootless);
  const fs = layout.mode === "v2" ? "v2" : "v1";
  const rel = joinPath(expandSlice(u.slice), u.unit);
  const paths: Record<string, string> = {};
  if (fs === "v2") paths[""] = joinPath(layout.unified!.mountpoint, rel);
  else for (const h of v1Hierarchies(layout)) for (const c of h.controllers) paths[c] = joinPath(h.mountpoint, rel);
  const s: SavedCgroup = {
    driver: "systemd",
    id: opts.id,
    paths,
    made: [],
    resources: opts.resources,
    devices: opts.devices,
    skipDevices: opts.skipDevices,
    rootless: opts.rootless,
    systemd: { unit: u.unit, slice: u.slice, fs, started: false, properties: { name: u.name, annotations: opts.annotations ?? {} } },
  };
  return new SystemdCgroup(s, layout);
}

const dbusModule = () => import("./dbus.ts");

async function variants(props: Prop[]): Promise<unknown[]> {
  const { Variant } = await dbusModule();
  return props.map(([name, sig, value]) => [name, new Variant(sig, value)]);
}

async function isDbusError(e: unknown, name: string): Promise<boolean> {
  const { SystemdError } = await dbusModule();
  return e instanceof SystemdError && e.dbusName.includes(name);
}

export class SystemdCgroup implements Cgroup {
  private files: V1Cgroup | V2Cgroup;

  constructor(private s: SavedCgroup, layout: Layout) {
    // the file driver shares our saved state object, so its updates are ours
    s.systemd!.properties ??= { name: s.id, annotations: {} };
    this.files = s.systemd!.fs === "v2" ? new V2Cgroup(this.s, layout.unified?.mountpoint ?? "/sys/fs/cgroup") : new V1Cgroup(this.s);
  }

  private get sd() {
    return this.s.systemd!;
  }

  private get meta(): { name: string; annotations: Record<string, string>; version?: number } {
    return this.sd.properties as { name: string; annotations: Record<string, string>; version?: number };
  }

  save(): SavedCgroup {
    return { ...this.files.save(), driver: "systemd", systemd: structuredClone(this.sd) };
  }

  paths(): Record<string, string> {
    return { ...this.s.paths };
  }

  private async withBus<T>(f: (bus: SystemdBus) => Promise<T>): Promise<T> {
    const { SystemdBus } = await dbusModule();
    const bus = await SystemdBus.connect(!!this.s.rootless);
    try {
      return await f(bus);
    } finally {
      bus.close();
    }
  }

  private async version(bus: SystemdBus): Promise<number> {
    const { systemdVersionNumber } = await dbusModule();
    if (this.meta.version === undefined) this.meta.version = systemdVersionNumber(await bus.managerProperty("Version"));
    return this.meta.version;
  }

  async create(): Promise<void> {
    // fail at create time, not at the first attach, when systemd cannot be reached
    await this.withBus((bus) => this.version(bus));
    // A slice (a pod's cgroup, as kubelet makes them) holds no process of its own: it starts
    // now, with its limits, and containers' scopes are put into it later.
    if (this.sd.unit.endsWith(".slice")) await this.start(0);
  }

  private rules(devices: LinuxResources["devices"]) {
    return this.s.skipDevices ? undefined : containerRules(devices, this.s.devices);
  }

  private props(pid: number, sdVersion: number): Prop[] {
    return unitProperties({
      unit: this.sd.unit, slice: this.sd.slice, name: this.meta.name, pid, fs: this.sd.fs, resources: this.s.resources ?? {},
      rules: this.rules(this.s.resources?.devices), sdVersion, annotations: this.meta.annotations,
    });
  }

  private async startUnit(bus: SystemdBus, pid: number): Promise<void> {
    const version = await this.version(bus);
    const body = [this.sd.unit, "replace", await variants(this.props(pid, version)), []];
    let result: string;
    try {
      result = await bus.job("StartTransientUnit", "ssa(sv)a(sa(sv))", body);
    } catch (e) {
      if (!(await isDbusError(e, "UnitExists"))) throw e;
      // a failed unit of the same name may linger: reset it and try once more, as runc does
      await bus.call("ResetFailedUnit", "s", [this.sd.unit]).catch(() => undefined);
      result = await bus.job("StartTransientUnit", "ssa(sv)a(sa(sv))", body);
    }
    if (result !== "done") {
      await bus.call("ResetFailedUnit", "s", [this.sd.unit]).catch(() => undefined);
      throw new BuncError(`systemd: creating unit ${this.sd.unit} failed: job result "${result}"`);
    }
  }

  async attach(pid: number): Promise<void> {
    if (this.sd.started) return this.files.attach(pid);
    await this.start(pid);
  }

  /** Start the unit (with pid in it, for a scope) and complete it with the file driver. */
  private async start(pid: number): Promise<void> {
    await this.withBus((bus) => this.startUnit(bus, pid));
    this.sd.started = true;
    try {
      // systemd made the cgroup in the hierarchies it manages; the file driver makes the others
      // (v1: cpuset, freezer, ...), enables controllers (v2), joins pid everywhere and sets the
      // limits systemd has no property for
      await this.files.create();
      if (pid > 0) await this.files.attach(pid);
    } catch (e) {
      await this.destroy().catch(() => undefined);
      throw e;
    }
  }

  async update(r: LinuxResources): Promise<void> {
    if (this.sd.started) {
      await this.withBus(async (bus) => {
        const v = await this.version(bus);
        const rules = this.rules(r.devices);
        const props = this.sd.fs === "v2" ? v2ResourceProps(r, rules, v) : v1ResourceProps(r, rules, v);
        await bus.call("SetUnitProperties", "sba(sv)", [this.sd.unit, true, await variants(props)]);
      });
    }
    await this.files.update(r);
  }

  freeze(): void {
    this.files.freeze();
  }

  thaw(): void {
    this.files.thaw();
  }

  isFrozen(): boolean {
    return this.files.isFrozen();
  }

  pids(): number[] {
    return this.files.pids();
  }

  stats(): Stats {
    return this.files.stats();
  }

  oomKillCount(): number {
    return this.files.oomKillCount();
  }

  async destroy(): Promise<void> {
    if (this.sd.started) {
      await this.withBus(async (bus) => {
        try {
          const result = await bus.job("StopUnit", "ss", [this.sd.unit, "replace"]);
          if (result === "timeout") throw new BuncError(`systemd: timed out stopping ${this.sd.unit}`);
        } catch (e) {
          // already gone is fine
          if (!(await isDbusError(e, "NoSuchUnit"))) throw e;
        }
        await bus.call("ResetFailedUnit", "s", [this.sd.unit]).catch(() => undefined);
      });
      this.sd.started = false;
    }
    // systemd removes its own directories; sub-cgroups and the other v1 hierarchies are ours
    await this.files.destroy();
  }
}
