// Device access rules: OCI linux.resources.devices plus runc's always-allowed defaults, reduced
// by an emulator of the v1 devices controller to a canonical rule set. The v1 driver writes the
// transition from the current devices.list; the v2 driver compiles the set to eBPF; systemd gets
// DeviceAllow entries. All three therefore see the same rules.
import { BuncError } from "../errors.ts";
import type { Device, DeviceCgroupRule } from "../spec/types.ts";

export const WILDCARD = -1;

export type DevType = "a" | "b" | "c";

export interface DevRule {
  type: DevType;
  major: number; // WILDCARD for "*"
  minor: number;
  /** bit set of ACCESS_* */
  access: number;
  allow: boolean;
}

export const ACCESS_READ = 1;
export const ACCESS_WRITE = 2;
export const ACCESS_MKNOD = 4;
export const ACCESS_ALL = 7;

export function parseAccess(s: string, where: string): number {
  if (s === "") throw new BuncError(`${where}: access must not be empty`);
  let bits = 0;
  for (const ch of s) {
    if (ch === "r") bits |= ACCESS_READ;
    else if (ch === "w") bits |= ACCESS_WRITE;
    else if (ch === "m") bits |= ACCESS_MKNOD;
    else throw new BuncError(`${where}: access "${s}": unknown mode "${ch}" (allowed: r, w, m)`);
  }
  return bits;
}

export function accessString(bits: number): string {
  return (bits & ACCESS_READ ? "r" : "") + (bits & ACCESS_WRITE ? "w" : "") + (bits & ACCESS_MKNOD ? "m" : "");
}

/** The line the v1 devices.allow/deny files take: "c 1:3 rwm". */
export function ruleLine(r: DevRule): string {
  const n = (v: number) => (v === WILDCARD ? "*" : String(v));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${accessString(r.access)}`;
}

/** OCI rules -> DevRule, with the spec's defaults (type "a", wildcard numbers). */
export function fromOci(rules: DeviceCgroupRule[] | undefined): DevRule[] {
  return (rules ?? []).map((d, i) => {
    const where = `linux.resources.devices[${i}]`;
    const type = (d.type ?? "a") as DevType;
    if (type !== "a" && type !== "b" && type !== "c") throw new BuncError(`${where}: type "${d.type}": must be a, b or c`);
    const num = (v: number | null | undefined, f: string) => {
      if (v === undefined || v === null || v === -1) return WILDCARD;
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new BuncError(`${where}: ${f} ${v}: not a device number`);
      return v;
    };
    if (d.access === undefined || d.access === "") throw new BuncError(`${where}: access must not be empty`);
    return { type, major: num(d.major, "major"), minor: num(d.minor, "minor"), access: parseAccess(d.access, where), allow: !!d.allow };
  });
}

interface DefaultDevice {
  path?: string;
  rule: DevRule;
}

const c = (major: number, minor: number, access: number, path?: string): DefaultDevice => ({
  path,
  rule: { type: "c", major, minor, access, allow: true },
});

/**
 * What runc appends to every container's rules (specconv.AllowedDevices): mknod of anything,
 * the standard character devices, /dev/pts/*, /dev/ptmx and /dev/net/tun.
 */
const DEFAULT_DEVICES: DefaultDevice[] = [
  c(WILDCARD, WILDCARD, ACCESS_MKNOD),
  { rule: { type: "b", major: WILDCARD, minor: WILDCARD, access: ACCESS_MKNOD, allow: true } },
  c(1, 3, ACCESS_ALL, "/dev/null"),
  c(1, 8, ACCESS_ALL, "/dev/random"),
  c(1, 7, ACCESS_ALL, "/dev/full"),
  c(5, 0, ACCESS_ALL, "/dev/tty"),
  c(1, 5, ACCESS_ALL, "/dev/zero"),
  c(1, 9, ACCESS_ALL, "/dev/urandom"),
  c(136, WILDCARD, ACCESS_ALL),
  c(5, 2, ACCESS_ALL),
  c(10, 200, ACCESS_ALL),
];

/**
 * The rules a container gets: its own, then runc's defaults. A default with the same path as a
 * device in linux.devices is dropped (the spec's entry takes priority, as in runc).
 */
export function containerRules(rules: DeviceCgroupRule[] | undefined, specDevices?: Device[]): DevRule[] {
  const specPaths = new Set((specDevices ?? []).map((d) => d.path));
  const defaults = DEFAULT_DEVICES.filter((d) => !d.path || !specPaths.has(d.path)).map((d) => ({ ...d.rule }));
  return [...fromOci(rules), ...defaults];
}

type Key = string; // "c:1:3"
const keyOf = (t: DevType, major: number, minor: number): Key => `${t}:${major}:${minor}`;

/** (major, minor, type) order. A plain comparison: localeCompare would load ICU's collator (~1 ms). */
function byDevice(a: { type: DevType; major: number; minor: number }, b: { type: DevType; major: number; minor: number }): number {
  return a.major - b.major || a.minor - b.minor || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0);
}

/**
 * The v1 devices controller's state: a default (allow = black-list mode, deny = white-list mode)
 * and exceptions with their access bits. Applying rules in order gives what the kernel would have.
 */
export class DeviceEmulator {
  defaultAllow = true; // a fresh v1 cgroup allows everything
  exceptions = new Map<Key, { type: DevType; major: number; minor: number; access: number }>();

  static denyAll(): DeviceEmulator {
    const e = new DeviceEmulator();
    e.defaultAllow = false;
    return e;
  }

  static fromRules(rules: DevRule[], start = new DeviceEmulator()): DeviceEmulator {
    for (const r of rules) start.apply(r);
    return start;
  }

  /** devices.list of a v1 cgroup: "a *:* rwm" means black-list mode with unknown exceptions. */
  static fromList(text: string): DeviceEmulator {
    const e = DeviceEmulator.denyAll();
    for (const line of text.split("\n")) {
      const t = line.trim();
      if (!t) continue;
      const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(t);
      if (!m) throw new BuncError(`cgroup: devices.list: malformed line "${t}"`);
      const num = (s: string) => (s === "*" ? WILDCARD : Number(s));
      e.apply({ type: m[1] as DevType, major: num(m[2]!), minor: num(m[3]!), access: parseAccess(m[4]!, "devices.list"), allow: true });
    }
    return e;
  }

  isAllowAll(): boolean {
    return this.defaultAllow && this.exceptions.size === 0;
  }

  apply(r: DevRule): void {
    if (r.type === "a") {
      // "a" resets the cgroup whatever its access field says
      this.defaultAllow = r.allow;
      this.exceptions.clear();
      return;
    }
    if (r.allow === this.defaultAllow) this.remove(r);
    else this.add(r);
  }

  private add(r: DevRule): void {
    const k = keyOf(r.type, r.major, r.minor);
    const old = this.exceptions.get(k);
    this.exceptions.set(k, { type: r.type, major: r.major, minor: r.minor, access: (old?.access ?? 0) | r.access });
  }

  private remove(r: DevRule): void {
    // The kernel silently ignores removing part of a wildcard exception: refuse it, like runc,
    // rather than leave access the user believes is gone.
    for (const [maj, min] of [[WILDCARD, r.minor], [r.major, WILDCARD], [WILDCARD, WILDCARD]] as const) {
      if (maj === r.major && min === r.minor) continue;
      const w = this.exceptions.get(keyOf(r.type, maj, min));
      if (w && w.access & r.access)
        throw new BuncError(`devices: rule "${ruleLine(r)}" cannot punch a hole in the wildcard rule "${ruleLine({ ...w, allow: !r.allow })}"`);
    }
    const k = keyOf(r.type, r.major, r.minor);
    const old = this.exceptions.get(k);
    if (!old) return;
    const left = old.access & ~r.access;
    if (left === 0) this.exceptions.delete(k);
    else old.access = left;
  }

  /** Exceptions in a stable order (major, minor, type), as rules that differ from the default. */
  sortedExceptions(): DevRule[] {
    return [...this.exceptions.values()]
      .sort(byDevice)
      .map((e) => ({ ...e, allow: !this.defaultAllow }));
  }

  /**
   * The fewest writes that turn `this` (the cgroup now) into `target`. A black-list source cannot
   * be read back exactly, so it always starts with a reset, as does a change of default.
   */
  transitionTo(target: DeviceEmulator): DevRule[] {
    const out: DevRule[] = [];
    let old = this.exceptions;
    if (this.defaultAllow || this.defaultAllow !== target.defaultAllow) {
      out.push({ type: "a", major: WILDCARD, minor: WILDCARD, access: ACCESS_ALL, allow: target.defaultAllow });
      old = new Map();
    }
    const sorted = (m: Map<Key, { type: DevType; major: number; minor: number; access: number }>) =>
      [...m.entries()].sort(([, a], [, b]) => byDevice(a, b));
    for (const [k, e] of sorted(old)) {
      const dropped = e.access & ~(target.exceptions.get(k)?.access ?? 0);
      if (dropped) out.push({ type: e.type, major: e.major, minor: e.minor, access: dropped, allow: target.defaultAllow });
    }
    for (const [k, e] of sorted(target.exceptions)) {
      const gained = e.access & ~(old.get(k)?.access ?? 0);
      if (gained) out.push({ type: e.type, major: e.major, minor: e.minor, access: gained, allow: !target.defaultAllow });
    }
    return out;
  }
}
