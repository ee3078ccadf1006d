// bunc kill [--all|-a] ID [SIGNAL]   (SIGNAL: name with or without SIG, or number; default TERM)
import type { Globals } from "./globals.ts";
import { parseCommand, requireId } from "./globals.ts";
import { Container } from "../container/container.ts";
import { parseSignal } from "../linux/signals.ts";

export function main(argv: string[], g: Globals): number {
  const a = parseCommand("kill", { "--all": Boolean, "-a": "--all" }, argv);
  const id = requireId("kill", a._);
  const sig = parseSignal(a._[1] ?? "SIGTERM");
  Container.load(g.root, id).kill(sig, !!a["--all"]);
  return 0;
}
