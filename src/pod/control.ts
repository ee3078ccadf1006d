// What `pod stop`, `pod rm` and `pod status` do from outside the supervisor: find out whether
// it is alive, ask it to stop (request file + SIGTERM) and wait, or, when it is gone, stop the
// pod's containers directly and record them as kubelet records containers it lost track of.
import { rmSync, writeFileSync } from "node:fs";
import { Container } from "../container/container.ts";
import { pidStartTime } from "../container/state.ts";
import { logWarn } from "../log.ts";
import * as native from "../native.ts";
import { computePhase } from "./status.ts";
import { readPodRecord, stopRequestPath, writePodRecord, type PodRecord } from "./store.ts";
import { teardownPod } from "./teardown.ts";

export function supervisorAlive(rec: PodRecord): boolean {
  const s = rec.bunc.supervisor;
  return !!s && s.pid > 0 && pidStartTime(s.pid) === s.startTime;
}

/** The pod as `pod status` shows it: a pod whose supervisor vanished is Unknown. */
export function observedPod(rec: PodRecord): PodRecord["pod"] {
  const p = structuredClone(rec.pod);
  if (!rec.bunc.finished && rec.bunc.supervisor && !supervisorAlive(rec)) {
    p.status.phase = "Unknown";
    p.status.reason = "SupervisorLost";
    p.status.message = "the pod's supervisor process is gone; `bunc pod stop` or `bunc pod rm --force` cleans up";
  }
  return p;
}

/** Ask the supervisor to stop the pod and wait until it has exited. */
export async function stopViaSupervisor(root: string, name: string, graceSec: number | undefined): Promise<void> {
  const rec = readPodRecord(root, name);
  writeFileSync(stopRequestPath(root, name), JSON.stringify(graceSec === undefined ? {} : { gracePeriod: graceSec }));
  native.kill(rec.bunc.supervisor!.pid, 15);
  while (supervisorAlive(rec)) await Bun.sleep(50);
  rmSync(stopRequestPath(root, name), { force: true });
}

function alive(c: Container): boolean {
  return c.status() !== "stopped";
}

/** Stop a pod whose supervisor is gone: TERM, then KILL at the end of the grace period. */
export async function stopWithoutSupervisor(rec: PodRecord, graceSec: number): Promise<void> {
  const root = rec.bunc.root;
  const live: { name: string; c: Container }[] = [];
  for (const [name, id] of Object.entries(rec.bunc.ids)) {
    try {
      const c = Container.load(root, id);
      if (alive(c)) live.push({ name, c });
    } catch {}
  }
  for (const { c } of live) try { c.kill(graceSec > 0 ? 15 : 9, false); } catch {}
  const deadline = Date.now() + graceSec * 1000;
  while (Date.now() < deadline && live.some(({ c }) => alive(c))) await Bun.sleep(50);
  for (const { c } of live) if (alive(c)) try { c.kill(9, true); } catch {}
  const t = new Date().toISOString();
  const statuses = [...(rec.pod.status.initContainerStatuses ?? []), ...rec.pod.status.containerStatuses];
  for (const s of statuses) {
    if (!s.state.running) continue;
    s.state = {
      terminated: {
        exitCode: 137, reason: "ContainerStatusUnknown", message: "The container could not be located when the pod was terminated",
        startedAt: s.state.running.startedAt, finishedAt: t, containerID: s.containerID,
      },
    };
    s.ready = false;
  }
  try {
    await teardownPod(rec, false);
  } catch (e) {
    logWarn(`pod ${rec.pod.metadata.name}: ${(e as Error).message}`);
  }
  rec.bunc.finished = true;
  rec.pod.status.phase = computePhase(rec.pod.status, rec.pod.spec.restartPolicy ?? "Always", true);
  writePodRecord(root, rec);
}

/** Stop a pod however it is run now; returns when nothing of it runs. */
export async function stopPod(root: string, name: string, graceSec: number | undefined): Promise<void> {
  const rec = readPodRecord(root, name);
  if (rec.bunc.finished) return;
  if (supervisorAlive(rec)) return stopViaSupervisor(root, name, graceSec);
  await stopWithoutSupervisor(rec, graceSec ?? rec.pod.spec.terminationGracePeriodSeconds ?? 30);
}
