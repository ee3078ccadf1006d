// bunc state ID: the OCI state JSON (plus runc's rootfs, created, owner).
import type { Globals } from "./globals.ts";
import { parseCommand, requireId } from "./globals.ts";
import { ContainerView } from "../container/view.ts";
import { stdout } from "../out.ts";

export function main(argv: string[], g: Globals): number {
  const a = parseCommand("state", {}, argv);
  const c = ContainerView.load(g.root, requireId("state", a._));
  stdout(JSON.stringify(c.state(), null, "  ") + "\n");
  return 0;
}
