// A pod's record on disk: <root>/pods/<name>/pod.json (the Pod as Kubernetes shows it, plus
// what bunc needs to manage it), logs/<container>.log, bundles/<container>/config.json.
// Only the pod's supervisor writes pod.json while it runs; `pod stop` asks it by a request
// file and a signal. `bunc list` skips <root>/pods (it has no state.json).
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { BuncError } from "../errors.ts";
import type { SavedCgroup } from "../cgroups/index.ts";
import type { Image } from "./image.ts";
import type { QosClass } from "./resources.ts";
import type { ObjectMeta, PodSpec } from "./types.ts";

export interface ContainerStateK8s {
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string };
  terminated?: {
    exitCode: number;
    signal?: number;
    reason: string;
    message?: string;
    startedAt: string;
    finishedAt: string;
    containerID?: string;
  };
}

export interface ContainerStatusK8s {
  name: string;
  state: ContainerStateK8s;
  lastState: ContainerStateK8s;
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  started: boolean;
}

export type Phase = "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";

export interface PodStatusK8s {
  phase: Phase;
  conditions: { type: string; status: "True" | "False"; lastTransitionTime?: string; reason?: string }[];
  message?: string;
  reason?: string;
  hostIP?: string;
  startTime?: string;
  qosClass: QosClass;
  initContainerStatuses?: ContainerStatusK8s[];
  containerStatuses: ContainerStatusK8s[];
}

export interface PodObject {
  apiVersion: "v1";
  kind: "Pod";
  metadata: ObjectMeta & { uid: string; creationTimestamp: string; namespace: string };
  spec: PodSpec;
  status: PodStatusK8s;
}

/** bunc's own bookkeeping, beside the Pod object. */
export interface PodInternal {
  root: string;
  dataDir: string;
  cgroupParent: string;
  systemd: boolean;
  images: Record<string, Image>;
  /** the bunc container id of each pod container, and of the sandbox */
  ids: Record<string, string>;
  sandboxId: string;
  supervisor?: { pid: number; startTime: string };
  /** the pod-level cgroup, once made */
  podCgroup?: SavedCgroup;
  /** set when the pod will not run anything again; the supervisor is gone or going */
  finished?: boolean;
  /** the exit status `pod run` reports */
  exitCode?: number;
}

export interface PodRecord {
  pod: PodObject;
  bunc: PodInternal;
}

export const podsDir = (root: string) => `${root}/pods`;
export const podDir = (root: string, name: string) => `${podsDir(root)}/${name}`;
export const logPath = (root: string, name: string, container: string) => `${podDir(root, name)}/logs/${container}.log`;
/** The log of the container's run before the current one (`pod logs --previous`, kubectl's -p). */
export const previousLogPath = (root: string, name: string, container: string) => `${podDir(root, name)}/logs/${container}.previous.log`;
export const stopRequestPath = (root: string, name: string) => `${podDir(root, name)}/stop.json`;
/** where a pod's volumes, writable layers and generated /etc files live */
export const podDataDir = (dataDir: string, uid: string) => `${dataDir}/pods/${uid}`;

export function checkPodName(name: string): void {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) throw new BuncError(`pod "${name}": not a valid pod name`);
}

/** Reserve the name: mkdir is atomic, so of two pods with one name the second is refused. */
export function reservePodDir(root: string, name: string): string {
  checkPodName(name);
  mkdirSync(podsDir(root), { recursive: true, mode: 0o700 });
  const dir = podDir(root, name);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new BuncError(`pod "${name}" already exists (bunc pod rm ${name} first)`);
    throw new BuncError(`create pod directory ${dir}: ${(e as Error).message}`);
  }
  mkdirSync(`${dir}/logs`, { mode: 0o700 });
  mkdirSync(`${dir}/bundles`, { mode: 0o700 });
  return dir;
}

export function writePodRecord(root: string, rec: PodRecord): void {
  const dir = podDir(root, rec.pod.metadata.name);
  const tmp = `${dir}/.pod.json.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec), { mode: 0o600 });
  renameSync(tmp, `${dir}/pod.json`);
}

export function readPodRecord(root: string, name: string): PodRecord {
  checkPodName(name);
  const file = `${podDir(root, name)}/pod.json`;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    if (existsSync(podDir(root, name))) throw new BuncError(`pod "${name}" is being created (no pod.json yet)`);
    throw new BuncError(`pod "${name}" does not exist`);
  }
  try {
    return JSON.parse(text) as PodRecord;
  } catch {
    throw new BuncError(`pod "${name}": ${file} is corrupt`);
  }
}

export function listPodNames(root: string): string[] {
  try {
    return readdirSync(podsDir(root)).filter((n) => existsSync(`${podDir(root, n)}/pod.json`)).sort();
  } catch {
    return [];
  }
}
