// bunc events [--stats] [--interval 5s] ID: runc's JSON events on stdout, one per line.
//   --stats: one {"type":"stats","id":...,"data":{...}} and exit.
//   otherwise: a stats event every interval and an {"type":"oom","id":...} event whenever the
//   kernel's OOM kill count grows, until the container stops.
import { BuncError } from "../errors.ts";
import { Container } from "../container/container.ts";
import { isAlive } from "../container/state.ts";
import { toJson } from "../cgroups/index.ts";
import type { Cgroup } from "../cgroups/index.ts";
import { parseCommand, requireId, type Globals } from "./globals.ts";
import { parseDurationMs } from "./units.ts";
import { stdout, stderr } from "../out.ts";

function emit(type: string, id: string, data?: unknown): void {
  stdout(toJson(data === undefined ? { type, id } : { type, id, data }) + "\n");
}

/** How often the OOM count is looked at between stats (the v1 eventfd needs native help). */
const OOM_POLL_MS = 100;

export async function main(argv: string[], g: Globals): Promise<number> {
  const a = parseCommand("events", { "--stats": Boolean, "--interval": String }, argv);
  const id = requireId("events", a._);
  const interval = a["--interval"] === undefined ? 5000 : parseDurationMs("--interval", a["--interval"]);
  if (interval <= 0) throw new BuncError("events: --interval: duration interval must be greater than 0");
  const c = Container.load(g.root, id);
  if (c.status() === "stopped") throw new BuncError(`container with id ${id} is not running`);
  const cg = c.cgroup();
  if (!cg) throw new BuncError(`container "${id}" has no cgroup: no events to report`);
  if (a["--stats"]) {
    emit("stats", id, cg.stats());
    return 0;
  }
  await stream(c, cg, interval);
  return 0;
}

async function stream(c: Container, cg: Cgroup, interval: number): Promise<void> {
  let ooms = safeOomCount(cg);
  let nextStats = Date.now() + interval;
  for (;;) {
    await Bun.sleep(Math.min(OOM_POLL_MS, Math.max(1, nextStats - Date.now())));
    const now = safeOomCount(cg);
    if (now > ooms) emit("oom", c.id);
    ooms = Math.max(ooms, now);
    // runc stops when the container's cgroup goes away (the container stopped and was deleted)
    if (!isAlive(c.rec) && cg.pids().length === 0) return;
    if (Date.now() >= nextStats) {
      nextStats += interval;
      try {
        emit("stats", c.id, cg.stats());
      } catch (e) {
        stderr(`bunc: events: ${(e as Error).message}\n`);
      }
    }
  }
}

function safeOomCount(cg: Cgroup): number {
  try {
    return cg.oomKillCount();
  } catch {
    return 0;
  }
}
