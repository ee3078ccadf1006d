// The cgroup interface the container code uses, and what a driver saves in state.json.
import type { Device, LinuxResources } from "../spec/types.ts";
import type { Layout } from "./layout.ts";
import type { Stats } from "./stats.ts";

export interface CgroupOptions {
  /** linux.cgroupsPath as written in config.json */
  cgroupsPath?: string;
  /** the container id (names the cgroup when cgroupsPath is empty) */
  id: string;
  /** --systemd-cgroup */
  systemd: boolean;
  resources?: LinuxResources;
  rootless?: boolean;
  /** linux.devices: a device listed there replaces runc's default rule for the same path */
  devices?: Device[];
  /** leave the device controller alone (a pod's or QoS class's cgroup: kubelet's SkipDevices),
   * so that what its containers may open is decided by their own cgroups only */
  skipDevices?: boolean;
  /** config annotations: org.systemd.property.<Name> become properties of the systemd unit */
  annotations?: Record<string, string>;
  /** tests: a layout (and fake root) instead of this host's mounts */
  layout?: Layout;
}

export type DriverName = "fs1" | "fs2" | "systemd";

/** JSON stored in the container record; loadCgroup() rebuilds the driver from it. */
export interface SavedCgroup {
  driver: DriverName;
  id: string;
  /** controller -> absolute directory (v2: { "": dir }) */
  paths: Record<string, string>;
  /** directories create() made above the leaves, outermost first (removed by destroy() when empty) */
  made: string[];
  /** the resources last applied (create or update) */
  resources?: LinuxResources;
  devices?: Device[];
  skipDevices?: boolean;
  rootless?: boolean;
  /** systemd driver only */
  systemd?: SavedSystemd;
}

export interface SavedSystemd {
  unit: string;
  slice: string;
  /** "v1" or "v2": which file driver handles what systemd does not */
  fs: "v1" | "v2";
  /** set once the unit was started (attach of the first pid) */
  started: boolean;
  properties?: unknown;
}

export interface Cgroup {
  save(): SavedCgroup;
  /** make the cgroup(s) and apply resources; on failure remove what it made and throw BuncError */
  create(): Promise<void>;
  /** put pid into the cgroup (every v1 hierarchy / the v2 leaf). systemd: the first pid starts the unit */
  attach(pid: number): Promise<void>;
  /** v2 only: an O_DIRECTORY fd of the leaf for clone3(CLONE_INTO_CGROUP); the caller closes it */
  intoCgroupFd?(): number;
  /** v1: fds of the `tasks` files the container child writes "0" to, joining by itself; the caller closes them */
  selfAttachFds?(): number[];
  /** apply new resources (`bunc update`); save() then returns them */
  update(r: LinuxResources): Promise<void>;
  freeze(): void;
  thaw(): void;
  isFrozen(): boolean;
  pids(): number[];
  /** runc's events --stats "data" (bigint counters: print with toJson from stats.ts) */
  stats(): Stats;
  oomKillCount(): number;
  /** remove every directory it made (and the systemd unit) */
  destroy(): Promise<void>;
  paths(): Record<string, string>;
}
