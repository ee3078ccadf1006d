// The few system calls the benchmark needs and Bun does not offer: become a child subreaper
// (so detached containers re-parent to us, as they do to containerd-shim), wait for a process
// that is not our child through a pidfd, and reap what re-parented to us.
import { dlopen, ptr } from "bun:ffi";

const NR_PIDFD_OPEN = process.arch === "x64" ? 434 : 434;
const PR_SET_CHILD_SUBREAPER = 36;
const POLLIN = 1;
const WNOHANG = 1;

const libc = dlopen("libc.so.6", {
  prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
  syscall: { args: ["i64", "i64", "i64"], returns: "i64" },
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  waitpid: { args: ["i32", "ptr", "i32"], returns: "i32" },
  close: { args: ["i32"], returns: "i32" },
});

export function becomeSubreaper(): void {
  if (libc.symbols.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) !== 0) throw new Error("prctl(PR_SET_CHILD_SUBREAPER) failed");
}

/** A pidfd for pid, or -1 when it is already gone. */
export function pidfdOpen(pid: number): number {
  return Number(libc.symbols.syscall(NR_PIDFD_OPEN, pid, 0));
}

/** Block until the process behind pidfd has exited (or timeoutMs passed: returns false). */
export function pidfdWait(pidfd: number, timeoutMs: number): boolean {
  const pfd = new Int32Array(2);
  pfd[0] = pidfd;
  pfd[1] = POLLIN; // events (short) | revents (short) << 16
  const n = libc.symbols.poll(ptr(pfd), 1, timeoutMs);
  return n > 0;
}

export function closeFd(fd: number): void {
  if (fd >= 0) libc.symbols.close(fd);
}

/** Reap pid if it is our (zombie) child; harmless otherwise. */
export function reap(pid: number): void {
  const st = new Int32Array(1);
  libc.symbols.waitpid(pid, ptr(st), WNOHANG);
}

/**
 * Reap every zombie child. Only call it when no Bun.spawn child is in flight (between
 * spawnSync calls), or it could take a status Bun waits for.
 */
export function reapAll(): void {
  const st = new Int32Array(1);
  while (libc.symbols.waitpid(-1, ptr(st), WNOHANG) > 0) {}
}
