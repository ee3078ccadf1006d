// 5. Memory: what `create` costs (peak RSS of the runtime process, and the peak memory charged to
// a fresh memory cgroup it runs in), what a created container holds before `start`, what stays
// resident on the host per running container (runtime processes still alive after a detached
// start; bunc's init/pause program when asked for), and the binaries' sizes.
import { realpathSync, statSync } from "node:fs";
import type { Ctx } from "../lib/context.ts";
import { kib, ratio, table, type Headline } from "../lib/format.ts";
import { measure, type Measured } from "../lib/meter.ts";
import { comm, containerProcesses, processesOf, rssKiB } from "../lib/procs.ts";
import type { Runtime } from "../lib/runtimes.ts";
import { summarize } from "../lib/stats.ts";
import { reapAll } from "../lib/sys.ts";
import type { Section } from "./section.ts";
import { yieldToSignals } from "../lib/yield.ts";

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
  /** the pid in --pid-file (the container's first process) */
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
    const inside = containerProcesses(c.cgroupsPath).map((p) => `${comm(p)} ${kib(rssKiB(p).rss)}`);
    return {
      label,
      runtimeProcs: left.length,
      runtimeRss: left.reduce((a, p) => a + rssKiB(p).rss, 0),
      inContainer: inside.join(", ") || "none",
      pid1: `${comm(pid)} ${kib(rssKiB(pid).rss)}`,
      pid1Rss: rssKiB(pid).rss,
    };
  } finally {
    ctx.stopAndDelete(rt, c, pid);
    reapAll();
  }
}

type Series = { rss: number[]; charged: number[]; createdRss: number[]; createdAnon: number[] };

export async function benchMemory(ctx: Ctx): Promise<Section> {
  const s: Record<string, Series> = {};
  const series = (k: string) => (s[k] ??= { rss: [], charged: [], createdRss: [], createdAnon: [] });
  const keep = (k: string, m: Measured) => {
    series(k).rss.push(m.maxRssKiB);
    if (m.chargedKiB !== undefined) series(k).charged.push(m.chargedKiB);
  };
  for (let i = 0; i < ctx.sizes.memoryIterations; i++) {
    await yieldToSignals();
    for (const rt of ctx.rts) {
      const c = ctx.newContainer(rt, ["sleep", "3600"]);
      keep(rt.name, measure(ctx, rt.argv(["create", "--bundle", c.bundle, "--pid-file", c.pidFile, c.id]), c.id));
      const pid = ctx.pid(c);
      const held = rssKiB(pid); // the container's process, created, waiting for start
      series(rt.name).createdRss.push(held.rss);
      series(rt.name).createdAnon.push(held.anon);
      ctx.sp.time(rt.argv(["start", c.id]));
      ctx.stopAndDelete(rt, c, pid);
      reapAll();
    }
    if (ctx.wrapperOnly) keep("wrapper", measure(ctx, ctx.wrapperOnly, `wrapper-${i}`));
    keep("true", measure(ctx, ["/bin/true"], `true-${i}`));
    keep("emptyBun", measure(ctx, [ctx.emptyBun], `empty-${i}`));
  }
  const med = (k: string, f: keyof Series) => (s[k]?.[f].length ? summarize(s[k]![f]).median : NaN);
  const range = (k: string, f: keyof Series) => (s[k]?.[f].length ? `${kib(Math.min(...s[k]![f]))} – ${kib(Math.max(...s[k]![f]))}` : "");
  const b = med("bunc", "rss"), r = med("runc", "rss"), c = med("crun", "rss");
  const bc = med("bunc", "charged"), rc = med("runc", "charged"), cc = med("crun", "charged");
  const row = (label: string, k: string, vsBunc = true) => [
    label, kib(med(k, "rss")), range(k, "rss"), vsBunc && k !== "bunc" ? ratio(b, med(k, "rss")) : "",
    kib(med(k, "charged")), range(k, "charged"), vsBunc && k !== "bunc" ? ratio(bc, med(k, "charged")) : "",
  ];
  const createTable = table(
    ["", "peak RSS", "min – max", "bunc / this", "peak charged to a fresh memcg", "min – max", "bunc / this"],
    [
      row("bunc", "bunc"),
      row("runc", "runc"),
      row(ctx.wrapperOnly ? "crun (max over unshare, sh, crun)" : "crun", "crun"),
      ...(ctx.wrapperOnly ? [row("the wrapper alone", "wrapper", false)] : []),
      row("floor: /bin/true (under GNU time and sh)", "true", false),
      row("floor: compiled empty Bun program", "emptyBun"),
    ],
  );
  const createdTable = table(
    ["", "RSS of the created container's process", "of which anonymous"],
    ctx.rts.map((rt) => [rt.name, kib(med(rt.name, "createdRss")), kib(med(rt.name, "createdAnon"))]),
  );

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

  const initRes = res.find((x) => x.label.includes("init"))!;
  const pauseRes = res.find((x) => x.label.includes("pause"))!;
  const left = (name: string) => res.find((x) => x.label === name)!.runtimeProcs;
  const headlines: Headline[] = [
    { metric: "create: peak RSS", bunc: kib(b), runc: kib(r), crun: kib(c), vsRunc: ratio(b, r), vsCrun: ratio(b, c), target: "≤ 2.5× runc", met: b <= 2.5 * r },
    { metric: "create: peak memory charged (memcg)", bunc: kib(bc), runc: kib(rc), crun: kib(cc), vsRunc: ratio(bc, rc), vsCrun: ratio(bc, cc), target: "" },
    {
      metric: "created, not started: the container process's RSS", bunc: kib(med("bunc", "createdRss")), runc: kib(med("runc", "createdRss")),
      crun: kib(med("crun", "createdRss")), vsRunc: ratio(med("bunc", "createdRss"), med("runc", "createdRss")),
      vsCrun: ratio(med("bunc", "createdRss"), med("crun", "createdRss")), target: "",
    },
    {
      metric: "runtime processes left per running container", bunc: String(left("bunc")), runc: String(left("runc")), crun: String(left("crun")),
      vsRunc: "", vsCrun: "", target: "none", met: left("bunc") === 0,
    },
    {
      metric: "bunc init / pause RSS", bunc: `${kib(initRes.pid1Rss)} / ${kib(pauseRes.pid1Rss)}`, runc: "n/a", crun: "n/a",
      vsRunc: "", vsCrun: "", target: "< 1 MiB", met: initRes.pid1Rss < 1024 && pauseRes.pid1Rss < 1024,
    },
  ];
  const markdown = [
    `### \`create\` of a \`sleep\` container (${ctx.sizes.memoryIterations} runs, medians)`,
    "",
    "Peak RSS is GNU time's %M (wait4's ru_maxrss): it counts the executable's file-backed pages, which the page cache",
    "shares between all processes running the same binary. The memcg column is the peak charged to a fresh memory cgroup",
    "the command runs in (anonymous memory, page tables, kernel objects, and page cache it loaded first): what it costs the host.",
    "",
    createTable,
    "",
    "### A created container, before `start`",
    "",
    "The process that waits for `start` (runc: `runc init`; bunc: its setup program bunc-child, run from a sealed memfd; crun: a clone of crun).",
    "",
    createdTable,
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
