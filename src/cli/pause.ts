// bunc pause ID: freeze every process of the container (v1 freezer / v2 cgroup.freeze).
import { BuncError } from "../errors.ts";
import { Container } from "../container/container.ts";
import { parseCommand, requireId, type Globals } from "./globals.ts";

export function main(argv: string[], g: Globals): number {
  const a = parseCommand("pause", {}, argv);
  const c = Container.load(g.root, requireId("pause", a._));
  const st = c.status();
  // runc pauses created and running containers; anything else is "not running"
  if (st !== "running" && st !== "created") throw new BuncError(`container "${c.id}" is not running (${st})`);
  const cg = c.cgroup();
  if (!cg) throw new BuncError(`container "${c.id}" has no cgroup: cannot pause`);
  cg.freeze();
  return 0;
}
