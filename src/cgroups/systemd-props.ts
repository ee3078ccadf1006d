// The unit properties runc gives systemd for a container's transient scope, as plain
// [name, signature, value] triples (dbus.ts wraps them in Variants). Pure: tested without systemd.
import { BuncError } from "../errors.ts";
import type { LinuxResources } from "../spec/types.ts";
import { cpuQuotaPerSecUSec, cpuSharesToWeight, MAX_UINT64, memorySwapToV2, rangeToBits } from "./convert.ts";
import { accessString, DeviceEmulator, WILDCARD, type DevRule } from "./devices.ts";

export type Prop = [name: string, signature: string, value: unknown];

/** DevicePolicy + DeviceAllow from the container's rules (systemd only knows allow lists). */
export function deviceProperties(rules: DevRule[] | undefined, sdVersion: number): Prop[] {
  if (!rules) return []; // skipDevices: no device policy on this unit
  const emu = DeviceEmulator.fromRules(rules, DeviceEmulator.denyAll());
  if (emu.defaultAllow) {
    // allow-all is expressible; a deny list is not: fall back to deny-all, our own filter decides
    return emu.isAllowAll() ? [["DevicePolicy", "s", "auto"], ["DeviceAllow", "a(ss)", []]] : [["DevicePolicy", "s", "strict"], ["DeviceAllow", "a(ss)", []]];
  }
  const allow: [string, string][] = [];
  for (const r of emu.sortedExceptions()) {
    const group = r.type === "b" ? "block-" : "char-";
    let path: string;
    if (r.major === WILDCARD) {
      if (r.minor !== WILDCARD) continue; // "*:n" has no systemd form (our own filter still applies it)
      path = group + "*";
    } else if (r.minor === WILDCARD) {
      if (sdVersion < 240) continue; // older systemd wants /proc/devices group names
      path = group + r.major;
    } else {
      path = `/dev/${r.type === "b" ? "block" : "char"}/${r.major}:${r.minor}`;
    }
    allow.push([path, accessString(r.access)]);
  }
  return [["DevicePolicy", "s", "strict"], ["DeviceAllow", "a(ss)", allow]];
}

function cpuQuotaProps(quota: number, period: number, sdVersion: number): Prop[] {
  const out: Prop[] = [];
  if (period && sdVersion >= 242) out.push(["CPUQuotaPeriodUSec", "t", BigInt(period)]);
  if (quota || period) out.push(["CPUQuotaPerSecUSec", "t", cpuQuotaPerSecUSec(quota, period)]);
  return out;
}

function cpusetProps(r: LinuxResources, sdVersion: number): Prop[] {
  if (sdVersion < 244) return []; // applied through the files only
  const out: Prop[] = [];
  if (r.cpu?.cpus) out.push(["AllowedCPUs", "ay", rangeToBits(r.cpu.cpus)]);
  if (r.cpu?.mems) out.push(["AllowedMemoryNodes", "ay", rangeToBits(r.cpu.mems)]);
  return out;
}

const u64 = (v: number): bigint => (v === -1 ? MAX_UINT64 : BigInt(v));

/** Resource properties for a cgroup v2 host (runc's genV2ResourcesProperties). */
export function v2ResourceProps(r: LinuxResources, rules: DevRule[] | undefined, sdVersion: number): Prop[] {
  const out: Prop[] = [...deviceProperties(rules, sdVersion)];
  const m = r.memory;
  if (m?.limit) out.push(["MemoryMax", "t", u64(m.limit)]);
  if (m?.reservation) out.push(["MemoryLow", "t", u64(m.reservation)]);
  const swap = memorySwapToV2(m?.swap ?? 0, m?.limit ?? 0);
  if (swap !== 0) out.push(["MemorySwapMax", "t", u64(swap)]);
  if (r.cpu?.idle === 1 && sdVersion >= 252) out.push(["CPUWeight", "t", 0n]); // CPUWeight=0 means cpu.idle=1
  else if (r.cpu?.shares) out.push(["CPUWeight", "t", BigInt(cpuSharesToWeight(r.cpu.shares))]);
  out.push(...cpuQuotaProps(r.cpu?.quota ?? 0, r.cpu?.period ?? 0, sdVersion));
  const pids = r.pids?.limit;
  if (pids !== undefined && (pids > 0 || pids === -1)) out.push(["TasksMax", "t", u64(pids)]);
  out.push(...cpusetProps(r, sdVersion));
  out.push(...unifiedProps(r.unified ?? {}, sdVersion));
  return out;
}

/** Resource properties for a cgroup v1 host (runc's genV1ResourcesProperties). */
export function v1ResourceProps(r: LinuxResources, rules: DevRule[] | undefined, sdVersion: number): Prop[] {
  const out: Prop[] = [...deviceProperties(rules, sdVersion)];
  if (r.memory?.limit) out.push(["MemoryLimit", "t", u64(r.memory.limit)]);
  if (r.cpu?.shares) out.push(["CPUShares", "t", BigInt(r.cpu.shares)]);
  out.push(...cpuQuotaProps(r.cpu?.quota ?? 0, r.cpu?.period ?? 0, sdVersion));
  if (r.blockIO?.weight) out.push(["BlockIOWeight", "t", BigInt(r.blockIO.weight)]);
  const pids = r.pids?.limit;
  if (pids !== undefined && (pids > 0 || pids === -1)) out.push(["TasksMax", "t", u64(pids)]);
  out.push(...cpusetProps(r, sdVersion));
  return out;
}

/** Best-effort mapping of raw v2 keys onto properties (the files are still written after). */
function unifiedProps(u: Record<string, string>, sdVersion: number): Prop[] {
  const out: Prop[] = [];
  const num = (k: string, v: string): bigint => {
    if (v === "max") return MAX_UINT64;
    if (!/^\d+$/.test(v)) throw new BuncError(`linux.resources.unified: "${k}": "${v}" is not a number`);
    return BigInt(v);
  };
  const memoryNames: Record<string, string> = { "memory.high": "MemoryHigh", "memory.low": "MemoryLow", "memory.min": "MemoryMin", "memory.max": "MemoryMax", "memory.swap.max": "MemorySwapMax" };
  for (const [k, raw] of Object.entries(u)) {
    const v = raw.trim();
    if (k in memoryNames) out.push([memoryNames[k]!, "t", num(k, v)]);
    else if (k === "pids.max") out.push(["TasksMax", "t", num(k, v)]);
    else if (k === "cpu.weight" && !(u["cpu.idle"]?.trim() === "1" && sdVersion >= 252)) out.push(["CPUWeight", "t", num(k, v)]);
    else if (k === "cpu.idle" && v === "1" && sdVersion >= 252) out.push(["CPUWeight", "t", 0n]);
    else if (k === "cpu.max") {
      const [q, p] = v.split(/\s+/);
      const period = p === undefined ? 100000 : Number(p);
      out.push(...cpuQuotaProps(q === "max" ? 0 : Number(q), period, sdVersion));
    } else if ((k === "cpuset.cpus" || k === "cpuset.mems") && sdVersion >= 244) {
      out.push([k === "cpuset.cpus" ? "AllowedCPUs" : "AllowedMemoryNodes", "ay", rangeToBits(v)]);
    }
  }
  return out;
}

export interface UnitSpec {
  unit: string;
  slice: string;
  name: string;
  pid: number;
  fs: "v1" | "v2";
  resources: LinuxResources;
  rules: DevRule[] | undefined;
  sdVersion: number;
  annotations?: Record<string, string>;
}

/** Everything StartTransientUnit gets (runc's Apply + the resource properties of its Set). */
export function unitProperties(u: UnitSpec): Prop[] {
  const out: Prop[] = [["Description", "s", `libcontainer container ${u.name}`]];
  if (u.unit.endsWith(".slice")) out.push(["Wants", "as", [u.slice]]);
  else out.push(["Slice", "s", u.slice], ["Delegate", "b", true]);
  if (u.pid > 0) out.push(["PIDs", "au", [u.pid]]);
  out.push(
    ["MemoryAccounting", "b", true],
    ["CPUAccounting", "b", true],
    [u.fs === "v2" ? "IOAccounting" : "BlockIOAccounting", "b", true],
    ["TasksAccounting", "b", true],
    ["DefaultDependencies", "b", false],
  );
  const oomGroup = u.resources.unified?.["memory.oom.group"]?.trim();
  if (u.fs === "v2" && (oomGroup === "0" || oomGroup === "1")) out.push(["OOMPolicy", "s", oomGroup === "1" ? "kill" : "continue"]);
  out.push(...(u.fs === "v2" ? v2ResourceProps(u.resources, u.rules, u.sdVersion) : v1ResourceProps(u.resources, u.rules, u.sdVersion)));
  out.push(...annotationProps(u.annotations ?? {}));
  return out;
}

/**
 * Annotations org.systemd.property.<Name>=<value> become properties. Values use the GVariant
 * text forms runc accepts for the common cases: true/false, 'text', "text", a bare number
 * (int32), or a typed number such as "uint64 5" / "@t 5". Names ending in lowercase+"Sec" take
 * seconds and are sent as ...USec, like runc does.
 */
export function annotationProps(annotations: Record<string, string>): Prop[] {
  const out: Prop[] = [];
  const prefix = "org.systemd.property.";
  for (const [k, raw] of Object.entries(annotations)) {
    if (!k.startsWith(prefix)) continue;
    let name = k.slice(prefix.length);
    if (!/^[A-Za-z]{3,}$/.test(name)) throw new BuncError(`annotation ${k}: the property name must be 3 or more latin letters`);
    let [sig, value] = parseVariantText(raw.trim(), k);
    const sec = /^(.*[a-z])Sec$/.exec(name);
    if (sec) {
      if (!"ynqiuxtd".includes(sig)) throw new BuncError(`annotation ${k}=${raw}: a ...Sec property needs a number`);
      name = sec[1] + "USec";
      value = sig === "d" ? BigInt(Math.floor((value as number) * 1e6)) : BigInt(value as number | bigint) * 1_000_000n;
      sig = "t";
    }
    out.push([name, sig, value]);
  }
  return out;
}

const TYPED: Record<string, string> = { byte: "y", int16: "n", uint16: "q", int32: "i", uint32: "u", int64: "x", uint64: "t", double: "d" };

function parseVariantText(v: string, where: string): [string, unknown] {
  if (v === "true" || v === "false") return ["b", v === "true"];
  const str = /^'(.*)'$|^"(.*)"$/.exec(v);
  if (str) return ["s", str[1] ?? str[2]];
  const typed = /^(?:(byte|int16|uint16|int32|uint32|int64|uint64|double)|@([ynqiuxtd]))\s+(-?[\d.]+)$/.exec(v);
  if (typed) {
    const sig = typed[1] ? TYPED[typed[1]]! : typed[2]!;
    return [sig, sig === "x" || sig === "t" ? BigInt(typed[3]!) : Number(typed[3])];
  }
  if (/^-?\d+$/.test(v)) return ["i", Number(v)];
  if (/^-?\d+\.\d*$/.test(v)) return ["d", Number(v)];
  throw new BuncError(`annotation ${where}=${v}: cannot parse the value (use true/false, 'text', a number or "uint64 N")`);
}
