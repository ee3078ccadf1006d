// Whether a container's cgroup is frozen, from its saved record alone: `state`, `start` and `list`
// need nothing else of the cgroup library, and loading all of it cost each of them ~0.8 ms.
import { readOptional } from "./fs.ts";
import type { SavedCgroup } from "./types.ts";

/** FROZEN only when this cgroup itself was frozen (not merely a frozen ancestor). */
export function isFrozenV1(dir: string): boolean {
  for (let i = 0; i < 1000; i++) {
    const state = readOptional(`${dir}/freezer.state`)?.trim();
    if (state === undefined || state === "THAWED") return false;
    if (state === "FROZEN") {
      const self = readOptional(`${dir}/freezer.self_freezing`)?.trim();
      return self === undefined || self === "1";
    }
    Bun.sleepSync(1); // FREEZING: wait for a stable answer
  }
  return false;
}

export function isFrozenV2(dir: string): boolean {
  return readOptional(`${dir}/cgroup.freeze`)?.trim() === "1";
}

/** The freezer state of a saved cgroup of any driver (systemd's keeps its v1 or v2 paths). */
export function isSavedFrozen(record: unknown): boolean {
  const saved = record as SavedCgroup | undefined;
  if (!saved?.paths || typeof saved.paths !== "object") return false;
  const v2 = saved.driver === "fs2" || (saved.driver === "systemd" && saved.systemd?.fs === "v2");
  const dir = v2 ? saved.paths[""] : saved.paths["freezer"];
  if (!dir) return false;
  return v2 ? isFrozenV2(dir) : isFrozenV1(dir);
}
