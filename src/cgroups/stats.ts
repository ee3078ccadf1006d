// The "data" object of runc's `events --stats` (runc types/events.go), built straight from the
// cgroup files. Field names and omitempty behaviour follow runc's JSON: zero numbers and empty
// lists are left out where runc leaves them out. Values are bigint inside (uint64 counters) and
// become plain JSON numbers through statsToJson.
export interface MemoryEntry {
  limit: bigint;
  usage?: bigint;
  max?: bigint;
  failcnt: bigint;
}

export interface BlkioEntry {
  major?: bigint;
  minor?: bigint;
  op?: string;
  value?: bigint;
}

export interface Stats {
  cpu: {
    usage: { total?: bigint; percpu?: bigint[]; percpu_kernel?: bigint[]; percpu_user?: bigint[]; kernel: bigint; user: bigint };
    throttling: { periods?: bigint; throttledPeriods?: bigint; throttledTime?: bigint };
  };
  cpuset: {
    cpus?: number[];
    cpu_exclusive: bigint;
    mems?: number[];
    mem_hardwall: bigint;
    mem_exclusive: bigint;
    memory_migrate: bigint;
    memory_spread_page: bigint;
    memory_spread_slab: bigint;
    memory_pressure: bigint;
    sched_load_balance: bigint;
    sched_relax_domain_level: bigint;
  };
  memory: {
    cache?: bigint;
    usage: MemoryEntry;
    swap: MemoryEntry;
    kernel: MemoryEntry;
    kernelTCP: MemoryEntry;
    raw?: Record<string, bigint>;
  };
  pids: { current?: bigint; limit?: bigint };
  blkio: {
    ioServiceBytesRecursive?: BlkioEntry[];
    ioServicedRecursive?: BlkioEntry[];
    ioQueueRecursive?: BlkioEntry[];
    ioServiceTimeRecursive?: BlkioEntry[];
    ioWaitTimeRecursive?: BlkioEntry[];
    ioMergedRecursive?: BlkioEntry[];
    ioTimeRecursive?: BlkioEntry[];
    sectorsRecursive?: BlkioEntry[];
  };
  hugetlb: Record<string, { usage?: bigint; max?: bigint; failcnt: bigint }>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

const emptyMem = (): MemoryEntry => ({ limit: 0n, failcnt: 0n });

export function emptyStats(): Stats {
  return {
    cpu: { usage: { kernel: 0n, user: 0n }, throttling: {} },
    cpuset: {
      cpu_exclusive: 0n,
      mem_hardwall: 0n,
      mem_exclusive: 0n,
      memory_migrate: 0n,
      memory_spread_page: 0n,
      memory_spread_slab: 0n,
      memory_pressure: 0n,
      sched_load_balance: 0n,
      sched_relax_domain_level: 0n,
    },
    memory: { usage: emptyMem(), swap: emptyMem(), kernel: emptyMem(), kernelTCP: emptyMem() },
    pids: {},
    blkio: {},
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** Keys runc marks omitempty: dropped when zero/empty. Everything else is always present. */
const OMIT_WHEN_ZERO = new Set([
  "total", "percpu", "percpu_kernel", "percpu_user", "periods", "throttledPeriods", "throttledTime",
  "cpus", "mems", "cache", "usage", "max", "raw", "current", "major", "minor", "op", "value",
  "ioServiceBytesRecursive", "ioServicedRecursive", "ioQueueRecursive", "ioServiceTimeRecursive",
  "ioWaitTimeRecursive", "ioMergedRecursive", "ioTimeRecursive", "sectorsRecursive",
]);

function isZero(v: unknown): boolean {
  return v === undefined || v === 0n || v === 0 || v === "" || (Array.isArray(v) && v.length === 0) ||
    (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
}

function plain(v: unknown, parent?: string): unknown {
  if (typeof v === "bigint") return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v; // huge: kept exact below
  if (Array.isArray(v)) return v.map((x) => plain(x));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      // pids.limit is omitempty in runc, a memory entry's limit is not
      // (memory.raw is a map of the kernel's counters: every one is kept, zeros included)
      if (parent !== "raw" && (OMIT_WHEN_ZERO.has(k) || (parent === "pids" && k === "limit")) && isZero(x)) continue;
      out[k] = plain(x, k);
    }
    return out;
  }
  return v;
}

/** JSON text of a value that may hold bigints above 2^53 (memory limits of 2^63-ish). */
export function toJson(v: unknown): string {
  return JSON.stringify(plain(v), (_k, x) => (typeof x === "bigint" ? `__big__${x}` : x)).replace(/"__big__(\d+)"/g, "$1");
}

/** The runc-shaped stats object as plain JSON-able data (numbers; exact via toJson). */
export function statsToJson(s: Stats): unknown {
  return plain(s);
}
