// bunc create [--bundle DIR] [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring] [--preserve-fds N] [--init] ID
import type { Globals } from "./globals.ts";
import { parseCommand, requireId } from "./globals.ts";
import { CREATE_FLAGS, createOptions } from "./create-flags.ts";
import { createContainer } from "../container/create.ts";

export async function main(argv: string[], g: Globals): Promise<number> {
  const a = parseCommand("create", CREATE_FLAGS, argv);
  const id = requireId("create", a._);
  await createContainer(createOptions("create", a, id, g));
  return 0;
}
