// Flags shared by `create` and `run` (runc's names; containerd and podman pass them).
import { BuncError } from "../errors.ts";
import type { Globals } from "./globals.ts";
import type { CreateOptions } from "../container/create.ts";

export const CREATE_FLAGS = {
  "--bundle": String,
  "-b": "--bundle",
  "--pid-file": String,
  "--console-socket": String,
  "--no-pivot": Boolean,
  "--no-new-keyring": Boolean,
  "--preserve-fds": String,
  "--init": Boolean,
  "--notify-socket": String, // runc accepts it (sd_notify proxy); bunc refuses it below rather than ignore it
  "--no-subreaper": Boolean,
} as const;

export function createOptions(cmd: string, a: Record<string, unknown>, id: string, g: Globals): CreateOptions {
  const pfd = (a["--preserve-fds"] as string | undefined) ?? "0";
  if (!/^\d+$/.test(pfd)) throw new BuncError(`${cmd}: --preserve-fds: must be a non-negative integer, not "${pfd}"`);
  if (a["--notify-socket"]) throw new BuncError(`${cmd}: --notify-socket is not supported`);
  return {
    root: g.root,
    id,
    bundle: (a["--bundle"] as string | undefined) ?? ".",
    pidFile: a["--pid-file"] as string | undefined,
    consoleSocket: a["--console-socket"] as string | undefined,
    noPivot: !!a["--no-pivot"],
    noNewKeyring: !!a["--no-new-keyring"],
    preserveFds: Number(pfd),
    systemdCgroup: g.systemdCgroup,
    init: !!a["--init"],
  };
}
