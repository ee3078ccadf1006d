// 1. `run` of /bin/true in the foreground (create + start + wait + delete, memory limit set),
// interleaved bunc, runc, crun, crun's wrapper alone, and two floors: spawning /bin/true and
// a compiled empty Bun program.
import type { Ctx } from "../lib/context.ts";
import { ms, ratio, timeTable, type Headline } from "../lib/format.ts";
import { minus, summarize, type Summary } from "../lib/stats.ts";
import { reapAll } from "../lib/sys.ts";
import type { Section } from "./section.ts";
import { yieldToSignals } from "../lib/yield.ts";

export async function benchRun(ctx: Ctx): Promise<Section> {
  const samples: Record<string, number[]> = { bunc: [], runc: [], crun: [], wrapper: [], true: [], emptyBun: [] };
  for (let i = -ctx.sizes.warmup; i < ctx.sizes.iterations; i++) {
    await yieldToSignals();
    const keep = (k: string, v: number) => void (i >= 0 && samples[k]!.push(v));
    for (const rt of ctx.rts) {
      const c = ctx.newContainer(rt, ["/bin/true"]);
      keep(rt.name, ctx.sp.time(rt.argv(["run", "--bundle", c.bundle, c.id])));
      reapAll();
    }
    if (ctx.wrapperOnly) keep("wrapper", ctx.sp.time(ctx.wrapperOnly));
    keep("true", ctx.sp.time(["/bin/true"]));
    keep("emptyBun", ctx.sp.time([ctx.emptyBun]));
  }
  ctx.log(`run: done (${ctx.sizes.iterations} iterations)`);

  const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.length ? summarize(v) : undefined])) as Record<string, Summary | undefined>;
  const crunNet = s.crun && s.wrapper ? minus(s.crun, s.wrapper.median) : s.crun;
  const rows = [
    { label: "bunc", s: s.bunc },
    { label: "runc", s: s.runc },
    { label: "crun", s: crunNet, note: s.wrapper ? "net of the wrapper" : undefined },
    ...(s.wrapper ? [{ label: "crun as run", s: s.crun, note: "with the wrapper", reference: true }, { label: "the wrapper alone", s: s.wrapper, reference: true }] : []),
    { label: "floor: spawn /bin/true", s: s.true, reference: true },
    { label: "floor: compiled empty Bun program", s: s.emptyBun },
  ];
  const b = s.bunc!.median, r = s.runc!.median, c = crunNet!.median;
  const headline: Headline = {
    metric: "run /bin/true (ms)", bunc: ms(b), runc: ms(r), crun: ms(c), vsRunc: ratio(b, r), vsCrun: ratio(b, c),
    target: "≤ 0.4× runc, ≤ 1.2× crun", met: b <= 0.4 * r && b <= 1.2 * c,
  };
  const markdown = [
    "`<runtime> run --bundle B ID` of `/bin/true` in the foreground: create, start, wait, delete, with a 256 MiB memory limit. Wall time of the runtime command as seen by its caller.",
    "",
    timeTable(rows, s.bunc),
  ].join("\n");
  return { title: "1. run /bin/true (foreground)", markdown, headlines: [headline] };
}
