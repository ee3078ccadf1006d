// Issue 5: regression tests for the container escapes runc has had. Each test sets up the attack
// and checks the outcome from the host. "Checked without the defence" notes say how the test was
// seen to fail when the defence is taken out (by hand, on a rebuilt bin/bunc).
import { expect, setDefaultTimeout, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { Spec } from "../../src/spec/types.ts";
import type { Bundle } from "../helpers/bundle.ts";
import { trackPerTest } from "../helpers/tracked.ts";
import { bunc, buncBin, buncOk, describeRoot, waitFor } from "../helpers/run.ts";

setDefaultTimeout(60_000);

const { bundle, copyBundle, tempDir } = trackPerTest({ dirMode: 0o755 });

async function run(b: Bundle, extra: string[] = []) {
  b.writeConfig();
  return bunc(["run", ...extra, "-b", b.dir, b.id], { root: b.root });
}
async function state(b: Bundle): Promise<{ pid: number; status: string }> {
  return JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout);
}
function sha(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}
/** The pid of a host process as its innermost pid namespace sees it. */
function nsPid(hostPid: number): number {
  const line = readFileSync(`/proc/${hostPid}/status`, "utf8").split("\n").find((l) => l.startsWith("NSpid:"))!;
  return Number(line.split(/\s+/).at(-1));
}
function joinNs(cfg: Spec, type: "pid" | "user" | "network", path: string): void {
  cfg.linux!.namespaces = cfg.linux!.namespaces!.filter((n) => n.type !== type);
  cfg.linux!.namespaces.push({ type, path });
}
function withUserns(cfg: Spec): void {
  cfg.linux!.namespaces!.push({ type: "user" });
  cfg.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  cfg.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
}

/**
 * An "attacker" container with a shared dir at /shared: it waits for /shared/pid, probes that
 * process through /proc with `probe` (a shell snippet using $P), writes /shared/result, and stays.
 */
async function attacker(shared: string, probe: string, mutate?: (cfg: Spec) => void): Promise<Bundle> {
  const script = `while [ ! -f /shared/pid ]; do sleep 0.05; done; P=$(cat /shared/pid); { ${probe}; } > /shared/result.tmp 2>&1; mv /shared/result.tmp /shared/result; exec sleep 100`;
  const a = bundle({ args: ["sh", "-c", script], mutate: (cfg) => {
    cfg.mounts!.push({ destination: "/shared", type: "bind", source: shared, options: ["rbind"] });
    mutate?.(cfg);
  } });
  a.writeConfig();
  await buncOk(["run", "-d", "-b", a.dir, a.id], { root: a.root });
  return a;
}

describeRoot("CVE-2019-5736: the host's bunc binary is out of reach", () => {
  test("'#!/proc/self/exe' in the container runs the sealed bunc-init, not bunc; the binary is unchanged", async () => {
    // A private copy of bunc, so that a failure could only ever damage the copy.
    // Checked without the defence: with the final execve made from the bunc image (no memfd),
    // the interpreter /proc/self/exe is bunc itself and the output is bunc's, not bunc-init's.
    const binDir = tempDir("bunc-bin-");
    const bin = join(binDir, "bunc");
    copyFileSync(buncBin(), bin);
    chmodSync(bin, 0o755);
    const before = sha(bin);
    const b = copyBundle({ args: ["/evil"] });
    writeFileSync(join(b.rootfs, "evil"), "#!/proc/self/exe\n");
    chmodSync(join(b.rootfs, "evil"), 0o755);
    b.writeConfig();
    const runOut = spawnSync(bin, ["--root", b.root, "run", "-b", b.dir, b.id], { encoding: "utf8" });
    expect(runOut.stderr + runOut.stdout).toContain("usage: bunc-init");
    // exec: the joining process goes the same way
    const k = copyBundle({ args: ["sleep", "100"] });
    writeFileSync(join(k.rootfs, "evil"), "#!/proc/self/exe\n");
    chmodSync(join(k.rootfs, "evil"), 0o755);
    k.writeConfig();
    expect(spawnSync(bin, ["--root", k.root, "run", "-d", "-b", k.dir, k.id], { stdio: "ignore" }).status).toBe(0);
    const execOut = spawnSync(bin, ["--root", k.root, "exec", k.id, "/evil"], { encoding: "utf8" });
    expect(execOut.stderr + execOut.stdout).toContain("usage: bunc-init");
    expect(sha(bin)).toBe(before);
  });

  test("the exe of a process bunc started is the sealed bunc-init memfd: it cannot be written", async () => {
    // The attacker opens the exe of a process bunc started (a container sharing its pid namespace,
    // with bunc-init kept as its init), waits until that process is gone (while it runs, the
    // kernel refuses writes anyway: ETXTBSY), then writes through its fd. Checked without the
    // defence: without the seals on the memfd (src/native.ts memfdWith) the write succeeds.
    const shared = tempDir("bunc-shared-");
    const a = await attacker(shared, [
      "readlink /proc/$P/exe; exec 3</proc/$P/exe && echo opened; touch /shared/opened",
      "while [ ! -f /shared/victim-gone ]; do sleep 0.05; done",
      "if echo PWNED >> /proc/self/fd/3; then echo wrote; else echo write-refused; fi",
    ].join("; "));
    const v = bundle({ args: ["sleep", "100"], mutate: (cfg) => { cfg.annotations = { "run.bunc.init": "true" }; } });
    joinNs(v.config, "pid", `/proc/${(await state(a)).pid}/ns/pid`);
    v.writeConfig();
    await buncOk(["run", "-d", "-b", v.dir, v.id], { root: v.root });
    writeFileSync(join(shared, "pid"), String(nsPid((await state(v)).pid)));
    await waitFor(() => existsSync(join(shared, "opened")));
    await buncOk(["delete", "--force", v.id], { root: v.root });
    writeFileSync(join(shared, "victim-gone"), "");
    const result = await waitFor(() => existsSync(join(shared, "result")) && readFileSync(join(shared, "result"), "utf8"));
    expect(result).toMatch(/^\/memfd:bunc-init \(deleted\)\nopened\n/);
    expect(result).toContain("write-refused");
    expect(result).not.toContain("wrote");
  });
});

describeRoot("CVE-2016-9962 / CVE-2019-5736: a bunc process inside a container's pid namespace is not dumpable", () => {
  // The victim is a container created into the attacker's pid namespace and left before its
  // exec (`create`): the same child code as `bunc exec`'s joining process, held still. Its exe is
  // still bunc, its fds bunc's (exec fifo, sync socket). Checked without the defence: with the
  // PR_SET_DUMPABLE calls of native/child.c removed, every probe below says "open".
  const probe = "for f in exe cwd root; do readlink /proc/$P/$f >/dev/null 2>&1 && echo $f:open || echo $f:refused; done; " +
    "for f in /proc/$P/fd/*; do readlink $f; done 2>/dev/null | grep -q . && echo fd:open || echo fd:refused; " +
    "cat /proc/$P/environ >/dev/null 2>&1 && echo environ:open || echo environ:refused; " +
    "(exec 3</proc/$P/exe) 2>/dev/null && echo exe-open:open || echo exe-open:refused";
  const refused = "exe:refused\ncwd:refused\nroot:refused\nfd:refused\nenviron:refused\nexe-open:refused\n";

  async function victimIn(a: Bundle, shared: string, mutate?: (cfg: Spec) => void): Promise<Bundle> {
    const apid = (await state(a)).pid;
    const v = bundle({ args: ["true"], mutate: (cfg) => {
      joinNs(cfg, "pid", `/proc/${apid}/ns/pid`);
      mutate?.(cfg);
    } });
    v.writeConfig();
    await buncOk(["create", "-b", v.dir, v.id], { root: v.root });
    writeFileSync(join(shared, "pid"), String(nsPid((await state(v)).pid)));
    return v;
  }

  test("root in the container without CAP_SYS_PTRACE", async () => {
    const shared = tempDir("bunc-shared-");
    const a = await attacker(shared, probe);
    await victimIn(a, shared);
    expect(await waitFor(() => existsSync(join(shared, "result")) && readFileSync(join(shared, "result"), "utf8"))).toBe(refused);
  });

  test("root with CAP_SYS_PTRACE and no user namespace reaches only the sealed bunc-child, not the host's bunc", async () => {
    // CAP_SYS_PTRACE overrides non-dumpable, so this attacker can open the victim's exe. Right
    // after clone bunc's child execs the sealed bunc-child memfd (native/shim.c exec_child), so
    // what it finds is that memfd: the host binary is never the image of a container process.
    // Checked without the defence (the child running its setup inside bunc's own image, as before
    // exec_child): the probe printed bunc's path and the write open succeeded.
    const shared = tempDir("bunc-shared-");
    const exeProbe = "readlink /proc/$P/exe; (exec 3>>/proc/$P/exe) 2>/dev/null && echo write:open || echo write:refused";
    const host = realpathSync(buncBin());
    const before = sha(host);
    const a = await attacker(shared, exeProbe, (cfg) => {
      const c = cfg.process!.capabilities!;
      for (const set of ["bounding", "effective", "permitted"] as const) c[set] = [...(c[set] ?? []), "CAP_SYS_PTRACE", "CAP_DAC_OVERRIDE"];
    });
    await victimIn(a, shared);
    const result = await waitFor(() => existsSync(join(shared, "result")) && readFileSync(join(shared, "result"), "utf8"));
    expect(result).toStartWith("/memfd:bunc-child");
    expect(result).not.toContain(host);
    expect(result).toEndWith("write:refused\n");
    expect(sha(host)).toBe(before);
  });

  test("root of a user namespace with every capability, CAP_SYS_PTRACE included", async () => {
    // Here the victim joins the attacker's user namespace; its switch to that namespace's root
    // (setresuid) also leaves it non-dumpable, so this case holds even without the prctl: it
    // guards the property (CAP_SYS_PTRACE of a user namespace does not reach bunc's process,
    // whose memory belongs to the host's user namespace), not one line of code.
    const shared = tempDir("bunc-shared-");
    chmodSync(shared, 0o777); // written by the attacker, root of a user namespace (host uid 100000)
    const all = ["CAP_SYS_PTRACE", "CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"];
    const a = await attacker(shared, probe, (cfg) => {
      withUserns(cfg);
      cfg.linux!.namespaces = cfg.linux!.namespaces!.filter((n) => n.type !== "network");
      cfg.mounts = cfg.mounts!.filter((m) => m.destination !== "/sys" && m.destination !== "/sys/fs/cgroup");
      const c = cfg.process!.capabilities!;
      c.bounding = c.effective = c.permitted = all;
    });
    chmodSync(a.dir, 0o755);
    const apid = (await state(a)).pid;
    await victimIn(a, shared, (cfg) => joinNs(cfg, "user", `/proc/${apid}/ns/user`));
    expect(await waitFor(() => existsSync(join(shared, "result")) && readFileSync(join(shared, "result"), "utf8"))).toBe(refused);
  });
});

describeRoot("CVE-2024-21626: no host directory reaches the container through its cwd", () => {
  // bunc is given a host directory as fd 3 by its caller (as a careless shim could) and the
  // config's cwd points there through /proc/self/fd/3. Checked without the defence: with the
  // getcwd check after chdir in native/child.c removed, the process runs in the host directory
  // and prints the marker.
  function withLeakedDir(args: string[]) {
    const host = tempDir("bunc-leak-");
    writeFileSync(join(host, "host-marker"), "HOST\n");
    const fd = openSync(host, "r");
    try {
      return spawnSync(buncBin(), args, { stdio: ["ignore", "pipe", "pipe", fd], encoding: "utf8" });
    } finally {
      closeSync(fd);
    }
  }

  test("run with process.cwd /proc/self/fd/3", async () => {
    const b = bundle({ args: ["sh", "-c", "pwd; cat host-marker"] });
    b.config.process!.cwd = "/proc/self/fd/3";
    b.writeConfig();
    const r = withLeakedDir(["--root", b.root, "run", "-b", b.dir, b.id]);
    expect(r.stdout).not.toContain("HOST");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("process.cwd is outside the container: /proc/self/fd/3");
  });

  test("exec --cwd /proc/self/fd/3, and every fd bunc itself holds", async () => {
    const b = bundle({ args: ["sleep", "100"] });
    b.writeConfig();
    await buncOk(["run", "-d", "-b", b.dir, b.id], { root: b.root });
    const r = withLeakedDir(["--root", b.root, "exec", "--cwd", "/proc/self/fd/3", b.id, "sh", "-c", "cat host-marker"]);
    expect(r.stdout).not.toContain("HOST");
    expect(r.stderr).toContain("process.cwd is outside the container");
    for (let fd = 3; fd < 16; fd++) {
      const e = await bunc(["exec", "--cwd", `/proc/self/fd/${fd}`, b.id, "sh", "-c", "pwd -P; ls"], { root: b.root });
      // either refused, or a cwd that is a path inside the container
      if (e.code === 0) expect(e.stdout).toMatch(/^\//);
      expect(e.stdout).not.toContain("state.json");
    }
  });
});

describeRoot("CVE-2019-19921 / CVE-2021-30465: mounts stay inside the rootfs", () => {
  test("a mount target inside a shared volume swapped for a symlink during setup never lands outside", async () => {
    // The volume is shared with "another container" (a host loop here) that keeps replacing the
    // target directory with a symlink to a host directory. A createContainer hook (in the
    // container's mount namespace, before pivot_root) lists the mounts: none may be outside the
    // rootfs. Checked without the defence: with the child resolving targets as plain paths
    // (rootfs + target) instead of openat2 RESOLVE_IN_ROOT, some runs mount onto the victim.
    const volume = tempDir("bunc-volume-");
    const victim = tempDir("bunc-victim-");
    const report = tempDir("bunc-report-");
    writeFileSync(join(victim, "host-marker"), "x");
    const swapper = Bun.spawn(["sh", "-c", `cd ${volume}; while :; do rm -rf t; mkdir t; rm -rf t; ln -s ${victim} t; done`]);
    try {
      for (let i = 0; i < 10; i++) {
        const b = copyBundle({ args: ["true"], mutate: (cfg) => {
          cfg.mounts!.push({ destination: "/vol", type: "bind", source: volume, options: ["rbind"] });
          cfg.mounts!.push({ destination: "/vol/t", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
          cfg.hooks = { createContainer: [{ path: "/bin/sh", args: ["sh", "-c", `cat /proc/self/mountinfo > ${report}/mounts-${i}`] }] };
        } });
        const r = await run(b);
        // The run may fail (the target vanished mid-flight); it must never mount outside.
        if (r.code !== 0) expect(r.stderr).toMatch(/mount/);
        if (existsSync(join(report, `mounts-${i}`))) {
          const points = readFileSync(join(report, `mounts-${i}`), "utf8").split("\n").filter(Boolean).map((l) => l.split(" ")[4]!);
          expect(points.filter((p) => p.startsWith(victim))).toEqual([]);
          expect(points.filter((p) => p.startsWith(volume))).toEqual([]);
        }
        b.cleanup();
      }
    } finally {
      swapper.kill();
      await swapper.exited;
    }
    expect(readdirSync(victim)).toEqual(["host-marker"]);
  });
});

describeRoot("CVE-2025-31133 / CVE-2025-52565: /dev/null and /dev/console cannot be turned into host paths", () => {
  /** a bundle whose /dev is a host directory (a shared volume, say) prepared by the "attacker" */
  function sharedDevBundle(dev: string, args: string[], terminal = false): Bundle {
    mkdirSync(join(dev, "pts"), { recursive: true });
    rmSync(join(dev, "ptmx"), { force: true });
    symlinkSync("pts/ptmx", join(dev, "ptmx"));
    return bundle({ args, terminal, mutate: (cfg) => {
      const i = cfg.mounts!.findIndex((m) => m.destination === "/dev");
      cfg.mounts![i] = { destination: "/dev", type: "bind", source: dev, options: ["rbind"] };
      cfg.linux!.maskedPaths = ["/proc/version"];
    } });
  }

  test("maskedPaths refuse a /dev/null that is a symlink or not the null device", async () => {
    // Checked without the defence: with open_dev_null's checks (native/rootfs.c) removed, the
    // first run bind-mounts the host's core_pattern over the masked /proc/version and prints it.
    const corePattern = readFileSync("/proc/sys/kernel/core_pattern", "utf8");
    const dev = tempDir("bunc-dev-");
    symlinkSync("/proc/sys/kernel/core_pattern", join(dev, "null"));
    const r = await run(sharedDevBundle(dev, ["cat", "/proc/version"]));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("maskedPaths: /dev/null in the container is not the null device");
    rmSync(join(dev, "null"));
    writeFileSync(join(dev, "null"), "not a device");
    const f = await run(sharedDevBundle(dev, ["true"]));
    expect(f.stderr).toContain("maskedPaths: /dev/null in the container is not the null device");
    rmSync(join(dev, "null"));
    expect(spawnSync("mknod", ["-m", "666", join(dev, "null"), "c", "1", "3"]).status).toBe(0);
    const ok = await run(sharedDevBundle(dev, ["sh", "-c", "wc -c < /proc/version"]));
    expect(ok.stderr).toBe("");
    expect(ok.stdout.trim()).toBe("0");
    expect(readFileSync("/proc/sys/kernel/core_pattern", "utf8")).toBe(corePattern);
  });

  test("with a terminal, /dev/console is the pty, and a symlink there is refused", async () => {
    // Checked without the defence: with /dev/console opened following symlinks, the pty is
    // mounted over the container's /proc/sys/kernel/core_pattern and the run succeeds.
    const b = bundle({ args: ["sh", "-c", "stat -c '%t:%T' /dev/console $(tty)"], terminal: true });
    b.writeConfig();
    const p = Bun.spawn([buncBin(), "--root", b.root, "run", "-b", b.dir, b.id], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    p.stdin!.end();
    expect(await p.exited).toBe(0);
    const lines = (await new Response(p.stdout).text()).replace(/\r/g, "").trim().split("\n");
    expect(lines.length).toBe(2);
    expect(lines[0]).toBe(lines[1]); // same device: the pty slave is mounted on /dev/console

    const dev = tempDir("bunc-dev-");
    expect(spawnSync("mknod", ["-m", "666", join(dev, "null"), "c", "1", "3"]).status).toBe(0);
    // a path that exists in the container: followed, the pty would be mounted over a procfs file
    symlinkSync("/proc/sys/kernel/core_pattern", join(dev, "console"));
    const s = sharedDevBundle(dev, ["true"], true);
    s.writeConfig();
    const q = Bun.spawn([buncBin(), "--root", s.root, "run", "-b", s.dir, s.id], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    q.stdin!.end();
    expect(await q.exited).not.toBe(0);
    expect(await new Response(q.stderr).text()).toContain("terminal: /dev/console is a symlink: refused");
  });
});

describeRoot("CVE-2025-52881: procfs writes cannot be redirected", () => {
  test("exec's oom_score_adj reaches the process even when the container has covered /proc", async () => {
    // The container (given CAP_SYS_ADMIN) covers /proc with a tmpfs holding a decoy
    // self/oom_score_adj. Checked without the defence: with the write made through
    // open("/proc/self/oom_score_adj") after joining the container's mount namespace, the decoy
    // gets "321" and the process keeps 0.
    const b = bundle({ args: ["sh", "-c", "mount -t tmpfs none /proc && mkdir /proc/self && echo decoy > /proc/self/oom_score_adj && touch /tmp/ready && exec sleep 100"], mutate: (cfg) => {
      const c = cfg.process!.capabilities!;
      c.bounding!.push("CAP_SYS_ADMIN");
      c.effective!.push("CAP_SYS_ADMIN");
      c.permitted!.push("CAP_SYS_ADMIN");
      cfg.linux!.maskedPaths = [];
      cfg.linux!.readonlyPaths = [];
    } });
    b.writeConfig();
    await buncOk(["run", "-d", "-b", b.dir, b.id], { root: b.root });
    const { pid } = await state(b);
    await waitFor(() => existsSync(`/proc/${pid}/root/tmp/ready`));
    const procDir = tempDir("bunc-proc-");
    const procFile = join(procDir, "process.json");
    writeFileSync(procFile, JSON.stringify({ args: ["sleep", "100"], cwd: "/", env: ["PATH=/bin"], user: { uid: 0, gid: 0 }, oomScoreAdj: 321 }));
    const pidFile = join(procDir, "exec.pid");
    await buncOk(["exec", "-d", "--pid-file", pidFile, "--process", procFile, b.id], { root: b.root });
    const execPid = Number(readFileSync(pidFile, "utf8"));
    expect(readFileSync(`/proc/${execPid}/oom_score_adj`, "utf8").trim()).toBe("321");
    expect(readFileSync(`/proc/${pid}/root/proc/self/oom_score_adj`, "utf8")).toBe("decoy\n");
  });

  test("a sysctl is written to the kernel, not to what a mount put over its /proc/sys path", async () => {
    // Checked without the defence: with the sysctl written through the container's /proc
    // (open("/proc/sys/...") after pivot_root), the decoy file gets "1".
    const decoyDir = tempDir("bunc-decoy-");
    const decoy = join(decoyDir, "ip_forward");
    writeFileSync(decoy, "decoy\n");
    const b = bundle({ args: ["sleep", "100"], mutate: (cfg) => {
      cfg.linux!.readonlyPaths = [];
      cfg.mounts!.push({ destination: "/proc/sys/net/ipv4/ip_forward", type: "bind", source: decoy, options: ["bind"] });
      cfg.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
    } });
    b.writeConfig();
    await buncOk(["run", "-d", "-b", b.dir, b.id], { root: b.root });
    const { pid } = await state(b);
    const real = spawnSync("nsenter", [`--net=/proc/${pid}/ns/net`, "cat", "/proc/sys/net/ipv4/ip_forward"], { encoding: "utf8" });
    expect(real.stdout.trim()).toBe("1");
    expect(readFileSync(decoy, "utf8")).toBe("decoy\n");
  });
});
