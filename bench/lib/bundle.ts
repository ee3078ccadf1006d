// One bundle directory per container: the same busybox rootfs (read by absolute path) for every
// runtime, and a config.json that differs only in its cgroupsPath (/bunc-bench/<runtime>-<n>).
import { mkdirSync, writeFileSync } from "node:fs";
import { defaultSpec } from "../../test/helpers/bundle.ts";

export const BENCH_CGROUP = "/bunc-bench";
/** A memory limit, so that every runtime really writes the memory controller. */
export const MEMORY_LIMIT = 256 * 1024 * 1024;

export interface BenchContainer {
  id: string;
  bundle: string;
  pidFile: string;
  cgroupsPath: string;
}

export function writeBundle(dir: string, rootfs: string, id: string, args: string[], annotations?: Record<string, string>): BenchContainer {
  mkdirSync(dir, { recursive: true });
  const cgroupsPath = `${BENCH_CGROUP}/${id}`;
  const spec = defaultSpec(args, rootfs, cgroupsPath);
  // Debian's crun 1.8.1 refuses any ociVersion but 1.0.x; the spec content is 1.0 compatible.
  spec.ociVersion = "1.0.2";
  spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: MEMORY_LIMIT } };
  if (annotations) spec.annotations = annotations;
  writeFileSync(`${dir}/config.json`, JSON.stringify(spec, null, 2));
  return { id, bundle: dir, pidFile: `${dir}/pid`, cgroupsPath };
}
