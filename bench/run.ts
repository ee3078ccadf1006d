// bunc's side-by-side benchmark against runc and crun (issue 7). `bun bench/run.ts [--quick]
// [--bunc PATH] [--out FILE] [--only run,cycle,exec,throughput,memory]`; as root. Writes
// bench/RESULTS.md. Leaves no container, cgroup or state dir behind, also when it fails.
import { mkdtempSync, writeFileSync } from "node:fs";
import { setPriority } from "node:os";
import { join, resolve } from "node:path";
import { busyboxRootfs } from "../test/helpers/rootfs.ts";
import { cleanupAll, removeBenchCgroups } from "./lib/cleanup.ts";
import { Ctx, type Sizes } from "./lib/context.ts";
import { describeMachine } from "./lib/machine.ts";
import { renderReport } from "./lib/report.ts";
import { makeRuntimes, WRAPPER_ONLY } from "./lib/runtimes.ts";
import { buildEmptyBun, ensurePackages, isHybrid } from "./lib/setup.ts";
import { Spawner } from "./lib/spawn.ts";
import { becomeSubreaper } from "./lib/sys.ts";
import { benchCycle } from "./scenarios/cycle.ts";
import { benchExec } from "./scenarios/exec.ts";
import { benchMemory } from "./scenarios/memory.ts";
import { benchRun } from "./scenarios/run.ts";
import type { Section } from "./scenarios/section.ts";
import { benchThroughput } from "./scenarios/throughput.ts";

const REPO = resolve(import.meta.dir, "..");
const SCENARIOS = ["run", "cycle", "exec", "throughput", "memory"] as const;

function parseArgs(argv: string[]) {
  const o = { quick: false, bunc: join(REPO, "bin/bunc"), out: join(REPO, "bench/RESULTS.md"), only: [...SCENARIOS] as string[] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--quick") o.quick = true;
    else if (a === "--bunc") o.bunc = resolve(value());
    else if (a === "--out") o.out = resolve(value());
    else if (a === "--only") o.only = value().split(",");
    else throw new Error(`unknown argument ${a} (usage: bun bench/run.ts [--quick] [--bunc PATH] [--out FILE] [--only ${SCENARIOS.join(",")}])`);
  }
  for (const s of o.only) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--only: unknown scenario ${s}`);
  return o;
}

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error("run the benchmark as root (containers with cgroups)");
  if (!(await Bun.file(o.bunc).exists())) throw new Error(`${o.bunc} is missing: run make first`);
  const sizes: Sizes = o.quick
    ? { iterations: 8, warmup: 1, throughputN: 20, throughputRounds: 1, memoryIterations: 3 }
    : { iterations: 30, warmup: 3, throughputN: 50, throughputRounds: 3, memoryIterations: 7 };

  const { runc, crun } = ensurePackages(log);
  const left = removeBenchCgroups(); // an earlier run that was killed
  if (left.length) throw new Error(`cannot remove leftover cgroups: ${left.join(", ")}`);
  becomeSubreaper();
  // Other work on the machine adds noise; a higher priority (inherited by the runtimes and their
  // containers alike) reduces it without favouring any runtime.
  try {
    setPriority(0, -10);
  } catch {}

  const tmp = mkdtempSync("/tmp/bunc-bench-");
  const wrapCrun = isHybrid();
  const rts = makeRuntimes({ bunc: o.bunc, runc, crun, tmp, wrapCrun });
  const sp = new Spawner(`${tmp}/stderr.log`);
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    const stuck = cleanupAll(rts, sp, tmp);
    if (stuck.length) log(`could not remove cgroups: ${stuck.join(", ")}`);
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      log(`${sig}: cleaning up`);
      cleanup();
      process.exit(130);
    });
  }
  try {
    const t0 = performance.now();
    log(`rootfs ${busyboxRootfs()}; temp dir ${tmp}`);
    const emptyBun = buildEmptyBun(join(REPO, "node_modules/.bin/bun"), tmp);
    const ctx = new Ctx(rts, sp, tmp, busyboxRootfs(), wrapCrun ? WRAPPER_ONLY : undefined, emptyBun, sizes, log);
    const machine = describeMachine(rts, sp, join(REPO, "node_modules/.bin/bun"));
    const sections: Section[] = [];
    if (o.only.includes("run")) sections.push(await benchRun(ctx));
    if (o.only.includes("cycle")) sections.push(await benchCycle(ctx));
    if (o.only.includes("exec")) sections.push(await benchExec(ctx));
    if (o.only.includes("throughput")) sections.push(await benchThroughput(ctx));
    if (o.only.includes("memory")) sections.push(await benchMemory(ctx));
    const report = renderReport(machine, sections, sizes, o.quick, (performance.now() - t0) / 1000);
    writeFileSync(o.out, report);
    log(`wrote ${o.out}`);
    process.stdout.write(report);
    return 0;
  } finally {
    cleanup();
    sp.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log(`failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
