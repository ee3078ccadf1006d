// A private podman for the client tests: storage root, run root, tmp dir, events log, network
// config and containers.conf under one temp dir (CONTAINERS_CONF points at ours, so the host's
// defaults are not used), bunc as the OCI runtime through the logging wrapper, containers'
// cgroups under /bunc-test/. stop() removes containers, conmons, mounts, cgroups and the dir.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buncBin } from "../helpers/run.ts";
import { allPids, cgroupProcesses, cmd, type CmdOptions, type CmdResult, cmdline, hasCommand, killPid, removeCgroupTree, unmountAllUnder } from "./host.ts";
import { busyboxImageArchive, IMAGE } from "./image.ts";
import { type Invocation, readInvocations, writeLoggingWrapper } from "./runtime-calls.ts";

export { IMAGE };

export interface Podman {
  dir: string;
  /** the wrapper (named bunc, so runtime_supports_json applies to it) */
  runtime: string;
  argvLog: string;
  cgroupParent: string;
  /** `podman --root ... --runroot ... --runtime <wrapper> ...args` */
  podman(args: string[], opts?: CmdOptions): Promise<CmdResult>;
  /** the flags and environment podman() uses, for running podman some other way (under script) */
  baseArgs: string[];
  env: Record<string, string>;
  invocations(): Invocation[];
  stop(): Promise<void>;
}

const HOST_CACHE = "/var/lib/containers";

export function podmanUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root";
  for (const c of ["podman", "conmon"]) if (!hasCommand(c)) return `${c} is not installed (apt-get install podman conmon)`;
  if (!existsSync(buncBin())) return `${buncBin()} is missing (run make)`;
  return undefined;
}

/** nproc may not exceed pid_max (CLI-CONTRACT.md: podman's default raise fails here). */
function nprocLimit(): number {
  try {
    return Math.min(4096, Number(Bun.spawnSync(["cat", "/proc/sys/kernel/pid_max"]).stdout.toString().trim()));
  } catch {
    return 4096;
  }
}

export async function startPodman(): Promise<Podman> {
  const dir = mkdtempSync(join(process.env.BUNC_TEST_TMP ?? tmpdir(), "bunc-podman-"));
  const tag = dir.slice(dir.lastIndexOf("-") + 1);
  const paths = {
    storage: join(dir, "storage"),
    runroot: join(dir, "run"),
    tmp: join(dir, "tmp"),
    volumes: join(dir, "volumes"),
    net: join(dir, "net"),
    bin: join(dir, "bin"),
  };
  for (const d of Object.values(paths)) mkdirSync(d, { recursive: true, mode: 0o711 });
  const runtime = join(paths.bin, "bunc");
  const argvLog = join(dir, "runtime-argv.log");
  writeLoggingWrapper(runtime, argvLog, buncBin());
  const cgroupParent = `/bunc-test/podman-${tag}`;
  const q = JSON.stringify;
  const nproc = nprocLimit();
  const conf = join(dir, "containers.conf");
  writeFileSync(
    conf,
    `[containers]
# Without CAP_SYS_RESOURCE podman's default raise of these fails (CLI-CONTRACT.md).
default_ulimits = ["nofile=1024:1024", "nproc=${nproc}:${nproc}"]
init_path = "/usr/bin/catatonit"
log_driver = "k8s-file"
netns = "none"

[network]
network_config_dir = ${q(paths.net)}

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = ${q(join(dir, "events.log"))}
tmp_dir = ${q(paths.tmp)}
volume_path = ${q(paths.volumes)}
static_dir = ${q(join(paths.storage, "libpod"))}
runtime = "bunc"
runtime_supports_json = ["bunc"]

[engine.runtimes]
bunc = [${q(runtime)}]
`,
  );
  const env = { CONTAINERS_CONF: conf, CONTAINERS_STORAGE_CONF: join(dir, "storage.conf"), TMPDIR: paths.tmp, XDG_CONFIG_HOME: join(dir, "config") };
  writeFileSync(env.CONTAINERS_STORAGE_CONF, `[storage]\ndriver = "overlay"\ngraphroot = ${q(paths.storage)}\nrunroot = ${q(paths.runroot)}\n`);
  const base = ["podman", "--root", paths.storage, "--runroot", paths.runroot, "--runtime", runtime, "--cgroup-manager", "cgroupfs", "--tmpdir", paths.tmp];

  // podman load writes c/image's blob info cache to /var/lib/containers/cache whatever --root says.
  const cacheExisted = existsSync(HOST_CACHE);
  let stopped = false;
  const p: Podman = {
    dir,
    runtime,
    argvLog,
    cgroupParent,
    baseArgs: base.slice(1),
    env,
    // cwd: conmon writes a file named "oom" into its working directory when a container is OOM-killed
    podman: (args, o = {}) => cmd([...base, ...args], { timeoutMs: 120_000, cwd: dir, ...o, env: { ...env, ...o.env } }),
    invocations: () => readInvocations(argvLog),
    async stop() {
      if (stopped) return;
      stopped = true;
      // podman's own cleanup first (stops conmons, unmounts layers), then by force.
      await cmd([...base, "rm", "--all", "--force", "--time", "0"], { env, timeoutMs: 60_000 });
      await cmd([...base, "system", "reset", "--force"], { env, timeoutMs: 60_000 }).catch(() => undefined);
      process.off("exit", removeEverything);
      removeEverything();
    },
  };
  // Also when a test run is cut short: kill what names our dir, then remove cgroups, mounts, dirs.
  function removeEverything(): void {
    for (let round = 0; round < 20; round++) {
      const pids = allPids().filter((pid) => pid !== process.pid && (cmdline(pid) ?? []).some((a) => a.startsWith(`${dir}/`)));
      if (!pids.length) break;
      for (const pid of pids) killPid(pid);
      Bun.sleepSync(50);
    }
    for (const pid of cgroupProcesses(cgroupParent)) killPid(pid);
    removeCgroupTree(cgroupParent);
    unmountAllUnder(dir);
    rmSync(dir, { recursive: true, force: true });
    if (!cacheExisted) rmSync(HOST_CACHE, { recursive: true, force: true });
  }
  process.on("exit", removeEverything);
  try {
    const r = await p.podman(["load", "--input", busyboxImageArchive()]);
    if (r.code !== 0) throw new Error(`podman load: ${r.stderr}`);
    return p;
  } catch (e) {
    await p.stop();
    throw e;
  }
}
