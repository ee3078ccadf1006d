// Stats from cgroup v1 files, one reader per controller, as runc's fs package reads them.
import { parseCpuList } from "./convert.ts";
import { parseFlatKeyed, readFlatKeyed, readOptional, readUintOptional } from "./fs.ts";
import { emptyStats, type BlkioEntry, type MemoryEntry, type Stats } from "./stats.ts";

function memoryEntry(dir: string, prefix: string): MemoryEntry {
  const u = (f: string) => readUintOptional(`${dir}/${prefix}.${f}`);
  return { usage: u("usage_in_bytes"), max: u("max_usage_in_bytes"), failcnt: u("failcnt") ?? 0n, limit: u("limit_in_bytes") ?? 0n };
}

function memory(dir: string, s: Stats): void {
  const stat = readFlatKeyed(`${dir}/memory.stat`);
  if (!stat) return;
  s.memory.raw = Object.fromEntries(stat);
  s.memory.cache = stat.get("cache");
  s.memory.usage = memoryEntry(dir, "memory");
  s.memory.swap = memoryEntry(dir, "memory.memsw");
  s.memory.kernel = memoryEntry(dir, "memory.kmem");
  s.memory.kernelTCP = memoryEntry(dir, "memory.kmem.tcp");
}

function cpuacct(dir: string, s: Stats): void {
  const total = readUintOptional(`${dir}/cpuacct.usage`);
  if (total === undefined) return;
  s.cpu.usage.total = total;
  const list = (f: string) => readOptional(`${dir}/${f}`)?.trim().split(/\s+/).filter(Boolean).map(BigInt);
  s.cpu.usage.percpu = list("cpuacct.usage_percpu");
  // cpuacct.stat is in USER_HZ ticks (100/s): runc converts to nanoseconds
  const st = readFlatKeyed(`${dir}/cpuacct.stat`);
  const NS_PER_TICK = 10_000_000n;
  if (st) {
    s.cpu.usage.user = (st.get("user") ?? 0n) * NS_PER_TICK;
    s.cpu.usage.kernel = (st.get("system") ?? 0n) * NS_PER_TICK;
  }
  // usage_all: "cpu user system" per line, nanoseconds
  const all = readOptional(`${dir}/cpuacct.usage_all`);
  if (all) {
    const kernel: bigint[] = [];
    const user: bigint[] = [];
    for (const line of all.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length !== 3) continue;
      user.push(BigInt(f[1]!));
      kernel.push(BigInt(f[2]!));
    }
    s.cpu.usage.percpu_kernel = kernel;
    s.cpu.usage.percpu_user = user;
  }
}

function cpu(dir: string, s: Stats): void {
  const st = readFlatKeyed(`${dir}/cpu.stat`);
  if (!st) return;
  s.cpu.throttling = { periods: st.get("nr_periods"), throttledPeriods: st.get("nr_throttled"), throttledTime: st.get("throttled_time") };
}

function cpuset(dir: string, s: Stats): void {
  const list = (f: string) => {
    const t = readOptional(`${dir}/cpuset.${f}`);
    return t === undefined ? undefined : parseCpuList(t);
  };
  const u = (f: string) => readUintOptional(`${dir}/cpuset.${f}`) ?? 0n;
  s.cpuset = {
    cpus: list("cpus"),
    cpu_exclusive: u("cpu_exclusive"),
    mems: list("mems"),
    mem_hardwall: u("mem_hardwall"),
    mem_exclusive: u("mem_exclusive"),
    memory_migrate: u("memory_migrate"),
    memory_spread_page: u("memory_spread_page"),
    memory_spread_slab: u("memory_spread_slab"),
    memory_pressure: u("memory_pressure"),
    sched_load_balance: u("sched_load_balance"),
    sched_relax_domain_level: BigInt(readOptional(`${dir}/cpuset.sched_relax_domain_level`)?.trim() || "0"),
  };
}

function pids(dir: string, s: Stats): void {
  const current = readUintOptional(`${dir}/pids.current`);
  if (current === undefined) return;
  const max = readOptional(`${dir}/pids.max`)?.trim();
  // "max" means no limit: runc reports 0 (omitted)
  s.pids = { current, limit: max === undefined || max === "max" ? 0n : BigInt(max) };
}

/** blkio files: "8:0 Read 123" lines (and a "Total N" line that is skipped). */
export function parseBlkio(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/[\s:]+/).filter(Boolean);
    if (f.length < 3) continue;
    const op = f.length === 4 ? f[2] : "";
    out.push({ major: BigInt(f[0]!), minor: BigInt(f[1]!), op, value: BigInt(f[f.length - 1]!) });
  }
  return out;
}

function blkio(dir: string, s: Stats): void {
  // Kernels expose different file sets (bfq, cfq, throttle only); take the first group present.
  const groups: [string, keyof Stats["blkio"]][][] = [
    [["blkio.bfq.io_serviced_recursive", "ioServicedRecursive"], ["blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive"]],
    [
      ["blkio.io_serviced_recursive", "ioServicedRecursive"], ["blkio.io_service_bytes_recursive", "ioServiceBytesRecursive"],
      ["blkio.sectors_recursive", "sectorsRecursive"], ["blkio.io_service_time_recursive", "ioServiceTimeRecursive"],
      ["blkio.io_wait_time_recursive", "ioWaitTimeRecursive"], ["blkio.io_merged_recursive", "ioMergedRecursive"],
      ["blkio.io_queued_recursive", "ioQueueRecursive"], ["blkio.time_recursive", "ioTimeRecursive"],
    ],
    [["blkio.throttle.io_serviced_recursive", "ioServicedRecursive"], ["blkio.throttle.io_service_bytes_recursive", "ioServiceBytesRecursive"]],
    [["blkio.throttle.io_serviced", "ioServicedRecursive"], ["blkio.throttle.io_service_bytes", "ioServiceBytesRecursive"]],
  ];
  for (const group of groups) {
    const first = readOptional(`${dir}/${group[0]![0]}`);
    if (first === undefined) continue;
    for (const [file, key] of group) {
      const text = readOptional(`${dir}/${file}`);
      if (text !== undefined) (s.blkio as Record<string, BlkioEntry[]>)[key] = parseBlkio(text);
    }
    return;
  }
}

function hugetlb(dir: string, s: Stats, pageSizes: string[]): void {
  for (const size of pageSizes) {
    const u = (f: string) => readUintOptional(`${dir}/hugetlb.${size}.${f}`);
    const usage = u("usage_in_bytes");
    if (usage === undefined) continue;
    s.hugetlb[size] = { usage, max: u("max_usage_in_bytes"), failcnt: u("failcnt") ?? 0n };
  }
}

/** Stats of a v1 container from its per-controller directories. */
export function statsV1(paths: Record<string, string>, pageSizes: string[]): Stats {
  const s = emptyStats();
  const at = (c: string) => paths[c];
  if (at("memory")) memory(at("memory")!, s);
  if (at("cpuacct")) cpuacct(at("cpuacct")!, s);
  if (at("cpu")) cpu(at("cpu")!, s);
  if (at("cpuset")) cpuset(at("cpuset")!, s);
  if (at("pids")) pids(at("pids")!, s);
  if (at("blkio")) blkio(at("blkio")!, s);
  if (at("hugetlb")) hugetlb(at("hugetlb")!, s, pageSizes);
  return s;
}

/** memory.oom_control carries "oom_kill N" since Linux 4.13. */
export function oomKillCountV1(memoryDir: string | undefined): number {
  if (!memoryDir) return 0;
  const text = readOptional(`${memoryDir}/memory.oom_control`);
  if (!text) return 0;
  return Number(parseFlatKeyed(text).get("oom_kill") ?? 0n);
}
