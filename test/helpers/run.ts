// Running bin/bunc from tests, and small things every integration test needs.
import { describe } from "bun:test";
import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "../..");

/** The binary under test: `BUNC_BIN` overrides the repo's bin/bunc. */
export function buncBin(): string {
  return process.env.BUNC_BIN ?? join(REPO_ROOT, "bin/bunc");
}

export interface BuncResult {
  code: number;
  stdout: string;
  stderr: string;
  /** true when the helper killed bunc because it ran past timeoutMs */
  timedOut: boolean;
}

export interface BuncOptions {
  /** passed as the global `--root DIR` before the subcommand */
  root?: string;
  stdin?: string | Uint8Array;
  /** bunc is killed (SIGKILL) after this long; default 30 s */
  timeoutMs?: number;
  /** extra environment on top of the test's own */
  env?: Record<string, string | undefined>;
  cwd?: string;
}

let calls = 0;

export interface CmdOptions {
  stdin?: string | Uint8Array;
  /** the command is killed (SIGKILL) after this long; default 30 s */
  timeoutMs?: number;
  /** extra environment on top of the test's own */
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/**
 * Run argv to completion and collect its output.
 *
 * Output goes to files, not pipes: after `create` or `run -d` the container process still holds
 * the stdio it inherited, so a pipe would not reach end-of-file until the container exits.
 */
export async function cmd(argv: string[], opts: CmdOptions = {}): Promise<BuncResult> {
  // files straight in the temp dir (removed below): a directory for them outlived every test run
  const outFile = join(tmpdir(), `bunc-test-output-${process.pid}-${++calls}.out`);
  const errFile = join(tmpdir(), `bunc-test-output-${process.pid}-${calls}.err`);
  const out = openSync(outFile, "w+");
  const err = openSync(errFile, "w+");
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timedOut = false;
  try {
    const proc = Bun.spawn(argv, {
      stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
      stdout: out,
      stderr: err,
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
    });
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill("SIGKILL");
    }, timeoutMs);
    const code = await proc.exited.finally(() => clearTimeout(timer));
    const stdout = readFileSync(outFile, "utf8");
    const stderr = readFileSync(errFile, "utf8") + (timedOut ? `\n[test helper: killed after ${timeoutMs} ms]` : "");
    return { code, stdout, stderr, timedOut };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(outFile, { force: true });
    rmSync(errFile, { force: true });
  }
}

/** Run `bunc [--root R] ...args` to completion and collect its output (see cmd()). */
export function bunc(args: string[], opts: BuncOptions = {}): Promise<BuncResult> {
  return cmd([buncBin(), ...(opts.root ? ["--root", opts.root] : []), ...args], opts);
}

/** Like bunc(), but throws with the output when the exit status is not 0. */
export async function buncOk(args: string[], opts: BuncOptions = {}): Promise<BuncResult> {
  const r = await bunc(args, opts);
  if (r.code !== 0)
    throw new Error(`bunc ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** `describe` for suites that need root (real containers); skipped for other users. */
export const describeRoot: typeof describe = isRoot() ? describe : (describe.skip as typeof describe);

/**
 * Poll `pred` until it returns something truthy and return that value; throw after timeoutMs.
 * For readiness ("the file exists now"), never to assert how fast something is.
 */
export async function waitFor<T>(
  pred: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = "condition",
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      lastError = e; // e.g. reading a file that is not there yet
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms${why}`);
    }
    await Bun.sleep(intervalMs);
  }
}
