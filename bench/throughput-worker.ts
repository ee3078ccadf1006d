// One lane of the throughput benchmark (bench/scenarios/throughput.ts starts two): from an
// agreed start time, create, start, stop (SIGKILL + wait) and delete its containers one after
// the other; print when it started and finished. A subreaper, so its containers re-parent here.
import { readFileSync } from "node:fs";
import { Spawner } from "./lib/spawn.ts";
import { becomeSubreaper, closeFd, pidfdOpen, pidfdWait, reap, reapAll } from "./lib/sys.ts";

interface Job {
  /** the runtime's argv up to the subcommand */
  prefix: string[];
  containers: { id: string; bundle: string; pidFile: string }[];
  /** epoch ms: both lanes start together */
  startAt: number;
  errLog: string;
  /** run only this (crun's wrapper alone) 4 times per container: the wrapper's share of a round */
  wrapperOnly?: string[];
}

const job = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Job;
becomeSubreaper();
const sp = new Spawner(job.errLog);
const run = (...a: string[]) => sp.time([...job.prefix, ...a]);

const delay = job.startAt - Date.now();
if (delay > 0) Bun.sleepSync(delay);
const start = Date.now();
/** ms per step, per container: where a lane's time goes under parallel load */
const steps: Record<string, number[]> = { create: [], start: [], kill: [], wait: [], delete: [] };
for (const c of job.wrapperOnly ? [] : job.containers) {
  steps.create!.push(run("create", "--bundle", c.bundle, "--pid-file", c.pidFile, c.id));
  const pid = Number(readFileSync(c.pidFile, "utf8").trim());
  const fd = pidfdOpen(pid);
  steps.start!.push(run("start", c.id));
  steps.kill!.push(run("kill", c.id, "9"));
  const t = performance.now();
  if (fd >= 0) {
    if (!pidfdWait(fd, 30_000)) throw new Error(`container ${c.id} (pid ${pid}) did not exit after SIGKILL`);
    closeFd(fd);
  }
  steps.wait!.push(performance.now() - t);
  reap(pid);
  steps.delete!.push(run("delete", c.id));
  reapAll();
}
if (job.wrapperOnly) for (let i = 0; i < 4 * job.containers.length; i++) sp.time(job.wrapperOnly);
const end = Date.now();
process.stdout.write(JSON.stringify({ start, end, steps }) + "\n");
