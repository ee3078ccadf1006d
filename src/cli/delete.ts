// bunc delete [--force|-f] ID
import type { Globals } from "./globals.ts";
import { parseCommand, requireId } from "./globals.ts";
import { Container } from "../container/container.ts";
import { BuncError } from "../errors.ts";
import { checkId, containerDir } from "../container/state.ts";
import { rmSync } from "node:fs";

export async function main(argv: string[], g: Globals): Promise<number> {
  const a = parseCommand("delete", { "--force": Boolean, "-f": "--force" }, argv);
  const id = requireId("delete", a._);
  const force = !!a["--force"];
  let c: Container;
  try {
    c = Container.load(g.root, id);
  } catch (e) {
    // containerd's shim always follows `delete` with `delete --force`: a missing id is fine then.
    checkId(id);
    if (force && e instanceof BuncError && e.message.includes("does not exist")) {
      // A create killed before it wrote state.json leaves its directory: without this the id
      // could never be created again.
      rmSync(containerDir(g.root, id), { recursive: true, force: true });
      return 0;
    }
    throw e;
  }
  await c.delete(force);
  return 0;
}
