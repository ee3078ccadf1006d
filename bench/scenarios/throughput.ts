// 4. Throughput: N containers (a `sleep`) created, started, stopped (SIGKILL + wait) and deleted
// by two lanes in parallel, as a node's runtime manager would drive them: containers per second,
// from the first create to the last delete. Rounds are interleaved across runtimes.
import { writeFileSync } from "node:fs";
import type { Ctx } from "../lib/context.ts";
import { ratio, table, type Headline } from "../lib/format.ts";
import type { Runtime } from "../lib/runtimes.ts";
import { summarize } from "../lib/stats.ts";
import type { Section } from "./section.ts";

const LANES = 2;
const STEP_NAMES = ["create", "start", "kill", "wait", "delete"];
const WORKER = `${import.meta.dir}/../throughput-worker.ts`;

type Steps = Record<string, number[]>;

/** ms for n containers through rt in LANES lanes (and each step's times); with wrapperOnly, only that command 4 times per container */
async function round(ctx: Ctx, rt: Runtime, n: number, tag: string, wrapperOnly?: string[]): Promise<{ span: number; steps: Steps }> {
  const lanes = Array.from({ length: LANES }, () => [] as ReturnType<Ctx["newContainer"]>[]);
  for (let i = 0; i < n; i++) lanes[i % LANES]!.push(wrapperOnly ? { id: "", bundle: "", pidFile: "", cgroupsPath: "" } : ctx.newContainer(rt, ["sleep", "3600"]));
  const startAt = Date.now() + 1000; // both workers are up and waiting by then
  const procs = lanes.map((containers, k) => {
    const jobFile = `${ctx.tmp}/throughput-${tag}-${k}.json`;
    writeFileSync(jobFile, JSON.stringify({ prefix: rt.argv([]), containers, startAt, errLog: ctx.sp.errLog, wrapperOnly }));
    return Bun.spawn([process.execPath, WORKER, jobFile], { stdio: ["ignore", "pipe", "pipe"] });
  });
  const results = await Promise.all(
    procs.map(async (p) => {
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      if (code !== 0) throw new Error(`throughput worker for ${rt.name} failed (exit ${code}): ${err.trim()}`);
      return JSON.parse(out) as { start: number; end: number; steps: Steps };
    }),
  );
  const steps: Steps = {};
  for (const r of results) for (const [k, v] of Object.entries(r.steps)) (steps[k] ??= []).push(...v);
  return { span: Math.max(...results.map((r) => r.end)) - Math.min(...results.map((r) => r.start)), steps };
}

export async function benchThroughput(ctx: Ctx): Promise<Section> {
  const n = ctx.sizes.throughputN;
  const spans: Record<string, number[]> = { bunc: [], runc: [], crun: [] };
  const steps: Record<string, Steps> = { bunc: {}, runc: {}, crun: {} };
  const wrapper: number[] = [];
  for (let r = 0; r < ctx.sizes.throughputRounds; r++) {
    for (const rt of ctx.rts) {
      const res = await round(ctx, rt, n, `${rt.name}-${r}`);
      spans[rt.name]!.push(res.span);
      for (const [k, v] of Object.entries(res.steps)) (steps[rt.name]![k] ??= []).push(...v);
    }
    const crun = ctx.rts.find((rt) => rt.name === "crun");
    if (ctx.wrapperOnly && crun) wrapper.push((await round(ctx, crun, n, `wrapper-${r}`, ctx.wrapperOnly)).span);
  }
  ctx.log("throughput: done");
  const perSec = (span: number) => (n / span) * 1000;
  const w = wrapper.length ? summarize(wrapper).median : 0;
  // crun net: each container costs 4 wrapped calls; a round of only those, in the same lanes, is w.
  const netSpan = (span: number) => span - w;
  const med = (xs: number[]) => summarize(xs).median;
  const b = perSec(med(spans.bunc!)), ru = perSec(med(spans.runc!));
  const crunRaw = perSec(med(spans.crun!)), crunNet = perSec(netSpan(med(spans.crun!)));
  const fmt = (x: number) => x.toFixed(1);
  const rowFor = (label: string, xs: number[], f: (s: number) => number = (s) => s) => {
    const rates = xs.map((s) => perSec(f(s))).sort((a, c) => a - c);
    return [label, fmt(perSec(f(med(xs)))), `${fmt(rates[0]!)} – ${fmt(rates[rates.length - 1]!)}`, String(xs.length)];
  };
  const rows = [
    rowFor("bunc", spans.bunc!),
    rowFor("runc", spans.runc!),
    ...(w ? [rowFor("crun (net of the wrapper)", spans.crun!, netSpan), rowFor("crun (with the wrapper)", spans.crun!)] : [rowFor("crun", spans.crun!)]),
  ];
  const markdown = [
    `${n} containers (\`sleep 3600\`), each: \`create\`, \`start\`, \`kill ID 9\`, wait for the exit, \`delete\`; ${LANES} lanes in parallel. ` +
      `Containers per second from the first create to the last delete, median over ${ctx.sizes.throughputRounds} round(s) (min – max).` +
      (w ? ` crun net of its wrapper: a round of only the wrapper, 4 calls per container in the same ${LANES} lanes, took ${w.toFixed(0)} ms.` : ""),
    "",
    table(["", "containers/s", "min – max", "rounds"], rows),
    "",
    `bunc / runc: ${ratio(b, ru)} the throughput; bunc / crun: ${ratio(b, crunNet)} (${ratio(b, crunRaw)} against crun with its wrapper).`,
    "",
    "Median ms of each step under this parallel load (crun with its wrapper):",
    "",
    table(
      ["", ...STEP_NAMES],
      ctx.rts.map((rt) => [rt.name, ...STEP_NAMES.map((k) => (steps[rt.name]![k]?.length ? summarize(steps[rt.name]![k]!).median.toFixed(1) : "n/a"))]),
    ),
  ].join("\n");
  const headline: Headline = {
    metric: `throughput, ${LANES} lanes (containers/s)`, bunc: fmt(b), runc: fmt(ru), crun: fmt(crunNet),
    vsRunc: ratio(b, ru), vsCrun: ratio(b, crunNet), target: "higher is better",
  };
  return { title: `4. Throughput: ${n} containers, ${LANES}-way parallel`, markdown, headlines: [headline] };
}
