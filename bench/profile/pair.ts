// Paired A/B timing of bunc builds: `bun bench/profile/pair.ts [--n 60] [--kind run|exec|list] NAME=BINARY...`.
// Each round runs every build once, in shuffled order; the report gives each build's median wall
// and CPU time (the process and the children it reaped) and the median of its per-round difference
// to the first build, which cancels the slow drifts of a shared machine. For "what did this change
// buy": build the tree with and without the change (`bun build --compile ... --outfile`), compare.
import { mkdtempSync } from "node:fs";
import { busyboxRootfs } from "../../test/helpers/rootfs.ts";
import { writeBundle } from "../lib/bundle.ts";
import { removeBenchCgroups } from "../lib/cleanup.ts";
import { becomeSubreaper, reapAll } from "../lib/sys.ts";

const args = process.argv.slice(2);
let n = 60, kind = "run";
const builds: { name: string; bin: string }[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--n") n = Number(args[++i]);
  else if (args[i] === "--kind") kind = args[++i]!;
  else {
    const [name, bin] = args[i]!.split("=");
    if (!name || !bin) throw new Error(`expected NAME=BINARY, got ${args[i]}`);
    builds.push({ name, bin });
  }
}
if (builds.length < 2) throw new Error("usage: bun bench/profile/pair.ts [--n 60] [--kind run|exec|list] NAME=BINARY NAME=BINARY...");

becomeSubreaper();
const tmp = mkdtempSync("/tmp/bunc-pair-");
const root = `${tmp}/root`;
const rootfs = busyboxRootfs();
const sh = (argv: string[]) => {
  const t = performance.now();
  const r = Bun.spawnSync(argv, { stdio: ["ignore", "ignore", "inherit"] });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}`);
  return [performance.now() - t, Number(r.resourceUsage.cpuTime.total) / 1000] as const;
};
const wall = builds.map(() => [] as number[]), cpu = builds.map(() => [] as number[]);
let seq = 0;
try {
  if (kind === "exec") builds.forEach((b, k) => {
    const c = writeBundle(`${tmp}/b-exec-${k}`, rootfs, `pair-exec-${k}`, ["sleep", "3600"]);
    sh([b.bin, "--root", root, "run", "--detach", "--bundle", c.bundle, c.id]);
  });
  for (let i = 0; i < n + 2; i++) {
    for (const k of builds.map((_, k) => k).sort(() => Math.random() - 0.5)) {
      const b = builds[k]!;
      let argv: string[];
      if (kind === "exec") argv = [b.bin, "--root", root, "exec", `pair-exec-${k}`, "/bin/true"];
      else if (kind === "list") argv = [b.bin, "--root", root, "list"];
      else {
        const c = writeBundle(`${tmp}/b-${++seq}`, rootfs, `pair-${seq}`, ["/bin/true"]);
        argv = [b.bin, "--root", root, "run", "--bundle", c.bundle, c.id];
      }
      const [w, c] = sh(argv);
      reapAll();
      if (i >= 2) {
        wall[k]!.push(w);
        cpu[k]!.push(c);
      }
    }
  }
} finally {
  if (kind === "exec") builds.forEach((b, k) => Bun.spawnSync([b.bin, "--root", root, "delete", "--force", `pair-exec-${k}`]));
  reapAll();
  removeBenchCgroups();
  Bun.spawnSync(["rm", "-rf", tmp]);
}
const q = (xs: number[], f: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * f)]!;
console.log(`${n} rounds of ${kind}; Δ = median of the per-round difference to ${builds[0]!.name} [p25, p75]`);
builds.forEach((b, k) => {
  const dw = wall[k]!.map((x, i) => x - wall[0]![i]!), dc = cpu[k]!.map((x, i) => x - cpu[0]![i]!);
  console.log(
    `${b.name.padEnd(14)} wall ${q(wall[k]!, 0.5).toFixed(2).padStart(6)} ms  Δ ${q(dw, 0.5).toFixed(2).padStart(6)} [${q(dw, 0.25).toFixed(1)}, ${q(dw, 0.75).toFixed(1)}]` +
      `   cpu ${q(cpu[k]!, 0.5).toFixed(2).padStart(6)} ms  Δ ${q(dc, 0.5).toFixed(2).padStart(6)} [${q(dc, 0.25).toFixed(1)}, ${q(dc, 0.75).toFixed(1)}]`,
  );
});
