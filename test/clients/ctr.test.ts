// containerd's `ctr` with bunc as the runc v2 shim's runtime (`--runc-binary`, through the
// logging wrapper), against a private containerd. Each test checks what really happened: exit
// statuses, the container's processes and cgroup files, containerd's events.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Containerd, containerdUnavailable, IMAGE, startContainerd } from "./containerd.ts";
import { alive, cgroupHierarchies, cmd, hasCommand } from "./host.ts";
import { cliRejections, unimplementedUses, usageSummary } from "./runtime-calls.ts";

const unavailable = containerdUnavailable();
if (unavailable) console.warn(`skipping the ctr tests: ${unavailable}`);

/** Lines a terminal showed, without CRs and the `^@` echo of the EOF that script(1) passes on. */
const terminalLines = (out: string) => out.replaceAll("\r", "").replaceAll("^@", "").trim().split("\n");

let n = 0;
const newId = (what: string) => `${what}-${process.pid}-${++n}`;

describe.skipIf(!!unavailable)("ctr with bunc", () => {
  let ctd: Containerd;

  beforeAll(async () => {
    ctd = await startContainerd();
  }, 120_000);

  afterAll(async () => {
    await ctd?.stop();
    if (ctd) expect(existsSync(ctd.dir)).toBe(false);
  }, 120_000);

  const run = (id: string, args: string[], flags: string[] = []) => ctd.ctr(["run", ...flags, ...ctd.runFlags(id), IMAGE, id, ...args]);

  /** `ctr run -d`, returning the task's host pid. */
  async function runDetached(id: string, args: string[], flags: string[] = []): Promise<number> {
    const r = await run(id, args, ["-d", ...flags]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return taskPid(id);
  }

  async function taskPid(id: string): Promise<number> {
    const ls = await ctd.ctr(["task", "ls"]);
    const line = ls.stdout.split("\n").find((l) => l.split(/\s+/)[0] === id);
    if (!line) throw new Error(`task ${id} not in ctr task ls:\n${ls.stdout}`);
    return Number(line.split(/\s+/)[1]);
  }

  async function taskStatus(id: string): Promise<string> {
    const ls = await ctd.ctr(["task", "ls"]);
    return ls.stdout.split("\n").find((l) => l.split(/\s+/)[0] === id)?.split(/\s+/)[2] ?? "";
  }

  /** Kill (if needed) and remove a detached container and its task. */
  async function remove(id: string): Promise<void> {
    await ctd.ctr(["task", "kill", "-s", "SIGKILL", id]);
    await ctd.ctr(["task", "delete", "-f", id]);
    const r = await ctd.ctr(["container", "delete", id]);
    expect(r.stderr).toBe("");
  }

  /**
   * `ctr run` in the foreground, in the background of the test: it waits for the task and exits
   * with its status. Resolves once the task runs, with its pid and the eventual exit status.
   */
  async function runForeground(id: string, args: string[]): Promise<{ pid: number; exited: Promise<number> }> {
    const exited = run(id, args).then((r) => {
      if (r.stderr) throw new Error(`ctr run ${id}: ${r.stderr}`);
      return r.code;
    });
    for (let i = 0; ; i++) {
      if ((await taskStatus(id)) === "RUNNING") return { pid: await taskPid(id), exited };
      if (i > 300) throw new Error(`task ${id} did not start`);
      await Bun.sleep(50);
    }
  }

  /** The container's cgroup dir in a v1 controller (or the v2 hierarchy). */
  const cgroupDir = (id: string, controller: string) => {
    const hs = cgroupHierarchies();
    const h = hs.length === 1 ? hs[0]! : hs.find((x) => x.split("/").pop()!.split(",").includes(controller))!;
    return join(h, ctd.cgroupPrefix, id);
  };

  test("run --rm: output and the exit status pass through", async () => {
    const id = newId("rm");
    const r = await run(id, ["sh", "-c", "echo out; echo err >&2; exit 3"], ["--rm"]);
    expect(r.stdout).toBe("out\n");
    expect(r.stderr).toBe("err\n");
    expect(r.code).toBe(3);
    expect((await ctd.ctr(["container", "ls", "-q"])).stdout).not.toContain(id);
    const ok = await run(newId("rm"), ["true"], ["--rm"]);
    expect(ok.code).toBe(0);
  }, 60_000);

  test("run -d, then task exec without and with a terminal", async () => {
    const id = newId("exec");
    const pid = await runDetached(id, ["sleep", "100000"]);
    try {
      expect(alive(pid)).toBe(true);
      const plain = await ctd.ctr(["task", "exec", ...ctd.execFlags(), "--exec-id", "plain", id, "sh", "-c", "echo hello; test -t 0 || echo no-tty; exit 5"]);
      expect(plain.stdout).toBe("hello\nno-tty\n");
      expect(plain.code).toBe(5);
      // The shim always runs `exec --detach`: the process must outlive that bunc call.
      const late = await ctd.ctr(["task", "exec", ...ctd.execFlags(), "--exec-id", "late", id, "sh", "-c", "sleep 0.5; echo late; exit 6"]);
      expect(`${late.stdout}/${late.code}`).toBe("late\n/6");

      // --tty needs ctr's own stdin to be a terminal: script(1) gives it one.
      expect(hasCommand("script")).toBe(true);
      const ctrArgv = ["ctr", "--address", ctd.socket, "--namespace", "test", "task", "exec", ...ctd.execFlags(), "--tty", "--exec-id", "tty", id, "sh", "-c", "tty; test -t 0 && test -t 1 && echo stdio-is-tty; exit 4"];
      const tty = await cmd(["script", "-qefc", ctrArgv.map((a) => `'${a}'`).join(" "), "/dev/null"], { stdin: "" });
      const lines = terminalLines(tty.stdout);
      expect(lines[0]).toMatch(/^\/dev\/pts\/\d+$/);
      expect(lines[1]).toBe("stdio-is-tty");
      expect(tty.code).toBe(4);
      // The exec went through bunc with a console socket (and the plain one without).
      const execs = ctd.invocations().filter((c) => c.command === "exec" && c.positional.includes(id));
      expect(execs.length).toBe(3);
      expect(execs.map((c) => c.flags["console-socket"] !== undefined).sort()).toEqual([false, false, true]);
      expect(alive(pid)).toBe(true);
    } finally {
      await remove(id);
    }
  }, 60_000);

  test("run --rm --tty: the container's stdio is a terminal (create --console-socket)", async () => {
    const id = newId("tty");
    const ctrArgv = ["ctr", "--address", ctd.socket, "--namespace", "test", "run", "--rm", "--tty", ...ctd.runFlags(id), IMAGE, id, "sh", "-c", "tty; test -t 0 && test -t 1 && echo stdio-is-tty; exit 6"];
    const r = await cmd(["script", "-qefc", ctrArgv.map((a) => `'${a}'`).join(" "), "/dev/null"], { stdin: "" });
    const lines = terminalLines(r.stdout);
    expect(lines[0]).toMatch(/^\/dev\/pts\/\d+$/);
    expect(lines[1]).toBe("stdio-is-tty");
    expect(r.code).toBe(6);
    const create = ctd.invocations().find((c) => c.command === "create" && c.positional.includes(id));
    expect(create?.flags["console-socket"]).toBeDefined();
  }, 60_000);

  test("task kill: SIGTERM (ignored by the process) then SIGKILL gives 137", async () => {
    const id = newId("kill");
    // PID 1 of a pid namespace only gets signals it has a handler for; `trap '' TERM` makes the
    // ignore explicit, so the TERM must not end it and the KILL must.
    const { pid, exited } = await runForeground(id, ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]);
    try {
      expect((await ctd.ctr(["task", "kill", "-s", "SIGTERM", id])).code).toBe(0);
      await Bun.sleep(1500);
      expect(alive(pid)).toBe(true);
      expect(await taskStatus(id)).toBe("RUNNING");
      expect((await ctd.ctr(["task", "kill", "-s", "SIGKILL", id])).code).toBe(0);
      expect(await exited).toBe(137);
      const kills = ctd.invocations().filter((c) => c.command === "kill" && c.positional[0] === id).map((c) => c.positional[1]);
      expect(kills.slice(0, 2)).toEqual(["15", "9"]);
    } finally {
      await remove(id);
    }
  }, 60_000);

  test("a process with a TERM handler ends with its own status on task kill", async () => {
    const id = newId("term");
    const { exited } = await runForeground(id, ["sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.1; done"]);
    try {
      expect((await ctd.ctr(["task", "kill", id])).code).toBe(0);
      expect(await exited).toBe(42);
    } finally {
      await remove(id);
    }
  }, 60_000);

  test("task pause and resume freeze and thaw the container's cgroup", async () => {
    const id = newId("pause");
    const pid = await runDetached(id, ["sh", "-c", "while :; do sleep 0.1; done"]);
    try {
      const pause = await ctd.ctr(["task", "pause", id]);
      expect(pause.stderr).toBe("");
      expect(pause.code).toBe(0);
      expect(await taskStatus(id)).toBe("PAUSED");
      const v2 = cgroupHierarchies().length === 1;
      const freezer = v2 ? join(cgroupDir(id, "freezer"), "cgroup.freeze") : join(cgroupDir(id, "freezer"), "freezer.state");
      expect(readFileSync(freezer, "utf8").trim()).toBe(v2 ? "1" : "FROZEN");
      expect(readFileSync(`/proc/${pid}/stat`, "latin1")).toMatch(/\) [SD] /); // frozen tasks sleep in the freezer
      const resume = await ctd.ctr(["task", "resume", id]);
      expect(resume.stderr).toBe("");
      expect(resume.code).toBe(0);
      expect(await taskStatus(id)).toBe("RUNNING");
      expect(readFileSync(freezer, "utf8").trim()).toBe(v2 ? "0" : "THAWED");
    } finally {
      await remove(id);
    }
  }, 60_000);

  test("task ps lists the container's processes by host pid", async () => {
    const id = newId("ps");
    const pid = await runDetached(id, ["sh", "-c", "sleep 100000 & sleep 100001 & wait"]);
    try {
      const r = await ctd.ctr(["task", "ps", id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const pids = r.stdout.split("\n").slice(1).filter(Boolean).map((l) => Number(l.split(/\s+/)[0]));
      expect(pids).toContain(pid);
      expect(pids.length).toBe(3);
      for (const p of pids) expect(readFileSync(`/proc/${p}/cmdline`, "latin1")).toMatch(/^(sh|sleep)\0/);
    } finally {
      await remove(id);
    }
  }, 60_000);

  test("task metrics reads the container's cgroup (memory limit, pids)", async () => {
    const id = newId("metrics");
    const limit = 64 * 1024 * 1024;
    await runDetached(id, ["sh", "-c", "sleep 100000 & wait"], ["--memory-limit", String(limit)]);
    try {
      const r = await ctd.ctr(["task", "metrics", id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const rows = Object.fromEntries(r.stdout.split("\n").map((l) => l.trim().split(/\s+/)).filter((c) => c.length === 2) as [string, string][]);
      const v2 = cgroupHierarchies().length === 1;
      if (v2) {
        expect(Number(rows["memory.usage_limit"])).toBe(limit);
        expect(Number(rows["pids.current"])).toBe(2);
      } else {
        expect(Number(rows["memory.limit_in_bytes"])).toBe(limit);
        expect(Number(rows["memory.usage_in_bytes"])).toBeGreaterThan(0);
        expect(Number(rows["pids.current"])).toBe(2);
      }
    } finally {
      await remove(id);
    }
  }, 60_000);

  test("--memory-limit: a container that allocates past it is OOM-killed, 137 and a /tasks/oom event", async () => {
    const id = newId("oom");
    const events = Bun.spawn(["ctr", "--address", ctd.socket, "events"], { stdout: "pipe", stderr: "ignore" });
    let seen = "";
    const reader = (async () => {
      for await (const chunk of events.stdout) seen += new TextDecoder().decode(chunk);
    })();
    try {
      await Bun.sleep(300); // subscribed before the container starts
      const r = await run(id, ["sh", "-c", "x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done"], ["--rm", "--memory-limit", String(32 * 1024 * 1024)]);
      expect(r.code).toBe(137);
      for (let i = 0; i < 50 && !/\/tasks\/oom/.test(seen); i++) await Bun.sleep(100);
      const oom = seen.split("\n").filter((l) => l.includes("/tasks/oom"));
      expect(oom.length).toBeGreaterThan(0);
      expect(oom.join("\n")).toContain(id);
    } finally {
      events.kill();
      await events.exited;
      await reader.catch(() => {});
    }
  }, 60_000);

  test("every runtime call containerd made is one bunc implements, and none was refused", () => {
    const calls = ctd.invocations();
    const used = usageSummary(calls);
    for (const c of ["create", "start", "exec", "kill", "delete", "pause", "resume", "ps"]) expect(Object.keys(used)).toContain(c);
    expect(unimplementedUses(calls)).toEqual([]);
    expect(cliRejections(ctd.runtimeLogs())).toEqual([]);
    expect(cliRejections(ctd.log())).toEqual([]);
  });
});
