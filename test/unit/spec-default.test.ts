// The default spec (`bunc spec`) and the features document (`bunc features`).
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Globals } from "../../src/cli/globals.ts";
import { main as specMain } from "../../src/cli/spec.ts";
import { CAPABILITIES } from "../../src/linux/capabilities.ts";
import { KNOWN_MOUNT_OPTIONS } from "../../src/linux/mountopts.ts";
import { defaultSpec, OCI_VERSION } from "../../src/spec/default.ts";
import { buildFeatures } from "../../src/spec/features.ts";
import { validateSpec } from "../../src/spec/validate.ts";

const top = mkdtempSync(join(tmpdir(), "bunc-spec-"));
afterAll(() => rmSync(top, { recursive: true, force: true }));
const globals: Globals = { root: join(top, "state"), logFormat: "text", debug: false, systemdCgroup: false, version: false, help: false };
const repo = join(import.meta.dir, "../..");
const runc = ["/usr/sbin/runc", "/usr/bin/runc"].find(existsSync);

/** What `runc spec [--rootless]` writes, with the differences bunc means to have undone. */
function runcSpec(rootless: boolean): string {
  const dir = mkdtempSync(join(top, "runc-"));
  const r = spawnSync(runc!, rootless ? ["spec", "--rootless"] : ["spec"], { cwd: dir, encoding: "utf8" });
  expect(r.status).toBe(0);
  const spec = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  spec.ociVersion = OCI_VERSION;
  spec.hostname = "bunc";
  delete spec.process.capabilities.ambient; // dropped by newer runc
  if (!spec.linux.maskedPaths.includes("/sys/devices/virtual/tpm")) spec.linux.maskedPaths.push("/sys/devices/virtual/tpm");
  return JSON.stringify(spec, null, "\t");
}

describe("defaultSpec", () => {
  test("runc's shape", () => {
    const s = defaultSpec({ rootless: false, cgroupNamespace: false });
    expect(s.process!.args).toEqual(["sh"]);
    expect(s.process!.terminal).toBe(true);
    expect(s.process!.noNewPrivileges).toBe(true);
    expect(s.process!.capabilities!.bounding).toEqual(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    expect(s.process!.rlimits).toEqual([{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }]);
    expect(s.root).toEqual({ path: "rootfs", readonly: true });
    expect(s.hostname).toBe("bunc");
    expect(s.mounts!.map((m) => m.destination)).toEqual(["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"]);
    expect(s.linux!.namespaces!.map((ns) => ns.type)).toEqual(["pid", "network", "ipc", "uts", "mount"]);
    expect(s.linux!.resources).toEqual({ devices: [{ allow: false, access: "rwm" }] });
    expect(defaultSpec({ rootless: false, cgroupNamespace: true }).linux!.namespaces!.at(-1)).toEqual({ type: "cgroup" });
  });

  test("rootless: runc's ToRootless", () => {
    const s = defaultSpec({ rootless: true, cgroupNamespace: true, uid: 1234, gid: 567 });
    expect(Object.keys(s.linux!)).toEqual(["uidMappings", "gidMappings", "namespaces", "maskedPaths", "readonlyPaths"]);
    expect(s.linux!.uidMappings).toEqual([{ containerID: 0, hostID: 1234, size: 1 }]);
    expect(s.linux!.gidMappings).toEqual([{ containerID: 0, hostID: 567, size: 1 }]);
    expect(s.linux!.namespaces!.map((ns) => ns.type)).toEqual(["pid", "ipc", "uts", "mount", "cgroup", "user"]);
    expect(s.mounts![2]!.options).toEqual(["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]);
    expect(s.mounts![5]).toEqual({ destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] });
  });

  test("both variants pass validation without warnings", () => {
    for (const rootless of [false, true]) {
      const warnings: string[] = [];
      validateSpec(JSON.parse(JSON.stringify(defaultSpec({ rootless }))), "config.json", (m) => warnings.push(m));
      expect(warnings).toEqual([]);
    }
  });

  test.skipIf(!runc)("byte for byte what this host's runc spec writes, but for the intended differences", () => {
    expect(JSON.stringify(defaultSpec({ rootless: false }), null, "\t")).toBe(runcSpec(false));
    expect(JSON.stringify(defaultSpec({ rootless: true }), null, "\t")).toBe(runcSpec(true));
  });
});

describe("bunc spec", () => {
  test("writes DIR/config.json, tab-indented, mode 0666 less umask, no trailing newline", () => {
    const dir = join(top, "b1");
    mkdirSync(dir);
    expect(specMain(["-b", dir], globals)).toBe(0);
    const text = readFileSync(join(dir, "config.json"), "utf8");
    expect(text).toBe(JSON.stringify(defaultSpec({ rootless: false }), null, "\t"));
    const umask = process.umask();
    expect(statSync(join(dir, "config.json")).mode & 0o777).toBe(0o666 & ~umask);
  });

  test("--rootless and --bundle=DIR", () => {
    const dir = join(top, "b2");
    mkdirSync(dir);
    expect(specMain([`--bundle=${dir}`, "--rootless"], globals)).toBe(0);
    const spec = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(spec.linux.uidMappings[0].hostID).toBe(process.geteuid!());
  });

  test("refuses to overwrite, and leaves the file as it was", () => {
    const dir = join(top, "b3");
    mkdirSync(dir);
    writeFileSync(join(dir, "config.json"), "mine");
    expect(() => specMain(["--bundle", dir], globals)).toThrow(`spec: ${dir}/config.json exists; remove it first`);
    expect(readFileSync(join(dir, "config.json"), "utf8")).toBe("mine");
  });

  test("a missing directory and extra arguments are errors", () => {
    expect(() => specMain(["-b", join(top, "nope")], globals)).toThrow(`spec: ${join(top, "nope")}/config.json: no such file or directory`);
    expect(() => specMain(["extra"], globals)).toThrow('spec: takes no arguments (got "extra")');
  });

  test("through the command line, in the current directory", () => {
    const dir = join(top, "b4");
    mkdirSync(dir);
    const r = spawnSync(process.execPath, [join(repo, "src/main.ts"), "spec"], { cwd: dir, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).hostname).toBe("bunc");
  });
});

describe("bunc features", () => {
  test("the document is built from the runtime's own tables", () => {
    const f = buildFeatures({ version: "1.2.3", commit: "abc", kernelRelease: "5.10.0" });
    expect(f.ociVersionMin).toBe("1.0.0");
    expect(f.ociVersionMax).toBe(OCI_VERSION);
    expect(f.hooks).toEqual(["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]);
    expect(f.mountOptions).toEqual([...KNOWN_MOUNT_OPTIONS]);
    expect(f.mountOptions).toContain("ridmap");
    expect(f.linux.namespaces).toEqual(["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"]);
    expect(f.linux.capabilities).toEqual([...CAPABILITIES]);
    expect(f.linux.seccomp!.actions).toContain("SCMP_ACT_NOTIFY");
    expect(f.linux.seccomp!.operators).toContain("SCMP_CMP_MASKED_EQ");
    expect(f.linux.seccomp!.archs).toContain("SCMP_ARCH_X86_64");
    expect(f.linux.seccomp!.knownFlags).toContain("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
    expect(f.linux.seccomp!.supportedFlags).not.toContain("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"); // 5.19+
    expect(f.linux.mountExtensions.idmap.enabled).toBe(true);
    // applied but not yet seen working on a host with the LSM / resctrl: not claimed
    expect([f.linux.apparmor.enabled, f.linux.selinux.enabled, f.linux.intelRdt.enabled]).toEqual([false, false, false]);
    expect(f.annotations["run.bunc.version"]).toBe("1.2.3");
    expect(f.annotations["run.bunc.commit"]).toBe("abc");
    expect(Object.keys(f.annotations)).toContain("run.bunc.init");
  });

  test("prints it as JSON with a 4-space indent", () => {
    const r = spawnSync(process.execPath, [join(repo, "src/main.ts"), "features"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const f = JSON.parse(r.stdout);
    expect(r.stdout).toBe(JSON.stringify(f, null, 4) + "\n");
    expect(f.linux.cgroup).toEqual({ v1: true, v2: true, systemd: true, systemdUser: true, rdma: true });
    expect(Object.keys(f)).toEqual(["ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux", "annotations", "potentiallyUnsafeConfigAnnotations"]);
  });
});
