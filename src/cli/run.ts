// bunc run [create flags] [--detach|-d] [--keep] ID: create + start, then (foreground) wait,
// forwarding signals and the terminal, and delete unless --keep. Exit status is the container's.
import type { Globals } from "./globals.ts";
import { parseCommand, requireId } from "./globals.ts";
import { CREATE_FLAGS, createOptions } from "./create-flags.ts";
import { createContainer } from "../container/create.ts";
import { Container } from "../container/container.ts";
import { superviseForeground } from "../container/foreground.ts";
import { BuncError, strerror } from "../errors.ts";
import * as native from "../native.ts";

export async function main(argv: string[], g: Globals): Promise<number> {
  const a = parseCommand("run", { ...CREATE_FLAGS, "--detach": Boolean, "-d": "--detach", "--keep": Boolean }, argv);
  const id = requireId("run", a._);
  const detach = !!a["--detach"];
  const opts = { ...createOptions("run", a, id, g), foregroundTty: !detach };
  if (!detach) native.setSubreaper(); // processes of a joined pid namespace re-parent to us
  const created = await createContainer(opts);
  const c = new Container(g.root, created.record);
  try {
    c.start();
    // The sync socket closes when the process execs; an error message means it could not.
    const m = native.syncRecv(created.syncFd);
    if (m.type === native.SYNC.ERROR) throw new BuncError(m.err ? `${m.msg}: ${strerror(m.err)}` : m.msg);
    native.closeFd(created.syncFd);
    if (detach) return 0;
    const code = await superviseForeground(created.record.pid, created.ptyFd);
    if (!a["--keep"]) await c.delete(true);
    return code;
  } catch (e) {
    await c.delete(true);
    throw e;
  }
}
