// bunc start ID
import type { Globals } from "./globals.ts";
import { parseCommand, requireId } from "./globals.ts";
import { Container } from "../container/container.ts";

export function main(argv: string[], g: Globals): number {
  const a = parseCommand("start", {}, argv);
  Container.load(g.root, requireId("start", a._)).start();
  return 0;
}
