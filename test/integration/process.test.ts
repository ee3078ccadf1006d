// Issue 4: hooks, signal forwarding, terminals, exec, and bunc's own PID 1 / pause.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Bundle } from "../helpers/bundle.ts";
import { trackPerTest } from "../helpers/tracked.ts";
import { bunc, buncBin, buncOk, describeRoot, waitFor } from "../helpers/run.ts";
import type { Hook } from "../../src/spec/types.ts";

const { bundle, tempDir } = trackPerTest();

async function state(b: Bundle) {
  return JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout);
}

function spawnBunc(b: Bundle, args: string[], stdin: "pipe" | "ignore" = "ignore") {
  return Bun.spawn([buncBin(), "--root", b.root, ...args], { stdin, stdout: "pipe", stderr: "pipe" });
}

let recvtty = "";
beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "bunc-recvtty-")); // kept for the whole file
  recvtty = join(dir, "recvtty");
  const cc = Bun.spawnSync(["gcc", "-O1", "-o", recvtty, join(import.meta.dir, "../helpers/recvtty.c")]);
  if (cc.exitCode !== 0) throw new Error(cc.stderr.toString());
});
afterAll(() => rmSync(join(recvtty, ".."), { recursive: true, force: true }));

describeRoot("hooks", () => {
  function hook(log: string, kind: string, extra = ""): Hook {
    // Each hook records its kind, the state it read on stdin and what it sees of the world.
    return { path: "/bin/sh", args: ["sh", "-c", `read -r s; echo "${kind} $s ${extra}" >> ${log}`] };
  }

  test("all six kinds run in order, each with the state on stdin, in the right namespace", async () => {
    const logDir = tempDir("bunc-hooks-");
    const log = join(logDir, "log");
    const b = bundle({ args: ["sh", "-c", "echo ran >> /hooklog/log"] });
    b.config.hostname = "hooked";
    b.config.mounts!.push({ destination: "/hooklog", type: "bind", source: logDir, options: ["bind", "rw"] });
    b.config.hooks = {
      prestart: [hook(log, "prestart")],
      createRuntime: [hook(log, "createRuntime1"), hook(log, "createRuntime2")],
      // in the container's mount and uts namespaces, before pivot_root: the rootfs's /proc is mounted
      createContainer: [{ path: "/bin/sh", args: ["sh", "-c", `read -r s; echo "createContainer $s $(hostname) $(grep -c ' ${b.rootfs}/proc ' /proc/self/mountinfo)" >> ${log}`] }],
      // inside the container, after pivot_root: paths resolve in the container
      startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "read -r s; echo \"startContainer $s $(hostname) $(ls /hooklog)\" >> /hooklog/log"] }],
      poststart: [hook(log, "poststart")],
      poststop: [hook(log, "poststop")],
    };
    b.writeConfig();
    await buncOk(["create", "-b", b.dir, b.id], { root: b.root });
    const { pid } = await state(b);
    await buncOk(["start", b.id], { root: b.root });
    await waitFor(() => readFileSync(log, "utf8").includes("\nran"), 10_000);
    await waitFor(async () => (await state(b)).status === "stopped", 10_000);
    await buncOk(["delete", b.id], { root: b.root });
    const lines = readFileSync(log, "utf8").trim().split("\n");
    const kinds = lines.map((l) => l.split(" ")[0]);
    // poststart runs after start released the process, so it may land before or after "ran"
    expect(kinds.filter((k) => k !== "ran" && k !== "poststart")).toEqual(["prestart", "createRuntime1", "createRuntime2", "createContainer", "startContainer", "poststop"]);
    expect(kinds.indexOf("poststart")).toBeGreaterThan(kinds.indexOf("startContainer"));
    expect(kinds.indexOf("poststart")).toBeLessThan(kinds.indexOf("poststop"));
    const stateOf = (k: string) => JSON.parse(lines.find((l) => l.startsWith(k + " "))!.slice(k.length + 1).match(/^\{.*\}/)![0]);
    for (const k of ["prestart", "createRuntime1", "poststart", "poststop"]) {
      const s = stateOf(k);
      expect(s.id).toBe(b.id);
      expect(s.bundle).toBe(b.dir);
      expect(s.pid).toBe(k === "poststop" ? 0 : pid);
    }
    expect(stateOf("prestart").status).toBe("creating");
    expect(stateOf("poststart").status).toBe("running");
    expect(stateOf("poststop").status).toBe("stopped");
    expect(stateOf("createContainer").status).toBe("creating");
    expect(stateOf("startContainer").status).toBe("created");
    expect(lines.find((l) => l.startsWith("createContainer"))!.endsWith(" hooked 1")).toBe(true);
    expect(lines.find((l) => l.startsWith("startContainer"))!.endsWith(" hooked log")).toBe(true);
  });

  test("a failing prestart hook aborts create, with a clear error, leaving nothing behind", async () => {
    const b = bundle({ args: ["true"] });
    b.config.hooks = { prestart: [{ path: "/bin/sh", args: ["sh", "-c", "echo broken >&2; exit 3"] }] };
    b.writeConfig();
    const r = await bunc(["create", "-b", b.dir, b.id], { root: b.root });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("prestart hook /bin/sh: exit status 3");
    expect(readdirSync(b.root)).toEqual([]);
    expect(readdirSync("/sys/fs/cgroup/memory").includes("bunc-test") ? existsSync(`/sys/fs/cgroup/memory${b.cgroupsPath}`) : false).toBe(false);
  });

  test("a hook that runs past its timeout is killed and fails the create", async () => {
    const b = bundle({ args: ["true"] });
    b.config.hooks = { createRuntime: [{ path: "/bin/sleep", args: ["sleep", "30"], timeout: 1 }] };
    b.writeConfig();
    const t0 = Date.now();
    const r = await bunc(["create", "-b", b.dir, b.id], { root: b.root });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("timed out");
    expect(Date.now() - t0).toBeLessThan(25_000); // it did not wait for the sleep (not a timing assertion of bunc's speed)
    expect(readdirSync(b.root)).toEqual([]);
  });

  test("failing createContainer and startContainer hooks abort; poststart/poststop failures only warn", async () => {
    const b = bundle({ args: ["true"] });
    b.config.hooks = { createContainer: [{ path: "/bin/false" }] };
    b.writeConfig();
    const r = await bunc(["run", "-b", b.dir, b.id], { root: b.root });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("createContainer hook /bin/false");
    expect(readdirSync(b.root)).toEqual([]);
    const s = bundle({ args: ["echo", "should not run"] });
    s.config.hooks = { startContainer: [{ path: "/bin/false" }] };
    s.writeConfig();
    const rs = await bunc(["run", "-b", s.dir, s.id], { root: s.root });
    expect(rs.code).not.toBe(0);
    expect(rs.stdout).not.toContain("should not run");
    expect(rs.stderr).toContain("startContainer hook /bin/false");
    const p = bundle({ args: ["echo", "still runs"] });
    p.config.hooks = { poststart: [{ path: "/bin/false" }], poststop: [{ path: "/bin/false" }] };
    p.writeConfig();
    const rp = await bunc(["run", "-b", p.dir, p.id], { root: p.root });
    expect(rp.code).toBe(0);
    expect(rp.stdout).toContain("still runs");
    expect(rp.stderr).toContain("warning: poststart hook /bin/false");
    expect(rp.stderr).toContain("warning: poststop hook /bin/false");
  });
});

describeRoot("signals", () => {
  const TRAPS = "trap 'echo got-USR1' USR1; trap 'echo got-HUP' HUP; trap 'echo got-INT; exit 4' INT; trap 'echo got-TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done";

  test("run in the foreground forwards signals and exits with the container's status", async () => {
    const b = bundle({ args: ["sh", "-c", TRAPS] });
    const p = spawnBunc(b, ["run", "-b", b.dir, b.id]);
    const out: string[] = [];
    const reader = (async () => {
      for await (const chunk of p.stdout) out.push(new TextDecoder().decode(chunk));
    })();
    await waitFor(() => out.join("").includes("ready"), 10_000);
    p.kill("SIGUSR1");
    await waitFor(() => out.join("").includes("got-USR1"), 10_000);
    p.kill("SIGHUP");
    await waitFor(() => out.join("").includes("got-HUP"), 10_000);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(3);
    await reader;
    expect(out.join("")).toContain("got-TERM");
  });

  test("a process that ignores SIGTERM is still killed by SIGKILL: 137", async () => {
    const b = bundle({ args: ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"] });
    const p = spawnBunc(b, ["run", "-b", b.dir, b.id]);
    await waitFor(async () => (await bunc(["state", b.id], { root: b.root })).stdout.includes('"running"'), 10_000);
    await buncOk(["kill", b.id, "TERM"], { root: b.root });
    await Bun.sleep(300);
    expect((await state(b)).status).toBe("running");
    await buncOk(["kill", b.id, "KILL"], { root: b.root });
    expect(await p.exited).toBe(137);
  });

  test("kill --all reaches every process in the container's cgroup", async () => {
    const b = bundle({ args: ["sh", "-c", "sleep 100 & sleep 100 & wait"] });
    await buncOk(["run", "-d", "-b", b.dir, b.id], { root: b.root });
    const cgroupProcs = `/sys/fs/cgroup/pids${b.cgroupsPath}/cgroup.procs`;
    await waitFor(() => readFileSync(cgroupProcs, "utf8").trim().split("\n").length === 3, 10_000);
    await buncOk(["kill", "--all", b.id, "KILL"], { root: b.root });
    await waitFor(() => readFileSync(cgroupProcs, "utf8").trim() === "", 10_000);
    expect((await state(b)).status).toBe("stopped");
  });
});

describeRoot("terminals", () => {
  test("--console-socket receives the pty master (SCM_RIGHTS); the process has it as its controlling terminal", async () => {
    const dir = tempDir("bunc-console-");
    const sock = join(dir, "console.sock");
    const recv = Bun.spawn([recvtty, sock], { stdout: "pipe", stderr: "pipe" });
    const out: string[] = [];
    const reader = (async () => {
      for await (const c of recv.stdout) out.push(new TextDecoder().decode(c));
    })();
    try {
      await waitFor(() => out.join("").includes("listening"), 10_000);
      const b = bundle({ args: ["sh", "-c", "tty; stty size; echo pgrp=$(cut -d' ' -f5,8 /proc/self/stat)"], terminal: true });
      b.config.process!.consoleSize = { height: 33, width: 99 };
      b.writeConfig();
      await buncOk(["create", "--console-socket", sock, "-b", b.dir, b.id], { root: b.root });
      await waitFor(() => out.join("").includes("received fd (/dev/ptmx)"), 10_000);
      await buncOk(["start", b.id], { root: b.root });
      await recv.exited;
      await reader;
      const text = out.join("").replace(/\r/g, "");
      expect(text).toContain("/dev/pts/0\n");
      expect(text).toContain("33 99\n");
      await buncOk(["delete", "-f", b.id], { root: b.root });
    } finally {
      recv.kill();
    }
  });

  test("run with a terminal and no console socket proxies the pty through bunc", async () => {
    const b = bundle({ args: ["sh", "-c", "tty; read x; echo got:$x"], terminal: true });
    const p = spawnBunc(b, ["run", "-b", b.dir, b.id], "pipe");
    p.stdin!.write("hello\n");
    p.stdin!.flush();
    const code = await p.exited;
    const text = (await new Response(p.stdout).text()).replace(/\r/g, "");
    expect(code).toBe(0);
    expect(text).toContain("/dev/pts/0\n");
    expect(text).toContain("got:hello\n");
  });

  test("a terminal for a detached container needs --console-socket", async () => {
    const b = bundle({ args: ["true"], terminal: true });
    for (const cmd of [["create"], ["run", "-d"]]) {
      const r = await bunc([...cmd, "-b", b.dir, b.id], { root: b.root });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("--console-socket");
      expect(readdirSync(b.root)).toEqual([]);
    }
  });

  test("without a terminal, stdio passes through unchanged (pipes stay pipes)", async () => {
    const b = bundle({ args: ["sh", "-c", "readlink /proc/self/fd/0; readlink /proc/self/fd/1"] });
    // a shell pipeline gives bunc pipes on both ends; the container must get those same pipes
    const p = Bun.spawnSync(["sh", "-c", `echo x | ${buncBin()} --root ${b.root} run -b ${b.dir} ${b.id} | cat`], { stdout: "pipe" });
    expect(p.stdout.toString()).toMatch(/^pipe:\[\d+\]\npipe:\[\d+\]\n$/);
  });
});

describeRoot("exec", () => {
  async function running(args = ["sleep", "100"], mutate?: (b: Bundle) => void): Promise<Bundle> {
    const b = bundle({ args });
    b.config.hostname = "exec-host";
    mutate?.(b);
    b.writeConfig();
    await buncOk(["run", "-d", "-b", b.dir, b.id], { root: b.root });
    return b;
  }

  test("joins every namespace and the cgroup; appears in the container's ps; status passes through", async () => {
    const b = await running();
    const { pid } = await state(b);
    const r = await bunc(["exec", b.id, "sh", "-c", "hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/mnt; ps -o args | grep -c '^sleep 100'; cat /proc/self/cgroup | grep memory; exit 7"], { root: b.root });
    expect(r.code).toBe(7);
    const [host, net, mnt, n] = r.stdout.trim().split("\n");
    expect(host).toBe("exec-host");
    expect(net).toBe(require("node:fs").readlinkSync(`/proc/${pid}/ns/net`));
    expect(mnt).toBe(require("node:fs").readlinkSync(`/proc/${pid}/ns/mnt`));
    expect(n).toBe("1");
    expect(r.stdout).toContain(`memory:${b.cgroupsPath}`);
  });

  test("--process process.json, --detach and --pid-file (containerd's form)", async () => {
    const b = await running();
    const dir = tempDir("bunc-exec-");
    const proc = { terminal: false, user: { uid: 1000, gid: 1000, additionalGids: [20] }, args: ["sh", "-c", "id > /dev/shm/id; echo $FOO > /dev/shm/env; pwd > /dev/shm/cwd; sleep 100"], env: ["PATH=/bin:/usr/bin", "FOO=bar"], cwd: "/tmp" };
    writeFileSync(join(dir, "process.json"), JSON.stringify(proc));
    const pidFile = join(dir, "exec.pid");
    await buncOk(["exec", "--process", join(dir, "process.json"), "--detach", "--pid-file", pidFile, b.id], { root: b.root });
    const epid = Number(readFileSync(pidFile, "utf8"));
    const { pid } = await state(b);
    const shm = `/proc/${pid}/root/dev/shm`;
    await waitFor(() => existsSync(`${shm}/cwd`), 10_000);
    expect(readFileSync(`${shm}/id`, "utf8")).toMatch(/^uid=1000\S* gid=1000\S* groups=20\b/);
    expect(readFileSync(`${shm}/env`, "utf8")).toBe("bar\n");
    expect(readFileSync(`${shm}/cwd`, "utf8")).toBe("/tmp\n");
    expect(require("node:fs").readlinkSync(`/proc/${epid}/ns/pid`)).toBe(require("node:fs").readlinkSync(`/proc/${pid}/ns/pid`));
    // bunc exec has exited: the detached process lives on (no death signal tied to bunc)
    await Bun.sleep(300);
    expect(readFileSync(`/proc/${epid}/cmdline`, "utf8")).toBe("sleep\u0000100\u0000");
  });

  test("flags: -e, --cwd, -u, -g, --cap, --no-new-privs; the container's rlimits are inherited", async () => {
    const b = await running(["sleep", "100"], (c) => (c.config.process!.rlimits = [{ type: "RLIMIT_NOFILE", soft: 222, hard: 333 }]));
    const r = await buncOk(
      ["exec", "-e", "A=1", "--env", "B=two", "--cwd", "/etc", "-u", "1000:1000", "-g", "10", "--cap", "CAP_SYS_ADMIN", "--no-new-privs", b.id,
        "sh", "-c", "echo $A$B; pwd; id -u; id -G; grep -E 'CapBnd|NoNewPrivs' /proc/self/status | tr -d '\\t'; ulimit -n"],
      { root: b.root },
    );
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("1two");
    expect(lines[1]).toBe("/etc");
    expect(lines[2]).toBe("1000");
    expect(lines[3]).toBe("1000 10");
    // runc spec's default bounding set (AUDIT_WRITE, KILL, NET_BIND_SERVICE) + SYS_ADMIN
    expect(lines[4]).toBe("CapBnd:0000000020200420");
    expect(lines[5]).toBe("NoNewPrivs:1");
    expect(lines[6]).toBe("222");
  });

  test("exec forwards signals in the foreground", async () => {
    const b = await running();
    const p = Bun.spawn([buncBin(), "--root", b.root, "exec", b.id, "sh", "-c", "trap 'exit 9' USR2; echo ready; while :; do sleep 0.05; done"], { stdout: "pipe" });
    const out: string[] = [];
    const reader = (async () => {
      for await (const c of p.stdout) out.push(new TextDecoder().decode(c));
    })();
    await waitFor(() => out.join("").includes("ready"), 10_000);
    p.kill("SIGUSR2");
    expect(await p.exited).toBe(9);
    await reader;
  });

  test("exec -t with a console socket", async () => {
    const b = await running();
    const dir = tempDir("bunc-exectty-");
    const sock = join(dir, "c.sock");
    const recv = Bun.spawn([recvtty, sock], { stdout: "pipe" });
    const out: string[] = [];
    const reader = (async () => {
      for await (const c of recv.stdout) out.push(new TextDecoder().decode(c));
    })();
    try {
      await waitFor(() => out.join("").includes("listening"), 10_000);
      await buncOk(["exec", "-t", "-d", "--console-socket", sock, b.id, "sh", "-c", "tty; echo exec-tty"], { root: b.root });
      await recv.exited;
      await reader;
      const text = out.join("").replace(/\r/g, "");
      expect(text).toContain("/dev/pts/");
      expect(text).toContain("exec-tty");
    } finally {
      recv.kill();
    }
  });

  test("exec into a paused or stopped container fails clearly", async () => {
    const b = await running();
    await buncOk(["pause", b.id], { root: b.root });
    const p = await bunc(["exec", b.id, "true"], { root: b.root });
    expect(p.code).not.toBe(0);
    expect(p.stderr).toContain("paused");
    await buncOk(["resume", b.id], { root: b.root });
    await buncOk(["kill", b.id, "KILL"], { root: b.root });
    await waitFor(async () => (await state(b)).status === "stopped", 10_000);
    const s = await bunc(["exec", b.id, "true"], { root: b.root });
    expect(s.code).not.toBe(0);
    expect(s.stderr).toContain("stopped");
  });

  test("a missing executable in exec names the path", async () => {
    const b = await running();
    const r = await bunc(["exec", b.id, "/nope/tool"], { root: b.root });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("/nope/tool");
  });
});

describeRoot("built-in init and pause", () => {
  test("--init: PID 1 is bunc-init, zombies are reaped, exit status passes through", async () => {
    const b = bundle({ args: ["sh", "-c", "(sleep 0.2 &); sleep 1; ps -o stat,pid,args; cat /proc/1/cmdline | tr '\\0' ' '; echo; exit 5"] });
    const r = await bunc(["run", "--init", "-b", b.dir, b.id], { root: b.root });
    expect(r.code).toBe(5);
    const lines = r.stdout.trim().split("\n");
    expect(lines.filter((l) => /^\s*Z/.test(l))).toEqual([]);
    expect(lines.at(-1)).toStartWith("bunc-init init ");
  });

  test("the run.bunc.init annotation gives the same init; a signal reaches the child", async () => {
    const b = bundle({ args: ["sh", "-c", "trap 'echo usr1 > /dev/shm/got' USR1; while :; do sleep 0.05; done"] });
    b.config.annotations = { "run.bunc.init": "true" };
    b.writeConfig();
    await buncOk(["run", "-d", "-b", b.dir, b.id], { root: b.root });
    const { pid } = await state(b);
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]).toBe("bunc-init");
    await Bun.sleep(200);
    await buncOk(["kill", b.id, "USR1"], { root: b.root });
    await waitFor(() => existsSync(`/proc/${pid}/root/dev/shm/got`), 10_000);
  });

  test("run.bunc.pause: the process is bunc's pause; it exits 0 on SIGTERM", async () => {
    const b = bundle({ args: ["/this/is/ignored"] });
    b.config.annotations = { "run.bunc.pause": "true" };
    b.writeConfig();
    const p = spawnBunc(b, ["run", "-b", b.dir, b.id]);
    await waitFor(async () => (await bunc(["state", b.id], { root: b.root })).stdout.includes('"running"'), 10_000);
    const { pid } = await state(b);
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, 2)).toEqual(["bunc-init", "pause"]);
    const rss = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/)![1];
    console.log(`pause RSS: ${rss} kB`);
    await buncOk(["kill", b.id, "TERM"], { root: b.root });
    expect(await p.exited).toBe(0);
  });
});
