// `create`: validate the bundle, make the state dir (atomically: one of two concurrent creates
// of an id wins), the exec fifo and the cgroup, clone the child from the plan, walk it through
// the sync protocol (cgroup -> mounts -> runtime hooks -> ready), then record the state.
// Any failure undoes everything: no state dir, cgroup or process is left behind.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { BuncError, strerror } from "../errors.ts";
import { logWarn } from "../log.ts";
import { loadBundle } from "../spec/load.ts";
import type { OciState, Spec } from "../spec/types.ts";
import { buildCreatePlan, planSeccomp, type CgroupMountInfo } from "../linux/build-plan.ts";
import { encodePlan } from "../linux/plan-encode.ts";
import { PlanMode } from "../linux/plan.ts";
import { CLONE_NEW, planNamespaces } from "../linux/namespaces.ts";
import { IdmapTrees } from "../linux/idmap.ts";
import { writeIdMappings } from "../linux/userns.ts";
import * as native from "../native.ts";
import { newCgroup, useNativeBpf, type Cgroup } from "../cgroups/index.ts";
import { runHooksOrFail } from "./hooks.ts";
import { handOverListener } from "./seccomp-agent.ts";
import { OCI_VERSION, containerDir, ensureRoot, execFifoPath, pidStartTime, writeRecord, type ContainerRecord } from "./state.ts";

export interface CreateOptions {
  root: string;
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  /** the caller proxies the pty itself (`run` in the foreground): no --console-socket needed */
  foregroundTty?: boolean;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  systemdCgroup: boolean;
  init: boolean;
  /** fds for the container process's stdin/stdout/stderr (default: bunc's own; `bunc pod` gives pipes) */
  stdio?: [number, number, number];
}

export interface Created {
  record: ContainerRecord;
  dir: string;
  /** parent end of the sync socket: EOF once the process has exec'd (run watches it) */
  syncFd: number;
  /** pty master when process.terminal and no --console-socket */
  ptyFd: number;
  cgroup: Cgroup;
}

export const ANNOTATION_INIT = "run.bunc.init";
export const ANNOTATION_PAUSE = "run.bunc.pause";

function initMode(spec: Spec, init: boolean): "exec" | "init" | "pause" {
  const a = spec.annotations ?? {};
  // containerd's pod_annotations copies a pod annotation into the sandbox *and* every container
  // of the pod: only the sandbox is the pause.
  if (a[ANNOTATION_PAUSE] === "true" && a["io.kubernetes.cri.container-type"] !== "container") return "pause";
  if (init || a[ANNOTATION_INIT] === "true") return "init";
  return "exec";
}

function cgroupMountInfo(cg: Cgroup, rootless: boolean): CgroupMountInfo {
  const paths = cg.paths();
  // Rootless without delegation: the cgroups bunc could not make are not there to bind.
  if (rootless) for (const [k, dir] of Object.entries(paths)) if (!existsSync(dir)) delete paths[k];
  if ("" in paths) return { v2: true, dirs: [{ name: "", hostDir: paths[""]! }] };
  const dirs: CgroupMountInfo["dirs"] = [];
  const seen = new Set<string>();
  for (const hostDir of Object.values(paths)) {
    // /sys/fs/cgroup/<hierarchy>/<path>: the hierarchy's mount dir name is the first component.
    const m = /^\/sys\/fs\/cgroup\/([^/]+)/.exec(hostDir);
    if (!m || seen.has(m[1]!)) continue;
    seen.add(m[1]!);
    dirs.push({ name: m[1]!, hostDir });
  }
  return { v2: false, dirs };
}

function writePidFile(path: string, pid: number): void {
  // Atomic: containerd reads it as soon as create returns.
  const tmp = `${dirname(path)}/.${Date.now()}-${process.pid}.pid.tmp`;
  writeFileSync(tmp, String(pid));
  renameSync(tmp, path);
}

export async function createContainer(o: CreateOptions): Promise<Created> {
  ensureRoot(o.root);
  const dir = containerDir(o.root, o.id);
  const { spec, bundle, rootfs } = loadBundle(o.bundle, logWarn);
  if (!spec.process) throw new BuncError("config.json: process: required to create a container");
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new BuncError(`container "${o.id}" already exists`);
    throw new BuncError(`create state directory ${dir}: ${(e as Error).message}`);
  }
  const toClose: number[] = [];
  let pid = 0;
  let cgroup: Cgroup | undefined;
  // Without root (rootless): no cgroups unless delegated, and a user namespace is a must.
  const rootless = process.geteuid?.() !== 0;
  const idmap = new IdmapTrees(spec);
  try {
    const fifo = execFifoPath(dir);
    native.check(`mkfifo ${fifo}`, native.mknodFifo(fifo, 0o622));
    const fifoFd = native.check(`open ${fifo}`, native.openFd(fifo, native.O.RDONLY | native.O.NONBLOCK | native.O.CLOEXEC));
    toClose.push(fifoFd);

    useNativeBpf(native);
    cgroup = newCgroup({
      cgroupsPath: spec.linux?.cgroupsPath, id: o.id, systemd: o.systemdCgroup, resources: spec.linux?.resources,
      devices: spec.linux?.devices, annotations: spec.annotations, rootless,
    });
    try {
      await cgroup.create();
    } catch (e) {
      if (!rootless) throw e;
      throw new BuncError(`${(e as Error).message} (without root, cgroup settings need a cgroup delegated to your user)`);
    }

    const ns = planNamespaces(spec.linux?.namespaces);
    const newUserns = (ns.cloneFlags & CLONE_NEW.user) !== 0;
    if (rootless && !newUserns && !ns.join.some((j) => j.type === "user")) {
      throw new BuncError('config.json: linux.namespaces: without root, bunc needs a user namespace ("user", as `bunc spec --rootless` writes)');
    }
    const nsJoin = ns.join.map((j) => {
      const fd = native.openFd(j.path, native.O.RDONLY | native.O.CLOEXEC);
      if (fd < 0) throw new BuncError(`config.json: linux.namespaces: ${j.type} namespace path ${j.path}: ${strerror(-fd)}`);
      toClose.push(fd);
      return { type: CLONE_NEW[j.type], fd };
    });
    const [parentEnd, childEnd] = native.socketpair();
    toClose.push(childEnd);
    const initFd = native.initMemfd();
    toClose.push(initFd);
    let consoleFd: number | undefined;
    if (spec.process.terminal) {
      if (!o.consoleSocket && !o.foregroundTty)
        throw new BuncError("cannot allocate a terminal for a detached container without --console-socket (process.terminal is true)");
      consoleFd = o.consoleSocket ? native.connectUnix(o.consoleSocket) : -1;
      if (consoleFd >= 0) toClose.push(consoleFd);
    } else if (o.consoleSocket) {
      throw new BuncError("--console-socket given but process.terminal is false in config.json");
    }
    const created = new Date().toISOString();
    const stateFor = (status: OciState["status"], p = pid): OciState => ({
      ociVersion: OCI_VERSION, id: o.id, status, pid: p, bundle, rootfs, created, owner: "", annotations: spec.annotations ?? {},
    });
    const plan = buildCreatePlan(spec, {
      mode: PlanMode.Create, bundle, rootfs, syncFd: childEnd, execFifoFd: fifoFd, initFd,
      initMode: initMode(spec, o.init), consoleFd, preserveFds: o.preserveFds, noPivot: o.noPivot,
      cloneFlags: ns.cloneFlags, cgroupNsAfter: ns.cgroupNsAfter, nsJoin,
      userns: (ns.cloneFlags & CLONE_NEW.user) !== 0 || ns.join.some((j) => j.type === "user"),
      cgroupMount: cgroupMountInfo(cgroup, rootless),
      // The child cannot know its host pid before clone: hooks in the container get it patched in.
      hookState: (status) => JSON.stringify(stateFor(status, 0)),
      warn: logWarn,
      timeNew: ns.timeNew,
      unshareFlags: ns.unshareFlags,
      idmapTree: (r) => idmap.tree(r),
    });
    if (o.stdio) plan.stdio = o.stdio;
    if (!o.noNewKeyring) plan.keyring = `_ses.${o.id}`;
    await planSeccomp(plan, spec);
    const selfAttach = cgroup.selfAttachFds?.();
    if (selfAttach) {
      plan.cgroupTasksFds = selfAttach;
      toClose.push(...selfAttach);
    }
    // cgroup v2: the child is born in its cgroup (CLONE_INTO_CGROUP); else it joins by itself (v1)
    // or the driver attaches it (systemd).
    let attached = !!selfAttach;
    const intoFd = selfAttach ? -1 : (cgroup.intoCgroupFd?.() ?? -1);
    if (intoFd >= 0) {
      plan.cgroupIntoFd = intoFd;
      const r = native.trySpawn(encodePlan(plan));
      native.closeFd(intoFd);
      plan.cgroupIntoFd = undefined;
      if (r > 0) {
        pid = r;
        attached = true;
      }
    }
    if (!pid) pid = native.spawn(encodePlan(plan));
    for (const fd of toClose.splice(1)) native.closeFd(fd); // keep only the fifo until the end
    idmap.close(); // the child has its copies of the idmapped trees
    // A new user namespace gets its maps now: the child waits for GO before anything privileged.
    if (newUserns) native.expectUserns(parentEnd, "user namespace");
    if (newUserns) writeIdMappings(pid, { uid: spec.linux?.uidMappings ?? [], gid: spec.linux?.gidMappings ?? [] });

    // A driver that attaches from here (systemd: starting the scope makes the cgroup directory
    // the child binds at /sys/fs/cgroup) does so before the child goes on.
    if (!attached) await cgroup.attach(pid);
    native.syncSend(parentEnd, native.SYNC.GO);
    let ptyFd = -1;
    for (;;) {
      const m = native.syncRecv(parentEnd);
      if (m.type === native.SYNC.PID) {
        // The child forked into a joined pid namespace: its child is the container process.
        native.waitpid(pid);
        pid = m.value;
      } else if (m.type === native.SYNC.HOOKS) {
        runHooksOrFail("prestart", spec.hooks?.prestart, stateFor("creating"));
        runHooksOrFail("createRuntime", spec.hooks?.createRuntime, stateFor("creating"));
        native.syncSend(parentEnd, native.SYNC.GO);
      } else if (m.type === native.SYNC.PTY) {
        ptyFd = m.fd;
      } else if (m.type === native.SYNC.SECCOMP) {
        handOverListener(spec.linux?.seccomp, stateFor("creating"), pid, m.fd);
      } else if (m.type === native.SYNC.READY) {
        break;
      } else if (m.type === native.SYNC.ERROR) {
        throw new BuncError(m.err ? `${m.msg}: ${strerror(m.err)}` : m.msg);
      } else {
        const st = native.waitpid(pid);
        throw new BuncError(`container process exited during setup (wait status ${st})`);
      }
    }
    native.closeFd(fifoFd);
    toClose.length = 0;
    const start = pidStartTime(pid);
    if (!start) throw new BuncError("container process exited during setup");
    const record: ContainerRecord = {
      id: o.id, bundle, rootfs, pid, pidStartTime: start, created, owner: "", config: spec, cgroup: cgroup.save(),
    };
    writeRecord(dir, record);
    if (o.pidFile) writePidFile(o.pidFile, pid);
    return { record, dir, syncFd: parentEnd, ptyFd, cgroup };
  } catch (e) {
    for (const fd of toClose) native.closeFd(fd);
    idmap.close();
    if (pid > 0) {
      native.kill(pid, 9);
      native.waitpid(pid);
    }
    try {
      await cgroup?.destroy();
    } catch (ce) {
      logWarn(`cleanup: ${(ce as Error).message}`);
    }
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
