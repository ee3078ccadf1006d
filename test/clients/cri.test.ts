// The CRI flow a kind node's kubelet drives, through containerd's CRI plugin over its gRPC
// socket, with bunc as the runc v2 runtime (cgroupfs driver on this host). Each test is one
// step of one pod's life; the steps share the pod, so they run in order.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Containerd, containerdUnavailable, IMAGE, startContainerd } from "./containerd.ts";
import { cgroupHierarchies } from "./host.ts";
import { cliRejections, unimplementedUses, usageSummary } from "./runtime-calls.ts";

const unavailable = containerdUnavailable() ?? (await grpcUnavailable());

async function grpcUnavailable(): Promise<string | undefined> {
  try {
    await import("@grpc/grpc-js");
    await import("@grpc/proto-loader");
    return undefined;
  } catch {
    return "npm dev dependencies @grpc/grpc-js and @grpc/proto-loader are not installed";
  }
}

if (unavailable) console.warn(`skipping the containerd CRI tests: ${unavailable}`);

describe.skipIf(!!unavailable)("containerd CRI plugin with bunc (cgroupfs)", () => {
  let ctd: Containerd;
  // biome-ignore lint: loaded lazily so the file still loads when the gRPC modules are missing
  let cri: any;
  // biome-ignore lint: see above
  let flow: any;
  let pids: number[] = [];

  beforeAll(async () => {
    ctd = await startContainerd({ cri: true });
    const { CriClient } = await import("../cri/client.ts");
    const { PodFlow } = await import("../cri/flow.ts");
    cri = new CriClient(ctd.socket);
    const logDir = join(ctd.dir, "pods");
    mkdirSync(logDir);
    const cgroupParent = `${ctd.cgroupPrefix}/kubepods/besteffort/pod-bunc`;
    flow = new PodFlow({
      cri,
      image: IMAGE,
      cgroupParent,
      podCgroupDirs: () => cgroupHierarchies().map((h) => join(h, cgroupParent)),
      stateDir: ctd.state,
      rootDir: ctd.root,
      runtimeRoot: join(ctd.runcRoot, "k8s.io"),
      logDir,
      podIpPrefix: "192.0.2.",
      readInvocations: () => ctd.invocations(),
      log: () => {},
    });
  }, 120_000);

  afterAll(async () => {
    try {
      // A failed step leaves the pod: remove it through the CRI first (as a kubelet would).
      if (flow?.sandboxId) {
        await cri.call("StopPodSandbox", { podSandboxId: flow.sandboxId }).catch(() => {});
        await cri.call("RemovePodSandbox", { podSandboxId: flow.sandboxId }).catch(() => {});
      }
      cri?.close();
    } finally {
      await ctd?.stop();
    }
    if (ctd) expect(existsSync(ctd.dir)).toBe(false);
  }, 120_000);

  test("RunPodSandbox: the sandbox process is bunc's pause, with a pod IP from the CNI bridge", async () => {
    await flow.runSandbox();
  }, 120_000);

  test("two containers share the sandbox's network, IPC and UTS namespaces (same hostname, same inodes)", async () => {
    await flow.twoContainersShareNamespaces();
  }, 120_000);

  test("ExecSync returns stdout, stderr and the exit code", async () => {
    await flow.execSync();
  }, 60_000);

  test("limits land in the container's cgroup; past its memory limit it is OOMKilled with 137", async () => {
    await flow.limitsAndOomKill();
  }, 120_000);

  test("StopContainer with a timeout on a process that ignores SIGTERM: killed after the timeout, 137", async () => {
    await flow.stopIgnoringTerm(2);
  }, 120_000);

  test("StopPodSandbox and RemovePodSandbox leave no process, cgroup, mount or state behind", async () => {
    pids = await flow.knownPids();
    expect(pids.length).toBeGreaterThan(1);
    await flow.stopAndRemove();
  }, 120_000);

  test("every runtime call the CRI plugin made is one bunc implements, and none was refused", () => {
    const calls = ctd.invocations();
    const used = usageSummary(calls);
    // What a pod's life needs (CLI-CONTRACT.md): all of it went through the wrapper.
    for (const c of ["create", "start", "exec", "kill", "delete"]) expect(Object.keys(used)).toContain(c);
    expect(unimplementedUses(calls)).toEqual([]);
    expect(cliRejections(ctd.runtimeLogs())).toEqual([]);
    expect(cliRejections(ctd.log())).toEqual([]);
  });
});
