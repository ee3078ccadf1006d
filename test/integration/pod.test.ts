// `bunc pod` with real pods of busybox containers: the shared sandbox namespaces, volumes,
// images, the record and its removal, and bad input that must leave nothing behind.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { mountsUnder } from "../helpers/bundle.ts";
import { buildBusyboxOciLayout, ociArchive } from "../helpers/oci-image.ts";
import { busyboxRootfs } from "../helpers/rootfs.ts";
import { describeRoot, waitFor } from "../helpers/run.ts";
import { cgroupDirsOf, cleanupAllPods, pod, podEnv, sh, type PodEnv } from "./pod-env.ts";

afterEach(cleanupAllPods);

const T = 60_000;

/** Lines "[name] text" of a foreground run, per container. */
function linesOf(stdout: string, name: string): string[] {
  return stdout.split("\n").filter((l) => l.startsWith(`[${name}] `)).map((l) => l.slice(name.length + 3));
}

async function expectNothingLeft(e: PodEnv, name: string): Promise<void> {
  expect(existsSync(join(e.root, "pods", name))).toBe(false);
  const list = await e.bunc(["list", "-q"]);
  expect(list.stdout.trim()).toBe("");
  expect(cgroupDirsOf(e.cgroupParent).flatMap((d) => readdirSync(d, { withFileTypes: true }).filter((x) => x.isDirectory()).map((x) => x.name))).toEqual([]);
  expect(mountsUnder(e.data)).toEqual([]);
  expect(existsSync(join(e.data, "pods")) ? readdirSync(join(e.data, "pods")) : []).toEqual([]);
}

describeRoot("bunc pod", () => {
  test("two containers share the sandbox's network, UTS and IPC namespaces; loopback is up; hostname is the pod's", async () => {
    const e = podEnv();
    const show = "echo net=$(readlink /proc/self/ns/net) uts=$(readlink /proc/self/ns/uts) ipc=$(readlink /proc/self/ns/ipc) host=$(hostname); ip link show lo | head -1";
    const f = e.manifest(pod("shared-ns", { restartPolicy: "Never", containers: [sh("a", show), sh("b", show)] }));
    const r = await e.bunc(["pod", "run", f]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [a, b] = [linesOf(r.stdout, "a"), linesOf(r.stdout, "b")];
    expect(a[0]).toBe(b[0]!);
    expect(a[0]).toContain("host=shared-ns");
    const hostNet = readlinkSync("/proc/self/ns/net");
    expect(a[0]).not.toContain(`net=${hostNet}`);
    expect(a[1]).toMatch(/^1: lo: <LOOPBACK,UP,LOWER_UP>/);
    const st = await e.status("shared-ns");
    expect(st.status.phase).toBe("Succeeded");
    expect(st.status.containerStatuses.map((c: any) => [c.name, c.state.terminated.exitCode, c.state.terminated.reason])).toEqual([["a", 0, "Completed"], ["b", 0, "Completed"]]);
    expect(await e.bunc(["pod", "rm", "shared-ns"])).toMatchObject({ code: 0 });
    await expectNothingLeft(e, "shared-ns");
  }, T);

  test("spec.hostname and a shared pid namespace: the pause is PID 1", async () => {
    const e = podEnv();
    const f = e.manifest(pod("pidns", {
      restartPolicy: "Never", hostname: "custom", shareProcessNamespace: true,
      containers: [sh("a", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; cat /etc/hostname")],
    }));
    const r = await e.bunc(["pod", "run", "--rm", f]);
    expect(r.code).toBe(0);
    const out = linesOf(r.stdout, "a");
    expect(out[0]).toBe("custom");
    expect(out[1]).toContain("pause");
    expect(out[2]).toBe("custom");
    await expectNothingLeft(e, "pidns");
  }, T);

  test("an emptyDir is shared between containers; a Memory emptyDir is a tmpfs of sizeLimit", async () => {
    const e = podEnv();
    const f = e.manifest(pod("vols", {
      restartPolicy: "Never",
      volumes: [{ name: "shared", emptyDir: {} }, { name: "mem", emptyDir: { medium: "Memory", sizeLimit: "2Mi" } }],
      containers: [
        sh("writer", "echo from-writer > /data/msg", { volumeMounts: [{ name: "shared", mountPath: "/data" }] }),
        sh("reader", "while [ ! -e /in/msg ]; do sleep 0.05; done; cat /in/msg; df -k /mem | tail -1 | awk '{print $1, $2}'", {
          volumeMounts: [{ name: "shared", mountPath: "/in", readOnly: true }, { name: "mem", mountPath: "/mem" }],
        }),
      ],
    }));
    const r = await e.bunc(["pod", "run", f]);
    expect(r.code).toBe(0);
    expect(linesOf(r.stdout, "reader")).toEqual(["from-writer", "tmpfs 2048"]);
    // the volume outlives the pod's run until `pod rm`
    const st = await e.status("vols");
    expect(readFileSync(join(e.data, "pods", st.metadata.uid, "volumes/shared/msg"), "utf8")).toBe("from-writer\n");
    await e.bunc(["pod", "rm", "vols"]);
    await expectNothingLeft(e, "vols");
  }, T);

  test("a hostPath volume, read-only mounts, a subPath", async () => {
    const e = podEnv();
    const host = join(e.base, "hostdir");
    mkdirSync(join(host, "sub"), { recursive: true });
    const f = e.manifest(pod("hostpath", {
      restartPolicy: "Never",
      volumes: [{ name: "h", hostPath: { path: host, type: "Directory" } }],
      containers: [
        sh("w", "echo hi > /h/file && echo in-sub > /s/x; touch /ro/nope 2>/dev/null || echo ro-refused", {
          volumeMounts: [{ name: "h", mountPath: "/h" }, { name: "h", mountPath: "/s", subPath: "sub" }, { name: "h", mountPath: "/ro", readOnly: true }],
        }),
      ],
    }));
    const r = await e.bunc(["pod", "run", "--rm", f]);
    expect(r.code).toBe(0);
    expect(linesOf(r.stdout, "w")).toEqual(["ro-refused"]);
    expect(readFileSync(join(host, "file"), "utf8")).toBe("hi\n");
    expect(readFileSync(join(host, "sub/x"), "utf8")).toBe("in-sub\n");
  }, T);

  test("OCI images: a layout and an archive, with the image's Entrypoint/Cmd/Env/WorkingDir/User", async () => {
    const e = podEnv();
    buildBusyboxOciLayout(join(e.base, "layout"), { tag: "v1", entrypoint: ["/bin/sh", "-c"], cmd: ["echo cmd $GREETING $(pwd) $(id -u)"], env: ["PATH=/bin", "GREETING=hi"], workingDir: "/tmp", user: "1000" });
    ociArchive(join(e.base, "layout"), join(e.base, "image.tar"));
    const f = e.manifest(pod("images", {
      restartPolicy: "Never",
      containers: [
        { name: "layout", image: "oci:layout:v1" },
        { name: "archive", image: "oci-archive:image.tar", args: ["echo args $GREETING"], env: [{ name: "GREETING", value: "override" }] },
        { name: "cmd", image: "oci:layout", command: ["echo", "command $(GREETING)"] },
      ],
    }));
    const r = await e.bunc(["pod", "run", "--rm", f]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(linesOf(r.stdout, "layout")).toEqual(["cmd hi /tmp 1000"]);
    expect(linesOf(r.stdout, "archive")).toEqual(["args override"]);
    expect(linesOf(r.stdout, "cmd")).toEqual(["command hi"]);
    // one unpacked image for all three (same manifest digest)
    expect(readdirSync(join(e.data, "images/sha256")).length).toBe(1);
  }, T);

  test("logs, exec (exit status passed on), list", async () => {
    const e = podEnv();
    const f = e.manifest(pod("tools", { containers: [sh("a", "echo line1; echo line2 >&2; exec sleep 1000"), sh("b", "exec sleep 1000")] }));
    expect((await e.bunc(["pod", "run", "-d", f])).code).toBe(0);
    await waitFor(async () => (await e.bunc(["pod", "logs", "tools", "-c", "a"])).stdout.includes("line2"), 10_000, "logs of a");
    const logs = await e.bunc(["pod", "logs", "tools", "-c", "a"]);
    expect(logs.stdout.split("\n").filter(Boolean).sort()).toEqual(["line1", "line2"]);
    const ex = await e.bunc(["pod", "exec", "tools", "-c", "b", "--", "sh", "-c", "hostname; exit 5"]);
    expect(ex.stdout).toBe("tools\n");
    expect(ex.code).toBe(5);
    const list = await e.bunc(["pod", "list"]);
    expect(list.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\ntools\s+2\/2\s+Running\s+0\s+\d+s\n$/);
    const ids = (await e.bunc(["list", "-q"])).stdout.split("\n").filter(Boolean).sort();
    expect(ids).toEqual(["tools-a", "tools-b", "tools-sandbox"]);
    expect((await e.bunc(["pod", "rm", "tools"])).code).not.toBe(0); // running: needs --force
    expect((await e.bunc(["pod", "rm", "--force", "tools"])).code).toBe(0);
    await expectNothingLeft(e, "tools");
  }, T);

  test("a second pod with the same name is refused", async () => {
    const e = podEnv();
    const f = e.manifest(pod("twice", { containers: [sh("a", "exec sleep 1000")] }));
    expect((await e.bunc(["pod", "run", "-d", f])).code).toBe(0);
    const r = await e.bunc(["pod", "run", "-d", f]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('pod "twice" already exists');
    expect((await e.bunc(["list", "-q"])).stdout.split("\n").filter(Boolean).sort()).toEqual(["twice-a", "twice-sandbox"]);
  }, T);

  test("bad manifests: one error line naming the file and field, nothing created", async () => {
    const e = podEnv();
    const cases: [unknown, string][] = [
      [pod("bad", { containers: [{ name: "a" }] }), "spec.containers[0].image: required"],
      [pod("bad", { containers: [{ name: "a", image: "busybox" }] }), 'spec.containers[0].image: image "busybox": no registry is reachable'],
      [{ ...pod("bad", { containers: [sh("a", "true")] }), kind: "Service" }, 'kind: must be one of "Pod", not "Service"'],
      [pod("bad", { containers: [sh("a", "true", { env: [{ name: "X", valueFrom: {} }] })] }), "spec.containers[0].env[0].valueFrom: valueFrom is not supported"],
      [pod("bad", { containers: [sh("a", "true", { resources: { limits: { memory: "lots" } } })] }), 'spec.containers[0].resources.limits.memory: "lots" is not a quantity'],
    ];
    for (const [doc, msg] of cases) {
      const f = e.manifest(doc, "bad.yaml");
      const r = await e.bunc(["pod", "run", f]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toBe(`bunc: ${f}: ${msg}${r.stderr.slice(`bunc: ${f}: ${msg}`.length)}`);
      expect(r.stderr.trim().split("\n").length).toBe(1);
    }
    const notYaml = await e.bunc(["pod", "run", "-"], { stdin: "spec: [unclosed" });
    expect(notYaml.stderr).toMatch(/^bunc: <stdin>: not valid YAML: line 1, column \d+: /);
    expect(existsSync(join(e.root, "pods")) ? readdirSync(join(e.root, "pods")) : []).toEqual([]);
    expect((await e.bunc(["list", "-q"])).stdout).toBe("");
    expect(cgroupDirsOf(e.cgroupParent)).toEqual([]);
  }, T);

  test("unknown fields are warnings that name them; the pod still runs", async () => {
    const e = podEnv();
    const f = e.manifest(pod("warned", { restartPolicy: "Never", containers: [sh("a", "echo ok", { colour: "blue" })] }));
    const r = await e.bunc(["pod", "run", "--rm", f]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`bunc: warning: ${f}: spec.containers[0].colour: unknown field, ignored\n`);
    expect(linesOf(r.stdout, "a")).toEqual(["ok"]);
  }, T);

  test("a manifest from stdin; a relative rootfs path is relative to the current directory", async () => {
    const e = podEnv();
    const manifest = `apiVersion: v1\nkind: Pod\nmetadata: {name: stdin}\nspec:\n  restartPolicy: Never\n  containers:\n  - name: a\n    image: ${busyboxRootfs()}\n    command: [echo, from-stdin]\n`;
    const r = await e.bunc(["pod", "run", "--rm", "-"], { stdin: manifest });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("[a] from-stdin\n");
  }, T);
});
