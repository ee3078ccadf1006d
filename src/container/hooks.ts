// OCI hooks that run in the runtime's namespaces: prestart, createRuntime (during create, after
// the namespaces exist), poststart (after start) and poststop (after delete). Each gets the
// container state JSON on stdin and is killed when it runs past its timeout.
import { BuncError } from "../errors.ts";
import { logWarn } from "../log.ts";
import type { Hook, HookKind, OciState } from "../spec/types.ts";

function envObject(env: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env ?? []) {
    const i = e.indexOf("=");
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

/** Run one hook; returns an error message, or undefined when it succeeded. */
export function runHook(kind: HookKind, h: Hook, state: OciState): string | undefined {
  const args = h.args && h.args.length ? h.args : [h.path];
  let r;
  try {
    r = Bun.spawnSync({
      cmd: [h.path, ...args.slice(1)],
      argv0: args[0],
      env: envObject(h.env),
      stdin: Buffer.from(JSON.stringify(state)),
      stdout: "pipe",
      stderr: "pipe",
      timeout: h.timeout ? h.timeout * 1000 : undefined,
      killSignal: "SIGKILL",
    });
  } catch (e) {
    return `${kind} hook ${h.path}: ${(e as Error).message}`;
  }
  const out = (r.stderr?.toString() || r.stdout?.toString() || "").trim().split("\n").slice(-1)[0] ?? "";
  const detail = out ? ` (${out})` : "";
  if (r.exitedDueToTimeout) return `${kind} hook ${h.path}: timed out after ${h.timeout}s${detail}`;
  if (r.signalCode) return `${kind} hook ${h.path}: killed by ${r.signalCode}${detail}`;
  if (r.exitCode !== 0) return `${kind} hook ${h.path}: exit status ${r.exitCode}${detail}`;
  return undefined;
}

/** Hooks whose failure aborts the operation (prestart, createRuntime). */
export function runHooksOrFail(kind: HookKind, hooks: Hook[] | undefined, state: OciState): void {
  for (const h of hooks ?? []) {
    const err = runHook(kind, h, state);
    if (err) throw new BuncError(err);
  }
}

/** Hooks whose failure is only a warning (poststart, poststop). */
export function runHooksWarn(kind: HookKind, hooks: Hook[] | undefined, state: OciState): void {
  for (const h of hooks ?? []) {
    const err = runHook(kind, h, state);
    if (err) logWarn(err);
  }
}
