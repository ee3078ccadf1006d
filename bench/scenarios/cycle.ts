// 2. Detached cycle: create -> start -> wait for the exit -> delete, each step timed. The wait is
// what a shim sees: from start's return until the container's process has exited (pidfd).
import type { Ctx } from "../lib/context.ts";
import { ms, ratio, table, type Headline } from "../lib/format.ts";
import { minus, summarize, type Summary } from "../lib/stats.ts";
import { closeFd, pidfdOpen, pidfdWait, reap, reapAll } from "../lib/sys.ts";
import type { Section } from "./section.ts";
import { yieldToSignals } from "../lib/yield.ts";

const STEPS = ["create", "start", "wait", "delete", "total"] as const;
type Step = (typeof STEPS)[number];
/** how many runtime invocations (so how many wrappers) a step holds */
const CALLS: Record<Step, number> = { create: 1, start: 1, wait: 0, delete: 1, total: 3 };

export async function benchCycle(ctx: Ctx): Promise<Section> {
  const samples: Record<string, Record<Step, number[]>> = {};
  const cpu: Record<string, Record<Step, number[]>> = {};
  for (const rt of ctx.rts) {
    samples[rt.name] = { create: [], start: [], wait: [], delete: [], total: [] };
    cpu[rt.name] = { create: [], start: [], wait: [], delete: [], total: [] };
  }
  const wrapper: number[] = [];
  const wrapperCpu: number[] = [];

  for (let i = -ctx.sizes.warmup; i < ctx.sizes.iterations; i++) {
    await yieldToSignals();
    for (const rt of ctx.rts) {
      const c = ctx.newContainer(rt, ["/bin/true"]);
      const create = ctx.create(rt, c);
      const createCpu = ctx.sp.lastCpuMs;
      const pid = ctx.pid(c);
      const fd = pidfdOpen(pid);
      const start = ctx.sp.time(rt.argv(["start", c.id]));
      const startCpu = ctx.sp.lastCpuMs;
      const t0 = performance.now();
      if (fd >= 0 && !pidfdWait(fd, 30_000)) throw new Error(`${rt.name}: container ${c.id} did not exit`);
      const wait = performance.now() - t0;
      closeFd(fd);
      reap(pid);
      const del = ctx.sp.time(rt.argv(["delete", c.id]));
      const delCpu = ctx.sp.lastCpuMs;
      reapAll();
      if (i < 0) continue;
      const s = samples[rt.name]!;
      s.create.push(create);
      s.start.push(start);
      s.wait.push(wait);
      s.delete.push(del);
      s.total.push(create + start + wait + del);
      const u = cpu[rt.name]!;
      u.create.push(createCpu);
      u.start.push(startCpu);
      u.delete.push(delCpu);
      u.total.push(createCpu + startCpu + delCpu);
    }
    if (ctx.wrapperOnly && i >= 0) {
      wrapper.push(ctx.sp.time(ctx.wrapperOnly));
      wrapperCpu.push(ctx.sp.lastCpuMs);
    }
  }
  ctx.log("cycle: done");

  const sum: Record<string, Record<Step, Summary>> = {};
  for (const [name, steps] of Object.entries(samples)) {
    sum[name] = Object.fromEntries(STEPS.map((st) => [st, summarize(steps[st])])) as Record<Step, Summary>;
  }
  const w = wrapper.length ? summarize(wrapper).median : 0;
  const crunNet = Object.fromEntries(STEPS.map((st) => [st, minus(sum.crun![st], CALLS[st] * w)])) as Record<Step, Summary>;
  const cell = (x: Summary) => `${ms(x.median)} (${ms(x.p10)} – ${ms(x.p90)})`;
  const rows = [
    ["bunc", ...STEPS.map((st) => cell(sum.bunc![st]))],
    ["runc", ...STEPS.map((st) => cell(sum.runc![st]))],
    [w ? "crun (net of the wrapper)" : "crun", ...STEPS.map((st) => cell(crunNet[st]))],
    ...(w ? [["crun (with the wrapper)", ...STEPS.map((st) => cell(sum.crun![st]))]] : []),
    ["bunc / runc", ...STEPS.map((st) => ratio(sum.bunc![st].median, sum.runc![st].median))],
    ["bunc / crun", ...STEPS.map((st) => ratio(sum.bunc![st].median, crunNet[st].median))],
  ];
  // CPU time per step: on a busy node (or with parallel calls) this, not wall time, bounds throughput.
  const CPU_STEPS = ["create", "start", "delete", "total"] as const;
  const wc = wrapperCpu.length ? summarize(wrapperCpu).median : 0;
  const cpuMed = (name: string, st: Step) => summarize(cpu[name]![st]).median - (name === "crun" ? CALLS[st] * wc : 0);
  const cpuRows = [
    ...ctx.rts.map((rt) => [rt.name === "crun" && wc ? "crun (net of the wrapper)" : rt.name, ...CPU_STEPS.map((st) => ms(cpuMed(rt.name, st)))]),
    ["bunc / runc", ...CPU_STEPS.map((st) => ratio(cpuMed("bunc", st), cpuMed("runc", st)))],
    ["bunc / crun", ...CPU_STEPS.map((st) => ratio(cpuMed("bunc", st), cpuMed("crun", st)))],
  ];
  const markdown = [
    "Detached: `create --bundle B --pid-file P ID`, `start ID`, wait for the container's process to exit (pidfd, as a shim would), `delete ID`. Median (p10 – p90) in ms" +
      (w ? `; crun net of ${ms(w)} ms of wrapper per runtime call.` : "."),
    "",
    table(["", ...STEPS.map((s) => (s === "wait" ? "wait for exit" : s))], rows),
    "",
    "CPU time (user + system, median ms) of each runtime command, with the children it waited for" + (wc ? `; crun net of ${ms(wc)} ms of wrapper CPU per call` : "") + ":",
    "",
    table(["", ...CPU_STEPS], cpuRows),
  ].join("\n");
  const headlines: Headline[] = (["create", "start", "delete", "total"] as Step[]).map((st) => ({
    metric: `detached ${st} (ms)`,
    bunc: ms(sum.bunc![st].median),
    runc: ms(sum.runc![st].median),
    crun: ms(crunNet[st].median),
    vsRunc: ratio(sum.bunc![st].median, sum.runc![st].median),
    vsCrun: ratio(sum.bunc![st].median, crunNet[st].median),
    target: "",
  }));
  return { title: "2. Detached cycle: create, start, wait, delete", markdown, headlines };
}
