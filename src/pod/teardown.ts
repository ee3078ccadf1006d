// Removing what a pod made on the host: its bunc containers (sandbox last), the pod cgroup,
// the mounts under its data directory; with `all`, also its data and its record. Every step
// is safe to repeat, so `pod rm` can clean up after a supervisor that died half-way.
import { existsSync, rmSync } from "node:fs";
import { Container } from "../container/container.ts";
import { containerDir } from "../container/state.ts";
import { loadCgroup } from "../cgroups/index.ts";
import { logWarn } from "../log.ts";
import { mountsUnder, unmountAll } from "./hostfs.ts";
import { BuncError } from "../errors.ts";
import { podDataDir, podDir, type PodRecord } from "./store.ts";

export async function deleteContainerIfThere(root: string, id: string): Promise<void> {
  if (!existsSync(`${containerDir(root, id)}/state.json`)) {
    rmSync(containerDir(root, id), { recursive: true, force: true }); // a create that died half-way
    return;
  }
  try {
    await Container.load(root, id).delete(true);
  } catch (e) {
    logWarn(`pod: delete container ${id}: ${(e as Error).message}`);
  }
}

export async function teardownPod(rec: PodRecord, all: boolean): Promise<void> {
  const root = rec.bunc.root;
  const ids = Object.values(rec.bunc.ids);
  for (const id of ids) await deleteContainerIfThere(root, id);
  await deleteContainerIfThere(root, rec.bunc.sandboxId);
  if (rec.bunc.podCgroup) {
    try {
      await loadCgroup(rec.bunc.podCgroup).destroy();
    } catch (e) {
      logWarn(`pod ${rec.pod.metadata.name}: remove pod cgroup: ${(e as Error).message}`);
    }
  }
  const data = podDataDir(rec.bunc.dataDir, rec.pod.metadata.uid);
  unmountAll(data);
  const left = mountsUnder(data);
  if (left.length) throw new BuncError(`pod ${rec.pod.metadata.name}: still mounted, not removing: ${left.join(", ")}`);
  if (all) {
    rmSync(data, { recursive: true, force: true });
    rmSync(podDir(root, rec.pod.metadata.name), { recursive: true, force: true });
  } else {
    // Writable layers go with their containers; volumes stay until `pod rm` (the record too).
    rmSync(`${data}/containers`, { recursive: true, force: true });
  }
}
