// makeBundle's config and its cleanup, checked without bunc: leftovers are planted by hand
// (a process in the state file, a cgroup with a process in it, a mount) and must be gone after.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundleWithRootfsCopy, cleanupAll, makeBundle, mountsUnder } from "./bundle.ts";
import { busyboxRootfs } from "./rootfs.ts";
import { isRoot, waitFor } from "./run.ts";

afterAll(cleanupAll);

const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return !/^\S+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
};

describe("makeBundle", () => {
  test("writes runc's default config with terminal off, the args and a /bunc-test cgroup", () => {
    const b = makeBundle({ args: ["echo", "hi"], mutate: (c) => (c.hostname = "mutated") });
    const cfg = JSON.parse(readFileSync(join(b.dir, "config.json"), "utf8"));
    expect(cfg.process.terminal).toBe(false);
    expect(cfg.process.args).toEqual(["echo", "hi"]);
    expect(cfg.process.env).toContain("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    expect(cfg.process.capabilities.bounding).toEqual(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    expect(cfg.process.noNewPrivileges).toBe(true);
    expect(cfg.root).toEqual({ path: busyboxRootfs(), readonly: false });
    expect(cfg.hostname).toBe("mutated");
    expect(cfg.linux.cgroupsPath).toBe(`/bunc-test/${b.id}`);
    expect(b.cgroupsPath).toBe(cfg.linux.cgroupsPath);
    expect(cfg.linux.namespaces.map((n: { type: string }) => n.type)).toEqual(["pid", "network", "ipc", "uts", "mount"]);
    expect(cfg.mounts.map((m: { destination: string }) => m.destination)).toEqual(["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"]);
    expect(existsSync(b.root)).toBe(true);

    b.config.process!.args = ["true"];
    b.writeConfig();
    expect(JSON.parse(readFileSync(join(b.dir, "config.json"), "utf8")).process.args).toEqual(["true"]);
    b.cleanup();
    expect(existsSync(b.dir)).toBe(false);
    expect(existsSync(b.root)).toBe(false);
    b.cleanup(); // twice is fine
  });

  test("ids are unique; terminal can be asked for", () => {
    const a = makeBundle({ terminal: true });
    const b = makeBundle();
    expect(a.id).not.toBe(b.id);
    expect(a.id).toMatch(/^[\w+\-.]+$/);
    expect(a.config.process!.terminal).toBe(true);
    a.cleanup();
    b.cleanup();
  });

  test("bundleWithRootfsCopy gives a private rootfs named relatively", () => {
    const b = bundleWithRootfsCopy();
    expect(b.config.root!.path).toBe("rootfs");
    expect(b.rootfs).toBe(join(b.dir, "rootfs"));
    expect(lstatSync(join(b.rootfs, "bin/sh")).isSymbolicLink()).toBe(true);
    writeFileSync(join(b.rootfs, "etc/only-here"), "x");
    expect(existsSync(join(busyboxRootfs(), "etc/only-here"))).toBe(false);
    b.cleanup();
    expect(existsSync(b.dir)).toBe(false);
  });
});

describe.if(isRoot())("cleanup removes what a container left behind", () => {
  test("the recorded init process, the cgroup (with a process and a child cgroup) and mounts", async () => {
    const b = makeBundle();
    // A "container init" recorded in the state file, as bunc's state.json records it.
    const init = Bun.spawn(["sleep", "1000"]);
    const stat = readFileSync(`/proc/${init.pid}/stat`, "latin1");
    const startTime = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    mkdirSync(join(b.root, b.id));
    writeFileSync(join(b.root, b.id, "state.json"), JSON.stringify({ id: b.id, pid: init.pid, pidStartTime: startTime }));

    // A cgroup with a child and a process inside, in a v1 controller and the unified hierarchy.
    const inCgroup = Bun.spawn(["sleep", "1000"]);
    const cgroups = ["/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified"].filter(existsSync).map((h) => join(h, b.cgroupsPath));
    for (const cg of cgroups) mkdirSync(join(cg, "child"), { recursive: true });
    writeFileSync(join(cgroups[0]!, "child/cgroup.procs"), String(inCgroup.pid));

    // A mount left in the bundle (a tmpfs on rootfs-like dir).
    const mnt = join(b.dir, "leftover-mount");
    mkdirSync(mnt);
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "tmpfs", mnt]).exitCode).toBe(0);
    expect(mountsUnder(b.dir)).toEqual([mnt]);

    b.cleanup();

    await waitFor(() => !alive(init.pid) && !alive(inCgroup.pid), 5000, "planted processes to die");
    expect(await init.exited).not.toBe(0);
    expect(await inCgroup.exited).not.toBe(0);
    for (const cg of cgroups) expect(existsSync(cg)).toBe(false);
    expect(mountsUnder(b.dir)).toEqual([]);
    expect(existsSync(b.dir)).toBe(false);
  });

  test("a pid whose start time differs from the record (a reused pid) is left alone", async () => {
    const b = makeBundle();
    const other = Bun.spawn(["sleep", "1000"]);
    try {
      mkdirSync(join(b.root, b.id));
      writeFileSync(join(b.root, b.id, "state.json"), JSON.stringify({ id: b.id, pid: other.pid, pidStartTime: "1" }));
      b.cleanup();
      expect(alive(other.pid)).toBe(true);
    } finally {
      other.kill("SIGKILL");
      await other.exited;
    }
  });

  test("cleanupAll cleans every bundle not cleaned yet, and can be called again", () => {
    const a = makeBundle();
    const b = makeBundle();
    cleanupAll();
    expect(existsSync(a.dir)).toBe(false);
    expect(existsSync(b.dir)).toBe(false);
    cleanupAll();
  });
});
