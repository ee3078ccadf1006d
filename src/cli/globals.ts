// runc's global options. They come before the subcommand (containerd, conmon), in both
// "--flag value" and "--flag=value" forms. runc also accepts single-dash long flags (Go's flag
// package), so "-root" and "-log" are normalised too.
import arg from "arg";
import { BuncError } from "../errors.ts";

export interface Globals {
  root: string;
  log?: string;
  logFormat: "text" | "json";
  debug: boolean;
  systemdCgroup: boolean;
  rootless?: string;
  criu?: string;
  version: boolean;
  help: boolean;
}

const SPEC = {
  "--root": String,
  "--log": String,
  "--log-format": String,
  "--debug": Boolean,
  "--systemd-cgroup": Boolean,
  "--rootless": String,
  "--criu": String,
  "--version": Boolean,
  "--help": Boolean,
  "-v": "--version",
  "-h": "--help",
} as const;

/** Go's flag package takes "-name" for "--name": accept both for long names. */
export function normaliseDashes(argv: string[], longNames: Iterable<string>): string[] {
  const names = new Set(longNames);
  return argv.map((a) => {
    if (a.startsWith("--") || !a.startsWith("-") || a.length < 3) return a;
    const name = "-" + a.split("=")[0];
    return names.has(name) ? "-" + a : a;
  });
}

export function defaultRoot(): string {
  // Rootless callers keep state under $XDG_RUNTIME_DIR, as runc does.
  if (process.getuid?.() !== 0 && process.env.XDG_RUNTIME_DIR) return `${process.env.XDG_RUNTIME_DIR}/bunc`;
  return "/run/bunc";
}

export function parseGlobals(argv: string[]): { globals: Globals; rest: string[] } {
  // Only the part before the subcommand holds global options.
  let i = 0;
  const valued = new Set(["--root", "--log", "--log-format", "--rootless", "--criu"]);
  while (i < argv.length && argv[i]!.startsWith("-")) {
    const a = argv[i]!.startsWith("--") ? argv[i]! : "-" + argv[i]!;
    if (a === "--") { i++; break; }
    i += valued.has(a) ? 2 : 1;
  }
  const head = normaliseDashes(argv.slice(0, Math.min(i, argv.length)), Object.keys(SPEC));
  let a: arg.Result<typeof SPEC>;
  try {
    a = arg(SPEC, { argv: head, permissive: false });
  } catch (e) {
    throw new BuncError(`global options: ${(e as Error).message}`);
  }
  const fmt = a["--log-format"] ?? "text";
  if (fmt !== "text" && fmt !== "json") throw new BuncError(`global options: --log-format: must be "text" or "json", not "${fmt}"`);
  const globals: Globals = {
    root: a["--root"] || defaultRoot(),
    log: a["--log"],
    logFormat: fmt,
    debug: !!a["--debug"],
    systemdCgroup: !!a["--systemd-cgroup"],
    rootless: a["--rootless"],
    criu: a["--criu"],
    version: !!a["--version"],
    help: !!a["--help"],
  };
  return { globals, rest: [...a._, ...argv.slice(i)] };
}

/** Parse a subcommand's own flags; flags may appear before or after positional args. */
export function parseCommand<T extends arg.Spec>(cmd: string, spec: T, argv: string[], stopAtPositional = false): arg.Result<T> {
  try {
    // With stopAtPositional everything after the first positional is left alone (exec's command).
    const first = stopAtPositional ? argv.findIndex((x, i) => !x.startsWith("-") && !isValueOf(spec, argv[i - 1])) : -1;
    const head = first >= 0 ? argv.slice(0, first) : argv;
    const r = arg(spec, { argv: normaliseDashes(head, Object.keys(spec)) });
    if (first >= 0) r._.push(...argv.slice(first));
    return r;
  } catch (e) {
    throw new BuncError(`${cmd}: ${(e as Error).message}`);
  }
}

/** Is `prev` a flag that takes a value (so the next word is its value, not a positional)? */
function isValueOf(spec: arg.Spec, prev: string | undefined): boolean {
  if (!prev || !prev.startsWith("-") || prev.includes("=")) return false;
  const key = prev.startsWith("--") ? prev : Object.hasOwn(spec, prev) ? prev : "-" + prev;
  let t = spec[key];
  if (typeof t === "string") t = spec[t];
  return t !== undefined && t !== Boolean && !(Array.isArray(t) && t[0] === Boolean);
}

/** The single container id a command takes, checked for safety. */
export function requireId(cmd: string, positional: string[]): string {
  if (positional.length === 0) throw new BuncError(`${cmd}: missing container id (usage: bunc ${cmd} [options] <container-id>)`);
  return positional[0]!;
}
