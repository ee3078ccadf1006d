// The OCI resources are written in cgroup v1 terms; cgroup v2 and systemd need other units.
// These conversions follow runc (opencontainers/cgroups utils.go) so that kubelet sees the same
// values under either runtime.
import { BuncError } from "../errors.ts";

export const MAX_UINT64 = 0xffff_ffff_ffff_ffffn;

/**
 * cpu.shares [2, 262144] -> cpu.weight [1, 10000]. runc (since 1.3) uses a curve through
 * (2 -> 1), (1024 -> 100), (262144 -> 10000) so that the default share maps to the default weight.
 */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
  return Math.ceil(Math.pow(10, exponent));
}

/** blkio.weight [10, 1000] -> io.weight [1, 10000], linear. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI memory.swap is memory+swap (the v1 memsw counter); v2 memory.swap.max is swap alone.
 * Returns -1 for "max", 0 for "leave unset".
 */
export function memorySwapToV2(swap: number, limit: number): number {
  if (limit === -1 && swap === 0) return -1; // unlimited memory and no swap given: both unlimited
  if (swap === -1 || swap === 0) return swap;
  if (limit === -1) return swap;
  if (limit === 0) throw new BuncError("linux.resources.memory.swap: cannot set a swap limit without a memory limit");
  if (limit < 0) throw new BuncError(`linux.resources.memory.limit: invalid value ${limit}`);
  if (swap < limit) throw new BuncError(`linux.resources.memory.swap (${swap}) must be >= memory.limit (${limit}): swap is memory+swap`);
  return swap - limit;
}

/** v2 "max"-style files: -1 means no limit. 0 means "not set" and is not written. */
export function v2Limit(value: number): string {
  return value === -1 ? "max" : String(value);
}

/**
 * A systemd CPUQuotaPerSecUSec from a CFS quota/period, rounded up to whole percents (systemd
 * stores CPUQuota as a percentage, and a child asking for the exact quota must still fit).
 */
export function cpuQuotaPerSecUSec(quota: number, period: number): bigint {
  if (quota <= 0) return MAX_UINT64; // USEC_INFINITY
  const p = BigInt(period || 100000);
  let v = (BigInt(quota) * 1_000_000n) / p;
  if (v % 10000n !== 0n) v = (v / 10000n + 1n) * 10000n;
  return v;
}

/** "0-3,8" -> the little-endian bitmask systemd wants for AllowedCPUs / AllowedMemoryNodes. */
export function rangeToBits(list: string): Uint8Array {
  const bits: number[] = [];
  for (const part of list.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new BuncError(`cpuset "${list}": invalid range "${part}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new BuncError(`cpuset "${list}": invalid range "${part}"`);
    if (hi > 8191) throw new BuncError(`cpuset "${list}": ${hi} is too large`);
    for (let i = lo; i <= hi; i++) bits.push(i);
  }
  if (bits.length === 0) throw new BuncError(`cpuset "${list}": empty`);
  const out = new Uint8Array(Math.floor(Math.max(...bits) / 8) + 1);
  for (const b of bits) out[b >> 3]! |= 1 << (b & 7);
  return out;
}

/** "0-2,5" -> [0,1,2,5] (stats report cpuset lists this way). */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(",").filter(Boolean)) {
    const [a, b] = part.split("-");
    const lo = Number(a);
    const hi = b === undefined ? lo : Number(b);
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}

/** hugepages-2048kB -> "2MB", as the hugetlb controller names its files. */
export function pageSizeName(dirName: string): string | undefined {
  const m = /^hugepages-(\d+)kB$/.exec(dirName);
  if (!m) return undefined;
  const kb = Number(m[1]);
  if (kb >= 1 << 20) return `${kb >> 20}GB`;
  if (kb >= 1 << 10) return `${kb >> 10}MB`;
  return `${kb}KB`;
}
