// The bundles containerd 1.6's CRI plugin really hands a runtime (shared/samples/containerd-cri),
// replayed through bunc with their host paths rewritten to temp files: a pod sandbox and two
// containers that join its namespaces, with kubelet's seccomp profile, read-only root, /dev/shm
// mounted twice, file bind mounts and masked paths this kernel lacks.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxRootfs } from "../helpers/rootfs.ts";
import { bunc, buncOk, describeRoot, waitFor } from "../helpers/run.ts";
import { uniqueId } from "../helpers/bundle.ts";
import type { Spec } from "../../src/spec/types.ts";

const SAMPLES = join(import.meta.dir, "../../../shared/samples/containerd-cri");
const have = existsSync(join(SAMPLES, "sandbox.config.json"));
const base = mkdtempSync(join(tmpdir(), "bunc-cri-"));
const root = join(base, "root");
const cgParent = `/bunc-test/${uniqueId("cri")}`;
const ids: string[] = [];

afterAll(async () => {
  for (const id of ids.reverse()) await bunc(["delete", "--force", id], { root });
  for (const h of ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd"]) {
    try {
      require("node:fs").rmdirSync(`/sys/fs/cgroup/${h}${cgParent}`);
    } catch {}
  }
  rmSync(base, { recursive: true, force: true });
});

/** Load a sample, point every host path at files under `base`, and its cgroup under the test parent. */
function sample(name: string, id: string, sandboxPid?: number): string {
  let text = readFileSync(join(SAMPLES, name), "utf8").replaceAll("/tmp/bar-work.XXXX", join(base, "work"));
  if (sandboxPid) text = text.replaceAll("/proc/23477/", `/proc/${sandboxPid}/`);
  const spec = JSON.parse(text) as Spec;
  spec.root!.path = busyboxRootfs();
  spec.linux!.cgroupsPath = `${cgParent}/${id}`;
  // the sandbox's netns is a file containerd's CNI made: let the sandbox make its own instead
  spec.linux!.namespaces = spec.linux!.namespaces!.map((n) => (n.type === "network" && !sandboxPid ? { type: "network" } : n));
  for (const m of spec.mounts ?? []) {
    if (m.type !== "bind" || !m.source) continue;
    const isDir = m.destination === "/dev/shm" || m.destination.includes("serviceaccount");
    if (isDir) mkdirSync(m.source, { recursive: true });
    else {
      mkdirSync(join(m.source, ".."), { recursive: true });
      if (!existsSync(m.source)) writeFileSync(m.source, m.destination === "/etc/hostname" ? "cri-pod\n" : `# ${m.destination}\n`);
    }
  }
  const dir = join(base, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
  return dir;
}

(have ? describeRoot : describeRoot.skip)("containerd CRI bundles", () => {
  test("sandbox + two containers joining its namespaces, exec, stop, delete", async () => {
    const sbId = uniqueId("sb");
    const sbDir = sample("sandbox.config.json", sbId);
    ids.push(sbId);
    await buncOk(["--log", join(sbDir, "log.json"), "--log-format", "json", "create", "--bundle", sbDir, "--pid-file", join(sbDir, "init.pid"), sbId], { root });
    await buncOk(["start", sbId], { root });
    const sbPid = Number(readFileSync(join(sbDir, "init.pid"), "utf8"));

    const cId = uniqueId("c");
    const cDir = sample("container.config.json", cId, sbPid);
    ids.push(cId);
    await buncOk(["create", "--bundle", cDir, "--pid-file", join(cDir, "init.pid"), cId], { root });
    await buncOk(["start", cId], { root });
    const cPid = Number(readFileSync(join(cDir, "init.pid"), "utf8"));
    expect(readlinkSync(`/proc/${cPid}/ns/net`)).toBe(readlinkSync(`/proc/${sbPid}/ns/net`));
    expect(readlinkSync(`/proc/${cPid}/ns/uts`)).toBe(readlinkSync(`/proc/${sbPid}/ns/uts`));
    expect(readlinkSync(`/proc/${cPid}/ns/pid`)).not.toBe(readlinkSync(`/proc/${sbPid}/ns/pid`));

    const lId = uniqueId("lim");
    const lDir = sample("container-limited.config.json", lId, sbPid);
    ids.push(lId);
    await buncOk(["create", "--bundle", lDir, "--pid-file", join(lDir, "init.pid"), lId], { root });
    await buncOk(["start", lId], { root });
    const limited = JSON.parse(readFileSync(join(lDir, "config.json"), "utf8")) as Spec;
    const memLimit = readFileSync(`/sys/fs/cgroup/memory${cgParent}/${lId}/memory.limit_in_bytes`, "utf8").trim();
    expect(memLimit).toBe(String(limited.linux!.resources!.memory!.limit));
    expect(readFileSync(`/proc/${Number(readFileSync(join(lDir, "init.pid"), "utf8"))}/oom_score_adj`, "utf8").trim()).toBe(String(limited.process!.oomScoreAdj));

    // ExecSync as containerd does it: --process FILE --detach --pid-file
    const proc = JSON.parse(readFileSync(join(SAMPLES, "exec-process.json"), "utf8"));
    proc.args = ["sh", "-c", "cat /etc/hostname; id -G; grep Seccomp: /proc/self/status; touch /etc/x 2>&1 | grep -c Read-only >/dev/null || echo rw-root"];
    writeFileSync(join(base, "exec.json"), JSON.stringify(proc));
    const ex = await buncOk(["exec", "--process", join(base, "exec.json"), cId], { root });
    expect(ex.stdout).toContain("cri-pod");
    expect(ex.stdout).toMatch(/Seccomp:\s+2/);

    // the stop sequence of the CRI flow
    await buncOk(["kill", cId, "15"], { root });
    await buncOk(["kill", cId, "9"], { root });
    await waitFor(async () => JSON.parse((await buncOk(["state", cId], { root })).stdout).status === "stopped", 10_000);
    await buncOk(["kill", "--all", cId, "9"], { root }); // also after the init is dead: exit 0
    await buncOk(["delete", cId], { root });
    await buncOk(["delete", "--force", cId], { root }); // always follows: exit 0 for a gone id
    for (const id of [lId, sbId]) {
      await buncOk(["kill", id, "9"], { root });
      await buncOk(["delete", "--force", id], { root });
    }
    expect(existsSync(join(root, sbId))).toBe(false);
  });
});
