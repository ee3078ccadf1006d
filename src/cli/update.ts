// bunc update [flags] ID: change a running container's resources, as runc update does.
// --resources FILE|- takes a LinuxResources JSON (containerd sends it on stdin); the flags
// override single values. The result is merged into the container's config, applied through
// its cgroup driver, and written back to the record so later commands see it.
import { readFileSync } from "node:fs";
import { useNativeBpf } from "../cgroups/index.ts";
import * as native from "../native.ts";
import { BuncError } from "../errors.ts";
import { Container } from "../container/container.ts";
import { writeRecord } from "../container/state.ts";
import type { LinuxResources } from "../spec/types.ts";
import { parseCommand, requireId, type Globals } from "./globals.ts";
import { parseIntFlag, parseRamBytes } from "./units.ts";
import { stderr } from "../out.ts";

const SPEC = {
  "--resources": String,
  "-r": "--resources",
  "--blkio-weight": String,
  "--cpu-period": String,
  "--cpu-quota": String,
  "--cpu-share": String,
  "--cpu-shares": String,
  "--cpu-rt-period": String,
  "--cpu-rt-runtime": String,
  "--cpu-idle": String,
  "--cpuset-cpus": String,
  "--cpuset-mems": String,
  "--kernel-memory": String,
  "--kernel-memory-tcp": String,
  "--memory": String,
  "--memory-reservation": String,
  "--memory-swap": String,
  "--pids-limit": String,
  "--l3-cache-schema": String,
  "--mem-bw-schema": String,
} as const;

function readResources(source: string): LinuxResources {
  let text: string;
  try {
    text = readFileSync(source === "-" ? 0 : source, "utf8");
  } catch (e) {
    throw new BuncError(`update: --resources ${source}: ${(e as Error).message}`);
  }
  try {
    const r = JSON.parse(text);
    if (!r || typeof r !== "object" || Array.isArray(r)) throw new Error("not a JSON object");
    return r as LinuxResources;
  } catch (e) {
    throw new BuncError(`update: --resources ${source === "-" ? "(stdin)" : source}: invalid LinuxResources JSON: ${(e as Error).message}`);
  }
}

/** Overlay b onto a, field by field (objects merge, everything else replaces). */
function merge<T>(a: T, b: T): T {
  if (b === undefined) return a;
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) out[k] = merge(out[k], v);
    return out as T;
  }
  return b;
}

/** The flags as a LinuxResources fragment. */
export function flagResources(a: ReturnType<typeof parseCommand<typeof SPEC>>): LinuxResources {
  const r: LinuxResources = {};
  const mem = (flag: keyof typeof SPEC) => {
    const v = a[flag] as string | undefined;
    if (v === undefined || v === "") return undefined;
    return v === "-1" ? -1 : parseRamBytes(flag, v);
  };
  const int = (flag: keyof typeof SPEC, min = -Infinity) => {
    const v = a[flag] as string | undefined;
    return v === undefined || v === "" ? undefined : parseIntFlag(flag, v, min);
  };
  const memory = { limit: mem("--memory"), swap: mem("--memory-swap"), reservation: mem("--memory-reservation"), kernel: mem("--kernel-memory"), kernelTCP: mem("--kernel-memory-tcp") };
  const shares = int("--cpu-shares", 0) ?? int("--cpu-share", 0);
  const cpu = {
    shares, quota: int("--cpu-quota"), period: int("--cpu-period", 0), realtimePeriod: int("--cpu-rt-period", 0),
    realtimeRuntime: int("--cpu-rt-runtime"), idle: int("--cpu-idle"), cpus: a["--cpuset-cpus"] || undefined, mems: a["--cpuset-mems"] || undefined,
  };
  const strip = <O extends object>(o: O) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as O;
  if (Object.keys(strip(memory)).length) r.memory = strip(memory);
  if (Object.keys(strip(cpu)).length) r.cpu = strip(cpu);
  const pids = int("--pids-limit");
  if (pids !== undefined) r.pids = { limit: pids };
  const weight = int("--blkio-weight", 0);
  if (weight !== undefined) r.blockIO = { weight };
  return r;
}

/**
 * OCI swap is memory+swap. A new limit without a new swap keeps the swap *amount* the container
 * had (what runc leaves in memory.swap.max on v2), so memory+swap moves with the limit instead
 * of falling below it.
 */
export function keepSwapAmount(old: LinuxResources["memory"], change: LinuxResources["memory"], next: LinuxResources): void {
  if (!change || change.limit === undefined || change.swap !== undefined || !next.memory) return;
  const oldLimit = old?.limit ?? 0;
  const oldSwap = old?.swap ?? 0;
  if (oldSwap === 0 || oldSwap === -1) return;
  if (change.limit === -1) next.memory.swap = -1;
  else if (oldLimit > 0) next.memory.swap = change.limit + Math.max(0, oldSwap - oldLimit);
}

/** Go's flag package takes "--memory -1": the value may start with "-". Keep it a value. */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith("--") ? a : "-" + a;
    const next = argv[i + 1];
    if (name in SPEC && SPEC[name as keyof typeof SPEC] === String && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

export async function main(argv: string[], g: Globals): Promise<number> {
  const a = parseCommand("update", SPEC, joinNegativeValues(argv));
  const id = requireId("update", a._);
  if (a["--l3-cache-schema"] || a["--mem-bw-schema"]) throw new BuncError("update: Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported by bunc");
  useNativeBpf(native);
  const c = Container.load(g.root, id);
  const st = c.status();
  if (st === "stopped") throw new BuncError(`container "${id}" is not running: cannot update a stopped container`);
  const cg = c.cgroup();
  if (!cg) throw new BuncError(`container "${id}" has no cgroup: cannot update its resources`);

  let requested: LinuxResources = a["--resources"] !== undefined ? readResources(a["--resources"]) : {};
  requested = merge(requested, flagResources(a));
  // device rules are not updatable (runc keeps the config's); kernel memory is gone from Linux
  const { devices: _ignored, ...changes } = requested;
  void _ignored;
  if (changes.memory?.kernel || changes.memory?.kernelTCP) stderr("bunc: warning: kernel memory settings are ignored (not supported by the kernel)\n");
  if (changes.memory) {
    delete changes.memory.kernel;
    delete changes.memory.kernelTCP;
  }
  const spec = c.rec.config;
  spec.linux ??= {};
  const next = merge(spec.linux.resources ?? {}, changes);
  keepSwapAmount(spec.linux.resources?.memory, changes.memory, next);
  await cg.update(next);
  spec.linux.resources = next;
  c.rec.cgroup = cg.save();
  writeRecord(c.dir, c.rec);
  return 0;
}
