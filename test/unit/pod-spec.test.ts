// The container config bunc builds from a pod container: Kubernetes' command/args rules
// against the image, $(VAR) expansion, capabilities, users from the image, cgroup paths.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { CAPABILITIES } from "../../src/linux/capabilities.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Image } from "../../src/pod/image.ts";
import {
  buildContainerSpec, buildSandboxSpec, capabilitySet, containerArgs, containerEnv, expandVars, imageUser, podPaths, systemdSlice,
  type PodContext,
} from "../../src/pod/spec-build.ts";
import type { ContainerSpec } from "../../src/pod/types.ts";

const dir = mkdtempSync(join(tmpdir(), "bunc-pod-spec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, "etc"));
writeFileSync(join(dir, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nweb:x:33:44:web:/var/www:/bin/sh\n");
writeFileSync(join(dir, "etc/group"), "root:x:0:\nwww:x:44:\nextra:x:50:web,other\n");

const img = (config: Image["config"] = {}): Image => ({ ref: "test", rootfs: dir, config, id: "sha256:x" });
const ctr = (o: Partial<ContainerSpec> = {}): ContainerSpec => ({ name: "app", image: "test", ...o });

test("command/args: Kubernetes' four cases", () => {
  const i = img({ Entrypoint: ["/ep"], Cmd: ["cmd1", "cmd2"] });
  const env = new Map<string, string>();
  expect(containerArgs(ctr(), i, env)).toEqual(["/ep", "cmd1", "cmd2"]);
  expect(containerArgs(ctr({ command: ["/bin/x"] }), i, env)).toEqual(["/bin/x"]);
  expect(containerArgs(ctr({ args: ["a"] }), i, env)).toEqual(["/ep", "a"]);
  expect(containerArgs(ctr({ command: ["/bin/x"], args: ["a"] }), i, env)).toEqual(["/bin/x", "a"]);
});

test("$(VAR) expansion: known names, $$ escapes, unknown stays", () => {
  const v = (n: string) => ({ A: "1", B: "two" } as Record<string, string>)[n];
  expect(expandVars("$(A)-$(B)", v)).toBe("1-two");
  expect(expandVars("$$(A) $(C) $A", v)).toBe("$(A) $(C) $A");
});

test("env: image first, HOSTNAME, manifest values (referring to earlier ones) win", () => {
  const env = containerEnv(ctr({ env: [{ name: "GREETING", value: "hi $(NAME)" }, { name: "NAME", value: "x" }] }),
    img({ Env: ["PATH=/bin", "NAME=img"] }), "mypod");
  expect([...env]).toEqual([["PATH", "/bin"], ["NAME", "x"], ["HOSTNAME", "mypod"], ["GREETING", "hi img"]]);
});

test("capabilities: containerd's defaults, add/drop, ALL, privileged", () => {
  const d = capabilitySet(ctr());
  expect(d).toContain("CAP_CHOWN");
  expect(d).toContain("CAP_NET_RAW");
  expect(d).not.toContain("CAP_SYS_ADMIN");
  const s = capabilitySet(ctr({ securityContext: { capabilities: { add: ["NET_ADMIN"], drop: ["NET_RAW"] } } }));
  expect(s).toContain("CAP_NET_ADMIN");
  expect(s).not.toContain("CAP_NET_RAW");
  expect(capabilitySet(ctr({ securityContext: { capabilities: { drop: ["ALL"], add: ["CHOWN"] } } }))).toEqual(["CAP_CHOWN"]);
  expect(capabilitySet(ctr({ securityContext: { privileged: true } }))).toContain("CAP_SYS_ADMIN");
});

test("privileged means every capability this process can grant (its bounding set), as containerd's WithAllCurrentCapabilities", () => {
  const bnd = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]}`);
  const expected = CAPABILITIES.filter((_, i) => (bnd >> BigInt(i)) & 1n);
  expect(capabilitySet(ctr({ securityContext: { privileged: true } }))).toEqual(expected);
  expect(capabilitySet(ctr({ securityContext: { capabilities: { add: ["ALL"] } } })).sort()).toEqual([...expected].sort());
});

test("the image's User, by number or name, with its group", () => {
  expect(imageUser(img())).toEqual({ uid: 0, gid: 0, name: "root" });
  expect(imageUser(img({ User: "web" }))).toEqual({ uid: 33, gid: 44, name: "web" });
  expect(imageUser(img({ User: "33" }))).toEqual({ uid: 33, gid: 44, name: "web" });
  expect(imageUser(img({ User: "1000:www" }))).toEqual({ uid: 1000, gid: 44, name: undefined });
  expect(() => imageUser(img({ User: "nobody" }))).toThrow('user "nobody" is not in the image\'s /etc/passwd');
});

test("systemd slice names as kubelet makes them", () => {
  expect(systemdSlice("/kubepods/burstable/pod12-34")).toBe("kubepods-burstable-pod12_34.slice");
  expect(systemdSlice("/kubepods/pod1")).toBe("kubepods-pod1.slice");
  expect(systemdSlice("/bunc_test-x.slice/besteffort/pod1")).toBe("bunc_test-x-besteffort-pod1.slice");
});

function ctxWith(spec: PodContext["spec"], images: Record<string, Image>): PodContext {
  return {
    name: "web", namespace: "default", uid: "u-1", spec, qos: "Burstable", hostname: "web", podCgroup: "/bunc-test/x/burstable/podu-1",
    systemd: false, images, data: "/data", memoryCapacity: 8 << 30,
  };
}

test("a container's config: namespaces from the sandbox, user, cwd, limits, mounts", () => {
  const c = ctr({
    command: ["sh"], workingDir: "/work",
    securityContext: { runAsUser: 33, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
    resources: { limits: { memory: "100Mi" } },
    volumeMounts: [{ name: "v", mountPath: "/v", readOnly: true }, { name: "h", mountPath: "/h", subPath: "sub" }],
  });
  const ctx = ctxWith({ containers: [c], volumes: [{ name: "v", emptyDir: {} }, { name: "h", hostPath: { path: "/srv" } }] }, { app: img() });
  const s = buildContainerSpec({ ctx, c, id: "web-app", sandboxPid: 4242, paths: podPaths("/data") });
  expect(s.linux!.namespaces).toContainEqual({ type: "network", path: "/proc/4242/ns/net" });
  expect(s.linux!.namespaces).toContainEqual({ type: "ipc", path: "/proc/4242/ns/ipc" });
  expect(s.linux!.namespaces).toContainEqual({ type: "uts", path: "/proc/4242/ns/uts" });
  expect(s.linux!.namespaces).toContainEqual({ type: "pid" });
  expect(s.linux!.cgroupsPath).toBe("/bunc-test/x/burstable/podu-1/app");
  expect(s.linux!.resources!.memory).toEqual({ limit: 104857600 });
  expect(s.process!.user).toEqual({ uid: 33, gid: 44, additionalGids: [50] });
  expect(s.process!.env).toContain("HOME=/var/www");
  expect(s.process!.cwd).toBe("/work");
  expect(s.process!.noNewPrivileges).toBe(true);
  expect(s.root).toEqual({ path: "/data/containers/app/rootfs", readonly: true });
  expect(s.mounts).toContainEqual({ destination: "/v", type: "bind", source: "/data/volumes/v", options: ["rbind", "rprivate", "ro"] });
  expect(s.mounts).toContainEqual({ destination: "/h", type: "bind", source: "/srv/sub", options: ["rbind", "rprivate"] });
  expect(s.mounts!.map((m) => m.destination)).toEqual(expect.arrayContaining(["/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/dev/shm", "/dev/termination-log"]));
});

test("shareProcessNamespace joins the sandbox's pid namespace; hostNetwork joins nothing", () => {
  const c = ctr({ command: ["sh"] });
  const shared = buildContainerSpec({ ctx: ctxWith({ containers: [c], shareProcessNamespace: true }, { app: img() }), c, id: "i", sandboxPid: 7, paths: podPaths("/d") });
  expect(shared.linux!.namespaces).toContainEqual({ type: "pid", path: "/proc/7/ns/pid" });
  const host = buildContainerSpec({ ctx: ctxWith({ containers: [c], hostNetwork: true }, { app: img() }), c, id: "i", sandboxPid: 7, paths: podPaths("/d") });
  expect(host.linux!.namespaces!.map((n) => n.type)).not.toContain("network");
  expect(host.linux!.namespaces!.map((n) => n.type)).not.toContain("uts");
});

test("the sandbox: pause, the pod's hostname, new network/ipc/uts/pid namespaces, sysctls", () => {
  const ctx = ctxWith({ containers: [ctr()], securityContext: { sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }] } }, {});
  const s = buildSandboxSpec(ctx, "web-sandbox", podPaths("/d"));
  expect(s.annotations!["run.bunc.pause"]).toBe("true");
  expect(s.hostname).toBe("web");
  expect(s.linux!.namespaces!.map((n) => n.type).sort()).toEqual(["ipc", "mount", "network", "pid", "uts"]);
  expect(s.linux!.sysctl).toEqual({ "net.ipv4.ip_unprivileged_port_start": "0" });
  expect(s.linux!.cgroupsPath).toBe("/bunc-test/x/burstable/podu-1/sandbox");
});
