// bunc resume ID: thaw a paused container.
import { BuncError } from "../errors.ts";
import { Container } from "../container/container.ts";
import { parseCommand, requireId, type Globals } from "./globals.ts";

export function main(argv: string[], g: Globals): number {
  const a = parseCommand("resume", {}, argv);
  const c = Container.load(g.root, requireId("resume", a._));
  const st = c.status();
  // a created container that was paused still reports "created" (its exec fifo is there)
  const frozenCreated = st === "created" && !!c.cgroup()?.isFrozen();
  if (st !== "paused" && !frozenCreated) throw new BuncError(`container "${c.id}" is not paused (${st})`);
  c.cgroup()!.thaw();
  return 0;
}
