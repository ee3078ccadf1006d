// 3. exec of /bin/true into a running container (one `sleep` container per runtime).
import type { Ctx } from "../lib/context.ts";
import { ms, ratio, timeTable, type Headline } from "../lib/format.ts";
import { minus, summarize } from "../lib/stats.ts";
import { reapAll } from "../lib/sys.ts";
import type { Section } from "./section.ts";
import { yieldToSignals } from "../lib/yield.ts";

export async function benchExec(ctx: Ctx): Promise<Section> {
  const running = ctx.rts.map((rt) => {
    const c = ctx.newContainer(rt, ["sleep", "3600"]);
    ctx.create(rt, c);
    const pid = ctx.pid(c);
    ctx.sp.time(rt.argv(["start", c.id]));
    return { rt, c, pid };
  });
  const samples: Record<string, number[]> = { bunc: [], runc: [], crun: [], wrapper: [] };
  try {
    for (let i = -ctx.sizes.warmup; i < ctx.sizes.iterations; i++) {
      await yieldToSignals();
      for (const { rt, c } of running) {
        const t = ctx.sp.time(rt.argv(["exec", c.id, "/bin/true"]));
        reapAll();
        if (i >= 0) samples[rt.name]!.push(t);
      }
      if (ctx.wrapperOnly && i >= 0) samples.wrapper!.push(ctx.sp.time(ctx.wrapperOnly));
    }
  } finally {
    for (const { rt, c, pid } of running) ctx.stopAndDelete(rt, c, pid);
  }
  ctx.log("exec: done");
  const bunc = summarize(samples.bunc!), runc = summarize(samples.runc!);
  const w = samples.wrapper!.length ? summarize(samples.wrapper!) : undefined;
  const crun = w ? minus(summarize(samples.crun!), w.median) : summarize(samples.crun!);
  const markdown = [
    "`<runtime> exec ID /bin/true` into a running `sleep` container, foreground (the runtime waits for it).",
    "",
    timeTable(
      [
        { label: "bunc", s: bunc },
        { label: "runc", s: runc },
        { label: "crun", s: crun, note: w ? "net of the wrapper" : undefined },
        ...(w ? [{ label: "crun as run", s: summarize(samples.crun!), note: "with the wrapper", reference: true }, { label: "the wrapper alone", s: w, reference: true }] : []),
      ],
      bunc,
    ),
  ].join("\n");
  const headline: Headline = {
    metric: "exec /bin/true (ms)", bunc: ms(bunc.median), runc: ms(runc.median), crun: ms(crun.median),
    vsRunc: ratio(bunc.median, runc.median), vsCrun: ratio(bunc.median, crun.median),
    target: "≤ 0.4× runc", met: bunc.median <= 0.4 * runc.median,
  };
  return { title: "3. exec /bin/true into a running container", markdown, headlines: [headline] };
}
