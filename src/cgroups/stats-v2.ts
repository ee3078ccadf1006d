// Stats from a cgroup v2 directory, mapped onto runc's v1-shaped stats as runc's fs2 does.
import { MAX_UINT64, parseCpuList } from "./convert.ts";
import { readFlatKeyed, readOptional, readUintOptional } from "./fs.ts";
import { emptyStats, type BlkioEntry, type Stats } from "./stats.ts";

function memory(dir: string, s: Stats): void {
  const stat = readFlatKeyed(`${dir}/memory.stat`);
  if (!stat) return;
  s.memory.raw = Object.fromEntries(stat);
  s.memory.cache = stat.get("file");
  const usage = readUintOptional(`${dir}/memory.current`) ?? 0n;
  const limit = readUintOptional(`${dir}/memory.max`) ?? MAX_UINT64;
  s.memory.usage = { usage, limit, max: readUintOptional(`${dir}/memory.peak`), failcnt: 0n };
  const swapUsage = readUintOptional(`${dir}/memory.swap.current`);
  if (swapUsage !== undefined) {
    // v1 reports memory+swap: add memory back for compatibility; no peak for the sum
    const swapLimit = readUintOptional(`${dir}/memory.swap.max`) ?? MAX_UINT64;
    s.memory.swap = { usage: swapUsage + usage, limit: swapLimit === MAX_UINT64 ? MAX_UINT64 : swapLimit + limit, failcnt: 0n };
  }
}

function cpu(dir: string, s: Stats): void {
  const st = readFlatKeyed(`${dir}/cpu.stat`);
  if (!st) return;
  const us = (k: string) => (st.get(k) === undefined ? undefined : st.get(k)! * 1000n);
  s.cpu.usage.total = us("usage_usec");
  s.cpu.usage.user = us("user_usec") ?? 0n;
  s.cpu.usage.kernel = us("system_usec") ?? 0n;
  s.cpu.throttling = { periods: st.get("nr_periods"), throttledPeriods: st.get("nr_throttled"), throttledTime: us("throttled_usec") };
}

function cpuset(dir: string, s: Stats): void {
  const cpus = readOptional(`${dir}/cpuset.cpus.effective`);
  const mems = readOptional(`${dir}/cpuset.mems.effective`);
  if (cpus !== undefined) s.cpuset.cpus = parseCpuList(cpus);
  if (mems !== undefined) s.cpuset.mems = parseCpuList(mems);
}

function pids(dir: string, s: Stats): void {
  const current = readUintOptional(`${dir}/pids.current`);
  if (current === undefined) return;
  const max = readOptional(`${dir}/pids.max`)?.trim();
  s.pids = { current, limit: max === undefined || max === "max" ? 0n : BigInt(max) };
}

/** io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." -> v1-style Read/Write tables. */
export function parseIoStat(text: string): Pick<Stats["blkio"], "ioServiceBytesRecursive" | "ioServicedRecursive"> {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of text.split("\n")) {
    const [dev, ...kv] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? "");
    if (!m) continue;
    const major = BigInt(m[1]!);
    const minor = BigInt(m[2]!);
    for (const item of kv) {
      const [k, v] = item.split("=");
      if (v === undefined) continue;
      const table = k === "rbytes" || k === "wbytes" ? bytes : k === "rios" || k === "wios" ? ios : undefined;
      if (!table) continue;
      table.push({ major, minor, op: k!.startsWith("r") ? "Read" : "Write", value: BigInt(v) });
    }
  }
  return { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
}

function io(dir: string, s: Stats): void {
  const text = readOptional(`${dir}/io.stat`);
  if (text !== undefined) s.blkio = parseIoStat(text);
}

function hugetlb(dir: string, s: Stats, pageSizes: string[]): void {
  for (const size of pageSizes) {
    const usage = readUintOptional(`${dir}/hugetlb.${size}.current`);
    if (usage === undefined) continue;
    const events = readFlatKeyed(`${dir}/hugetlb.${size}.events`);
    s.hugetlb[size] = { usage, failcnt: events?.get("max") ?? 0n };
  }
}

export function statsV2(dir: string, pageSizes: string[]): Stats {
  const s = emptyStats();
  pids(dir, s);
  memory(dir, s);
  io(dir, s);
  cpu(dir, s);
  cpuset(dir, s);
  hugetlb(dir, s, pageSizes);
  return s;
}

export function oomKillCountV2(dir: string): number {
  return Number(readFlatKeyed(`${dir}/memory.events`)?.get("oom_kill") ?? 0n);
}
