// 5. Memory: peak RSS of the runtime process for `create` (GNU time's %M, i.e. wait4's
// ru_maxrss), what stays resident on the host per running container (runtime processes still
// alive after a detached start; bunc's init/pause program when asked for), binary sizes.
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from "node:fs";
import type { Ctx } from "../lib/context.ts";
import { kib, ratio, table, type Headline } from "../lib/format.ts";
import type { Runtime } from "../lib/runtimes.ts";
import { summarize } from "../lib/stats.ts";
import { reapAll } from "../lib/sys.ts";
import type { Section } from "./section.ts";

const TIME = "/usr/bin/time";

/** Peak RSS in KiB of argv, as wait4 reports it for the process (and what it exec'd). */
function peakRss(ctx: Ctx, argv: string[], tag: string): number {
  const out = `${ctx.tmp}/maxrss-${tag}`;
  ctx.sp.time([TIME, "-f", "%M", "-o", out, ...argv]);
  return Number(readFileSync(out, "utf8").trim().split("\n").pop());
}

function vmRssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

/** Live processes running binary (by /proc/<pid>/exe). */
function processesOf(binary: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/exe`) === binary) out.push(Number(e));
    } catch {}
  }
  return out;
}

/** Processes of the container's cgroup (the memory hierarchy on v1, the unified one on v2). */
function containerProcesses(cgroupsPath: string): number[] {
  for (const dir of [`/sys/fs/cgroup/memory${cgroupsPath}`, `/sys/fs/cgroup${cgroupsPath}`]) {
    try {
      return readFileSync(`${dir}/cgroup.procs`, "utf8").split("\n").filter(Boolean).map(Number);
    } catch {}
  }
  return [];
}

function sharedLibsSize(ctx: Ctx, binary: string): number {
  let out = "";
  try {
    out = ctx.sp.output(["ldd", binary]);
  } catch {
    return 0; // static
  }
  let total = 0;
  for (const m of out.matchAll(/=>\s+(\/\S+)|^\s+(\/\S+)\s+\(/gm)) {
    try {
      total += statSync(realpathSync(m[1] ?? m[2]!)).size;
    } catch {}
  }
  return total;
}

interface Residency {
  label: string;
  runtimeProcs: number;
  runtimeRss: number;
  /** the container's processes: comm and RSS */
  inContainer: string;
  /** the pid in --pid-file (the container's first process): comm and RSS */
  pid1: string;
  pid1Rss: number;
}

function residency(ctx: Ctx, rt: Runtime, label: string, args: string[], annotations?: Record<string, string>): Residency {
  const before = new Set(processesOf(rt.binary));
  const c = ctx.newContainer(rt, args, annotations);
  ctx.create(rt, c);
  const pid = ctx.pid(c);
  ctx.sp.time(rt.argv(["start", c.id]));
  Bun.sleepSync(200); // let the container settle (the init forks its child, the runtime is gone)
  try {
    const left = processesOf(rt.binary).filter((p) => !before.has(p));
    const inside = containerProcesses(c.cgroupsPath).map((p) => `${comm(p)} ${kib(vmRssKiB(p))}`);
    return {
      label,
      runtimeProcs: left.length,
      runtimeRss: left.reduce((a, p) => a + vmRssKiB(p), 0),
      inContainer: inside.join(", ") || "none",
      pid1: `${comm(pid)} ${kib(vmRssKiB(pid))}`,
      pid1Rss: vmRssKiB(pid),
    };
  } finally {
    ctx.stopAndDelete(rt, c, pid);
    reapAll();
  }
}

export function benchMemory(ctx: Ctx): Section {
  // Peak RSS of create, interleaved.
  const create: Record<string, number[]> = { bunc: [], runc: [], crun: [], wrapper: [], true: [], emptyBun: [] };
  for (let i = 0; i < ctx.sizes.memoryIterations; i++) {
    for (const rt of ctx.rts) {
      const c = ctx.newContainer(rt, ["sleep", "3600"]);
      create[rt.name]!.push(peakRss(ctx, rt.argv(["create", "--bundle", c.bundle, "--pid-file", c.pidFile, c.id]), c.id));
      const pid = ctx.pid(c);
      ctx.sp.time(rt.argv(["start", c.id]));
      ctx.stopAndDelete(rt, c, pid);
      reapAll();
    }
    if (ctx.wrapperOnly) create.wrapper!.push(peakRss(ctx, ctx.wrapperOnly, `wrapper-${i}`));
    create.true!.push(peakRss(ctx, ["/bin/true"], `true-${i}`));
    create.emptyBun!.push(peakRss(ctx, [ctx.emptyBun], `empty-${i}`));
  }
  const med = (k: string) => (create[k]!.length ? summarize(create[k]!).median : NaN);
  const range = (k: string) => (create[k]!.length ? `${kib(Math.min(...create[k]!))} – ${kib(Math.max(...create[k]!))}` : "");
  const b = med("bunc"), r = med("runc"), c = med("crun");
  const createTable = table(
    ["", "peak RSS (median)", "min – max", "bunc / this"],
    [
      ["bunc", kib(b), range("bunc"), ""],
      ["runc", kib(r), range("runc"), ratio(b, r)],
      [ctx.wrapperOnly ? "crun (max over unshare, sh, crun)" : "crun", kib(c), range("crun"), ratio(b, c)],
      ...(ctx.wrapperOnly ? [["the wrapper alone", kib(med("wrapper")), range("wrapper"), ""]] : []),
      ["floor: /bin/true under GNU time", kib(med("true")), range("true"), ""],
      ["floor: compiled empty Bun program", kib(med("emptyBun")), range("emptyBun"), ratio(b, med("emptyBun"))],
    ],
  );

  // What stays on the host per running container.
  const res: Residency[] = ctx.rts.map((rt) => residency(ctx, rt, rt.name, ["sleep", "3600"]));
  const bunc = ctx.rts.find((rt) => rt.name === "bunc")!;
  res.push(residency(ctx, bunc, "bunc, run.bunc.init: \"true\"", ["sleep", "3600"], { "run.bunc.init": "true" }));
  res.push(residency(ctx, bunc, "bunc, run.bunc.pause: \"true\"", ["sleep", "3600"], { "run.bunc.pause": "true" }));
  const resTable = table(
    ["", "runtime processes left", "their RSS", "processes in the container's cgroup", "pid-file process"],
    res.map((x) => [x.label, String(x.runtimeProcs), kib(x.runtimeRss), x.inContainer, x.pid1]),
  );

  const sizes = table(
    ["", "binary", "with its shared libraries (ldd)"],
    ctx.rts.map((rt) => {
      const size = statSync(rt.binary).size;
      return [`${rt.name} (${rt.binary})`, kib(size / 1024), kib((size + sharedLibsSize(ctx, rt.binary)) / 1024)];
    }),
  );
  ctx.log("memory: done");

  const initRes = res.find((x) => x.label.includes("init"));
  const pauseRes = res.find((x) => x.label.includes("pause"));
  const buncLeft = res.find((x) => x.label === "bunc")!;
  const headlines: Headline[] = [
    {
      metric: "create: peak RSS", bunc: kib(b), runc: kib(r), crun: kib(c), vsRunc: ratio(b, r), vsCrun: ratio(b, c),
      target: "≤ 2.5× runc", met: b <= 2.5 * r,
    },
    {
      metric: "runtime processes left per running container", bunc: String(buncLeft.runtimeProcs),
      runc: String(res.find((x) => x.label === "runc")!.runtimeProcs), crun: String(res.find((x) => x.label === "crun")!.runtimeProcs),
      vsRunc: "", vsCrun: "", target: "none", met: buncLeft.runtimeProcs === 0,
    },
    {
      metric: "bunc init / pause RSS", bunc: `${kib(initRes!.pid1Rss)} / ${kib(pauseRes!.pid1Rss)}`, runc: "n/a", crun: "n/a",
      vsRunc: "", vsCrun: "", target: "< 1 MiB", met: initRes!.pid1Rss < 1024 && pauseRes!.pid1Rss < 1024,
    },
  ];
  const markdown = [
    `### Peak RSS of \`create\` (a \`sleep\` container; GNU time %M = wait4's ru_maxrss, ${ctx.sizes.memoryIterations} runs)`,
    "",
    createTable,
    "",
    "### Resident on the host per running container (after a detached `create` + `start` of `sleep 3600`)",
    "",
    resTable,
    "",
    "### Binary sizes",
    "",
    sizes,
  ].join("\n");
  return { title: "5. Memory", markdown, headlines };
}
