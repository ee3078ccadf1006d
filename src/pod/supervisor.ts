// The pod supervisor: kubelet's job for one pod. It creates every container itself (so each is
// its child and its exit is seen at once), starts init containers one by one and then the
// containers, runs lifecycle hooks, restarts by restartPolicy with kubelet's back-off, stops
// gracefully (preStop, SIGTERM, SIGKILL at the end of the grace period) and keeps pod.json
// up to date on every change. It runs in the foreground of `pod run`, or alone after `-d`.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { dirname } from "node:path";
import { BuncError } from "../errors.ts";
import { logError, logWarn } from "../log.ts";
import * as native from "../native.ts";
import { newCgroup, parentOomKillCount } from "../cgroups/index.ts";
import { Container } from "../container/container.ts";
import { createContainer } from "../container/create.ts";
import { execInContainer } from "../container/exec.ts";
import { exitStatus } from "../container/foreground.ts";
import { pidStartTime } from "../container/state.ts";
import type { Spec } from "../spec/types.ts";
import { allSpecs, contextOf } from "./context.ts";
import { loopbackUp, mountOverlay, mountTmpfs, unmount } from "./hostfs.ts";
import { ContainerOutput, devNullFd, readAll } from "./output.ts";
import { parseQuantity, quantityValue } from "./quantity.ts";
import { installReaper, waitChild } from "./reaper.ts";
import { podResources } from "./resources.ts";
import { buildContainerSpec, buildSandboxSpec, hostsFile, podPaths, systemdSlice, type Paths, type PodContext } from "./spec-build.ts";
import { computePhase, conditions } from "./status.ts";
import { logPath, podDir, previousLogPath, readPodRecord, stopRequestPath, writePodRecord, type ContainerStateK8s, type ContainerStatusK8s, type PodRecord } from "./store.ts";
import { deleteContainerIfThere, teardownPod } from "./teardown.ts";
import type { ContainerSpec, LifecycleHandler, RestartPolicy } from "./types.ts";

const BACKOFF_INITIAL_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
const SIGTERM = 15, SIGKILL = 9;
const DEFAULT_GRACE = 30;

interface Instance {
  c: Container;
  pid: number;
  startedAt: string;
  exit: Promise<number>;
  drained: Promise<void>;
  killing?: Promise<void>;
  /** why a postStart hook killed it, for the terminated message */
  hookError?: string;
  /** OOM kills in the parent cgroup (v2) when it started: see parentOomKillCount */
  parentOoms?: number;
}

interface Slot {
  spec: ContainerSpec;
  init: boolean;
  status: ContainerStatusK8s;
  output: ContainerOutput;
  inst?: Instance;
  backoff?: { delayMs: number; lastUpdate: number };
  /** interrupts a back-off wait (stop) */
  wake?: () => void;
}

const now = () => new Date().toISOString();

function sleep(ms: number, slot?: Slot): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(t);
      if (slot) slot.wake = undefined;
      resolve();
    }
    if (slot) slot.wake = done;
  });
}

/** Containers restart by the policy; an init container only ever restarts after a failure. */
export function shouldRestart(policy: RestartPolicy, exitCode: number, init = false): boolean {
  if (init) return policy !== "Never" && exitCode !== 0;
  return policy === "Always" || (policy === "OnFailure" && exitCode !== 0);
}

export class Supervisor {
  private ctx: PodContext;
  private paths: Paths;
  private slots: Slot[];
  private sandbox?: { c: Container; pid: number; exit: Promise<number> };
  private stopping?: { graceSec: number; done: Promise<void> };
  private forced?: { reason: string; message: string };
  private policy: RestartPolicy;
  private deadlineTimer?: ReturnType<typeof setTimeout>;
  private ending = false;

  constructor(private rec: PodRecord, private foreground: boolean) {
    this.ctx = contextOf(rec);
    this.paths = podPaths(this.ctx.data);
    this.policy = rec.pod.spec.restartPolicy ?? "Always";
    const statuses = [...(rec.pod.status.initContainerStatuses ?? []), ...rec.pod.status.containerStatuses];
    this.slots = allSpecs(rec).map(({ c, init }) => ({
      spec: c,
      init,
      status: statuses.find((s) => s.name === c.name)!,
      output: new ContainerOutput(c.name, logPath(rec.bunc.root, rec.pod.metadata.name, c.name), foreground, previousLogPath(rec.bunc.root, rec.pod.metadata.name, c.name)),
    }));
  }

  private get root(): string {
    return this.rec.bunc.root;
  }

  private get name(): string {
    return this.rec.pod.metadata.name;
  }

  /** Write pod.json with the phase and conditions derived from the container statuses. */
  private save(final = false): void {
    const st = this.rec.pod.status;
    if (this.slots.some((s) => s.init)) st.initContainerStatuses = this.slots.filter((s) => s.init).map((s) => s.status);
    st.containerStatuses = this.slots.filter((s) => !s.init).map((s) => s.status);
    // While a stop is under way the pod is still Running; it ends once nothing runs any more.
    const ended = final || (this.stopping !== undefined && !this.anyRunning());
    st.phase = this.forced && ended ? "Failed" : computePhase(st, this.policy, ended);
    if (this.forced) {
      st.reason = this.forced.reason;
      st.message = this.forced.message;
    }
    st.conditions = conditions(st, now());
    writePodRecord(this.root, this.rec);
  }

  private anyRunning(): boolean {
    return this.slots.some((s) => s.inst !== undefined);
  }

  // ---- the pod's life ----

  /** Run the pod to its end; returns `pod run`'s exit status. */
  async run(): Promise<number> {
    installReaper();
    this.installSignals();
    this.rec.bunc.supervisor = { pid: process.pid, startTime: pidStartTime(process.pid) ?? "" };
    this.rec.pod.status.startTime = now();
    this.save();
    try {
      await this.setup();
    } catch (e) {
      const msg = (e as Error).message;
      this.forced = { reason: "SetupFailed", message: msg };
      logError(`pod ${this.name}: ${msg}`);
      await this.finish();
      return 1;
    }
    const deadline = this.rec.pod.spec.activeDeadlineSeconds;
    if (deadline !== undefined) {
      this.deadlineTimer = setTimeout(() => {
        this.forced = { reason: "DeadlineExceeded", message: `Pod was active on the node longer than the specified deadline` };
        void this.stop(this.defaultGrace());
      }, deadline * 1000);
    }
    if (await this.runInitContainers()) await this.runContainers();
    if (this.stopping) await this.stopping.done;
    await this.finish();
    return this.exitCode();
  }

  private defaultGrace(): number {
    return this.rec.pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE;
  }

  private installSignals(): void {
    let count = 0;
    const onSignal = () => {
      count++;
      // `pod stop` leaves its grace period in a request file; a second signal means "now".
      let grace = this.defaultGrace();
      try {
        const req = JSON.parse(readFileSync(stopRequestPath(this.root, this.name), "utf8")) as { gracePeriod?: number };
        if (typeof req.gracePeriod === "number") grace = req.gracePeriod;
      } catch {}
      void this.stop(count > 1 ? 0 : grace);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    process.on("SIGHUP", () => {});
  }

  /** The pod's volumes, /etc files, shared memory, cgroup and sandbox. */
  private async setup(): Promise<void> {
    const { ctx, paths } = this;
    const s = ctx.spec;
    for (const d of [`${ctx.data}/volumes`, `${ctx.data}/etc`, `${ctx.data}/containers`, `${paths.sandboxRootfs}/dev`, `${paths.sandboxRootfs}/proc`])
      mkdirSync(d, { recursive: true, mode: 0o755 });
    writeFileSync(`${paths.sandboxRootfs}/pause`, "", { mode: 0o755 });
    writeFileSync(paths.hosts, hostsFile(ctx), { mode: 0o644 });
    writeFileSync(paths.hostname, `${s.hostNetwork ? osHostname() : ctx.hostname}\n`, { mode: 0o644 });
    if (existsSync("/etc/resolv.conf")) copyFileSync("/etc/resolv.conf", paths.resolv);
    else writeFileSync(paths.resolv, "");
    if (!s.hostIPC) {
      mkdirSync(paths.shm, { recursive: true });
      mountTmpfs(paths.shm, 64 << 20, 0o1777);
    }
    for (const v of s.volumes ?? []) this.setupVolume(v);

    // The pod's own cgroup with kubelet's pod-level limits (systemd: a slice the containers'
    // scopes go into). It leaves devices alone, as kubelet's SkipDevices: a container's own cgroup
    // decides what it may open (a pod-level default list would keep a privileged container from
    // its devices).
    const podCg = newCgroup({
      cgroupsPath: ctx.systemd ? `${systemdSlice(dirname(ctx.podCgroup))}::${systemdSlice(ctx.podCgroup)}` : ctx.podCgroup,
      id: `pod${ctx.uid}`, systemd: ctx.systemd, resources: podResources(s, ctx.qos), skipDevices: true,
    });
    await podCg.create();
    this.rec.bunc.podCgroup = podCg.save();
    this.save();

    const id = this.rec.bunc.sandboxId;
    const bundle = this.writeBundle("sandbox", buildSandboxSpec(ctx, id, paths));
    const created = await createContainer({
      root: this.root, id, bundle, noPivot: false, noNewKeyring: false, preserveFds: 0, systemdCgroup: ctx.systemd, init: false,
      stdio: [devNullFd(), devNullFd(), devNullFd()],
    });
    const c = new Container(this.root, created.record);
    // Each container process has a session (and process group) of its own (native/child.c), so a
    // Ctrl-C at the terminal of a foreground `pod run` reaches only the supervisor.
    const exit = waitChild(created.record.pid);
    this.sandbox = { c, pid: created.record.pid, exit };
    c.start();
    const m = native.syncRecv(created.syncFd);
    native.closeFd(created.syncFd);
    if (m.type === native.SYNC.ERROR) throw new BuncError(`sandbox: ${m.msg}`);
    if (!s.hostNetwork) loopbackUp(created.record.pid);
    void exit.then(() => {
      if (!this.stopping && !this.ending) {
        logWarn(`pod ${this.name}: the sandbox (pause) exited; stopping the pod`);
        this.forced = { reason: "SandboxDied", message: "the pod sandbox exited" };
        void this.stop(this.defaultGrace());
      }
    });
  }

  private setupVolume(v: NonNullable<PodContext["spec"]["volumes"]>[number]): void {
    const where = `volume "${v.name}"`;
    if (v.emptyDir) {
      const dir = this.paths.volume(v.name);
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, 0o777);
      if (v.emptyDir.medium === "Memory") {
        const q = v.emptyDir.sizeLimit !== undefined ? parseQuantity(v.emptyDir.sizeLimit) : undefined;
        mountTmpfs(dir, q ? quantityValue(q) : undefined, 0o777);
      }
      return;
    }
    const hp = v.hostPath!;
    const type = hp.type ?? "";
    let st = statSync(hp.path, { throwIfNoEntry: false });
    if (!st && type === "DirectoryOrCreate") {
      mkdirSync(hp.path, { recursive: true, mode: 0o755 });
      st = statSync(hp.path);
    }
    if (!st && type === "FileOrCreate") {
      writeFileSync(hp.path, "", { mode: 0o644, flag: "wx" });
      st = statSync(hp.path);
    }
    const want: Record<string, [(x: NonNullable<typeof st>) => boolean, string]> = {
      Directory: [(x) => x.isDirectory(), "a directory"], DirectoryOrCreate: [(x) => x.isDirectory(), "a directory"],
      File: [(x) => x.isFile(), "a file"], FileOrCreate: [(x) => x.isFile(), "a file"], Socket: [(x) => x.isSocket(), "a socket"],
      CharDevice: [(x) => x.isCharacterDevice(), "a character device"], BlockDevice: [(x) => x.isBlockDevice(), "a block device"],
    };
    if (!st) {
      if (type === "") {
        // kubelet's "" type does no check; the bind mount needs a source, so make a directory.
        mkdirSync(hp.path, { recursive: true, mode: 0o755 });
        return;
      }
      throw new BuncError(`${where}: hostPath ${hp.path} does not exist`);
    }
    const rule = want[type];
    if (rule && !rule[0](st)) throw new BuncError(`${where}: hostPath ${hp.path} is not ${rule[1]}`);
  }

  private writeBundle(name: string, spec: Spec): string {
    const dir = `${podDir(this.root, this.name)}/bundles/${name}`;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(`${dir}/config.json`, JSON.stringify(spec, null, 2), { mode: 0o600 });
    return dir;
  }

  /** Init containers, one at a time, each to success. False when the pod cannot go on. */
  private async runInitContainers(): Promise<boolean> {
    for (const slot of this.slots.filter((s) => s.init)) {
      if (this.stopping) return false;
      await this.runSlot(slot, () => {});
      if (slot.status.state.terminated?.exitCode !== 0) return false;
    }
    return !this.stopping;
  }

  /** Start the containers in order (each after the previous one's postStart), then supervise all. */
  private async runContainers(): Promise<void> {
    const loops: Promise<void>[] = [];
    for (const slot of this.slots.filter((s) => !s.init)) {
      if (this.stopping) break;
      let started!: () => void;
      const first = new Promise<void>((r) => (started = r));
      loops.push(this.runSlot(slot, started));
      await first;
    }
    await Promise.all(loops);
  }

  /** One container: start, wait, record, and restart while the policy says so. */
  private async runSlot(slot: Slot, firstStarted: () => void): Promise<void> {
    let first = true;
    for (;;) {
      if (this.stopping) break;
      const ok = await this.startInstance(slot, !first);
      if (first) {
        first = false;
        firstStarted();
      }
      if (ok) await this.onExit(slot, await slot.inst!.exit);
      if (this.stopping) break;
      if (!shouldRestart(this.policy, slot.status.state.terminated!.exitCode, slot.init)) break;
      await this.backOff(slot);
    }
    if (first) firstStarted();
    // A container that never ran keeps a waiting state; a stopped pod does not wait any more.
    if (this.stopping && slot.status.state.waiting && slot.status.lastState.terminated) {
      slot.status.state = { terminated: slot.status.lastState.terminated };
      slot.status.lastState = {};
      this.save();
    }
  }

  /** kubelet's back-off: the first restart at once, then 10 s doubling to 5 min; reset after
   * the container ran for 10 minutes (twice the maximum) since the last restart. */
  private async backOff(slot: Slot): Promise<void> {
    const finished = Date.parse(slot.status.state.terminated!.finishedAt);
    const b = slot.backoff;
    if (!b || finished - b.lastUpdate > 2 * BACKOFF_MAX_MS) {
      slot.backoff = { delayMs: BACKOFF_INITIAL_MS, lastUpdate: Date.now() };
      return;
    }
    const wait = b.delayMs - (Date.now() - finished);
    if (wait > 0) {
      slot.status.lastState = { terminated: slot.status.state.terminated };
      slot.status.state = {
        waiting: {
          reason: "CrashLoopBackOff",
          message: `back-off ${Math.round(b.delayMs / 1000)}s restarting failed container=${slot.spec.name} pod=${this.name}_${this.ctx.namespace}(${this.ctx.uid})`,
        },
      };
      this.save();
      await sleep(wait, slot);
    }
    b.delayMs = Math.min(b.delayMs * 2, BACKOFF_MAX_MS);
    b.lastUpdate = Date.now();
  }

  /** Create and start one run of the container; false (and a terminated state) when it could not. */
  private async startInstance(slot: Slot, restart: boolean): Promise<boolean> {
    const c = slot.spec;
    const id = this.rec.bunc.ids[c.name]!;
    const st = slot.status;
    if (restart) {
      if (st.state.terminated) st.lastState = { terminated: st.state.terminated };
      st.restartCount++;
      slot.output.rotate();
    }
    const rootfs = this.paths.containerRootfs(c.name);
    const layer = rootfs.slice(0, -"/rootfs".length);
    const io = slot.output.attach();
    let created: Awaited<ReturnType<typeof createContainer>> | undefined;
    try {
      await deleteContainerIfThere(this.root, id);
      unmount(rootfs);
      rmSync(layer, { recursive: true, force: true });
      for (const d of ["upper", "work", "rootfs"]) mkdirSync(`${layer}/${d}`, { recursive: true, mode: 0o755 });
      mountOverlay(this.ctx.images[c.name]!.rootfs, `${layer}/upper`, `${layer}/work`, rootfs);
      writeFileSync(this.paths.terminationLog(c.name), "", { mode: 0o666 });
      chmodSync(this.paths.terminationLog(c.name), 0o666);
      const spec = buildContainerSpec({ ctx: this.ctx, c, id, sandboxPid: this.sandbox!.pid, paths: this.paths });
      const bundle = this.writeBundle(c.name, spec);
      created = await createContainer({
        root: this.root, id, bundle, noPivot: false, noNewKeyring: false, preserveFds: 0, systemdCgroup: this.ctx.systemd, init: false,
        stdio: io.stdio,
      });
    } catch (e) {
      io.closeWriteEnds();
      this.recordStartError(slot, e as Error);
      return false;
    }
    io.closeWriteEnds();
    const container = new Container(this.root, created.record);
    const pid = created.record.pid;
    const exit = waitChild(pid);
    try {
      container.start();
      const m = native.syncRecv(created.syncFd);
      if (m.type === native.SYNC.ERROR) throw new BuncError(m.msg);
    } catch (e) {
      native.kill(pid, SIGKILL);
      await exit;
      await container.delete(true).catch(() => {});
      this.recordStartError(slot, e as Error);
      return false;
    } finally {
      native.closeFd(created.syncFd);
    }
    const startedAt = now();
    const cg = container.cgroup();
    slot.inst = { c: container, pid, startedAt, exit, drained: io.drained, parentOoms: cg ? parentOomKillCount(cg) : undefined };
    st.containerID = `bunc://${id}`;
    st.state = { running: { startedAt } };
    st.started = true;
    st.ready = !c.lifecycle?.postStart;
    this.save();
    if (this.stopping) {
      void this.killInstance(slot, this.stopping.graceSec);
      return true;
    }
    const post = c.lifecycle?.postStart;
    if (post) {
      const err = await this.runHook(slot, post, Infinity);
      if (err) {
        logWarn(`pod ${this.name}: container ${c.name}: postStart hook failed: ${err}`);
        slot.inst.hookError = `PostStartHookError: ${err}`;
        void this.killInstance(slot, this.defaultGrace());
      } else if (slot.inst) {
        st.ready = true;
        this.save();
      }
    }
    return true;
  }

  private recordStartError(slot: Slot, e: Error): void {
    const t = now();
    logWarn(`pod ${this.name}: container ${slot.spec.name}: ${e.message}`);
    slot.status.state = { terminated: { exitCode: 128, reason: "StartError", message: e.message, startedAt: t, finishedAt: t } };
    slot.status.ready = false;
    this.save();
  }

  /** Record how a run ended (OOMKilled from the cgroup's OOM count), then remove the container. */
  private async onExit(slot: Slot, wstatus: number): Promise<void> {
    const inst = slot.inst!;
    const finishedAt = now();
    let oom = false;
    try {
      oom = (inst.c.cgroup()?.oomKillCount() ?? 0) > 0;
    } catch {}
    const code = exitStatus(wstatus);
    const sig = wstatus & 0x7f;
    const cg = inst.c.cgroup();
    if (!oom && sig === SIGKILL && inst.parentOoms !== undefined && cg) {
      // systemd collected the container's scope with its counters: ask the pod's slice.
      oom = (parentOomKillCount(cg) ?? 0) > inst.parentOoms;
    }
    const c = slot.spec;
    await inst.c.delete(true).catch((e) => logWarn(`pod ${this.name}: delete ${c.name}: ${(e as Error).message}`));
    // The pipes end when the last process holding them is gone (delete killed the rest).
    await Promise.race([inst.drained, sleep(2000)]);
    let message = "";
    try {
      message = readFileSync(this.paths.terminationLog(c.name), "utf8").slice(0, 4096);
    } catch {}
    if (!message && code !== 0 && c.terminationMessagePolicy === "FallbackToLogsOnError") message = this.logTail(c.name);
    if (inst.hookError) message = message ? `${inst.hookError}\n${message}` : inst.hookError;
    try {
      unmount(this.paths.containerRootfs(c.name));
    } catch (e) {
      logWarn(`pod ${this.name}: ${(e as Error).message}`);
    }
    const terminated: NonNullable<ContainerStateK8s["terminated"]> = {
      exitCode: code,
      ...(sig ? { signal: sig } : {}),
      reason: oom ? "OOMKilled" : code === 0 ? "Completed" : "Error",
      ...(message ? { message } : {}),
      startedAt: inst.startedAt,
      finishedAt,
      containerID: slot.status.containerID,
    };
    slot.inst = undefined;
    slot.status.state = { terminated };
    slot.status.ready = false;
    this.save();
    if (this.foreground && code !== 0) logWarn(`pod ${this.name}: container ${c.name} exited with ${code} (${terminated.reason})`);
  }

  /** The last 80 lines (at most 2048 bytes) of the container's log (FallbackToLogsOnError). */
  private logTail(name: string): string {
    try {
      const lines = readFileSync(logPath(this.root, this.name, name), "utf8").split("\n");
      return lines.slice(-81).join("\n").slice(-2048);
    } catch {
      return "";
    }
  }

  /** Run an exec or sleep handler; resolves with an error text, or undefined on success. */
  private async runHook(slot: Slot, h: LifecycleHandler, deadline: number): Promise<string | undefined> {
    const left = () => deadline - Date.now();
    if (h.sleep) {
      await sleep(Math.min(h.sleep.seconds * 1000, left()));
      return undefined;
    }
    const inst = slot.inst;
    if (!inst || !h.exec) return undefined;
    const base = inst.c.rec.config.process!;
    const [r, w] = native.pipe();
    let pid: number;
    try {
      pid = (await execInContainer(inst.c, {
        process: { ...structuredClone(base), args: h.exec.command, terminal: false },
        detach: true, preserveFds: 0, stdio: [devNullFd(), w, w],
      })).pid;
    } catch (e) {
      native.closeFd(r);
      return (e as Error).message;
    } finally {
      native.closeFd(w);
    }
    const output = readAll(r, 2048);
    const exit = waitChild(pid);
    const timedOut = Symbol();
    const res = Number.isFinite(deadline) ? await Promise.race([exit, sleep(left()).then(() => timedOut)]) : await exit;
    if (res === timedOut) {
      native.kill(pid, SIGKILL);
      await exit;
      return `command ${JSON.stringify(h.exec.command)} did not finish within the grace period`;
    }
    const code = exitStatus(res as number);
    if (code === 0) return undefined;
    const out = (await Promise.race([output, sleep(1000).then(() => "")])).trim();
    return `command ${JSON.stringify(h.exec.command)} exited with ${code}${out ? `: ${out}` : ""}`;
  }

  /** kubelet's killContainer: preStop (within the grace period), SIGTERM, SIGKILL when it runs out. */
  private killInstance(slot: Slot, graceSec: number): Promise<void> {
    const inst = slot.inst;
    if (!inst) return Promise.resolve();
    inst.killing ??= (async () => {
      const deadline = Date.now() + graceSec * 1000;
      const pre = slot.spec.lifecycle?.preStop;
      if (pre && graceSec > 0) {
        const err = await this.runHook(slot, pre, deadline);
        if (err) logWarn(`pod ${this.name}: container ${slot.spec.name}: preStop hook failed: ${err}`);
      }
      if (graceSec > 0) {
        native.kill(inst.pid, SIGTERM);
        const gone = await Promise.race([inst.exit.then(() => true), sleep(deadline - Date.now()).then(() => false)]);
        if (gone) return;
      }
      native.kill(inst.pid, SIGKILL);
      await inst.exit;
    })();
    return inst.killing;
  }

  /** Stop the pod: nothing restarts, every running container is killed in parallel. */
  stop(graceSec: number): Promise<void> {
    if (this.stopping) {
      if (graceSec < this.stopping.graceSec) {
        // a second, shorter request (Ctrl-C twice, --grace-period 0): kill now
        this.stopping.graceSec = graceSec;
        for (const s of this.slots) if (s.inst) native.kill(s.inst.pid, SIGKILL);
      }
      return this.stopping.done;
    }
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    const done = (async () => {
      for (const s of this.slots) s.wake?.();
      await Promise.all(this.slots.map((s) => this.killInstance(s, graceSec)));
    })();
    this.stopping = { graceSec, done };
    this.save();
    return done;
  }

  /** Every container is done: stop the sandbox, take down mounts and cgroups, final status. */
  private async finish(): Promise<void> {
    this.ending = true;
    // wait for every container's exit to be recorded (runSlot loops end after onExit)
    for (let i = 0; i < 500 && this.anyRunning(); i++) await sleep(10);
    if (this.sandbox) {
      native.kill(this.sandbox.pid, SIGTERM);
      const gone = await Promise.race([this.sandbox.exit.then(() => true), sleep(2000).then(() => false)]);
      if (!gone) {
        native.kill(this.sandbox.pid, SIGKILL);
        await this.sandbox.exit;
      }
    }
    // Containers that never started keep "waiting"; say why they will not run.
    for (const s of this.slots) {
      if (!s.status.state.running && !s.status.state.terminated && !s.status.lastState.terminated)
        s.status.state = { waiting: { reason: s.init ? "PodInitializing" : "ContainerCreating", message: "the pod ended before this container started" } };
    }
    try {
      await teardownPod(this.rec, false);
    } catch (e) {
      logWarn(`pod ${this.name}: cleanup: ${(e as Error).message}`);
    }
    for (const s of this.slots) s.output.close();
    this.rec.bunc.finished = true;
    this.save(true);
    this.rec.bunc.exitCode = this.exitCode();
    writePodRecord(this.root, this.rec);
  }

  /** 0 when the pod Succeeded, else the exit code of the first failed container in spec order. */
  exitCode(): number {
    if (this.rec.pod.status.phase === "Succeeded") return 0;
    for (const s of this.slots) {
      const t = s.status.state.terminated ?? s.status.lastState.terminated;
      if (t && t.exitCode !== 0) return t.exitCode;
    }
    return 1;
  }
}

/** Run the supervisor of a pod whose record `prepare` wrote. */
export async function supervise(root: string, name: string, foreground: boolean): Promise<number> {
  const rec = readPodRecord(root, name);
  return new Supervisor(rec, foreground).run();
}
