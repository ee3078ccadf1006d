// Every runtime invocation a client makes, recorded by a wrapper script that appends its argv
// to a log and then execs bunc; and the check that each subcommand and flag recorded is one bunc
// implements.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";

const SEP = "\x1f";

/** Write an executable wrapper at `path` that logs its argv to `log` and execs `target`. */
export function writeLoggingWrapper(path: string, log: string, target: string): void {
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  writeFileSync(
    path,
    [
      "#!/bin/bash",
      "# Test wrapper: record how the client called the runtime, then be the runtime.",
      `line="$EPOCHREALTIME"`,
      `for a in "$@"; do line+=$'${"\\x1f"}'"$a"; done`,
      // One write per call (O_APPEND): concurrent calls do not interleave within a line.
      `printf '%s\\n' "$line" >> ${q(log)}`,
      `exec ${q(target)} "$@"`,
      "",
    ].join("\n"),
  );
  chmodSync(path, 0o755);
}

export interface Invocation {
  time: number;
  argv: string[];
  /** global flags (before the subcommand), by name without dashes; true for booleans */
  globals: Record<string, string | true>;
  /** the subcommand, or "" for `--version` and friends */
  command: string;
  /** the subcommand's flags, by name without dashes */
  flags: Record<string, string | true>;
  /** positional arguments after the subcommand (container id, signal) */
  positional: string[];
}

/** Global flags that take a value, for parsing the recorded argv the way runc would. */
const VALUED_GLOBALS = new Set(["root", "log", "log-format", "rootless", "criu"]);

/**
 * What bunc implements, per subcommand: each flag and whether it takes a value. This is the
 * runc CLI surface that containerd's shim, its CRI plugin and conmon use (CLI-CONTRACT.md);
 * a recorded call outside it is a test failure, so a new client call gets noticed.
 */
export const IMPLEMENTED: Record<string, Record<string, boolean>> = {
  create: { bundle: true, b: true, "pid-file": true, "console-socket": true, "no-pivot": false, "no-new-keyring": false, "preserve-fds": true },
  start: {},
  run: { bundle: true, b: true, "pid-file": true, "console-socket": true, "no-pivot": false, "no-new-keyring": false, detach: false, d: false, "preserve-fds": true, init: false },
  state: {},
  exec: { process: true, p: true, detach: false, d: false, "pid-file": true, "console-socket": true, tty: false, t: false, cwd: true, env: true, e: true, user: true, u: true, "preserve-fds": true },
  kill: { all: false, a: false },
  delete: { force: false, f: false },
  ps: { format: true, f: true },
  pause: {},
  resume: {},
  update: { resources: true, r: true },
  events: { stats: false, interval: true },
  list: { format: true, f: true, quiet: false, q: false },
  features: {},
};
export const IMPLEMENTED_GLOBALS: Record<string, boolean> = { root: true, log: true, "log-format": true, "systemd-cgroup": false, debug: false, version: false, v: false };

function splitFlag(a: string): { name: string; value?: string } {
  const body = a.replace(/^--?/, "");
  const eq = body.indexOf("=");
  return eq >= 0 ? { name: body.slice(0, eq), value: body.slice(eq + 1) } : { name: body };
}

export function parseInvocation(argv: string[], time = 0): Invocation {
  const globals: Record<string, string | true> = {};
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith("-"); i++) {
    const { name, value } = splitFlag(argv[i]!);
    if (value !== undefined) globals[name] = value;
    else if (VALUED_GLOBALS.has(name)) globals[name] = argv[++i] ?? "";
    else globals[name] = true;
  }
  const command = argv[i++] ?? "";
  const known = IMPLEMENTED[command] ?? {};
  const flags: Record<string, string | true> = {};
  const positional: string[] = [];
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith("-") && !/^-\d+$/.test(a) && positional.length === 0) {
      const { name, value } = splitFlag(a);
      if (value !== undefined) flags[name] = value;
      else if (known[name]) flags[name] = argv[++i] ?? "";
      else flags[name] = true;
    } else if (a.startsWith("--") && command === "kill") {
      flags[splitFlag(a).name] = true; // `kill ID --all` is not a form clients use, but parse it
    } else {
      positional.push(a);
    }
  }
  return { time, argv, globals, command, flags, positional };
}

/** The invocations recorded in `log`, in order. */
export function readInvocations(log: string): Invocation[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [time, ...argv] = line.split(SEP);
      return parseInvocation(argv, Number(time));
    });
}

/** Every subcommand/flag in `calls` that bunc does not implement, as readable lines. */
export function unimplementedUses(calls: Invocation[]): string[] {
  const problems = new Set<string>();
  for (const c of calls) {
    for (const g of Object.keys(c.globals)) if (!(g in IMPLEMENTED_GLOBALS)) problems.add(`global flag --${g} (in: ${c.argv.join(" ")})`);
    if (c.command === "") {
      if (!c.globals.version && !c.globals.v) problems.add(`no subcommand (in: ${c.argv.join(" ")})`);
      continue;
    }
    const known = IMPLEMENTED[c.command];
    if (!known) {
      problems.add(`subcommand ${c.command} (in: ${c.argv.join(" ")})`);
      continue;
    }
    for (const f of Object.keys(c.flags)) if (!(f in known)) problems.add(`${c.command} --${f} (in: ${c.argv.join(" ")})`);
  }
  return [...problems];
}

/** Subcommand -> the set of flags used with it (for a readable summary in test output). */
export function usageSummary(calls: Invocation[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const c of calls) {
    const key = c.command || "(globals only)";
    out[key] ??= new Set();
    for (const g of Object.keys(c.globals)) out[key]!.add(`global --${g}`);
    for (const f of Object.keys(c.flags)) out[key]!.add(`--${f}`);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

/**
 * Lines that say the runtime refused its command line: arg's "unknown or unexpected option",
 * bunc's own "unknown command", "is not supported" and runc-style "flag provided but not
 * defined". Searched for in the client's logs and in each bundle's log.json.
 */
export const CLI_REJECTION = /unknown or unexpected option|unknown command|flag provided but not defined|is not supported|missing container id/i;

export function cliRejections(text: string): string[] {
  return text.split("\n").filter((l) => CLI_REJECTION.test(l));
}
