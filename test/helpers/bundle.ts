// OCI bundles for integration tests: a config.json shaped like `runc spec`'s (with the
// changes tests want: no terminal, a cgroup under /bunc-test), a private --root state dir,
// and a cleanup that removes everything a container could have left behind, even when bunc
// itself failed half-way.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Spec } from "../../src/spec/types.ts";
import { busyboxRootfs } from "./rootfs.ts";
import { buncBin } from "./run.ts";
import { pidStartTime } from "../../src/container/state.ts";

export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
export const DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
/** Every test cgroup lives below this, so a leak is easy to find and never touches the host's. */
export const TEST_CGROUP_PARENT = "/bunc-test";
const CGROUP_FS = "/sys/fs/cgroup";

export interface BundleOptions {
  /** process.args; default ["true"] */
  args?: string[];
  /** edit the config before it is written (it is written again by writeConfig()) */
  mutate?: (cfg: Spec) => void;
  /** give the bundle its own writable copy of the rootfs (cp -a) instead of the shared cache */
  copyRootfs?: boolean;
  /** process.terminal; default false */
  terminal?: boolean;
}

export interface Bundle {
  /** the bundle directory (holds config.json, and rootfs/ when copied) */
  dir: string;
  id: string;
  config: Spec;
  /** the rootfs directory the config points at */
  rootfs: string;
  /** a private `--root` state directory for this test */
  root: string;
  /** linux.cgroupsPath as first written: /bunc-test/<id> */
  cgroupsPath: string;
  /** write `config` (after a test edited it) to config.json */
  writeConfig(): void;
  /** remove the container, its processes, cgroups, mounts and directories; safe to call twice */
  cleanup(): void;
}

let counter = 0;
const live = new Set<Bundle>();

export function uniqueId(prefix = "t"): string {
  return `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** runc's default spec (`runc spec`), with terminal off and the given args. */
export function defaultSpec(args: string[], rootPath: string, cgroupsPath: string): Spec {
  return {
    ociVersion: "1.2.0",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: [DEFAULT_PATH, "TERM=xterm"],
      cwd: "/",
      capabilities: { bounding: [...DEFAULT_CAPS], effective: [...DEFAULT_CAPS], permitted: [...DEFAULT_CAPS] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: rootPath, readonly: false },
    hostname: "bunc",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
      },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    ],
    linux: {
      cgroupsPath,
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
        "/sys/devices/virtual/tpm",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

/** A fresh bundle with its own id and --root; registered for cleanupAll(). */
export function makeBundle(opts: BundleOptions = {}): Bundle {
  const id = uniqueId();
  const base = mkdtempSync(join(process.env.BUNC_TEST_TMP ?? tmpdir(), "bunc-test-"));
  const dir = join(base, "bundle");
  const root = join(base, "root");
  mkdirSync(dir);
  mkdirSync(root, { mode: 0o700 });

  let rootfs = busyboxRootfs();
  if (opts.copyRootfs) {
    // cp -a keeps owners, modes and symlinks as they are (node's cpSync would too, but
    // cp is what a human would check with, and it does not follow the applet symlinks).
    const cp = spawnSync("cp", ["-a", rootfs, join(dir, "rootfs")]);
    if (cp.status !== 0) throw new Error(`cp -a ${rootfs}: ${cp.stderr}`);
    rootfs = join(dir, "rootfs");
  }

  const cgroupsPath = `${TEST_CGROUP_PARENT}/${id}`;
  // The shared cache is named by absolute path; a copy by the usual relative "rootfs".
  const config = defaultSpec(opts.args ?? ["true"], opts.copyRootfs ? "rootfs" : rootfs, cgroupsPath);
  if (opts.terminal !== undefined) config.process!.terminal = opts.terminal;
  opts.mutate?.(config);

  let cleaned = false;
  const bundle: Bundle = {
    dir,
    id,
    config,
    rootfs,
    root,
    cgroupsPath,
    writeConfig() {
      writeFileSync(join(dir, "config.json"), JSON.stringify(bundle.config, null, 2));
    },
    cleanup() {
      if (cleaned) return;
      cleaned = true;
      live.delete(bundle);
      cleanupContainer(base, root, id, [cgroupsPath, bundle.config.linux?.cgroupsPath]);
    },
  };
  bundle.writeConfig();
  live.add(bundle);
  return bundle;
}

/** makeBundle with a private, writable copy of the rootfs. */
export function bundleWithRootfsCopy(opts: Omit<BundleOptions, "copyRootfs"> = {}): Bundle {
  return makeBundle({ ...opts, copyRootfs: true });
}

/** Clean up every bundle not cleaned yet (for afterAll); safe to call twice. */
export function cleanupAll(): void {
  const errors: unknown[] = [];
  for (const b of [...live]) {
    try {
      b.cleanup();
    } catch (e) {
      errors.push(e);
    }
  }
  removeEmptyTestParent();
  if (errors.length) throw errors[0];
}

/** The shared /bunc-test parent cgroup, once no test file uses it any more (rmdir fails while a
 * concurrent test still has a child there, which is fine: the last one removes it). */
export function removeEmptyTestParent(): void {
  let hierarchies: string[] = [];
  try {
    hierarchies = readdirSync("/sys/fs/cgroup");
  } catch {
    return;
  }
  for (const h of hierarchies) {
    try {
      rmdirSync(`/sys/fs/cgroup/${h}${TEST_CGROUP_PARENT}`);
    } catch {
      // absent, or still in use
    }
  }
}

// Last resort when a test file forgot afterAll(cleanupAll) or the runner exits early.
process.on("exit", () => {
  try {
    cleanupAll();
  } catch {}
});

// ---- cleanup, step by step ----------------------------------------------------------

function cleanupContainer(base: string, root: string, id: string, cgroupsPaths: (string | undefined)[]): void {
  // 1. Ask bunc itself: this also exercises `delete --force` and runs poststop hooks.
  if (existsSync(buncBin())) {
    spawnSync(buncBin(), ["--root", root, "delete", "--force", id], { stdio: "ignore", timeout: 20_000 });
  }
  // 2. Whatever bunc left alive: the recorded init, if it is still the same process.
  killRecordedInit(join(root, id, "state.json"));
  // 3. Cgroups (killing anything still in them first).
  for (const path of new Set(cgroupsPaths)) if (path) removeCgroupTree(path);
  // 4. Mounts on the host side under our temp dir (e.g. a rootfs bind that was never undone).
  unmountUnder(base);
  // 5. The directories, unless something is still mounted there: rm -r through a mount
  //    could delete what the mount shows (the shared rootfs cache, or worse).
  const stillMounted = mountsUnder(base);
  if (stillMounted.length) throw new Error(`bundle cleanup: still mounted, not removing ${base}: ${stillMounted.join(", ")}`);
  rmSync(base, { recursive: true, force: true });
}

function killRecordedInit(stateFile: string): void {
  let rec: { pid?: number; pidStartTime?: string };
  try {
    rec = JSON.parse(readFileSync(stateFile, "utf8"));
  } catch {
    return;
  }
  const pid = rec.pid;
  if (!pid || pid <= 1 || pid === process.pid) return;
  // Only kill the process the record describes, not a later process that reused its pid.
  if (rec.pidStartTime !== undefined && pidStartTime(pid) !== rec.pidStartTime) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
}


/** Every mounted hierarchy under /sys/fs/cgroup (v1 controllers, named ones, the unified one). */
/** Every mounted cgroup hierarchy (v2 only: /sys/fs/cgroup itself), each once. */
export function cgroupHierarchies(): string[] {
  let names: string[];
  try {
    names = readdirSync(CGROUP_FS);
  } catch {
    return [];
  }
  const seen = new Set<string>();
  // cgroup v2 only: /sys/fs/cgroup is itself the hierarchy.
  if (existsSync(join(CGROUP_FS, "cgroup.controllers"))) return [CGROUP_FS];
  for (const name of names) {
    try {
      seen.add(realpathSync(join(CGROUP_FS, name))); // cpu -> cpu,cpuacct: visit once
    } catch {}
  }
  return [...seen];
}

/** Kill what is in <hierarchy>/<path> (thawing it first) and rmdir it, children first; only test
 * cgroups (below /bunc-test/), anything else is left alone. */
export function removeCgroupTree(path: string): void {
  if (!path.startsWith(`${TEST_CGROUP_PARENT}/`) || path.includes("..")) return; // never touch other cgroups
  for (const h of cgroupHierarchies()) {
    const dir = join(h, path);
    if (!existsSync(dir)) continue;
    const dirs = cgroupTree(dir); // parents before children
    for (const d of dirs) thaw(d);
    for (let attempt = 0; ; attempt++) {
      for (const d of dirs) for (const pid of cgroupPids(d)) if (pid !== process.pid) try { process.kill(pid, "SIGKILL"); } catch {}
      let left = 0;
      for (const d of [...dirs].reverse()) {
        try {
          rmdirSync(d);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") left++;
        }
      }
      if (left === 0) break;
      if (attempt >= 100) throw new Error(`bundle cleanup: cannot remove cgroup ${dir}`);
      Bun.sleepSync(20); // killed processes take a moment to leave the cgroup
    }
  }
}

/** dir and every cgroup below it */
export function cgroupTree(dir: string): string[] {
  const out = [dir];
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...cgroupTree(join(dir, e.name)));
  } catch {}
  return out;
}

/** the pids in one cgroup directory (empty when it is gone) */
export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function thaw(dir: string): void {
  for (const [file, value] of [["freezer.state", "THAWED"], ["cgroup.freeze", "0"]]) {
    if (existsSync(join(dir, file))) try { writeFileSync(join(dir, file), value); } catch {}
  }
}

/** Mount points at or below `dir` in our mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  const text = readFileSync("/proc/self/mountinfo", "utf8");
  const points = text
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(" ")[4]!.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

function unmountUnder(dir: string): void {
  for (let pass = 0; pass < 5; pass++) {
    const points = mountsUnder(dir);
    if (!points.length) return;
    for (const p of points) spawnSync("umount", ["-l", p], { stdio: "ignore" });
  }
}
