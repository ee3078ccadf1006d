// A pod's life as kubelet runs it: lifecycle hooks, stop with a grace period (137 for a PID 1
// that ignores SIGTERM), init containers, restarts, OOM kills, cgroup limits, the -d supervisor.
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buncBin, describeRoot, waitFor } from "../helpers/run.ts";
import { cgroupDirsOf, cleanupAllPods, pod, podEnv, sh, type PodEnv } from "./pod-env.ts";

afterEach(cleanupAllPods);

const T = 60_000;

const lines = (stdout: string, name: string) => stdout.split("\n").filter((l) => l.startsWith(`[${name}] `)).map((l) => l.slice(name.length + 3));
/** exited (a zombie waiting for whoever inherited it counts as exited) */
const gone = (pid: number) => {
  try {
    return /^\S+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return true;
  }
};
const byName = (st: any, name: string) => [...(st.status.initContainerStatuses ?? []), ...st.status.containerStatuses].find((c: any) => c.name === name);

async function waitRunning(e: PodEnv, name: string): Promise<any> {
  return waitFor(async () => {
    const st = await e.status(name);
    return st.status.containerStatuses.every((c: any) => c.state.running && c.ready) ? st : undefined;
  }, 20_000, `pod ${name} running`);
}

/** A container that logs "got TERM" and exits 0 on SIGTERM. */
const politeScript = "trap 'echo got TERM; exit 0' TERM; echo ready; while true; do sleep 0.1; done";

describeRoot("bunc pod lifecycle", () => {
  test("stop: SIGTERM-handling container exits 0; a PID 1 without a handler is SIGKILLed at the grace period (137)", async () => {
    const e = podEnv();
    const f = e.manifest(pod("grace", {
      terminationGracePeriodSeconds: 2,
      containers: [sh("stubborn", "exec sleep 1000"), sh("polite", politeScript)],
    }));
    expect((await e.bunc(["pod", "run", "-d", f])).code).toBe(0);
    await waitRunning(e, "grace");
    await waitFor(async () => (await e.bunc(["pod", "logs", "grace", "-c", "polite"])).stdout.includes("ready"), 10_000, "polite ready");
    const stop = await e.bunc(["pod", "stop", "grace"]);
    expect(stop.code).toBe(0);
    const st = await e.status("grace");
    const stubborn = byName(st, "stubborn").state.terminated;
    expect(stubborn).toMatchObject({ exitCode: 137, signal: 9, reason: "Error" });
    // the SIGKILL came at the end of the grace period, not before
    expect(Date.parse(stubborn.finishedAt) - Date.parse(stubborn.startedAt)).toBeGreaterThanOrEqual(2000);
    expect(byName(st, "polite").state.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    expect((await e.bunc(["pod", "logs", "grace", "-c", "polite"])).stdout).toContain("got TERM");
    expect(st.status.phase).toBe("Failed");
    expect((await e.bunc(["list", "-q"])).stdout).toBe("");
    expect((await e.bunc(["pod", "list"])).stdout).toMatch(/\ngrace\s+0\/2\s+Error\s+0\s+/);
  }, T);

  test("pod stop --grace-period 0 kills at once", async () => {
    const e = podEnv();
    const f = e.manifest(pod("now", { terminationGracePeriodSeconds: 300, containers: [sh("a", politeScript)] }));
    expect((await e.bunc(["pod", "run", "-d", f])).code).toBe(0);
    await waitRunning(e, "now");
    expect((await e.bunc(["pod", "stop", "--grace-period", "0", "now"])).code).toBe(0);
    expect(byName(await e.status("now"), "a").state.terminated).toMatchObject({ exitCode: 137, signal: 9 });
  }, T);

  test("SIGTERM to a foreground `pod run` stops the pod gracefully; its exit status is the first failed container's", async () => {
    const e = podEnv();
    const f = e.manifest(pod("fg", { terminationGracePeriodSeconds: 1, containers: [sh("polite", politeScript), sh("stubborn", "exec sleep 1000")] }));
    const proc = Bun.spawn([buncBin(), "--root", e.root, "pod", "run", "--data-dir", e.data, "--cgroup-parent", e.cgroupParent, f], { stdout: "pipe", stderr: "pipe" });
    await waitRunning(e, "fg");
    proc.kill("SIGTERM");
    const code = await proc.exited;
    const out = await new Response(proc.stdout).text();
    expect(code).toBe(137);
    expect(out).toContain("[polite] got TERM");
    const st = await e.status("fg");
    expect(byName(st, "polite").state.terminated.exitCode).toBe(0);
    expect(byName(st, "stubborn").state.terminated.exitCode).toBe(137);
  }, T);

  test("Ctrl-C (SIGINT to the foreground process group) reaches only the supervisor, which stops the pod gracefully", async () => {
    const e = podEnv();
    // a shared pid namespace: the containers are not PID 1, so a stray SIGINT would kill them (130)
    const f = e.manifest(pod("ctrlc", { shareProcessNamespace: true, terminationGracePeriodSeconds: 5, containers: [sh("polite", politeScript)] }));
    const { spawn } = await import("node:child_process");
    const child = spawn(buncBin(), ["--root", e.root, "pod", "run", "--data-dir", e.data, "--cgroup-parent", e.cgroupParent, f], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await waitRunning(e, "ctrlc");
    await waitFor(() => out.includes("[polite] ready"), 10_000, "polite ready");
    process.kill(-child.pid!, "SIGINT");
    expect(await exited).toBe(0);
    expect(out).toContain("[polite] got TERM");
    expect(byName(await e.status("ctrlc"), "polite").state.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
  }, T);

  test("init containers that succeed are not restarted under restartPolicy Always", async () => {
    const e = podEnv();
    const f = e.manifest(pod("initalways", { initContainers: [sh("init", "echo init")], containers: [sh("main", "exec sleep 1000")] }));
    expect((await e.bunc(["pod", "run", "-d", f])).code).toBe(0);
    const st = await waitRunning(e, "initalways");
    expect(byName(st, "init")).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 0, reason: "Completed" } } });
  }, T);

  test("postStart runs after the start, preStop before the SIGTERM", async () => {
    const e = podEnv();
    const out = join(e.base, "out");
    mkdirSync(out);
    const f = e.manifest(pod("hooks", {
      terminationGracePeriodSeconds: 10,
      volumes: [{ name: "out", hostPath: { path: out } }],
      containers: [sh("a", "trap 'echo TERM >> /out/events; exit 0' TERM; while [ ! -e /out/poststart ]; do sleep 0.05; done; echo saw-poststart >> /out/events; while true; do sleep 0.1; done", {
        volumeMounts: [{ name: "out", mountPath: "/out" }],
        lifecycle: {
          postStart: { exec: { command: ["sh", "-c", "echo $HOSTNAME > /out/poststart"] } },
          preStop: { exec: { command: ["sh", "-c", "echo preStop >> /out/events"] } },
        },
      })],
    }));
    expect((await e.bunc(["pod", "run", "-d", f])).code).toBe(0);
    await waitFor(() => existsSync(join(out, "events")) && readFileSync(join(out, "events"), "utf8").includes("saw-poststart"), 10_000, "postStart seen");
    expect(readFileSync(join(out, "poststart"), "utf8")).toBe("hooks\n");
    expect((await e.bunc(["pod", "stop", "hooks"])).code).toBe(0);
    expect(readFileSync(join(out, "events"), "utf8")).toBe("saw-poststart\npreStop\nTERM\n");
    expect(byName(await e.status("hooks"), "a").state.terminated.exitCode).toBe(0);
  }, T);

  test("a failing postStart kills the container", async () => {
    const e = podEnv();
    const f = e.manifest(pod("badhook", {
      restartPolicy: "Never", terminationGracePeriodSeconds: 1,
      containers: [sh("a", "exec sleep 1000", { lifecycle: { postStart: { exec: { command: ["sh", "-c", "echo nope; exit 3"] } } } })],
    }));
    const r = await e.bunc(["pod", "run", f]);
    expect(r.code).toBe(137);
    const t = byName(await e.status("badhook"), "a").state.terminated;
    expect(t.exitCode).toBe(137);
    expect(t.message).toContain("PostStartHookError");
    expect(t.message).toContain("exited with 3: nope");
  }, T);

  test("init containers run one at a time, in order, before the containers", async () => {
    const e = podEnv();
    const vol = { volumeMounts: [{ name: "w", mountPath: "/w" }] };
    const f = e.manifest(pod("inits", {
      restartPolicy: "Never",
      volumes: [{ name: "w", emptyDir: {} }],
      initContainers: [sh("first", "sleep 0.3; echo first >> /w/order", vol), sh("second", "echo second >> /w/order", vol)],
      containers: [sh("main", "echo main >> /w/order; cat /w/order", vol)],
    }));
    const r = await e.bunc(["pod", "run", f]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout, "main")).toEqual(["first", "second", "main"]);
    const st = await e.status("inits");
    expect(st.status.initContainerStatuses.map((c: any) => c.state.terminated.reason)).toEqual(["Completed", "Completed"]);
    const [a, b] = st.status.initContainerStatuses.map((c: any) => c.state.terminated);
    expect(Date.parse(b.startedAt)).toBeGreaterThanOrEqual(Date.parse(a.finishedAt));
  }, T);

  test("a failing init container fails the pod (restartPolicy Never); the containers never start", async () => {
    const e = podEnv();
    const f = e.manifest(pod("initfail", {
      restartPolicy: "Never",
      initContainers: [sh("init", "exit 4")],
      containers: [sh("main", "echo should-not-run")],
    }));
    const r = await e.bunc(["pod", "run", f]);
    expect(r.code).toBe(4);
    expect(r.stdout).not.toContain("should-not-run");
    const st = await e.status("initfail");
    expect(st.status.phase).toBe("Failed");
    expect(byName(st, "init").state.terminated).toMatchObject({ exitCode: 4, reason: "Error" });
    expect(byName(st, "main").state.waiting).toBeDefined();
    expect(byName(st, "main").started).toBe(false);
  }, T);

  test("OnFailure restarts a failed container: restartCount and lastState kept", async () => {
    const e = podEnv();
    const f = e.manifest(pod("flaky", {
      restartPolicy: "OnFailure",
      volumes: [{ name: "w", emptyDir: {} }],
      containers: [sh("a", "if [ -e /w/once ]; then echo second; exit 0; fi; touch /w/once; echo first; exit 7", { volumeMounts: [{ name: "w", mountPath: "/w" }] })],
    }));
    const r = await e.bunc(["pod", "run", f]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout, "a")).toEqual(["first", "second"]);
    const st = await e.status("flaky");
    expect(st.status.phase).toBe("Succeeded");
    const a = byName(st, "a");
    expect(a.restartCount).toBe(1);
    expect(a.lastState.terminated).toMatchObject({ exitCode: 7, reason: "Error" });
    expect(a.state.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    // one log per run: the current one, and with --previous the one before (kubectl logs -p)
    expect((await e.bunc(["pod", "logs", "flaky"])).stdout).toBe("second\n");
    expect((await e.bunc(["pod", "logs", "flaky", "--previous"])).stdout).toBe("first\n");
  }, T);

  test("pod logs --previous of a container that never restarted says so", async () => {
    const e = podEnv();
    const f = e.manifest(pod("once", { restartPolicy: "Never", containers: [sh("a", "echo only")] }));
    expect((await e.bunc(["pod", "run", f])).code).toBe(0);
    const r = await e.bunc(["pod", "logs", "once", "-p"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('previous terminated container "a" in pod "once" not found');
  }, T);

  test("a container over its memory limit is OOMKilled (137)", async () => {
    const e = podEnv();
    const f = e.manifest(pod("oom", {
      restartPolicy: "Never",
      containers: [sh("hog", "x=y; while true; do x=$x$x; done", { resources: { limits: { memory: "20Mi" } } })],
    }));
    const r = await e.bunc(["pod", "run", f]);
    expect(r.code).toBe(137);
    const st = await e.status("oom");
    expect(byName(st, "hog").state.terminated).toMatchObject({ exitCode: 137, reason: "OOMKilled" });
    expect(st.status.phase).toBe("Failed");
    expect((await e.bunc(["pod", "list"])).stdout).toMatch(/\noom\s+0\/1\s+OOMKilled\s/);
  }, T);

  test("a privileged container reaches the host's devices: the pod's cgroup leaves devices to the containers' own (kubelet's SkipDevices)", async () => {
    const e = podEnv();
    const probe = "(exec 3</dev/loop-control) 2>/dev/null && echo opened || echo refused";
    const f = e.manifest(pod("devs", {
      restartPolicy: "Never",
      containers: [sh("priv", probe, { securityContext: { privileged: true } }), sh("plain", `mknod /dev/lc c 10 237 2>/dev/null; (exec 3</dev/lc) 2>/dev/null && echo opened || echo refused`)],
    }));
    const r = await e.bunc(["pod", "run", f]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(lines(r.stdout, "priv")).toEqual(["opened"]);
    expect(lines(r.stdout, "plain")).toEqual(["refused"]); // the plain container's own cgroup still says no
  }, T);

  test("limits land in the cgroup files with kubelet's conversions, under <parent>/<qos>/pod<uid>/<container>", async () => {
    const e = podEnv();
    const f = e.manifest(pod("limits", {
      containers: [
        sh("burst", "exec sleep 1000", { resources: { limits: { memory: "100Mi", cpu: "500m" }, requests: { cpu: "250m", memory: "50Mi" } } }),
        sh("other", "exec sleep 1000", { resources: { limits: { memory: "50Mi", cpu: "1" } } }),
      ],
    }));
    expect((await e.bunc(["pod", "run", "-d", f])).code).toBe(0);
    const st = await waitRunning(e, "limits");
    expect(st.status.qosClass).toBe("Burstable");
    const podPath = `${e.cgroupParent}/burstable/pod${st.metadata.uid}`;
    const read = (path: string, file: string) => {
      const d = cgroupDirsOf(path).find((x) => existsSync(join(x, file)));
      if (!d) throw new Error(`no ${file} for ${path}`);
      return readFileSync(join(d, file), "utf8").trim();
    };
    if (existsSync("/sys/fs/cgroup/cgroup.controllers")) {
      expect(read(`${podPath}/burst`, "memory.max")).toBe("104857600");
      expect(read(`${podPath}/burst`, "cpu.max")).toBe("50000 100000");
      expect(read(podPath, "memory.max")).toBe(String(150 * 1024 * 1024));
    } else {
      expect(read(`${podPath}/burst`, "memory.limit_in_bytes")).toBe("104857600");
      expect(read(`${podPath}/burst`, "cpu.shares")).toBe("256");
      expect(read(`${podPath}/burst`, "cpu.cfs_quota_us")).toBe("50000");
      expect(read(`${podPath}/burst`, "cpu.cfs_period_us")).toBe("100000");
      expect(read(`${podPath}/other`, "cpu.shares")).toBe("1024");
      // the pod cgroup: sums (both containers have limits), shares from the summed requests
      expect(read(podPath, "memory.limit_in_bytes")).toBe(String(150 * 1024 * 1024));
      expect(read(podPath, "cpu.cfs_quota_us")).toBe("150000");
      expect(read(podPath, "cpu.shares")).toBe(String(Math.floor((1250 * 1024) / 1000)));
    }
    // a Guaranteed pod sits right under the parent
    const g = e.manifest(pod("guaranteed", { containers: [sh("a", "exec sleep 1000", { resources: { limits: { memory: "64Mi", cpu: "100m" } } })] }), "g.yaml");
    expect((await e.bunc(["pod", "run", "-d", g])).code).toBe(0);
    const gs = await waitRunning(e, "guaranteed");
    expect(gs.status.qosClass).toBe("Guaranteed");
    expect(cgroupDirsOf(`${e.cgroupParent}/pod${gs.metadata.uid}/a`).length).toBeGreaterThan(0);
    expect((await e.bunc(["pod", "rm", "--force", "limits", "guaranteed"])).code).toBe(0);
    expect(cgroupDirsOf(podPath)).toEqual([]);
  }, T);

  test("-d leaves one supervisor; it restarts containers, and `pod stop` ends it", async () => {
    const e = podEnv();
    const f = e.manifest(pod("bg", { restartPolicy: "Always", terminationGracePeriodSeconds: 1, containers: [sh("blip", "echo run; sleep 0.2; exit 1")] }));
    expect((await e.bunc(["pod", "run", "-d", f])).code).toBe(0);
    const rec = JSON.parse(readFileSync(join(e.root, "pods/bg/pod.json"), "utf8"));
    const sup = rec.bunc.supervisor.pid;
    expect(readFileSync(`/proc/${sup}/cmdline`, "utf8")).toContain("_supervise");
    // the first restart is immediate, the next one after kubelet's 10 s back-off
    const st = await waitFor(async () => {
      const s = await e.status("bg");
      return byName(s, "blip").restartCount >= 1 && byName(s, "blip").state.waiting?.reason === "CrashLoopBackOff" ? s : undefined;
    }, 20_000, "a restart and then CrashLoopBackOff");
    expect(byName(st, "blip").lastState.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
    expect(st.status.phase).toBe("Running");
    expect((await e.bunc(["pod", "list"])).stdout).toMatch(/\nbg\s+0\/1\s+CrashLoopBackOff\s+1\s/);
    expect((await e.bunc(["pod", "stop", "bg"])).code).toBe(0);
    expect(gone(sup)).toBe(true);
    const end = await e.status("bg");
    expect(end.status.phase).toBe("Failed");
    expect(byName(end, "blip").state.terminated.exitCode).toBe(1);
  }, T);
});
