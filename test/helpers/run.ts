// Running bin/bunc from tests, and small things every integration test needs.
import { describe } from "bun:test";
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

/** Run `bunc [--root R] ...args` to completion and collect its output. */
export async function bunc(args: string[], opts: BuncOptions = {}): Promise<BuncResult> {
  const argv = [buncBin(), ...(opts.root ? ["--root", opts.root] : []), ...args];
  const proc = Bun.spawn(argv, {
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, opts.timeoutMs ?? 30_000);
  try {
    // Read both pipes while waiting: a full pipe would otherwise block bunc forever.
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { code, stdout, stderr: timedOut ? `${stderr}\n[test helper: killed after ${opts.timeoutMs ?? 30_000} ms]` : stderr, timedOut };
  } finally {
    clearTimeout(timer);
  }
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
