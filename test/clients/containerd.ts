// A private containerd for the client tests: its own root, state, socket, config, runtime root
// and fifo dir under one temp dir, never the host's; the runc v2 shim runs bunc through a
// wrapper that records every invocation. stop() removes everything the run made (containers,
// shims, mounts, netns files, cgroups, the CNI bridge, temp dirs), also after a failed test,
// and only ever kills processes this harness started or that name its temp dir.
import { spawn, type Subprocess } from "bun";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buncBin } from "../helpers/run.ts";
import { cniConflist, type CniNetwork, testNetwork } from "./cni.ts";
import { alive, allPids, cgroupProcesses, cmd, type CmdOptions, type CmdResult, cmdline, deleteLink, hasCommand, killPid, removeCgroupTree, unmountAllUnder } from "./host.ts";
import { busyboxImageArchive, IMAGE } from "./image.ts";
import { type Invocation, readInvocations, writeLoggingWrapper } from "./runtime-calls.ts";

export { IMAGE };

export interface ContainerdOptions {
  /** enable the CRI plugin (with a CNI bridge and the image as sandbox image); default false */
  cri?: boolean;
  /** namespaces to import the busybox image into; default ["test"] (CRI adds "k8s.io") */
  importInto?: string[];
  /** the runtime binary behind the wrapper; default bin/bunc */
  runtime?: string;
}

export interface Containerd {
  /** the temp dir holding everything */
  dir: string;
  socket: string;
  root: string;
  state: string;
  /** --runc-root / runtime options Root: bunc's state dirs live in <runcRoot>/<namespace> */
  runcRoot: string;
  fifoDir: string;
  /** the logging wrapper containerd runs as its runtime */
  wrapper: string;
  /** where the wrapper appends each invocation */
  argvLog: string;
  /** containerd's own stdout+stderr */
  logFile: string;
  /** cgroup under which every container of this run lives (cgroupfs path) */
  cgroupPrefix: string;
  network?: CniNetwork;
  /** `ctr --address <socket> -n <ns> ...args` */
  ctr(args: string[], opts?: CmdOptions & { namespace?: string }): Promise<CmdResult>;
  /** the flags that make `ctr run` use our runtime, root, fifo dir and a cgroup under cgroupPrefix */
  runFlags(id: string): string[];
  /** the flags that keep `ctr task exec`'s fifos in our dir */
  execFlags(): string[];
  invocations(): Invocation[];
  log(): string;
  /** every log.json the shim gave bunc (bundle dirs), concatenated; read before stop() */
  runtimeLogs(): string;
  /** stop containerd and remove everything; safe to call twice */
  stop(): Promise<void>;
}

/** Why the containerd tests cannot run here, or undefined when they can. */
export function containerdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root";
  for (const c of ["containerd", "ctr", "containerd-shim-runc-v2"]) if (!hasCommand(c)) return `${c} is not installed (apt-get install containerd)`;
  if (!existsSync(buncBin())) return `${buncBin()} is missing (run make)`;
  return undefined;
}

export async function startContainerd(opts: ContainerdOptions = {}): Promise<Containerd> {
  const dir = mkdtempSync(join(process.env.BUNC_TEST_TMP ?? tmpdir(), "bunc-ctd-"));
  const tag = dir.slice(dir.lastIndexOf("-") + 1);
  const root = join(dir, "root");
  const state = join(dir, "state");
  const runcRoot = join(dir, "runc");
  const fifoDir = join(dir, "fifo");
  const cniDir = join(dir, "cni");
  for (const d of [root, state, runcRoot, fifoDir, cniDir]) mkdirSync(d, { recursive: true, mode: 0o711 });
  const socket = join(dir, "ctd.sock");
  const wrapper = join(dir, "bunc-wrapper");
  const argvLog = join(dir, "runtime-argv.log");
  const logFile = join(dir, "containerd.log");
  const cgroupPrefix = `/bunc-test/ctd-${tag}`;
  writeLoggingWrapper(wrapper, argvLog, opts.runtime ?? buncBin());

  let network: CniNetwork | undefined;
  if (opts.cri) {
    network = testNetwork(tag, dir);
    writeFileSync(join(cniDir, "10-bunc-test.conflist"), JSON.stringify(cniConflist(network), null, 2));
  }
  const config = join(dir, "config.toml");
  writeFileSync(config, configToml({ root, state, socket, wrapper, runcRoot, cniDir, cri: !!opts.cri }));

  const cniCacheExisted = existsSync(CNI_CACHE);
  let proc: Subprocess | undefined;
  let stopped = false;
  const ctd: Containerd = {
    dir,
    socket,
    root,
    state,
    runcRoot,
    fifoDir,
    wrapper,
    argvLog,
    logFile,
    cgroupPrefix,
    network,
    ctr: (args, o = {}) => cmd(["ctr", "--address", socket, "--namespace", o.namespace ?? "test", ...args], { timeoutMs: 120_000, ...o }),
    execFlags: () => ["--fifo-dir", fifoDir],
    runFlags: (id) => ["--runc-binary", wrapper, "--runc-root", runcRoot, "--fifo-dir", fifoDir, "--cgroup", `${cgroupPrefix}/${id}`],
    invocations: () => readInvocations(argvLog),
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    runtimeLogs: () => collectRuntimeLogs(state),
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off("exit", onExit);
      await teardown({ dir, socket, cgroupPrefix, network, proc, cniCacheExisted });
    },
  };
  // A test run cut short (timeout, ^C) still removes what this containerd made.
  const onExit = () => {
    if (!stopped) removeEverything({ dir, socket, cgroupPrefix, network, proc, cniCacheExisted });
  };
  process.on("exit", onExit);

  try {
    const logFd = openSync(logFile, "a");
    try {
      proc = spawn(["containerd", "--config", config], { stdin: "ignore", stdout: logFd, stderr: logFd, env: { ...process.env, TMPDIR: dir } });
    } finally {
      closeSync(logFd);
    }
    await waitReady(ctd, proc);
    for (const ns of new Set([...(opts.importInto ?? ["test"]), ...(opts.cri ? ["k8s.io"] : [])])) {
      const r = await ctd.ctr(["image", "import", busyboxImageArchive()], { namespace: ns });
      if (r.code !== 0) throw new Error(`ctr image import: ${r.stderr}`);
    }
    return ctd;
  } catch (e) {
    const logTail = ctd.log().split("\n").slice(-30).join("\n");
    await ctd.stop();
    throw new Error(`${(e as Error).message}\ncontainerd log (tail):\n${logTail}`);
  }
}

async function waitReady(ctd: Containerd, proc: Subprocess): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`containerd exited with ${proc.exitCode} before it answered`);
    if (existsSync(ctd.socket) && (await ctd.ctr(["version"], { timeoutMs: 5000 })).code === 0) return;
    if (Date.now() > deadline) throw new Error("containerd did not answer on its socket within 30 s");
    await Bun.sleep(100);
  }
}

function configToml(p: { root: string; state: string; socket: string; wrapper: string; runcRoot: string; cniDir: string; cri: boolean }): string {
  const q = JSON.stringify;
  const disabled = [
    "io.containerd.internal.v1.opt", // would write /opt/containerd
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.tracing.processor.v1.otlp",
    ...(p.cri ? [] : ["io.containerd.grpc.v1.cri"]),
  ];
  const cri = `
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(IMAGE)}
  # The bounding set here lacks CAP_SYS_RESOURCE: never lower an oom_score_adj.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      # Lets a pod ask for bunc's built-in pause as its sandbox process.
      pod_annotations = ["run.bunc.*"]
      container_annotations = ["run.bunc.*"]
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = ${q(p.wrapper)}
        Root = ${q(p.runcRoot)}
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${q(p.cniDir)}
    max_conf_num = 1
`;
  return `version = 2
root = ${q(p.root)}
state = ${q(p.state)}
oom_score = 0
disabled_plugins = ${q(disabled)}

[grpc]
  address = ${q(p.socket)}
[ttrpc]
  address = ${q(`${p.socket}.ttrpc`)}
[debug]
  level = "debug"
[metrics]
  address = ""
${p.cri ? cri : ""}`;
}

/** Every bundle's log.json under the v2 task state dir, with the bundle id before each. */
function collectRuntimeLogs(state: string): string {
  const tasks = join(state, "io.containerd.runtime.v2.task");
  const out: string[] = [];
  if (!existsSync(tasks)) return "";
  for (const ns of readdirSync(tasks)) {
    for (const id of readdirSync(join(tasks, ns))) {
      const f = join(tasks, ns, id, "log.json");
      if (existsSync(f)) out.push(`== ${ns}/${id}\n${readFileSync(f, "utf8")}`);
    }
  }
  return out.join("\n");
}

/** Processes whose command line names the run's temp dir (containerd, shims, bunc calls). */
function processesOfRun(dir: string, socket: string): number[] {
  return allPids().filter((pid) => {
    if (pid === process.pid) return false;
    const argv = cmdline(pid);
    return !!argv && argv.some((a) => a === socket || a.startsWith(`${dir}/`) || a === dir);
  });
}

/** libcni's result cache (containerd 1.6 has no setting for it). */
const CNI_CACHE = "/var/lib/cni";

async function teardown(t: Teardown): Promise<void> {
  // containerd: TERM (it stops cleanly, shims stay), then KILL if it lingers.
  if (t.proc && t.proc.exitCode === null) {
    t.proc.kill("SIGTERM");
    const exited = await Promise.race([t.proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
    if (!exited) {
      t.proc.kill("SIGKILL");
      await t.proc.exited;
    }
  }
  removeEverything(t);
}

interface Teardown {
  dir: string;
  socket: string;
  cgroupPrefix: string;
  network?: CniNetwork;
  proc?: Subprocess;
  cniCacheExisted: boolean;
}

/** Synchronous, so that it also runs from an exit handler when a test run is cut short. */
function removeEverything(t: Teardown): void {
  // Shim sockets live under /run/containerd/s; each bundle's `address` file names its own.
  const shimSockets = shimSocketFiles(join(t.dir, "state"));
  if (t.proc && t.proc.exitCode === null) killPid(t.proc.pid);
  // 1. Shims (`-address <our socket>`) and any runtime call still naming our dirs.
  for (let round = 0; round < 20; round++) {
    const pids = processesOfRun(t.dir, t.socket);
    if (!pids.length) break;
    for (const pid of pids) killPid(pid);
    Bun.sleepSync(50);
  }
  // 2. Containers: every process in our cgroups, then the cgroups themselves.
  for (const pid of cgroupProcesses(t.cgroupPrefix)) killPid(pid);
  removeCgroupTree(t.cgroupPrefix);
  // 3. Mounts (overlay rootfs, netns files, shm) under the temp dir.
  unmountAllUnder(t.dir);
  // 4. The CNI bridge and its cached results, the shim sockets.
  if (t.network) {
    deleteLink(t.network.bridge);
    // Results of pods whose CNI DEL never ran are cached as <network>-<sandbox id>-<ifname>, for
    // our network and for the CRI plugin's own "cni-loopback".
    const results = join(CNI_CACHE, "results");
    const sandboxes = sandboxIds(t.dir);
    const ours = (f: string) => f.startsWith(`${t.network!.name}-`) || sandboxes.some((id) => f.includes(id));
    if (existsSync(results)) for (const f of readdirSync(results)) if (ours(f)) rmSync(join(results, f), { force: true });
    if (!t.cniCacheExisted) for (const d of [results, CNI_CACHE]) rmdirQuiet(d);
  }
  for (const s of shimSockets) rmSync(s, { force: true });
  // The shim makes /run/containerd/s (and ctr /run/containerd/fifo) when the host has no
  // containerd: remove them if we left them empty.
  for (const d of ["/run/containerd/s", "/run/containerd/fifo", "/run/containerd"]) rmdirQuiet(d);
  rmSync(t.dir, { recursive: true, force: true });
}

/** The CRI plugin's sandbox ids (its per-sandbox dirs in root and state). */
function sandboxIds(dir: string): string[] {
  const ids = new Set<string>();
  for (const base of ["root", "state"]) {
    const d = join(dir, base, "io.containerd.grpc.v1.cri", "sandboxes");
    try {
      for (const id of readdirSync(d)) ids.add(id);
    } catch {}
  }
  return [...ids];
}

function rmdirQuiet(d: string): void {
  try {
    rmdirSync(d);
  } catch {}
}

function shimSocketFiles(state: string): string[] {
  const tasks = join(state, "io.containerd.runtime.v2.task");
  const out: string[] = [];
  if (!existsSync(tasks)) return out;
  for (const ns of readdirSync(tasks)) {
    for (const id of readdirSync(join(tasks, ns))) {
      try {
        const addr = readFileSync(join(tasks, ns, id, "address"), "utf8").trim();
        if (addr.startsWith("unix:///run/containerd/s/")) out.push(addr.slice("unix://".length));
      } catch {}
    }
  }
  return out;
}

/** For assertions: is a process alive? (re-exported so tests import one module) */
export { alive };
