// The pod's status as Kubernetes computes it (kubelet's getPhase, the conditions) and as
// `kubectl get pods` prints it (READY, STATUS, RESTARTS, AGE).
import type { ContainerStatusK8s, Phase, PodObject, PodStatusK8s } from "./store.ts";
import type { RestartPolicy } from "./types.ts";

const exitedOk = (s: ContainerStatusK8s) => s.state.terminated?.exitCode === 0;

/**
 * kubelet's getPhase. `final`: nothing will be restarted any more (the pod was stopped, or
 * the supervisor is done), so a pod with restartPolicy Always can end too.
 */
export function computePhase(st: PodStatusK8s, policy: RestartPolicy, final: boolean): Phase {
  const inits = st.initContainerStatuses ?? [];
  const initialized = inits.every(exitedOk);
  if (!initialized) {
    const failed = inits.some((s) => s.state.terminated && s.state.terminated.exitCode !== 0);
    if (failed && (policy === "Never" || final)) return "Failed";
    return final ? "Failed" : "Pending";
  }
  let running = 0, waiting = 0, stopped = 0, succeeded = 0;
  for (const s of st.containerStatuses) {
    if (s.state.running) running++;
    else if (s.state.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState.terminated) stopped++; // waiting to restart
    else waiting++;
  }
  if (final) {
    if (running > 0 || waiting > 0) return "Failed";
    return succeeded === st.containerStatuses.length ? "Succeeded" : "Failed";
  }
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (policy === "Always") return "Running";
  if (stopped === succeeded) return "Succeeded";
  if (policy === "Never") return "Failed";
  return "Running";
}

export function conditions(st: PodStatusK8s, now: string): PodStatusK8s["conditions"] {
  const initialized = (st.initContainerStatuses ?? []).every(exitedOk);
  const ready = st.containerStatuses.every((s) => s.ready);
  const prev = new Map(st.conditions.map((c) => [c.type, c]));
  const cond = (type: string, ok: boolean) => {
    const status = ok ? "True" as const : "False" as const;
    const old = prev.get(type);
    return { type, status, lastTransitionTime: old?.status === status ? old.lastTransitionTime : now };
  };
  return [
    cond("PodReadyToStartContainers", st.phase !== "Failed" && st.phase !== "Succeeded"),
    cond("Initialized", initialized),
    cond("Ready", ready),
    cond("ContainersReady", ready),
    cond("PodScheduled", true),
  ];
}

/** kubectl's STATUS column (printPod in kubectl/pkg/cmd/get, simplified). */
export function displayStatus(p: PodObject, supervised: boolean, stopping: boolean): string {
  const st = p.status;
  let reason: string = st.reason ?? st.phase;
  const inits = st.initContainerStatuses ?? [];
  let initializing = false;
  for (const [i, s] of inits.entries()) {
    const t = s.state.terminated;
    if (t && t.exitCode === 0) continue;
    initializing = true;
    if (t) reason = `Init:${t.reason || (t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`)}`;
    else if (s.state.waiting?.reason && s.state.waiting.reason !== "PodInitializing") reason = `Init:${s.state.waiting.reason}`;
    else reason = `Init:${i}/${inits.length}`;
    break;
  }
  if (!initializing) {
    // The most telling container wins: one waiting to restart, then a failed one, then running.
    let rank = -1;
    const consider = (r: number, text: string) => {
      if (r > rank) { rank = r; reason = text; }
    };
    for (const s of st.containerStatuses) {
      const t = s.state.terminated;
      if (s.state.waiting?.reason && s.state.waiting.reason !== "ContainerCreating") consider(4, s.state.waiting.reason);
      else if (t && t.exitCode !== 0) consider(3, t.reason || (t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`));
      else if (s.state.running) consider(2, s.ready ? "Running" : "NotReady");
      else if (s.state.waiting) consider(1, s.state.waiting.reason);
      else if (t) consider(0, t.reason || "Completed");
    }
    if (st.phase === "Running" && rank < 2 && rank >= 0 && reason === "Completed") reason = "Running";
  }
  if (st.reason) reason = st.reason; // DeadlineExceeded, SetupFailed...: about the whole pod
  if (stopping) reason = "Terminating";
  else if (!supervised && st.phase !== "Succeeded" && st.phase !== "Failed") reason = "Unknown";
  return reason;
}

/** kubectl's AGE: 45s, 12m, 3h, 2d... */
export function age(since: string, now = Date.now()): string {
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export function tableRow(p: PodObject, supervised: boolean, stopping: boolean): string[] {
  const cs = p.status.containerStatuses;
  const ready = cs.filter((s) => s.ready).length;
  const restarts = cs.reduce((a, s) => a + s.restartCount, 0) + (p.status.initContainerStatuses ?? []).reduce((a, s) => a + s.restartCount, 0);
  return [p.metadata.name, `${ready}/${cs.length}`, displayStatus(p, supervised, stopping), String(restarts), age(p.metadata.creationTimestamp)];
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join("").trimEnd()).join("\n") + "\n";
}
