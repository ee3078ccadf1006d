// bunc start ID
import type { Globals } from "./globals.ts";
import { parseCommand, requireId } from "./globals.ts";
import { ContainerView } from "../container/view.ts";

export function main(argv: string[], g: Globals): number {
  const a = parseCommand("start", {}, argv);
  ContainerView.load(g.root, requireId("start", a._)).start();
  return 0;
}
