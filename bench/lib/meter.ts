// Memory of one command: its peak RSS (GNU time's %M, i.e. wait4's ru_maxrss: file-backed pages
// of the executable count too), and the peak memory charged to a fresh memory cgroup it runs in
// (anonymous memory, page tables, kernel objects and page cache it brought in: what the command
// really costs the host, the shared executable pages other processes already loaded excluded).
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { BENCH_CGROUP } from "./bundle.ts";
import type { Ctx } from "./context.ts";

const TIME = "/usr/bin/time";

export interface Measured {
  maxRssKiB: number;
  /** undefined when the host has no usable memory controller for the meter */
  chargedKiB?: number;
}

/** v1: memory.max_usage_in_bytes; v2: memory.peak (Linux 5.19+). */
function meterFiles(tag: string): { dir: string; peak: string } | undefined {
  const v1 = `/sys/fs/cgroup/memory${BENCH_CGROUP}`;
  if (existsSync("/sys/fs/cgroup/memory/memory.limit_in_bytes") || existsSync("/sys/fs/cgroup/memory/tasks")) {
    return { dir: `${v1}/meter-${tag}`, peak: "memory.max_usage_in_bytes" };
  }
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return { dir: `/sys/fs/cgroup${BENCH_CGROUP}/meter-${tag}`, peak: "memory.peak" };
  return undefined;
}

export function measure(ctx: Ctx, argv: string[], tag: string): Measured {
  const out = `${ctx.tmp}/maxrss-${tag}`;
  const meter = meterFiles(tag);
  let usable = false;
  if (meter) {
    try {
      mkdirSync(meter.dir, { recursive: true });
      usable = existsSync(`${meter.dir}/${meter.peak}`);
    } catch {}
  }
  // sh moves itself into the meter, then becomes the command (same process: %M covers both).
  const wrapped = usable ? ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', meter!.dir, ...argv] : argv;
  try {
    ctx.sp.time([TIME, "-f", "%M", "-o", out, ...wrapped]);
    const maxRssKiB = Number(readFileSync(out, "utf8").trim().split("\n").pop());
    const chargedKiB = usable ? Number(readFileSync(`${meter!.dir}/${meter!.peak}`, "utf8").trim()) / 1024 : undefined;
    return { maxRssKiB, chargedKiB };
  } finally {
    if (meter && usable) {
      try {
        rmdirSync(meter.dir);
      } catch {} // cleanup at the end removes it if a straggler still holds it
    }
  }
}
