// Waiting for the supervisor's children (container processes, hook processes) without tying up
// a thread per child: on SIGCHLD, reap every exited child with waitpid(-1, WNOHANG) and hand
// the status to whoever waits for that pid. A status that arrives before anyone asks is kept.
// The supervisor is a subreaper, so processes forked into a joined pid namespace come here too.
// (native.waitAsync blocks a thread-pool thread per child on a pipe read: with a few containers
// the pool is exhausted and every fs callback stalls.)
import * as native from "../native.ts";

const NR_WAITID = process.arch === "x64" ? 247 : 95;
const P_ALL = 0, WNOHANG = 1, WEXITED = 4, WALL = 0x40000000;
const CLD_EXITED = 1, CLD_DUMPED = 3;
const info = new Uint8Array(128);
const view = new DataView(info.buffer);

/** waitid(P_ALL, WEXITED|WNOHANG): the pid and wait(2)-style status of one exited child, or pid 0. */
function reapOne(): { pid: number; status: number } {
  info.fill(0);
  const r = native.sys(NR_WAITID, P_ALL, 0, info, WEXITED | WNOHANG | WALL, 0);
  if (r < 0) return { pid: 0, status: 0 };
  const pid = view.getInt32(16, true), code = view.getInt32(8, true), st = view.getInt32(24, true);
  if (pid <= 0) return { pid: 0, status: 0 };
  const status = code === CLD_EXITED ? (st & 0xff) << 8 : (st & 0x7f) | (code === CLD_DUMPED ? 0x80 : 0);
  return { pid, status };
}
const waiters = new Map<number, (status: number) => void>();
const early = new Map<number, number>();
let installed = false;

function reapAll(): void {
  for (;;) {
    const r = reapOne();
    if (r.pid <= 0) return;
    const w = waiters.get(r.pid);
    if (w) {
      waiters.delete(r.pid);
      w(r.status);
    } else {
      early.set(r.pid, r.status);
      if (early.size > 4096) early.delete(early.keys().next().value!);
    }
  }
}

/** Start reaping; call once, before creating children. */
export function installReaper(): void {
  if (installed) return;
  installed = true;
  native.setSubreaper();
  process.on("SIGCHLD", reapAll);
  // Signals of several exits can merge into one; a slow safety net catches any missed one. The
  // timer also keeps the event loop alive while we only wait for children (a signal handler does
  // not), and the caller exits the process when done.
  setInterval(reapAll, 1000);
}

/** The wait status of pid (our child) when it exits. */
export function waitChild(pid: number): Promise<number> {
  const st = early.get(pid);
  if (st !== undefined) {
    early.delete(pid);
    return Promise.resolve(st);
  }
  return new Promise((resolve) => {
    waiters.set(pid, resolve);
    reapAll(); // it may have exited before we were listening
  });
}
