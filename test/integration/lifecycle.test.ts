// Issue 2: the runc lifecycle on real containers, each property observed from inside.
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Bundle } from "../helpers/bundle.ts";
import { trackPerTest } from "../helpers/tracked.ts";
import { bunc, buncOk, describeRoot, waitFor } from "../helpers/run.ts";

const { bundle, copyBundle } = trackPerTest();

/** run a shell snippet in a fresh container; returns stdout */
async function sh(script: string, mutate?: (b: Bundle) => void): Promise<{ code: number; stdout: string; stderr: string }> {
  const b = bundle({ args: ["sh", "-c", script] });
  mutate?.(b);
  b.writeConfig();
  return bunc(["run", "--bundle", b.dir, b.id], { root: b.root });
}

function cgroupDirsOf(b: Bundle): string[] {
  return readdirSync("/sys/fs/cgroup").map((h) => `/sys/fs/cgroup/${h}${b.cgroupsPath}`).filter((d) => existsSync(d));
}

describeRoot("run", () => {
  test("runs the process and passes its exit status", async () => {
    const r = await sh("echo hello from bunc; exit 3");
    expect(r.stdout).toBe("hello from bunc\n");
    expect(r.code).toBe(3);
  });

  test("a process killed by signal N exits 128+N", async () => {
    // The container's PID 1 ignores signals it has no handler for, even SIGKILL from inside; a
    // signal from outside (bunc kill) kills it, and the foreground run reports 128+N.
    const b = bundle({ args: ["sleep", "100"] });
    const run = Bun.spawn([require("../helpers/run.ts").buncBin(), "--root", b.root, "run", "-b", b.dir, b.id], { stdout: "pipe", stderr: "pipe" });
    await waitFor(async () => (await bunc(["state", b.id], { root: b.root })).stdout.includes('"running"'), 10_000);
    await buncOk(["kill", b.id, "KILL"], { root: b.root });
    expect(await run.exited).toBe(137);
    const t = await sh("sh -c 'kill -TERM $$'; echo inner=$?");
    expect(t.stdout).toBe("inner=143\n");
  });

  test("run removes the container unless --keep", async () => {
    const b = bundle({ args: ["true"] });
    await buncOk(["run", "--bundle", b.dir, b.id], { root: b.root });
    expect(existsSync(join(b.root, b.id))).toBe(false);
    expect(cgroupDirsOf(b)).toEqual([]);
    const k = bundle({ args: ["true"] });
    await buncOk(["run", "--keep", "--bundle", k.dir, k.id], { root: k.root });
    const st = JSON.parse((await buncOk(["state", k.id], { root: k.root })).stdout);
    expect(st.status).toBe("stopped");
    await buncOk(["delete", k.id], { root: k.root });
    expect(existsSync(join(k.root, k.id))).toBe(false);
  });

  test("run --detach leaves the container running and returns", async () => {
    const b = bundle({ args: ["sleep", "100"] });
    await buncOk(["run", "-d", "--bundle", b.dir, b.id], { root: b.root });
    const st = JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout);
    expect(st.status).toBe("running");
    expect(readFileSync(`/proc/${st.pid}/cmdline`, "utf8").split("\0")[0]).toBe("sleep");
    await buncOk(["delete", "--force", b.id], { root: b.root });
    expect(existsSync(`/proc/${st.pid}`) && !readFileSync(`/proc/${st.pid}/stat`, "utf8").includes(") Z")).toBe(false);
  });
});

describeRoot("create / start / state / kill / delete", () => {
  test("create leaves the process blocked before exec; start releases it", async () => {
    const b = copyBundle({ args: ["sh", "-c", "echo started > /started; exec sleep 100"] });
    const pidFile = join(b.dir, "init.pid");
    await buncOk(["create", "--bundle", b.dir, "--pid-file", pidFile, b.id], { root: b.root });
    const pid = Number(readFileSync(pidFile, "utf8"));
    const st = JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout);
    expect(st).toMatchObject({ ociVersion: expect.any(String), id: b.id, status: "created", pid, bundle: b.dir, rootfs: b.rootfs });
    expect(typeof st.created).toBe("string");
    expect(st.annotations).toEqual({});
    expect(existsSync(join(b.rootfs, "started"))).toBe(false);
    // The create process has exited: the container process is not a child of a bunc process.
    const ppid = Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
    expect(readFileSync(`/proc/${ppid}/cmdline`, "utf8")).not.toContain(" create ");
    await buncOk(["start", b.id], { root: b.root });
    await waitFor(() => existsSync(join(b.rootfs, "started")), 10_000);
    expect(JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout).status).toBe("running");
    const again = await bunc(["start", b.id], { root: b.root });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("running");
    await buncOk(["kill", b.id, "KILL"], { root: b.root });
    await waitFor(async () => JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout).status === "stopped", 10_000);
    const killStopped = await bunc(["kill", b.id, "TERM"], { root: b.root });
    expect(killStopped.code).not.toBe(0);
    expect(killStopped.stderr).toContain("not running");
    expect((await bunc(["kill", "--all", b.id, "9"], { root: b.root })).code).toBe(0);
    await buncOk(["delete", b.id], { root: b.root });
    expect(existsSync(join(b.root, b.id))).toBe(false);
    expect(cgroupDirsOf(b)).toEqual([]);
  });

  test("kill accepts names with and without SIG, and numbers; delete of a running container needs --force", async () => {
    const b = bundle({ args: ["sh", "-c", "trap 'echo usr1 >> /dev/shm/log' USR1; trap 'echo term >> /dev/shm/log; exit 0' TERM; while :; do sleep 0.05; done"] });
    await buncOk(["run", "-d", "--bundle", b.dir, b.id], { root: b.root });
    const { pid } = JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout);
    const shmLog = `/proc/${pid}/root/dev/shm/log`;
    await Bun.sleep(200);
    await buncOk(["kill", b.id, "SIGUSR1"], { root: b.root });
    await waitFor(() => existsSync(shmLog) && readFileSync(shmLog, "utf8").includes("usr1"), 10_000);
    await buncOk(["kill", b.id, "USR1"], { root: b.root });
    await waitFor(() => readFileSync(shmLog, "utf8").split("usr1").length === 3, 10_000);
    const del = await bunc(["delete", b.id], { root: b.root });
    expect(del.code).not.toBe(0);
    expect(del.stderr).toContain("not stopped");
    await buncOk(["kill", b.id, "15"], { root: b.root });
    await waitFor(async () => JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout).status === "stopped", 10_000);
    await buncOk(["delete", b.id], { root: b.root });
  });

  test("list shows containers in table, json and quiet forms", async () => {
    const b = bundle({ args: ["sleep", "100"] });
    await buncOk(["create", "--bundle", b.dir, b.id], { root: b.root });
    const table = (await buncOk(["list"], { root: b.root })).stdout.split("\n");
    expect(table[0]).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER$/);
    expect(table[1]).toMatch(new RegExp(`^${b.id}\\s+\\d+\\s+created\\s+`));
    const json = JSON.parse((await buncOk(["list", "--format", "json"], { root: b.root })).stdout);
    expect(json.map((s: { id: string }) => s.id)).toEqual([b.id]);
    expect((await buncOk(["list", "-q"], { root: b.root })).stdout).toBe(`${b.id}\n`);
    await buncOk(["delete", "--force", b.id], { root: b.root });
  });

  test("delete of a created container kills its process", async () => {
    const b = bundle({ args: ["sleep", "100"] });
    await buncOk(["create", "--bundle", b.dir, b.id], { root: b.root });
    const { pid } = JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout);
    await buncOk(["delete", b.id], { root: b.root });
    const gone = () => !existsSync(`/proc/${pid}`) || / [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "utf8").split(")")[1]!);
    await waitFor(gone, 10_000);
    expect(cgroupDirsOf(b)).toEqual([]);
  });
});

describeRoot("namespaces", () => {
  test("new pid, uts, ipc, net and mount namespaces", async () => {
    const r = await sh("echo pid=$$; hostname; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; readlink /proc/self/ns/ipc; readlink /proc/self/ns/mnt");
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("pid=1");
    expect(lines[1]).toBe("bunc");
    expect(lines[2]).toBe("lo");
    expect(lines.length).toBe(5);
    expect(lines[3]).not.toBe(readlinkSync("/proc/self/ns/ipc"));
    expect(lines[4]).not.toBe(readlinkSync("/proc/self/ns/mnt"));
  });

  test("a cgroup namespace makes the container's cgroup its root", async () => {
    const r = await sh("cat /proc/self/cgroup | grep memory", (b) => b.config.linux!.namespaces!.push({ type: "cgroup" }));
    expect(r.stdout.trim()).toMatch(/:memory:\/$/);
  });

  test("namespaces given by path are joined (how pod containers share a pause container's)", async () => {
    const a = bundle({ args: ["sleep", "100"] });
    a.config.hostname = "shared-host";
    a.writeConfig();
    await buncOk(["run", "-d", "--bundle", a.dir, a.id], { root: a.root });
    const { pid } = JSON.parse((await buncOk(["state", a.id], { root: a.root })).stdout);
    const r = await sh("hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/ipc", (b) => {
      b.config.hostname = undefined;
      b.config.linux!.namespaces = [
        { type: "pid" }, { type: "mount" },
        { type: "network", path: `/proc/${pid}/ns/net` }, { type: "uts", path: `/proc/${pid}/ns/uts` }, { type: "ipc", path: `/proc/${pid}/ns/ipc` },
      ];
    });
    expect(r.code).toBe(0);
    const [host, net, ipc] = r.stdout.trim().split("\n");
    expect(host).toBe("shared-host");
    expect(net).toBe(readlinkSync(`/proc/${pid}/ns/net`));
    expect(ipc).toBe(readlinkSync(`/proc/${pid}/ns/ipc`));
    await buncOk(["delete", "-f", a.id], { root: a.root });
  });

  test("a pid namespace given by path: the process is inside it and run still waits for it", async () => {
    const a = bundle({ args: ["sleep", "100"] });
    await buncOk(["run", "-d", "--bundle", a.dir, a.id], { root: a.root });
    const { pid } = JSON.parse((await buncOk(["state", a.id], { root: a.root })).stdout);
    const r = await sh("ps -o args | grep -c '^sleep 100'; exit 5", (b) => {
      b.config.hostname = undefined; // no uts namespace of its own
      b.config.linux!.namespaces = [{ type: "mount" }, { type: "pid", path: `/proc/${pid}/ns/pid` }];
    });
    expect(r.stdout.trim()).toBe("1");
    expect(r.code).toBe(5);
    await buncOk(["delete", "-f", a.id], { root: a.root });
  });
});

describeRoot("root filesystem and mounts", () => {
  test("root.readonly makes / read-only; --no-pivot uses chroot", async () => {
    const r = await sh("touch /x 2>&1; echo rc=$?", (b) => (b.config.root!.readonly = true));
    expect(r.stdout).toContain("Read-only file system");
    const np = bundle({ args: ["sh", "-c", "cat /proc/self/mountinfo | wc -l; echo ok"] });
    const out = await bunc(["run", "--no-pivot", "--bundle", np.dir, np.id], { root: np.root });
    expect(out.code).toBe(0);
    expect(out.stdout).toContain("ok");
  });

  test("bind mounts (ro, file, nosuid/noexec), tmpfs size and mode, proc, sysfs, devpts, mqueue", async () => {
    const host = mkdtempSync(join(tmpdir(), "bunc-bind-"));
    try {
      writeFileSync(join(host, "data"), "host data\n");
      writeFileSync(join(host, "file"), "single file\n");
      const r = await sh(
        "cat /mnt/ro/data; touch /mnt/ro/new 2>&1 | grep -c Read-only; cat /etc/bound; echo x > /mnt/rw/new && echo rw-ok; " +
          "grep ' /mnt/ro ' /proc/self/mountinfo | grep -c 'ro,nosuid,nodev,noexec'; stat -c %a /tmpfs; df -k /tmpfs | tail -1 | awk '{print $2}'; " +
          "grep -c ' /proc proc ' /proc/mounts; grep -c ' /sys sysfs ' /proc/mounts; grep -c ' /dev/pts devpts ' /proc/mounts; grep -c ' /dev/mqueue mqueue ' /proc/mounts",
        (b) => {
          b.config.mounts!.push(
            { destination: "/mnt/ro", type: "bind", source: host, options: ["rbind", "ro", "nosuid", "nodev", "noexec"] },
            { destination: "/mnt/rw", type: "bind", source: host, options: ["bind", "rw"] },
            { destination: "/etc/bound", type: "bind", source: join(host, "file"), options: ["bind", "ro"] },
            { destination: "/tmpfs", type: "tmpfs", source: "tmpfs", options: ["size=2m", "mode=1750"] },
          );
        },
      );
      expect(r.stdout.trim().split("\n")).toEqual(["host data", "1", "single file", "rw-ok", "1", "1750", "2048", "1", "1", "1", "1"]);
      expect(readFileSync(join(host, "new"), "utf8")).toBe("x\n");
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  test("a symlink in the rootfs pointing outside cannot make a mount land on the host", async () => {
    const hostDir = mkdtempSync(join(tmpdir(), "bunc-escape-"));
    const b = copyBundle({ args: ["sh", "-c", "ls /escape/ && touch /escape/x/inside && echo done"] });
    try {
      writeFileSync(join(hostDir, "marker"), "host\n");
      // /escape -> ../../../../<hostDir> : followed inside the root it stays in the rootfs
      symlinkSync(`../../../../../../../..${hostDir}`, join(b.rootfs, "escape"));
      b.config.mounts!.push({ destination: "/escape/x", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
      b.writeConfig();
      const r = await bunc(["run", "--bundle", b.dir, b.id], { root: b.root });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("done");
      // Nothing was mounted or created on the host side.
      expect(readdirSync(hostDir)).toEqual(["marker"]);
      expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(hostDir);
      // The target was created inside the rootfs instead.
      expect(statSync(join(b.rootfs, hostDir, "x")).isDirectory()).toBe(true);
    } finally {
      rmSync(hostDir, { recursive: true, force: true });
    }
  });

  test("mount propagation as the CRI asks it: Bidirectional (rshared, rootfsPropagation rshared) and HostToContainer (rslave)", async () => {
    // containerd gives a Bidirectional volume the options rbind,rshared and the whole container
    // rootfsPropagation "rshared"; pivot_root refuses a shared new root, so the runtime must make
    // the mount holding the rootfs private first (this failed with EINVAL before).
    const base = mkdtempSync(join(tmpdir(), "bunc-prop-"));
    const shared = join(base, "shared"), slave = join(base, "slave");
    const sh = (c: string) => expect(Bun.spawnSync(["sh", "-c", c]).exitCode).toBe(0);
    const b = bundle({
      args: ["sh", "-c", "mkdir -p /mnt/bi/sub && mount -t tmpfs inner /mnt/bi/sub && touch /mnt/bi/sub/from-container && " +
        "for i in $(seq 200); do [ -e /mnt/sl/late/from-host ] && echo saw-host-mount && break; sleep 0.05; done; " +
        "awk '$5 == \"/\" && / shared:/' /proc/self/mountinfo | wc -l"],
    });
    try {
      sh(`mkdir -p ${shared} ${slave} && mount --bind ${shared} ${shared} && mount --make-shared ${shared} && mount --bind ${slave} ${slave} && mount --make-shared ${slave}`);
      b.config.process!.capabilities = { bounding: ["CAP_SYS_ADMIN"], effective: ["CAP_SYS_ADMIN"], permitted: ["CAP_SYS_ADMIN"] };
      b.config.mounts!.push(
        { destination: "/mnt/bi", type: "bind", source: shared, options: ["rbind", "rshared", "rw"] },
        { destination: "/mnt/sl", type: "bind", source: slave, options: ["rbind", "rslave", "rw"] },
      );
      b.config.linux!.rootfsPropagation = "rshared";
      b.writeConfig();
      const run = bunc(["run", "--bundle", b.dir, b.id], { root: b.root });
      // the container's mount reaches the host ...
      await waitFor(() => existsSync(join(shared, "sub", "from-container")), 10_000, "the container's tmpfs on the host");
      // ... and a mount the host makes afterwards reaches the container
      sh(`mkdir -p ${slave}/late && mount -t tmpfs outer ${slave}/late && touch ${slave}/late/from-host`);
      const r = await run;
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split("\n")).toEqual(["saw-host-mount", "1"]); // and the new / is shared
      // nothing of the container but the Bidirectional mount landed on the host
      const hostMounts = readFileSync("/proc/self/mountinfo", "utf8");
      expect(hostMounts).not.toContain(b.rootfs);
    } finally {
      Bun.spawnSync(["sh", "-c", `umount ${shared}/sub ${slave}/late; umount ${shared} ${slave}`]);
      rmSync(base, { recursive: true, force: true });
    }
  });

  test("rootfsPropagation shared and unbindable reach the container's / (each failed in pivot_root or the rootfs bind before)", async () => {
    for (const [prop, want] of [["shared", /^shared:\d+$/], ["unbindable", /^unbindable$/]] as const) {
      const r = await sh("awk '$5 == \"/\" { print $7 }' /proc/self/mountinfo", (b) => (b.config.linux!.rootfsPropagation = prop));
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toMatch(want);
    }
  });

  test("tmpcopyup (podman's --tmpfs): the tmpfs starts with a copy of the covered directory, owners, modes, links and times kept", async () => {
    const b = copyBundle({
      args: ["sh", "-c", "awk '$5 == \"/data\" { print $9 }' /proc/self/mountinfo; " +
        "cat /data/f /data/sub/deep/g; stat -c '%n %u:%g %a %Y' /data/f /data/sub /data/sub/deep/g /data/fifo; readlink /data/link; readlink /data/abs; " +
        "stat -c %F /data/fifo; echo new > /data/new && cat /data/new"],
    });
    const d = join(b.rootfs, "data");
    mkdirSync(join(d, "sub", "deep"), { recursive: true });
    writeFileSync(join(d, "f"), "top\n");
    writeFileSync(join(d, "sub", "deep", "g"), "deep\n");
    symlinkSync("sub/deep/g", join(d, "link"));
    symlinkSync("/etc/passwd", join(d, "abs")); // copied as a link, never followed on the host
    expect(Bun.spawnSync(["sh", "-c", `mkfifo ${d}/fifo && chown 1234:5678 ${d}/f && chmod 4755 ${d}/f && chown 99:98 ${d}/sub && chmod 775 ${d}/sub && touch -h -d @1000000000 ${d}/f ${d}/sub/deep/g ${d}/fifo ${d}/sub`]).exitCode).toBe(0);
    b.config.mounts!.push({ destination: "/data", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "tmpcopyup", "size=1m"] });
    b.writeConfig();
    const r = await bunc(["run", "--bundle", b.dir, b.id], { root: b.root });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual([
      "tmpfs", "top", "deep",
      "/data/f 1234:5678 4755 1000000000", "/data/sub 99:98 775 1000000000", "/data/sub/deep/g 0:0 644 1000000000", "/data/fifo 0:0 644 1000000000",
      "sub/deep/g", "/etc/passwd", "fifo", "new",
    ]);
    expect(r.code).toBe(0);
    // the write went to the tmpfs, not to the rootfs
    expect(existsSync(join(d, "new"))).toBe(false);
  });

  test("a missing bind source is refused with its path", async () => {
    const r = await sh("true", (b) => b.config.mounts!.push({ destination: "/x", type: "bind", source: "/nonexistent-src", options: ["bind"] }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("/nonexistent-src");
  });
});

describeRoot("/dev", () => {
  test("default devices, symlinks, /dev/shm and linux.devices", async () => {
    const r = await sh(
      "for d in null zero full random urandom tty; do stat -c '%n %t:%T %a %F' /dev/$d; done; " +
        "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done; stat -c '%F' /dev/shm; " +
        "stat -c '%n %t:%T %a %u:%g %F' /dev/fuse /dev/loopx; echo hi > /dev/null && head -c 4 /dev/zero | wc -c",
      (b) => {
        b.config.linux!.devices = [
          { path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o600, uid: 1000, gid: 1000 },
          { path: "/dev/loopx", type: "b", major: 7, minor: 200, fileMode: 0o640, uid: 0, gid: 6 },
        ];
      },
    );
    expect(r.stdout.trim().split("\n")).toEqual([
      "/dev/null 1:3 666 character special file",
      "/dev/zero 1:5 666 character special file",
      "/dev/full 1:7 666 character special file",
      "/dev/random 1:8 666 character special file",
      "/dev/urandom 1:9 666 character special file",
      "/dev/tty 5:0 666 character special file",
      "/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2", "pts/ptmx",
      "directory",
      "/dev/fuse a:e5 600 1000:1000 character special file",
      "/dev/loopx 7:c8 640 0:6 block special file",
      "4",
    ]);
  });
});

describeRoot("masked and read-only paths", () => {
  test("files masked by /dev/null, directories by an empty read-only tmpfs, read-only paths", async () => {
    const r = await sh(
      "echo keys=$(wc -c < /proc/keys); echo firmware=$(ls /sys/firmware | wc -l); echo ro=$(touch /sys/firmware/x 2>&1 | grep -c Read-only); " +
        "echo sys=$( (echo 1 > /proc/sys/kernel/domainname) 2>&1 | grep -c Read-only); cat /proc/uptime >/dev/null && echo readable",
    );
    expect(r.stdout.trim().split("\n")).toEqual(["keys=0", "firmware=0", "ro=1", "sys=1", "readable"]);
  });

  test("masked paths this kernel lacks are skipped", async () => {
    const r = await sh("echo ok", (b) => b.config.linux!.maskedPaths!.push("/proc/does-not-exist", "/sys/nope/deeper"));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("ok\n");
  });
});

describeRoot("process", () => {
  test("hostname, domainname, env, cwd, args", async () => {
    const r = await sh("", (b) => {
      b.config.hostname = "box1";
      b.config.domainname = "example.test";
      b.config.process!.env!.push("FOO=foo value", "BAR=");
      b.config.process!.cwd = "/tmp";
      b.config.process!.args = ["sh", "-c", 'hostname; cat /proc/sys/kernel/domainname; echo "$FOO|$BAR"; pwd; echo "$0|$1"', "zero", "one two"];
    });
    expect(r.stdout.trim().split("\n")).toEqual(["box1", "example.test", "foo value|", "/tmp", "zero|one two"]);
  });

  test("user uid/gid/additionalGids/umask", async () => {
    const r = await sh("id -u; id -g; id -G; umask; touch /tmp/f && stat -c %a /tmp/f", (b) => {
      b.config.process!.user = { uid: 1000, gid: 1000, additionalGids: [10, 20], umask: 0o027 };
      b.config.mounts!.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["mode=1777"] });
    });
    expect(r.stdout.trim().split("\n")).toEqual(["1000", "1000", "1000 10 20", "0027", "640"]);
  });

  test("HOME defaults to the user's home in the container's /etc/passwd, or /", async () => {
    const user = await sh('echo "$HOME"', (b) => (b.config.process!.user = { uid: 1000, gid: 1000 }));
    expect(user.stdout).toBe("/home/user\n");
    const nobody = await sh('echo "$HOME"', (b) => (b.config.process!.user = { uid: 4242, gid: 4242 }));
    expect(nobody.stdout).toBe("/\n");
    const given = await sh('echo "$HOME"', (b) => b.config.process!.env!.push("HOME=/given"));
    expect(given.stdout).toBe("/given\n");
  });

  test("rlimits, noNewPrivileges, oomScoreAdj", async () => {
    const r = await sh("ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status | tr -d '\\t '; cat /proc/self/oom_score_adj", (b) => {
      b.config.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 321, hard: 654 }];
      b.config.process!.noNewPrivileges = true;
      b.config.process!.oomScoreAdj = 123;
    });
    expect(r.stdout.trim().split("\n")).toEqual(["321", "654", "NoNewPrivs:1", "123"]);
  });

  test("all five capability sets", async () => {
    const r = await sh("grep ^Cap /proc/self/status | tr -d '\\t'", (b) => {
      // CAP_CHOWN=0, CAP_KILL=5, CAP_NET_BIND_SERVICE=10, CAP_SYS_ADMIN=21
      b.config.process!.capabilities = {
        bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"],
        effective: ["CAP_CHOWN", "CAP_KILL"],
        permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        inheritable: ["CAP_NET_BIND_SERVICE", "CAP_KILL"],
        ambient: ["CAP_KILL"],
      };
      b.config.process!.user = { uid: 1000, gid: 1000 };
    });
    // For a non-root user, exec keeps only ambient in permitted/effective; bounding and inheritable stay.
    expect(r.stdout.trim().split("\n")).toEqual([
      "CapInh:0000000000000420",
      "CapPrm:0000000000000020",
      "CapEff:0000000000000020",
      "CapBnd:0000000000200421",
      "CapAmb:0000000000000020",
    ]);
  });

  test("the container gets a session keyring of its own unless --no-new-keyring", async () => {
    // /proc/keys lists the keyrings this process may view: its own session keyring is one of them
    const script = "grep -c \" _ses.$ID:\" /proc/keys";
    const b = bundle({ args: ["sh", "-c", script] });
    b.config.linux!.maskedPaths = [];
    b.config.process!.env!.push(`ID=${b.id}`);
    b.writeConfig();
    const own = await bunc(["run", "-b", b.dir, b.id], { root: b.root });
    expect(own.stdout.trim()).toBe("1");
    const n = bundle({ args: ["sh", "-c", script] });
    n.config.linux!.maskedPaths = [];
    n.config.process!.env!.push(`ID=${n.id}`);
    n.writeConfig();
    const shared = await bunc(["run", "--no-new-keyring", "-b", n.dir, n.id], { root: n.root });
    expect(shared.stdout.trim()).toBe("0");
  });

  test("linux.sysctl is written in the container's namespaces", async () => {
    const r = await sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/ip_unprivileged_port_start", (b) => {
      b.config.linux!.sysctl = { "net.ipv4.ip_forward": "1", "net/ipv4/ip_unprivileged_port_start": "80" };
      b.config.linux!.readonlyPaths = [];
    });
    expect(r.stdout.trim().split("\n")).toEqual(["1", "80"]);
    // the host's value is untouched
    expect(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim()).not.toBe("80");
  });

  test("no file descriptor of bunc's reaches the container; --preserve-fds passes extra ones", async () => {
    const r = await sh("ls /proc/self/fd | sort -n | tr '\\n' ' '");
    // 0,1,2 and the fd ls itself opened for the directory
    expect(r.stdout.trim().split(" ").length).toBe(4);
    const b = bundle({ args: ["sh", "-c", "ls -l /proc/self/fd/ | grep -c preserved-marker; cat <&3"] });
    const dir = mkdtempSync(join(tmpdir(), "bunc-fd-"));
    const file = join(dir, "preserved-marker");
    writeFileSync(file, "via fd 3\n");
    try {
      const fd = require("node:fs").openSync(file, "r");
      const p = Bun.spawnSync({
        cmd: [require("../helpers/run.ts").buncBin(), "--root", b.root, "run", "--preserve-fds", "1", "--bundle", b.dir, b.id],
        stdio: ["ignore", "pipe", "pipe", fd],
      });
      require("node:fs").closeSync(fd);
      expect(p.stdout.toString().trim().split("\n")).toEqual(["1", "via fd 3"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeRoot("bad input", () => {
  async function expectRefused(args: string[], root: string, pattern: RegExp | string) {
    const r = await bunc(args, { root });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n").length).toBe(1);
    if (typeof pattern === "string") expect(r.stderr).toContain(pattern);
    else expect(r.stderr).toMatch(pattern);
    expect(existsSync(root) ? readdirSync(root) : []).toEqual([]);
    return r;
  }

  test("malformed, missing or mistyped config.json", async () => {
    const b = bundle();
    writeFileSync(join(b.dir, "config.json"), "{ not json");
    await expectRefused(["create", "-b", b.dir, b.id], b.root, /config\.json: .*JSON/);
    rmSync(join(b.dir, "config.json"));
    await expectRefused(["create", "-b", b.dir, b.id], b.root, "config.json");
    b.config.process!.args = [];
    b.writeConfig();
    await expectRefused(["create", "-b", b.dir, b.id], b.root, "config.json: process.args: must not be empty");
    (b.config.process as unknown as Record<string, unknown>).args = "sh";
    b.writeConfig();
    await expectRefused(["create", "-b", b.dir, b.id], b.root, "process.args");
    b.config.process!.args = ["true"];
    b.config.root!.path = "/nonexistent-rootfs";
    b.writeConfig();
    await expectRefused(["create", "-b", b.dir, b.id], b.root, "/nonexistent-rootfs");
    expect(cgroupDirsOf(b)).toEqual([]);
  });

  test("bad ids", async () => {
    const b = bundle();
    for (const id of ["a/b", "..", "../x", ""]) await expectRefused(["create", "-b", b.dir, id], b.root, "container id");
  });

  test("a missing executable is named, and nothing is left behind", async () => {
    const b = bundle({ args: ["/no/such/binary", "arg"] });
    await expectRefused(["create", "-b", b.dir, b.id], b.root, "/no/such/binary");
    expect(cgroupDirsOf(b)).toEqual([]);
    const c = bundle({ args: ["no-such-command"] });
    await expectRefused(["run", "-b", c.dir, c.id], c.root, "no-such-command");
  });

  test("duplicate id, start of a non-created container, unknown ids", async () => {
    const b = bundle({ args: ["sleep", "100"] });
    await buncOk(["create", "-b", b.dir, b.id], { root: b.root });
    const dup = await bunc(["create", "-b", b.dir, b.id], { root: b.root });
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain("already exists");
    await buncOk(["start", b.id], { root: b.root });
    const st = await bunc(["start", b.id], { root: b.root });
    expect(st.code).not.toBe(0);
    for (const cmd of [["kill", "nope", "9"], ["delete", "nope"], ["state", "nope"], ["start", "nope"]]) {
      const r = await bunc(cmd, { root: b.root });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("does not exist");
    }
    expect((await bunc(["delete", "--force", "nope"], { root: b.root })).code).toBe(0);
    // the directory a create killed half-way leaves (no state.json) goes with delete --force
    mkdirSync(join(b.root, "half-made"));
    expect((await bunc(["delete", "--force", "half-made"], { root: b.root })).code).toBe(0);
    expect(existsSync(join(b.root, "half-made"))).toBe(false);
    await buncOk(["delete", "-f", b.id], { root: b.root });
  });

  test("--log-format json writes runc's error record", async () => {
    const b = bundle({ args: [] });
    const log = join(b.dir, "log.json");
    const r = await bunc(["--log", log, "--log-format", "json", "create", "-b", b.dir, b.id], { root: b.root });
    expect(r.code).not.toBe(0);
    const recs = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const last = recs.at(-1);
    expect(last.level).toBe("error");
    expect(last.msg).toContain("process.args");
    expect(new Date(last.time).toISOString()).toBe(last.time);
  });

  test("two concurrent creates of one id: exactly one wins", async () => {
    const b = bundle({ args: ["sleep", "100"] });
    const rs = await Promise.all([1, 2, 3].map(() => bunc(["create", "-b", b.dir, b.id], { root: b.root })));
    expect(rs.filter((r) => r.code === 0).length).toBe(1);
    expect(rs.filter((r) => r.code !== 0).every((r) => r.stderr.includes("already exists"))).toBe(true);
    await buncOk(["delete", "-f", b.id], { root: b.root });
  });
});

describeRoot("the binary", () => {
  test("--version prints three lines", async () => {
    const r = await buncOk(["--version"]);
    expect(r.stdout).toMatch(/^bunc version \S+\ncommit: \S+\nspec: 1\.\d+\.\d+\n$/);
  });

  test("bin/bunc copied alone elsewhere runs a container", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bunc-alone-"));
    try {
      const copy = join(dir, "bunc");
      writeFileSync(copy, readFileSync(require("../helpers/run.ts").buncBin()), { mode: 0o755 });
      const b = bundle({ args: ["sh", "-c", "echo alone"] });
      const p = Bun.spawnSync({ cmd: [copy, "--root", b.root, "run", "-b", b.dir, b.id], cwd: "/", env: { PATH: "/usr/bin:/bin" } });
      expect(p.stdout.toString()).toBe("alone\n");
      expect(p.exitCode).toBe(0);
      // nothing was extracted next to it or into /tmp by the run
      expect(readdirSync(dir)).toEqual(["bunc"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("bunc ignores a bunfig.toml or .env in the directory it is started from", () => {
    // A compiled Bun program reads them by default: a preload script there would run as root.
    const dir = mkdtempSync(join(tmpdir(), "bunc-autoload-"));
    try {
      writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.js"]\n');
      writeFileSync(join(dir, "evil.js"), `require("fs").writeFileSync(${JSON.stringify(join(dir, "PWNED"))}, "x");\n`);
      writeFileSync(join(dir, ".env"), "BUNC_DOTENV_PROBE=loaded\n");
      const p = Bun.spawnSync({ cmd: [require("../helpers/run.ts").buncBin(), "--version"], cwd: dir });
      expect(p.exitCode).toBe(0);
      expect(existsSync(join(dir, "PWNED"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("make install honours PREFIX", () => {
    const dir = mkdtempSync(join(tmpdir(), "bunc-prefix-"));
    try {
      const p = Bun.spawnSync({ cmd: ["make", "-s", "install", `PREFIX=${dir}`], cwd: require("../helpers/run.ts").REPO_ROOT });
      expect(p.exitCode).toBe(0);
      expect(statSync(join(dir, "bin/bunc")).mode & 0o777).toBe(0o755);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeRoot("library: createContainer with its own stdio", () => {
  test("the stdio option gives the container other fds as 0, 1, 2", async () => {
    const { createContainer } = await import("../../src/container/create.ts");
    const { Container } = await import("../../src/container/container.ts");
    const native = await import("../../src/native.ts");
    const b = bundle({ args: ["sh", "-c", "echo out; echo err >&2"] });
    const [r, w] = native.pipe();
    const created = await createContainer({
      root: b.root, id: b.id, bundle: b.dir, noPivot: false, noNewKeyring: false, preserveFds: 0, systemdCgroup: false,
      init: false, stdio: [0, w, w],
    });
    native.closeFd(w);
    const c = new Container(b.root, created.record);
    c.start();
    native.closeFd(created.syncFd);
    const status = await native.waitAsync(created.record.pid);
    const buf = new Uint8Array(256);
    const n = native.readFd(r, buf);
    native.closeFd(r);
    expect(new TextDecoder().decode(buf.subarray(0, n))).toBe("out\nerr\n");
    expect(status).toBe(0);
    await c.delete(true);
  });
});
