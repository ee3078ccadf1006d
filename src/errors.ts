// Every user-facing failure is a BuncError: one line saying what was wrong and where.
// The CLI turns it into a stderr line, a --log record and a non-zero exit status.
export class BuncError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** Throw a BuncError; handy in expressions (`x ?? fail("...")`). */
export function fail(message: string, exitCode = 1): never {
  throw new BuncError(message, exitCode);
}

/** errno value → a short name like "ENOENT" and the libc text for it. */
const ERRNO_TEXT: Record<number, [string, string]> = {
  1: ["EPERM", "operation not permitted"],
  2: ["ENOENT", "no such file or directory"],
  3: ["ESRCH", "no such process"],
  4: ["EINTR", "interrupted system call"],
  5: ["EIO", "input/output error"],
  7: ["E2BIG", "argument list too long"],
  8: ["ENOEXEC", "exec format error"],
  9: ["EBADF", "bad file descriptor"],
  10: ["ECHILD", "no child processes"],
  11: ["EAGAIN", "resource temporarily unavailable"],
  12: ["ENOMEM", "cannot allocate memory"],
  13: ["EACCES", "permission denied"],
  16: ["EBUSY", "device or resource busy"],
  17: ["EEXIST", "file exists"],
  18: ["EXDEV", "invalid cross-device link"],
  19: ["ENODEV", "no such device"],
  20: ["ENOTDIR", "not a directory"],
  21: ["EISDIR", "is a directory"],
  22: ["EINVAL", "invalid argument"],
  24: ["EMFILE", "too many open files"],
  25: ["ENOTTY", "inappropriate ioctl for device"],
  26: ["ETXTBSY", "text file busy"],
  28: ["ENOSPC", "no space left on device"],
  30: ["EROFS", "read-only file system"],
  32: ["EPIPE", "broken pipe"],
  34: ["ERANGE", "numerical result out of range"],
  36: ["ENAMETOOLONG", "file name too long"],
  38: ["ENOSYS", "function not implemented"],
  39: ["ENOTEMPTY", "directory not empty"],
  40: ["ELOOP", "too many levels of symbolic links"],
  95: ["EOPNOTSUPP", "operation not supported"],
  110: ["ETIMEDOUT", "connection timed out"],
  111: ["ECONNREFUSED", "connection refused"],
};

export function strerror(errno: number): string {
  const e = ERRNO_TEXT[Math.abs(errno)];
  return e ? e[1] : `errno ${Math.abs(errno)}`;
}

export function errnoName(errno: number): string {
  const e = ERRNO_TEXT[Math.abs(errno)];
  return e ? e[0] : `E${Math.abs(errno)}`;
}

/** A failed system call as an error line: "<what>: <strerror>". */
export class SyscallError extends BuncError {
  constructor(readonly what: string, readonly errno: number) {
    super(`${what}: ${strerror(errno)}`);
  }
}
