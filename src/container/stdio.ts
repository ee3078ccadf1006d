// Giving a container process other stdio than bunc's own (a pod's containers each get pipes).
// The C child inherits the fd table at clone time, so fds 0-2 are swapped around the clone
// only: the swap and the clone are one synchronous step, no other JavaScript runs in between.
import * as native from "../native.ts";

const F_DUPFD_CLOEXEC = 1030;

/** Run fn (the clone) with stdio[i] on fd i, then put bunc's own stdio back. */
export function withStdio<T>(stdio: readonly [number, number, number] | undefined, fn: () => T): T {
  if (!stdio) return fn();
  const saved = [0, 1, 2].map((fd) => native.sys(native.NR.fcntl, fd, F_DUPFD_CLOEXEC, 3)); // -EBADF if closed
  try {
    for (let fd = 0; fd < 3; fd++) {
      if (stdio[fd] !== fd) native.check(`redirect fd ${fd} for the container`, native.sys(native.NR.dup3, stdio[fd]!, fd, 0));
    }
    return fn();
  } finally {
    for (let fd = 0; fd < 3; fd++) {
      if (saved[fd]! >= 0) {
        native.sys(native.NR.dup3, saved[fd]!, fd, 0);
        native.closeFd(saved[fd]!);
      } else {
        native.closeFd(fd);
      }
    }
  }
}
