// Aggregate Bun --cpu-prof profiles (.cpuprofile): mean inclusive and self ms per function per run.
// `bun bench/profile/cpuagg.ts DIR [TOP] [FILTER]`. Build bunc without --minify (names) but with --bytecode,
// then run it with BUN_OPTIONS="--cpu-prof --cpu-prof-interval=25 --cpu-prof-dir=DIR" (compiled executables honour it).
import { readdirSync, readFileSync } from "node:fs";
const dir = process.argv[2]!; const top = Number(process.argv[3] ?? 60); const filter = process.argv[4];
const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
const self = new Map<string, number>(), incl = new Map<string, number>();
let total = 0;
for (const f of files) {
  const p = JSON.parse(readFileSync(`${dir}/${f}`, "utf8"));
  const byId = new Map<number, any>(); const parent = new Map<number, number>();
  for (const n of p.nodes) { byId.set(n.id, n); for (const c of n.children ?? []) parent.set(c, n.id); }
  const key = (n: any) => `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.replace("/$bunfs/root/", "")}:${n.callFrame.lineNumber}`;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? p.timeDeltas[i]) / 1000;
    total += dt;
    let id = p.samples[i]; const n = byId.get(id);
    self.set(key(n), (self.get(key(n)) ?? 0) + dt);
    const seen = new Set<string>();
    while (id !== undefined) { const k = key(byId.get(id)); if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + dt); } id = parent.get(id)!; }
  }
}
const runs = files.length;
console.log(`runs ${runs}, mean profiled ms per run ${(total / runs).toFixed(1)}`);
const show = (m: Map<string, number>, title: string) => {
  console.log(`\n${title}`);
  [...m.entries()].filter(([k]) => !filter || k.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, top).forEach(([k, v]) => console.log(`${(v / runs).toFixed(2).padStart(7)} ms  ${k}`));
};
show(incl, "inclusive"); show(self, "self");
