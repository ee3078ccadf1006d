// A private world for `bunc pod` integration tests: --root, --data-dir and a cgroup parent
// under /bunc-test, manifests written from objects, and a cleanup that removes every pod,
// process, cgroup, mount and directory the test made, even after a failure.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { cgroupHierarchies, mountsUnder, removeCgroupTree, uniqueId } from "../helpers/bundle.ts";
import { busyboxRootfs } from "../helpers/rootfs.ts";
import { bunc, buncBin, type BuncOptions, type BuncResult } from "../helpers/run.ts";
import { pidStartTime } from "../../src/container/state.ts";

export interface PodEnv {
  id: string;
  base: string;
  root: string;
  data: string;
  /** --cgroup-parent for every pod: /bunc-test/<id> */
  cgroupParent: string;
  /** run `bunc --root R ARGS` (pod run gets --data-dir and --cgroup-parent added) */
  bunc(args: string[], opts?: BuncOptions): Promise<BuncResult>;
  /** write a manifest (an object, as YAML) and return its path */
  manifest(pod: unknown, name?: string): string;
  /** `pod status NAME -o json` parsed */
  status(name: string): Promise<any>;
  cleanup(): void;
}

const live = new Set<PodEnv>();

export function pod(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: "v1", kind: "Pod", metadata: { name }, spec };
}

/** A busybox container running `sh -c SCRIPT`. */
export function sh(name: string, script: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, image: busyboxRootfs(), command: ["sh", "-c", script], ...extra };
}

export function podEnv(): PodEnv {
  const id = uniqueId("pod");
  const base = mkdtempSync(join(process.env.BUNC_TEST_TMP ?? tmpdir(), "bunc-pod-test-"));
  const root = join(base, "root");
  const data = join(base, "data");
  mkdirSync(root, { mode: 0o700 });
  const cgroupParent = `/bunc-test/${id}`;
  const env: PodEnv = {
    id, base, root, data, cgroupParent,
    bunc(args, opts = {}) {
      const full = args[0] === "pod" && args[1] === "run" ? ["pod", "run", "--data-dir", data, "--cgroup-parent", cgroupParent, ...args.slice(2)] : args;
      return bunc(full, { ...opts, root });
    },
    manifest(p, name = "pod.yaml") {
      const file = join(base, name);
      writeFileSync(file, stringify(p));
      return file;
    },
    async status(name) {
      const r = await env.bunc(["pod", "status", name, "-o", "json"]);
      if (r.code !== 0) throw new Error(`pod status ${name}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
    cleanup() {
      if (!live.has(env)) return;
      live.delete(env);
      cleanupEnv(env);
    },
  };
  live.add(env);
  return env;
}

export function cleanupAllPods(): void {
  for (const e of [...live]) e.cleanup();
}

process.on("exit", () => {
  try {
    cleanupAllPods();
  } catch {}
});


function cleanupEnv(e: PodEnv): void {
  const pods = existsSync(join(e.root, "pods")) ? readdirSync(join(e.root, "pods")) : [];
  for (const name of pods) {
    // 1. bunc itself
    if (existsSync(buncBin())) spawnSync(buncBin(), ["--root", e.root, "pod", "rm", "--force", name], { stdio: "ignore", timeout: 30_000 });
    // 2. a supervisor that is still there
    try {
      const rec = JSON.parse(readFileSync(join(e.root, "pods", name, "pod.json"), "utf8"));
      const s = rec.bunc?.supervisor;
      if (s?.pid > 1 && pidStartTime(s.pid) === s.startTime) process.kill(s.pid, "SIGKILL");
    } catch {}
  }
  // 3. containers still recorded under --root
  if (existsSync(e.root)) {
    for (const id of readdirSync(e.root)) {
      if (id === "pods") continue;
      if (existsSync(buncBin())) spawnSync(buncBin(), ["--root", e.root, "delete", "--force", id], { stdio: "ignore", timeout: 20_000 });
    }
  }
  // 4. cgroups under the test parent, 5. mounts, 6. directories
  removeCgroupTree(e.cgroupParent);
  for (let pass = 0; pass < 5 && mountsUnder(e.base).length; pass++)
    for (const p of mountsUnder(e.base)) spawnSync("umount", ["-l", p], { stdio: "ignore" });
  const left = mountsUnder(e.base);
  if (left.length) throw new Error(`pod test cleanup: still mounted, not removing ${e.base}: ${left.join(", ")}`);
  rmSync(e.base, { recursive: true, force: true });
}

/** Every mounted cgroup hierarchy (v1 controllers, or the v2 root). */
/** Directories of `path` that exist in any hierarchy. */
export function cgroupDirsOf(path: string): string[] {
  return cgroupHierarchies().map((h) => join(h, path)).filter((d) => existsSync(d));
}

