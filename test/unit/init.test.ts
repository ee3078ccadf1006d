// bunc-init (native/init.c) run directly, without bunc: its exec trampoline, its PID 1
// ("init", "init-pgrp") and its pause. Each init/pause behaviour is checked twice: started
// plainly (so it is a child subreaper) and as the PID 1 of a new PID namespace (unshare).
//
// Signals are sent only once the receiver has them blocked (SigBlk in /proc) or the child
// says it is ready, so nothing here depends on timing; waits are bounded polls for a state.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRoot, REPO_ROOT, waitFor } from "../helpers/run";

/** BUNC_TEST_INIT runs the tests against another build (e.g. a musl one) instead of building. */
const INIT = process.env.BUNC_TEST_INIT ?? join(REPO_ROOT, "build/bunc-init");
const TEST_TIMEOUT = 30_000;
const ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };

type Proc = ReturnType<typeof Bun.spawn>;
type Placement = "subreaper" | "pid1";

beforeAll(() => {
  if (process.env.BUNC_TEST_INIT) return;
  // make is a no-op when the binary is up to date; without make, build it the way the Makefile does.
  const make = Bun.which("make")
    ? Bun.spawnSync(["make", "-s", "build/bunc-init"], { cwd: REPO_ROOT, stderr: "pipe" })
    : undefined;
  if (make?.exitCode === 0) return;
  mkdirSync(join(REPO_ROOT, "build"), { recursive: true });
  const gcc = Bun.spawnSync(
    ["gcc", "-Os", "-g0", "-static", "-Wall", "-Wextra", "-D_GNU_SOURCE", "-s", "-o", INIT, join(REPO_ROOT, "native/init.c")],
    { stderr: "pipe" },
  );
  if (gcc.exitCode !== 0)
    throw new Error(`cannot build ${INIT}: ${make?.stderr.toString() ?? ""}${gcc.stderr.toString()}`);
});

// ---- process bookkeeping: every process a test starts is ended by PID, even on failure ----

const started = new Set<Proc>();
/** Processes learned from a pid file (orphans), with the cmdline they had, to not kill a reused PID. */
const learned: { pid: number; cmdline: string }[] = [];
const tempDirs: string[] = [];

afterEach(() => {
  for (const proc of started) if (proc.exitCode === null && proc.signalCode === null) killTree(proc.pid);
  started.clear();
  for (const { pid, cmdline } of learned) if (readOr(`/proc/${pid}/cmdline`, "") === cmdline) signal(pid, "SIGKILL");
  learned.length = 0;
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.length = 0;
});

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** ppid of every process on the host, from /proc/PID/stat (the comm field may hold spaces). */
function parentsByPid(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readOr(`/proc/${name}/stat`, "");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields.length > 1) parents.set(Number(name), Number(fields[1]));
  }
  return parents;
}

function treeOf(root: number): number[] {
  const parents = parentsByPid();
  const tree = [root];
  for (let i = 0; i < tree.length; i++)
    for (const [pid, ppid] of parents) if (ppid === tree[i] && !tree.includes(pid)) tree.push(pid);
  return tree;
}

/** Stop the whole tree (twice, to catch a fork in between), then kill every member by PID. */
function killTree(root: number): void {
  for (let round = 0; round < 2; round++) for (const pid of treeOf(root)) signal(pid, "SIGSTOP");
  for (const pid of treeOf(root)) signal(pid, "SIGKILL");
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "bunc-init-test-"));
  tempDirs.push(dir);
  return dir;
}

// ---- starting bunc-init ----

interface Launched {
  proc: Proc;
  /**
   * The PID (in our namespace) of bunc-init itself: the unshare'd child for "pid1", found
   * only when asked for (a short-lived one may be gone before we look), else 0.
   */
  initPid: number;
  stdout: Promise<string>;
  stderr: Promise<string>;
}

async function launch(
  placement: Placement,
  args: string[],
  { env = ENV, findInit = true }: { env?: Record<string, string>; findInit?: boolean } = {},
): Promise<Launched> {
  const argv =
    placement === "pid1" ? ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", INIT, ...args] : [INIT, ...args];
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env });
  started.add(proc);
  const stdout = new Response(proc.stdout as ReadableStream).text();
  const stderr = new Response(proc.stderr as ReadableStream).text();
  const initPid =
    placement === "subreaper"
      ? proc.pid
      : findInit
        ? await waitFor(() => execedChildOf(proc.pid), 10_000, "unshare's child runs bunc-init")
        : 0;
  return { proc, initPid, stdout, stderr };
}

/** Guard before joining a namespace by PID: it must really be a new one, not ours. */
function inOtherPidNamespace(pid: number): boolean {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`) !== readlinkSync("/proc/self/ns/pid");
  } catch {
    return false;
  }
}

/** unshare's only child, once it has exec'd bunc-init. */
function execedChildOf(pid: number): number | undefined {
  const kids = readOr(`/proc/${pid}/task/${pid}/children`, "").trim().split(/\s+/).filter(Boolean).map(Number);
  if (kids.length !== 1) return undefined;
  return readOr(`/proc/${kids[0]}/cmdline`, "").split("\0")[0] === INIT ? kids[0] : undefined;
}

async function finish(l: Launched): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  await l.proc.exited;
  return { code: l.proc.exitCode, signal: l.proc.signalCode === null ? null : String(l.proc.signalCode), stdout: await l.stdout, stderr: await l.stderr };
}

/** Run bunc-init to completion. */
async function runInit(placement: Placement, args: string[], env?: Record<string, string>) {
  return finish(await launch(placement, args, { env, findInit: false }));
}

/**
 * Has bunc-init blocked its signals yet (from then on a signal is queued for it, not fatal)?
 * SigBlk shows them, except while it sits in sigwaitinfo: the kernel then moves the waited
 * set out of SigBlk for the duration (and still keeps those signals from killing it), so
 * being in that wait counts too.
 */
function signalsBlocked(pid: number): boolean {
  const sigBlk = readOr(`/proc/${pid}/status`, "").match(/^SigBlk:\s*([0-9a-f]+)$/m)?.[1] ?? "0";
  const SYS_rt_sigtimedwait_x86_64 = "128";
  return (
    BigInt(`0x${sigBlk}`) !== 0n ||
    readOr(`/proc/${pid}/wchan`, "").includes("sigtimedwait") ||
    (process.arch === "x64" && readOr(`/proc/${pid}/syscall`, "").split(" ")[0] === SYS_rt_sigtimedwait_x86_64)
  );
}

async function untilSignalsBlocked(pid: number): Promise<void> {
  await waitFor(() => signalsBlocked(pid), 10_000, `bunc-init ${pid} blocks its signals`);
}

function vmRssKb(pid: number): string {
  return readOr(`/proc/${pid}/status`, "").match(/^VmRSS:\s*(\d+ kB)$/m)?.[1] ?? "?";
}

const lines = (path: string) => readOr(path, "").split("\n").filter(Boolean);
const isReady = (dir: string, name = "ready") => readOr(join(dir, name), "") === "ready\n";

// ---- shell scripts run as the container's program ($1 is a temp dir) ----

/** Shell: the fields of a /proc/PID/stat line $l after "PID (comm) ", so $1 is the state, $2 ppid, $3 pgrp. */
const STAT_FIELDS = "${l##*) }";

/**
 * Double-fork an orphan (a middle shell starts it and exits at once), report who adopted it,
 * let it exit by itself (it blocks opening a fifo until we write it), then wait for it to be
 * reaped: a zombie nobody reaps would stay in /proc and fail the bounded wait. Then report our
 * own parent (an init that exits on the orphan's death instead of its main child's shows), and
 * list any zombie child of the orphan's adopter.
 */
const ORPHAN_SCRIPT = String.raw`
d=$1
mkfifo "$d/go"
sh -c 'sh -c "read x < \"\$1/go\"" sh "$1" </dev/null >/dev/null 2>&1 & echo $! > "$1/orphan"' sh "$d"
o=$(cat "$d/orphan")
adopter=$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$o/status)
echo "orphan $o adopted-by $adopter"
echo go > "$d/go"
i=0
while [ -e /proc/$o ]; do
  i=$((i + 1))
  if [ $i -gt 300 ]; then read -r l < /proc/$o/stat; echo "not-reaped: $l"; exit 1; fi
  sleep 0.05
done
echo reaped
echo "my-parent $(sed -n 's/^PPid:[[:space:]]*//p' /proc/$$/status)"
for f in /proc/[0-9]*/stat; do
  read -r l < $f 2>/dev/null || continue
  set -- ${STAT_FIELDS}
  if [ "$1" = Z ] && [ "$2" = "$adopter" ]; then echo "zombie: $l"; fi
done
echo done
`;

const FORWARDED = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGCONT", "SIGTSTP", "SIGURG", "SIGWINCH"] as const;
const NOT_FORWARDED = ["SIGTTIN", "SIGTTOU"] as const;

/** Records every trapped signal's name in $1/got; exits 9 on SIGTERM. */
const TRAP_SCRIPT = `
d=$1
for s in ${[...FORWARDED, ...NOT_FORWARDED].map((s) => s.slice(3)).join(" ")}; do trap "echo SIG$s >> '$d/got'" $s; done
trap 'echo SIGTERM >> "$d/got"; exit 9' TERM
echo ready > "$d/ready"
while :; do sleep 0.05; done
`;

/**
 * A child with a grandchild in its process group. The child relays SIGUSR1 to the grandchild
 * as SIGUSR2. The grandchild's traps run in signal-number order, so when its file shows USR2,
 * a USR1 sent to the whole group (which came first) is already recorded before it.
 */
const GROUP_SCRIPT = String.raw`
d=$1
sh -c '
  trap "echo SIGUSR1 >> \"$1/grandchild\"" USR1
  trap "echo SIGUSR2 >> \"$1/grandchild\"; exit 0" USR2
  echo ready > "$1/grandchild-ready"
  while :; do sleep 0.05; done' sh "$d" &
gc=$!
trap 'echo SIGUSR1 >> "$d/child"; kill -USR2 $gc' USR1
trap 'exit 5' TERM
echo ready > "$d/ready"
while :; do sleep 0.05; done
`;

/** Prints "pid P pgrp G initpgrp I initfds 0,1,2," for the child and its parent (bunc-init). */
const IDENTITY_SCRIPT = String.raw`
read -r l < /proc/$$/stat; set -- ${STAT_FIELDS}; me=$3
read -r l < /proc/$PPID/stat; set -- ${STAT_FIELDS}; init=$3
echo "pid $$ pgrp $me initpgrp $init initfds $(ls /proc/$PPID/fd | tr '
' ,)"
`;

// ---- exec mode ----

describe("bunc-init exec", () => {
  test("runs PATH with exactly the given argv, argv[0] included", async () => {
    const r = await runInit("subreaper", ["exec", "/bin/cat", "not-cat", "/proc/self/cmdline"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("not-cat\0/proc/self/cmdline\0");
  }, TEST_TIMEOUT);

  test("passes exactly the given environment", async () => {
    const env = { A: "1", B: "two words", EMPTY: "", "WITH=EQUALS": "x=y" };
    const r = await runInit("subreaper", ["exec", "/bin/cat", "cat", "/proc/self/environ"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("A=1\0B=two words\0EMPTY=\0WITH=EQUALS=x=y\0");
  }, TEST_TIMEOUT);

  test("is a trampoline: the program replaces bunc-init in the same process", async () => {
    const l = await launch("subreaper", ["exec", "/bin/sh", "sh", "-c", "echo $$"]);
    const r = await finish(l);
    expect(r.stdout.trim()).toBe(String(l.initPid));
  }, TEST_TIMEOUT);

  test("the exit status is the program's", async () => {
    expect((await runInit("subreaper", ["exec", "/bin/sh", "sh", "-c", "exit 3"])).code).toBe(3);
    const killed = await runInit("subreaper", ["exec", "/bin/sh", "sh", "-c", "kill -KILL $$"]);
    expect(killed.signal).toBe("SIGKILL");
  }, TEST_TIMEOUT);

  test("a missing program exits 127, a non-executable one 126, with the reason", async () => {
    const dir = tempDir();
    const missing = await runInit("subreaper", ["exec", join(dir, "missing"), "x"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toBe(`bunc-init: exec ${join(dir, "missing")}: No such file or directory\n`);

    const plain = join(dir, "not-executable");
    writeFileSync(plain, "#!/bin/sh\n");
    chmodSync(plain, 0o644);
    const noExec = await runInit("subreaper", ["exec", plain, "x"]);
    expect(noExec.code).toBe(126);
    expect(noExec.stderr).toBe(`bunc-init: exec ${plain}: Permission denied\n`);

    const garbage = join(dir, "garbage");
    writeFileSync(garbage, "\x01\x02\x03 not a program\n");
    chmodSync(garbage, 0o755);
    const noFormat = await runInit("subreaper", ["exec", garbage, "x"]);
    expect(noFormat.code).toBe(126);
    expect(noFormat.stderr).toBe(`bunc-init: exec ${garbage}: Exec format error\n`);
  }, TEST_TIMEOUT);

  test("misuse exits 2 with a usage line", async () => {
    const none = await runInit("subreaper", []);
    expect(none.code).toBe(2);
    expect(none.stderr).toStartWith("bunc-init: usage: ");
    const noArgs = await runInit("subreaper", ["exec", "/bin/true"]);
    expect(noArgs.code).toBe(2);
    const unknown = await runInit("subreaper", ["bogus", "/bin/true", "true"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("bunc-init: unknown mode bogus (want exec, init, init-pgrp or pause)\n");
  }, TEST_TIMEOUT);
});

// ---- init and init-pgrp, plainly (a subreaper) and as PID 1 ----

const placements: Placement[] = isRoot() ? ["subreaper", "pid1"] : ["subreaper"];

describe.each(placements)("bunc-init init (%s)", (placement) => {
  test("argv and environment reach the program unchanged", async () => {
    const env = { ONLY: "this", PATH: "/bin" };
    const args = await runInit(placement, ["init", "/bin/cat", "kitty", "/proc/self/cmdline"], env);
    expect(args.stdout).toBe("kitty\0/proc/self/cmdline\0");
    const environ = await runInit(placement, ["init", "/bin/cat", "cat", "/proc/self/environ"], env);
    expect(environ.stdout).toBe("ONLY=this\0PATH=/bin\0");
  }, TEST_TIMEOUT);

  test("exits with the child's status: its code, or 128+signal", async () => {
    expect((await runInit(placement, ["init", "/bin/sh", "sh", "-c", "exit 3"])).code).toBe(3);
    expect((await runInit(placement, ["init", "/bin/sh", "sh", "-c", "kill -KILL $$"])).code).toBe(137);
    expect((await runInit(placement, ["init", "/bin/sh", "sh", "-c", "kill -TERM $$"])).code).toBe(143);
  }, TEST_TIMEOUT);

  test("a program that cannot be run: 127 and the reason", async () => {
    const r = await runInit(placement, ["init", "/nonexistent/program", "x"]);
    expect(r.code).toBe(127);
    expect(r.stderr).toBe("bunc-init: exec /nonexistent/program: No such file or directory\n");
  }, TEST_TIMEOUT);

  test("the child leads its own process group; bunc-init holds only the fds it was given", async () => {
    const r = await runInit(placement, ["init", "/bin/sh", "sh", "-c", IDENTITY_SCRIPT]);
    expect(r.code).toBe(0);
    const m = r.stdout.match(/^pid (\d+) pgrp (\d+) initpgrp (\d+) initfds (\S+)$/m);
    expect(m).not.toBeNull();
    const [, pid, pgrp, initPgrp, initFds] = m!;
    expect(pgrp).toBe(pid);
    expect(initPgrp).not.toBe(pid);
    expect(initFds).toBe("0,1,2,");
  }, TEST_TIMEOUT);

  test("the child gets the same fds as without init (none leaked)", async () => {
    // ls's own directory fd takes the lowest free number, so a leaked fd would show as two more.
    const listing = ["/bin/ls", "ls", "/proc/self/fd"];
    const direct = await runInit("subreaper", ["exec", ...listing]);
    const underInit = await runInit(placement, ["init", ...listing]);
    expect(direct.stdout).toBe("0\n1\n2\n3\n");
    expect(underInit.stdout).toBe(direct.stdout);
  }, TEST_TIMEOUT);

  test("reaps an orphaned grandchild: it is adopted by bunc-init and leaves no zombie", async () => {
    const dir = tempDir();
    const l = await launch(placement, ["init", "/bin/sh", "sh", "-c", ORPHAN_SCRIPT, "sh", dir], { findInit: false });
    if (placement === "subreaper") {
      const orphan = Number(await waitFor(() => readOr(join(dir, "orphan"), "").trim(), 10_000, "orphan pid file"));
      learned.push({ pid: orphan, cmdline: readOr(`/proc/${orphan}/cmdline`, "") });
    }
    const r = await finish(l);
    const initPid = placement === "pid1" ? 1 : l.initPid;
    expect(r.stdout).toMatch(new RegExp(`^orphan \\d+ adopted-by ${initPid}$`, "m"));
    expect(r.stdout).toContain(`reaped\nmy-parent ${initPid}\n`);
    expect(r.stdout).not.toContain("zombie:");
    expect(r.stdout).toEndWith("done\n");
    expect(r.code).toBe(0);
  }, TEST_TIMEOUT);

  test("forwards each signal it receives to the child and outlives it", async () => {
    const dir = tempDir();
    const l = await launch(placement, ["init", "/bin/sh", "sh", "-c", TRAP_SCRIPT, "sh", dir]);
    await waitFor(() => isReady(dir), 10_000, "child ready");
    const got = join(dir, "got");
    for (const sig of FORWARDED) {
      signal(l.initPid, sig);
      await waitFor(() => lines(got).includes(sig), 10_000, `child got ${sig}`);
      expect(existsSync(`/proc/${l.initPid}`)).toBe(true);
    }
    // SIGTTIN/SIGTTOU are dropped. SIGWINCH has a higher number, so bunc-init dequeues it after
    // them, and the child's shell runs traps in number order: were they forwarded, they would
    // be in the file before SIGWINCH.
    for (const sig of NOT_FORWARDED) signal(l.initPid, sig);
    const before = lines(got).length;
    signal(l.initPid, "SIGWINCH");
    await waitFor(() => lines(got).length > before, 10_000, "child got SIGWINCH again");
    signal(l.initPid, "SIGTERM");
    const r = await finish(l);
    expect(lines(got)).toEqual([...FORWARDED, "SIGWINCH", "SIGTERM"]);
    expect(r.code).toBe(9);
  }, TEST_TIMEOUT);

  if (placement === "pid1") {
    test("as PID 1, a signal sent to it from inside its namespace is forwarded too", async () => {
      const r = await runInit(placement, [
        "init",
        "/bin/sh",
        "sh",
        "-c",
        // the PPID check keeps `kill 1` from ever reaching the host's PID 1
        '[ "$PPID" = 1 ] || exit 99; trap "echo got; exit 4" USR1; kill -USR1 1; while :; do sleep 0.05; done',
      ]);
      expect(r.stdout).toBe("got\n");
      expect(r.code).toBe(4);
    }, TEST_TIMEOUT);
  }

  for (const mode of ["init", "init-pgrp"] as const) {
    test(`${mode}: a signal reaches ${mode === "init" ? "the child only" : "the child's whole process group"}`, async () => {
      const dir = tempDir();
      const l = await launch(placement, [mode, "/bin/sh", "sh", "-c", GROUP_SCRIPT, "sh", dir]);
      await waitFor(() => isReady(dir) && isReady(dir, "grandchild-ready"), 10_000, "child and grandchild ready");
      signal(l.initPid, "SIGUSR1");
      await waitFor(() => lines(join(dir, "grandchild")).includes("SIGUSR2"), 10_000, "grandchild got the relayed SIGUSR2");
      expect(lines(join(dir, "child"))).toEqual(["SIGUSR1"]);
      expect(lines(join(dir, "grandchild"))).toEqual(mode === "init" ? ["SIGUSR2"] : ["SIGUSR1", "SIGUSR2"]);
      signal(l.initPid, "SIGTERM");
      expect((await finish(l)).code).toBe(5);
    }, TEST_TIMEOUT);
  }
});

describe("bunc-init init with a terminal", () => {
  test("the child's process group becomes the terminal's foreground", async () => {
    // script(1) gives bunc-init a pty as its controlling terminal and stdin.
    const inner = String.raw`read -r l < /proc/$$/stat; set -- ${STAT_FIELDS}; echo "pid $$ pgrp $3 tpgid $6"`;
    const command = `${INIT} init /bin/sh sh -c '${inner}'`;
    const proc = Bun.spawn(["script", "-qec", command, "/dev/null"], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: ENV });
    started.add(proc);
    const out = await new Response(proc.stdout as ReadableStream).text();
    expect(await proc.exited).toBe(0);
    const m = out.match(/pid (\d+) pgrp (\d+) tpgid (\d+)/);
    expect(m).not.toBeNull();
    expect(m![2]).toBe(m![1]);
    expect(m![3]).toBe(m![1]);
  }, TEST_TIMEOUT);
});

// ---- pause ----

describe.each(placements)("bunc-init pause (%s)", (placement) => {
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    test(`exits 0 on ${sig}`, async () => {
      const l = await launch(placement, ["pause"]);
      await untilSignalsBlocked(l.initPid);
      signal(l.initPid, sig);
      const r = await finish(l);
      expect(r.code).toBe(0);
      expect(r.signal).toBeNull();
    }, TEST_TIMEOUT);
  }

  if (placement === "pid1") {
    test("as PID 1, exits 0 on a SIGTERM sent from inside its namespace", async () => {
      // A namespace's PID 1 gets no signal from inside that it leaves at SIG_DFL; blocked
      // ones are queued, which is what lets `kill 1` in the container stop it.
      const l = await launch(placement, ["pause"]);
      await untilSignalsBlocked(l.initPid);
      const joiner = joinNamespaceOf(l.initPid, ["/bin/sh", "-c", "kill -TERM 1"]);
      expect((await finish(l)).code).toBe(0);
      await joiner.exited; // killed with the namespace, or done: either way, not asserted
    }, TEST_TIMEOUT);
  }

  test("ignores PATH and arguments", async () => {
    const l = await launch(placement, ["pause", "/nonexistent", "x", "y"]);
    await untilSignalsBlocked(l.initPid);
    signal(l.initPid, "SIGTERM");
    expect((await finish(l)).code).toBe(0);
  }, TEST_TIMEOUT);

  if (placement === "pid1") {
    test("as PID 1, reaps orphans of processes that join its namespace", async () => {
      const dir = tempDir();
      const l = await launch(placement, ["pause"]);
      await untilSignalsBlocked(l.initPid);
      // nsenter forks into the PID namespace; the script's middle shell exits, so the orphan
      // is adopted by the namespace's PID 1, our pause.
      const joiner = joinNamespaceOf(l.initPid, ["/bin/sh", "-c", ORPHAN_SCRIPT, "sh", dir]);
      const out = await new Response(joiner.stdout as ReadableStream).text();
      expect(await joiner.exited).toBe(0);
      expect(out).toMatch(/^orphan \d+ adopted-by 1$/m);
      expect(out).toContain("reaped\n");
      expect(out).not.toContain("zombie:");
      signal(l.initPid, "SIGTERM");
      expect((await finish(l)).code).toBe(0);
    }, TEST_TIMEOUT);
  }
});

/** Run argv inside the PID and mount namespaces of `pid` (nsenter forks into the PID namespace). */
function joinNamespaceOf(pid: number, argv: string[]): Proc {
  if (!inOtherPidNamespace(pid)) throw new Error(`refusing to join the namespace of ${pid}: it is not a new PID namespace`);
  const proc = Bun.spawn(["nsenter", "--target", String(pid), "--pid", "--mount", "--", ...argv], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: ENV,
  });
  started.add(proc);
  return proc;
}

// ---- resident memory, logged for the record (no threshold) ----

describe("bunc-init resident memory", () => {
  test("VmRSS of a running pause and init", async () => {
    const pause = await launch("subreaper", ["pause"]);
    await untilSignalsBlocked(pause.initPid);
    const init = await launch("subreaper", ["init", "/bin/sleep", "sleep", "1000"]);
    await untilSignalsBlocked(init.initPid);
    await waitFor(() => readOr(`/proc/${init.initPid}/task/${init.initPid}/children`, "").trim(), 10_000, "init's child");
    console.log(`bunc-init VmRSS: pause ${vmRssKb(pause.initPid)}, init (the parent) ${vmRssKb(init.initPid)}`);
    signal(pause.initPid, "SIGTERM");
    signal(init.initPid, "SIGTERM");
    expect((await finish(pause)).code).toBe(0);
    expect((await finish(init)).code).toBe(143);
  }, TEST_TIMEOUT);
});
