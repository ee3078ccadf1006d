// bunc exec [--process F | ARGS...] [-e K=V] [--cwd D] [-u uid[:gid]] [-g gid] [-t] [--console-socket S]
//           [-d] [--pid-file F] [--cap CAP] [--no-new-privs] [--preserve-fds N] [--apparmor P] [--process-label L] ID
import { readFileSync } from "node:fs";
import type { Globals } from "./globals.ts";
import { parseCommand } from "./globals.ts";
import { BuncError } from "../errors.ts";
import { logWarn } from "../log.ts";
import { validateProcess } from "../spec/validate.ts";
import type { Process } from "../spec/types.ts";
import { Container } from "../container/container.ts";
import { execInContainer } from "../container/exec.ts";
import { superviseForeground } from "../container/foreground.ts";
import * as native from "../native.ts";

const FLAGS: {
  [k: string]: string | StringConstructor | BooleanConstructor | [StringConstructor];
} = {
  "--process": String, "-p": "--process",
  "--env": [String], "-e": "--env",
  "--cwd": String,
  "--user": String, "-u": "--user",
  "--additional-gids": [String], "-g": "--additional-gids",
  "--tty": Boolean, "-t": "--tty",
  "--console-socket": String,
  "--detach": Boolean, "-d": "--detach",
  "--pid-file": String,
  "--cap": [String], "-c": "--cap",
  "--no-new-privs": Boolean,
  "--preserve-fds": String,
  "--apparmor": String,
  "--process-label": String,
  "--ignore-paused": Boolean,
  "--cgroup": [String],
};

function intArg(flag: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new BuncError(`exec: ${flag}: "${v}" is not a non-negative integer`);
  return Number(v);
}

/** The process to run: --process gives it whole; otherwise the container's process with overrides (as runc). */
type Flags = {
  "--process"?: string; "--env"?: string[]; "--cwd"?: string; "--user"?: string; "--additional-gids"?: string[];
  "--tty"?: boolean; "--console-socket"?: string; "--detach"?: boolean; "--pid-file"?: string; "--cap"?: string[];
  "--no-new-privs"?: boolean; "--preserve-fds"?: string; "--apparmor"?: string; "--process-label"?: string; "--cgroup"?: string[];
  "--ignore-paused"?: boolean;
  _: string[];
};

function buildProcess(a: Flags, c: Container, args: string[]): Process {
  if (a["--process"]) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(a["--process"], "utf8"));
    } catch (e) {
      throw new BuncError(`process.json: ${a["--process"]}: ${(e as Error).message}`);
    }
    return validateProcess(raw, "process.json", "", logWarn);
  }
  if (args.length === 0) throw new BuncError("exec: missing command (usage: bunc exec [options] <container-id> <command> [args...])");
  const base = c.rec.config.process!;
  const p: Process = structuredClone(base);
  p.args = args;
  p.terminal = !!a["--tty"];
  p.env = [...(base.env ?? []), ...(a["--env"] ?? [])];
  if (a["--cwd"]) p.cwd = a["--cwd"];
  if (a["--user"]) {
    const [u, g] = a["--user"].split(":");
    p.user = { ...p.user, uid: intArg("--user", u!), gid: g !== undefined ? intArg("--user", g) : p.user.gid };
  }
  if (a["--additional-gids"]) p.user = { ...p.user, additionalGids: a["--additional-gids"].map((g) => intArg("--additional-gids", g)) };
  if (a["--cap"]?.length) {
    const caps = p.capabilities ?? {};
    // runc adds --cap to the bounding, effective and permitted sets (not inheritable: CVE-2022-29162).
    for (const set of ["bounding", "effective", "permitted"] as const) caps[set] = [...new Set([...(caps[set] ?? []), ...a["--cap"]])];
    p.capabilities = caps;
  }
  if (a["--no-new-privs"]) p.noNewPrivileges = true;
  if (a["--apparmor"]) p.apparmorProfile = a["--apparmor"];
  if (a["--process-label"]) p.selinuxLabel = a["--process-label"];
  return p;
}

export async function main(argv: string[], g: Globals): Promise<number> {
  // Flags stop at the container id: what follows is the command and its own flags.
  const a = parseCommand("exec", FLAGS, argv, true) as unknown as Flags;
  const pos = a._[1] === "--" ? [a._[0]!, ...a._.slice(2)] : a._;
  if (pos.length === 0) throw new BuncError("exec: missing container id");
  const c = Container.load(g.root, pos[0]!);
  if (a["--cgroup"]?.length) throw new BuncError("exec: --cgroup is not supported");
  const proc = buildProcess(a, c, pos.slice(1));
  if (a["--tty"] && a["--process"]) proc.terminal = true;
  const detach = !!a["--detach"];
  if (!detach) native.setSubreaper();
  const r = await execInContainer(c, {
    process: proc,
    consoleSocket: a["--console-socket"],
    pidFile: a["--pid-file"],
    detach,
    preserveFds: a["--preserve-fds"] ? intArg("--preserve-fds", a["--preserve-fds"]) : 0,
    ignorePaused: !!a["--ignore-paused"],
  });
  if (detach) return 0;
  return superviseForeground(r.pid, r.ptyFd);
}
