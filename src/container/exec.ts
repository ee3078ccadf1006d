// `exec`: a new process in a running container. The C child joins every namespace of the
// container's init (setns must happen single-threaded, after clone), forks once more so the
// process is inside the pid namespace, and execs through the sealed bunc-init trampoline.
import { readlinkSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { BuncError, strerror } from "../errors.ts";
import { logWarn } from "../log.ts";
import type { Process } from "../spec/types.ts";
import { planPersonality, planProcess, planSeccomp } from "../linux/build-plan.ts";
import { encodePlan } from "../linux/plan-encode.ts";
import { emptyPlan, PlanMode } from "../linux/plan.ts";
import { CLONE_NEW, NS_PROC_NAME, sortForJoin } from "../linux/namespaces.ts";
import * as native from "../native.ts";
import type { Container } from "./container.ts";
import { handOverListener } from "./seccomp-agent.ts";

export interface ExecOptions {
  process: Process;
  consoleSocket?: string;
  pidFile?: string;
  detach: boolean;
  preserveFds: number;
  /** --ignore-paused: exec into a frozen container anyway (the process starts frozen, as with runc) */
  ignorePaused?: boolean;
  /** fds for the process's stdin/stdout/stderr (default: bunc's own) */
  stdio?: [number, number, number];
}

export interface Execed {
  pid: number;
  ptyFd: number;
}

function sameNamespace(a: string, b: string): boolean {
  try {
    return readlinkSync(a) === readlinkSync(b);
  } catch {
    return false;
  }
}

export async function execInContainer(c: Container, o: ExecOptions): Promise<Execed> {
  const st = c.status();
  if (st === "stopped") throw new BuncError(`cannot exec in a stopped container "${c.id}"`);
  if (st === "paused" && !o.ignorePaused) throw new BuncError(`cannot exec in a paused container "${c.id}" (resume it first, or use --ignore-paused)`);
  const proc = o.process;
  if (!proc.args || proc.args.length === 0) throw new BuncError("exec: process.args: must not be empty");
  if (proc.terminal && o.detach && !o.consoleSocket)
    throw new BuncError("exec: cannot allocate a terminal for a detached process without --console-socket");
  if (!proc.terminal && o.consoleSocket) throw new BuncError("exec: --console-socket given but the process has no terminal (--tty)");

  const toClose: number[] = [];
  let pid = 0;
  try {
    const initPid = c.rec.pid;
    const nsJoin = sortForJoin((c.rec.config.linux?.namespaces ?? []).map((n) => ({ type: n.type })))
      .filter((n) => !(n.type === "user" && sameNamespace(`/proc/${initPid}/ns/user`, "/proc/self/ns/user")))
      .map((n) => {
        const path = `/proc/${initPid}/ns/${NS_PROC_NAME[n.type]}`;
        const fd = native.openFd(path, native.O.RDONLY | native.O.CLOEXEC);
        if (fd < 0) throw new BuncError(`exec: open ${path}: ${strerror(-fd)}`);
        toClose.push(fd);
        return { type: CLONE_NEW[n.type], fd };
      });
    const [parentEnd, childEnd] = native.socketpair();
    toClose.push(childEnd);
    const initFd = native.initMemfd();
    toClose.push(initFd);
    const plan = emptyPlan(PlanMode.Exec);
    plan.nsJoin = nsJoin;
    plan.syncFd = childEnd;
    planProcess(plan, proc, logWarn);
    planPersonality(plan, c.rec.config);
    await planSeccomp(plan, c.rec.config);
    plan.init = { fd: initFd, mode: "exec" };
    plan.preserveFds = o.preserveFds;
    if (proc.terminal) {
      const consoleFd = o.consoleSocket ? native.connectUnix(o.consoleSocket) : -1;
      if (consoleFd >= 0) toClose.push(consoleFd);
      plan.terminal = { consoleFd };
    }
    if (o.stdio) plan.stdio = o.stdio;
    const selfAttach = c.cgroup()?.selfAttachFds?.();
    if (selfAttach) {
      plan.cgroupTasksFds = selfAttach;
      toClose.push(...selfAttach);
    }
    pid = native.spawn(encodePlan(plan));
    for (const fd of toClose) native.closeFd(fd);
    toClose.length = 0;
    if (!selfAttach) await c.cgroup()?.attach(pid);
    native.syncSend(parentEnd, native.SYNC.GO);
    let ptyFd = -1;
    let realPid = 0;
    for (;;) {
      const m = native.syncRecv(parentEnd);
      if (m.type === native.SYNC.PID) {
        native.waitpid(pid); // the intermediate process has done its part
        realPid = m.value;
      } else if (m.type === native.SYNC.PTY) {
        ptyFd = m.fd;
      } else if (m.type === native.SYNC.SECCOMP) {
        handOverListener(c.rec.config.linux?.seccomp, c.state(), realPid || pid, m.fd);
      } else if (m.type === native.SYNC.ERROR) {
        native.closeFd(parentEnd);
        if (realPid) native.waitpid(realPid);
        else native.waitpid(pid);
        throw new BuncError(m.err ? `exec failed: ${m.msg}: ${strerror(m.err)}` : `exec failed: ${m.msg}`);
      } else if (m.type === 0) {
        break; // EOF: the process has exec'd
      }
    }
    native.closeFd(parentEnd);
    if (!realPid) realPid = pid; // no pid namespace to enter: the cloned process is the one that exec'd
    if (o.pidFile) {
      const tmp = `${dirname(o.pidFile)}/.${process.pid}.exec.pid.tmp`;
      writeFileSync(tmp, String(realPid));
      renameSync(tmp, o.pidFile);
    }
    return { pid: realPid, ptyFd };
  } catch (e) {
    for (const fd of toClose) native.closeFd(fd);
    throw e;
  }
}
