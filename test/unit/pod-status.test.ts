// Pod phase as kubelet computes it, and the STATUS column as kubectl shows it.
import { expect, test } from "bun:test";
import { age, computePhase, displayStatus } from "../../src/pod/status.ts";
import type { ContainerStatusK8s, PodObject, PodStatusK8s } from "../../src/pod/store.ts";

const T = "2026-01-01T00:00:00.000Z";
const cs = (name: string, state: ContainerStatusK8s["state"], lastState: ContainerStatusK8s["lastState"] = {}): ContainerStatusK8s => ({
  name, state, lastState, ready: !!state.running, restartCount: 0, image: "/x", imageID: "/x", started: true,
});
const running = { running: { startedAt: T } };
const done = (exitCode: number, reason = exitCode ? "Error" : "Completed") => ({ terminated: { exitCode, reason, startedAt: T, finishedAt: T } });
const st = (containers: ContainerStatusK8s[], inits?: ContainerStatusK8s[]): PodStatusK8s => ({
  phase: "Pending", conditions: [], qosClass: "BestEffort", containerStatuses: containers, ...(inits ? { initContainerStatuses: inits } : {}),
});

test("phase while running", () => {
  expect(computePhase(st([cs("a", { waiting: { reason: "ContainerCreating" } })]), "Always", false)).toBe("Pending");
  expect(computePhase(st([cs("a", running), cs("b", done(0))]), "Never", false)).toBe("Running");
  expect(computePhase(st([cs("a", done(0)), cs("b", done(0))]), "Never", false)).toBe("Succeeded");
  expect(computePhase(st([cs("a", done(0)), cs("b", done(1))]), "Never", false)).toBe("Failed");
  expect(computePhase(st([cs("a", done(1))]), "OnFailure", false)).toBe("Running"); // it will restart
  expect(computePhase(st([cs("a", done(0))]), "Always", false)).toBe("Running");
  expect(computePhase(st([cs("a", { waiting: { reason: "CrashLoopBackOff" } }, done(1))]), "Always", false)).toBe("Running");
});

test("phase with init containers", () => {
  const notStarted = cs("m", { waiting: { reason: "PodInitializing" } });
  expect(computePhase(st([notStarted], [cs("i", running)]), "Never", false)).toBe("Pending");
  expect(computePhase(st([notStarted], [cs("i", done(2))]), "Never", false)).toBe("Failed");
  expect(computePhase(st([notStarted], [cs("i", done(2))]), "OnFailure", false)).toBe("Pending");
});

test("final phase (stopped pod): Succeeded only when every container exited 0", () => {
  expect(computePhase(st([cs("a", done(0)), cs("b", done(0))]), "Always", true)).toBe("Succeeded");
  expect(computePhase(st([cs("a", done(0)), cs("b", done(137))]), "Always", true)).toBe("Failed");
});

test("STATUS column", () => {
  const pod = (s: PodStatusK8s): PodObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", uid: "u", namespace: "default", creationTimestamp: T }, spec: { containers: [] }, status: s });
  expect(displayStatus(pod({ ...st([cs("a", running)]), phase: "Running" }), true, false)).toBe("Running");
  expect(displayStatus(pod({ ...st([cs("a", done(0))]), phase: "Succeeded" }), true, false)).toBe("Completed");
  expect(displayStatus(pod({ ...st([cs("a", done(0)), cs("b", done(137, "OOMKilled"))]), phase: "Failed" }), true, false)).toBe("OOMKilled");
  expect(displayStatus(pod({ ...st([cs("a", running), cs("b", { waiting: { reason: "CrashLoopBackOff" } }, done(1))]), phase: "Running" }), true, false)).toBe("CrashLoopBackOff");
  expect(displayStatus(pod(st([cs("m", { waiting: { reason: "PodInitializing" } })], [cs("i", done(0)), cs("j", running)])), true, false)).toBe("Init:1/2");
  expect(displayStatus(pod(st([cs("m", { waiting: { reason: "PodInitializing" } })], [cs("i", done(3))])), true, false)).toBe("Init:Error");
  expect(displayStatus(pod({ ...st([cs("a", running)]), phase: "Running" }), true, true)).toBe("Terminating");
  expect(displayStatus(pod({ ...st([cs("a", running)]), phase: "Running" }), false, false)).toBe("Unknown");
});

test("AGE like kubectl", () => {
  const t0 = Date.parse(T);
  expect(age(T, t0 + 5_000)).toBe("5s");
  expect(age(T, t0 + 150_000)).toBe("2m30s");
  expect(age(T, t0 + 30 * 60_000)).toBe("30m");
  expect(age(T, t0 + 5 * 3600_000)).toBe("5h");
  expect(age(T, t0 + 72 * 3600_000)).toBe("3d");
});

test("restart decisions: containers by restartPolicy, init containers only after a failure", async () => {
  const { shouldRestart } = await import("../../src/pod/supervisor.ts");
  expect([shouldRestart("Always", 0), shouldRestart("Always", 1), shouldRestart("OnFailure", 0), shouldRestart("OnFailure", 1), shouldRestart("Never", 1)])
    .toEqual([true, true, false, true, false]);
  expect([shouldRestart("Always", 0, true), shouldRestart("Always", 1, true), shouldRestart("OnFailure", 2, true), shouldRestart("Never", 1, true)])
    .toEqual([false, true, true, false]);
});
