// The foreground side of `run` and `exec`: forward every catchable signal bunc receives to the
// container process, proxy the terminal, and turn the wait status into bunc's exit status.
import * as native from "../native.ts";

/** Signals a foreground bunc forwards (runc forwards all it can catch; SIGCHLD and SIGPIPE are its own). */
const FORWARDED: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGCONT", "SIGALRM",
  "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGVTALRM", "SIGPROF", "SIGXCPU", "SIGXFSZ", "SIGIO", "SIGSYS", "SIGTRAP", "SIGABRT"];
const SIGNUM: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTRAP: 5, SIGABRT: 6, SIGUSR1: 10, SIGUSR2: 12,
  SIGALRM: 14, SIGTERM: 15, SIGCONT: 18, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGXCPU: 24, SIGXFSZ: 25, SIGVTALRM: 26,
  SIGPROF: 27, SIGWINCH: 28, SIGIO: 29, SIGSYS: 31 };

/** exit status a shell would report: the code, or 128+N when killed by signal N */
export function exitStatus(wstatus: number): number {
  const sig = wstatus & 0x7f;
  if (sig === 0) return (wstatus >> 8) & 0xff;
  return 128 + sig;
}

/** Wait for pid (a child of ours), forwarding signals and proxying the pty if given. */
export async function superviseForeground(pid: number, ptyFd: number): Promise<number> {
  const handlers: [NodeJS.Signals, () => void][] = [];
  for (const s of FORWARDED) {
    const h = () => void native.kill(pid, SIGNUM[s]!);
    process.on(s, h);
    handlers.push([s, h]);
  }
  if (ptyFd >= 0) {
    native.ttyProxy(ptyFd);
    const h = () => native.ttyResize(ptyFd);
    process.on("SIGWINCH", h);
    handlers.push(["SIGWINCH", h]);
  } else {
    const h = () => void native.kill(pid, SIGNUM.SIGWINCH!);
    process.on("SIGWINCH", h);
    handlers.push(["SIGWINCH", h]);
  }
  const wstatus = await native.waitAsync(pid);
  if (ptyFd >= 0) {
    native.ttyFinish();
    native.closeFd(ptyFd);
  }
  for (const [s, h] of handlers) process.off(s, h);
  return exitStatus(wstatus);
}
