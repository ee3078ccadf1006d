// `pod run`, before anything runs: read and check the manifest, find the images, check every
// container can be built, and only then reserve the pod's name and write its first record.
// A bad manifest leaves nothing behind (no containers, cgroups or state).
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { BuncError } from "../errors.ts";
import { logWarn } from "../log.ts";
import { containerDir } from "../container/state.ts";
import { allSpecs, contextOf } from "./context.ts";
import { resolveImage, type Image } from "./image.ts";
import { parseManifest } from "./manifest.ts";
import { qosClass } from "./resources.ts";
import { checkRunnable } from "./spec-build.ts";
import { podDir, reservePodDir, writePodRecord, type ContainerStatusK8s, type PodRecord } from "./store.ts";
import type { ContainerSpec } from "./types.ts";

export interface PrepareOptions {
  root: string;
  /** the manifest path, or "-" for stdin */
  file: string;
  dataDir: string;
  cgroupParent: string;
  systemd: boolean;
}

function readManifest(file: string): { text: string; label: string; baseDir: string } {
  if (file === "-") {
    try {
      return { text: readFileSync(0, "utf8"), label: "<stdin>", baseDir: process.cwd() };
    } catch (e) {
      throw new BuncError(`<stdin>: cannot read the manifest: ${(e as Error).message}`);
    }
  }
  try {
    return { text: readFileSync(file, "utf8"), label: file, baseDir: dirname(resolve(file)) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BuncError(`${file}: cannot read the manifest${code === "ENOENT" ? ": no such file" : `: ${(e as Error).message}`}`);
  }
}

function initialStatus(c: ContainerSpec, img: Image, init: boolean): ContainerStatusK8s {
  return {
    name: c.name,
    state: { waiting: { reason: init ? "PodInitializing" : "ContainerCreating" } },
    lastState: {},
    ready: false,
    restartCount: 0,
    image: c.image,
    imageID: img.id,
    started: false,
  };
}

export function preparePod(o: PrepareOptions): PodRecord {
  const { text, label, baseDir } = readManifest(o.file);
  const { pod, warnings } = parseManifest(text, label, logWarn);
  for (const w of warnings) logWarn(w);
  const name = pod.metadata.name;
  const uid = randomUUID();
  const images: Record<string, Image> = {};
  const ids: Record<string, string> = {};
  const specs = [
    ...(pod.spec.initContainers ?? []).map((c, i) => ({ c, path: `spec.initContainers[${i}]` })),
    ...pod.spec.containers.map((c, i) => ({ c, path: `spec.containers[${i}]` })),
  ];
  for (const { c, path } of specs) {
    images[c.name] = resolveImage(c.image, { baseDir, cacheDir: `${o.dataDir}/images`, where: `${label}: ${path}.image` });
    ids[c.name] = `${name}-${c.name}`;
  }
  const sandboxId = `${name}-sandbox`;
  const rec: PodRecord = {
    pod: {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { ...pod.metadata, namespace: pod.metadata.namespace ?? "default", uid, creationTimestamp: new Date().toISOString() },
      spec: { ...pod.spec, restartPolicy: pod.spec.restartPolicy ?? "Always", terminationGracePeriodSeconds: pod.spec.terminationGracePeriodSeconds ?? 30 },
      status: {
        phase: "Pending",
        conditions: [],
        qosClass: qosClass(pod.spec),
        ...(pod.spec.initContainers?.length ? { initContainerStatuses: [] } : {}),
        containerStatuses: [],
      },
    },
    bunc: { root: o.root, dataDir: o.dataDir, cgroupParent: o.cgroupParent, systemd: o.systemd, images, ids, sandboxId },
  };
  const ctx = contextOf(rec);
  for (const { c, path } of specs) checkRunnable(ctx, c, `${label}: ${path}`);
  if (existsSync(podDir(o.root, name))) throw new BuncError(`pod "${name}" already exists (bunc pod rm ${name} first)`);
  for (const id of [sandboxId, ...Object.values(ids)])
    if (existsSync(containerDir(o.root, id))) throw new BuncError(`pod "${name}": a container "${id}" already exists in ${o.root}`);
  for (const { c, init } of allSpecs(rec)) {
    const st = initialStatus(c, images[c.name]!, init);
    (init ? rec.pod.status.initContainerStatuses! : rec.pod.status.containerStatuses).push(st);
  }
  reservePodDir(o.root, name);
  writePodRecord(o.root, rec);
  return rec;
}
