// The only module that touches bun:ffi. It loads the embedded C shim (native/*.c, built by make)
// from a sealed memfd, so no file of bunc's is ever extracted to disk, and wraps its entry points
// and the raw system calls the TypeScript side needs. Every call returns >= 0 or -errno.
import { dlopen, FFIType, ptr, CString, toArrayBuffer } from "bun:ffi";
import { readFileSync } from "node:fs";
// @ts-ignore: embedded files (bun build --compile puts them inside the executable)
import shimFile from "../build/shim.so" with { type: "file" };
// @ts-ignore
import initFile from "../build/bunc-init" with { type: "file" };
// @ts-ignore
import childFile from "../build/bunc-child" with { type: "file" };
import { BuncError, SyscallError, strerror } from "./errors.ts";

const X64 = process.arch === "x64";
/** System call numbers (x86_64 / aarch64). */
export const NR = X64
  ? { read: 0, write: 1, close: 3, ioctl: 16, pipe2: 293, socketpair: 53, kill: 62, fcntl: 72, openat: 257, mknodat: 259,
      prctl: 157, memfd_create: 319, pidfd_open: 434, pidfd_send_signal: 424, setns: 308, socket: 41, connect: 42,
      unlinkat: 263, bpf: 321, close_range: 436, getpid: 39, dup3: 292, open_tree: 428, mount_setattr: 442 }
  : { read: 63, write: 64, close: 57, ioctl: 29, pipe2: 59, socketpair: 199, kill: 129, fcntl: 25, openat: 56, mknodat: 33,
      prctl: 167, memfd_create: 279, pidfd_open: 434, pidfd_send_signal: 424, setns: 268, socket: 198, connect: 203,
      unlinkat: 35, bpf: 280, close_range: 436, getpid: 172, dup3: 24, open_tree: 428, mount_setattr: 442 };

export const O = { RDONLY: 0, WRONLY: 1, RDWR: 2, CREAT: 0o100, EXCL: 0o200, NOCTTY: 0o400, TRUNC: 0o1000,
  NONBLOCK: 0o4000, DIRECTORY: 0o200000, NOFOLLOW: 0o400000, CLOEXEC: 0o2000000, PATH: 0o10000000 } as const;
const AT_FDCWD = -100;
const MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2;
const F_ADD_SEALS = 1033, F_SEAL_ALL = 1 | 2 | 4 | 8; // SEAL, SHRINK, GROW, WRITE

type Arg = number | bigint | Uint8Array | Int32Array | BigInt64Array | null;

function cstr(s: string): Buffer {
  return Buffer.from(s + "\0");
}

function memfdWith(name: string, bytes: Uint8Array, sysc: (nr: number, ...a: Arg[]) => number): number {
  const fd = sysc(NR.memfd_create, cstr(name), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throw new SyscallError(`memfd_create ${name}`, -fd);
  let off = 0;
  while (off < bytes.length) {
    const n = sysc(NR.write, fd, bytes.subarray(off), bytes.length - off);
    if (n <= 0) throw new SyscallError(`write ${name} to memfd`, -n);
    off += n;
  }
  // Sealed: nothing (not even a process inside a container that finds the fd) can change it.
  sysc(NR.fcntl, fd, F_ADD_SEALS, F_SEAL_ALL);
  return fd;
}

function toPtr(a: Arg): number | bigint {
  if (a === null) return 0;
  if (typeof a === "number" || typeof a === "bigint") return a;
  return a.byteLength === 0 ? 0 : ptr(a);
}

let lib: ReturnType<typeof load> | undefined;

function load() {
  // libc's syscall() to make the memfd; then the shim itself from that memfd.
  const libc = dlopen("libc.so.6", { syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: "i64" } });
  const raw = (nr: number, ...a: Arg[]) => {
    const v = a.map(toPtr);
    while (v.length < 6) v.push(0);
    return Number(libc.symbols.syscall(nr, ...(v as [number, number, number, number, number, number])));
  };
  const fd = memfdWith("bunc-shim", readFileSync(shimFile), raw);
  const shim = dlopen(`/proc/self/fd/${fd}`, {
    bunc_sys: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: "i64" },
    bunc_spawn: { args: [FFIType.ptr, "u64", "i32", "i32"], returns: "i64" },
    bunc_wait_async: { args: ["i32", "i32"], returns: "i32" },
    bunc_waitpid: { args: ["i32", "i32"], returns: "i64" },
    bunc_sync_recv: { args: ["i32", FFIType.ptr, FFIType.ptr, FFIType.ptr, "u64", FFIType.ptr], returns: "i64" },
    bunc_sync_send: { args: ["i32", "u32"], returns: "i32" },
    bunc_recv_fd: { args: ["i32"], returns: "i32" },
    bunc_send_fd: { args: ["i32", FFIType.ptr, "u64", "i32"], returns: "i32" },
    bunc_plan_describe: { args: [FFIType.ptr, "u64", FFIType.ptr, "u64"], returns: "i64" },
    bunc_tty_proxy: { args: ["i32"], returns: "i32" },
    bunc_tty_resize: { args: ["i32"], returns: "i32" },
    bunc_tty_finish: { args: [], returns: "i32" },
  });
  raw(NR.close, fd);
  libc.close();
  return shim.symbols;
}

function shim() {
  return (lib ??= load());
}

/** A raw system call: returns the result or -errno. */
export function sys(nr: number, ...args: Arg[]): number {
  const v = args.map(toPtr);
  while (v.length < 6) v.push(0);
  return Number(shim().bunc_sys(nr, ...(v as [number, number, number, number, number, number])));
}

/** The address of a buffer (for pointers inside structs such as bpf_attr). */
export function addressOf(b: Uint8Array): bigint {
  return BigInt(ptr(b));
}

/** Like sys() but throws a SyscallError naming `what`. */
export function check(what: string, r: number): number {
  if (r < 0) throw new SyscallError(what, -r);
  return r;
}

export function openFd(path: string, flags: number, mode = 0o600): number {
  return sys(NR.openat, AT_FDCWD, cstr(path), flags, mode);
}

export function closeFd(fd: number): void {
  if (fd >= 0) sys(NR.close, fd);
}

export function kill(pid: number, sig: number): number {
  return sys(NR.kill, pid, sig);
}

export function socketpair(): [number, number] {
  const fds = new Int32Array(2);
  // AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC: message boundaries, closed at exec
  check("socketpair", sys(NR.socketpair, 1, 5 | 0o2000000, 0, fds));
  return [fds[0]!, fds[1]!];
}

export function pipe(flags = O.CLOEXEC): [number, number] {
  const fds = new Int32Array(2);
  check("pipe2", sys(NR.pipe2, fds, flags));
  return [fds[0]!, fds[1]!];
}

export function writeFd(fd: number, data: Uint8Array): number {
  return sys(NR.write, fd, data, data.length);
}

export function readFd(fd: number, buf: Uint8Array): number {
  return sys(NR.read, fd, buf, buf.length);
}

/** fd of the embedded bunc-init in a sealed memfd (the container's exec trampoline / PID 1). */
export function initMemfd(): number {
  return memfdWith("bunc-init", readFileSync(initFile), sys);
}

/** A connected AF_UNIX stream socket (the --console-socket, a seccomp agent), CLOEXEC. */
export function connectUnix(path: string, what = "console socket"): number {
  const fd = check("socket", sys(NR.socket, 1, 1 | 0o2000000, 0));
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, 1, true);
  const p = Buffer.from(path);
  if (p.length >= 108) throw new SyscallError(`connect ${path}`, 36);
  addr.set(p, 2);
  const r = sys(NR.connect, fd, addr, 2 + p.length + 1);
  if (r < 0) {
    closeFd(fd);
    throw new SyscallError(`connect to ${what} ${path}`, -r);
  }
  return fd;
}

/** PR_SET_CHILD_SUBREAPER: orphans of our children (e.g. a process forked into a joined pid
 * namespace) re-parent to us, so a foreground run/exec can wait for them. */
export function setSubreaper(): void {
  sys(NR.prctl, 36, 1, 0, 0, 0);
}

export function mknodFifo(path: string, mode: number): number {
  return sys(NR.mknodat, AT_FDCWD, cstr(path), 0o010000 | mode, 0);
}

export function pidfdOpen(pid: number): number {
  return sys(NR.pidfd_open, pid, 0);
}

let childImage: Uint8Array | undefined;

/** Clone the container child from an encoded plan; returns its pid or -errno. The clone execs the
 * sealed bunc-child program at once (see exec_child in native/shim.c), reading the plan from a
 * sealed memfd; both memfds are closed here once the clone has them. */
export function trySpawn(plan: Uint8Array): number {
  childImage ??= readFileSync(childFile);
  const childFd = memfdWith("bunc-child", childImage, sys);
  let planFd = -1;
  try {
    planFd = memfdWith("bunc-plan", plan, sys);
    return Number(shim().bunc_spawn(plan, plan.length, childFd, planFd));
  } finally {
    closeFd(childFd);
    closeFd(planFd);
  }
}

/** trySpawn() that throws. */
export function spawn(plan: Uint8Array): number {
  return check("clone container process", trySpawn(plan));
}

export function waitpid(pid: number, flags = 0): number {
  return Number(shim().bunc_waitpid(pid, flags));
}

/** Resolves with the wait status when pid exits. A C thread waits and writes the status to a
 * pipe whose read end the event loop watches (Bun.file(fd).stream()), so many waits at once (bunc
 * pod) neither block the event loop nor tie up a thread-pool thread each. */
export async function waitAsync(pid: number): Promise<number> {
  const [r, w] = pipe();
  const rc = shim().bunc_wait_async(pid, w); // the thread owns w from here and closes it
  if (rc < 0) {
    closeFd(r);
    closeFd(w);
    throw new SyscallError("start waiter thread", -rc);
  }
  const got: number[] = [];
  try {
    for await (const chunk of Bun.file(r).stream()) got.push(...chunk);
  } finally {
    closeFd(r);
  }
  const dv = new DataView(new Uint8Array(got).buffer);
  if (got.length < 8) throw new SyscallError(`wait for ${pid}: short read from the waiter`, 5);
  const res = dv.getInt32(0, true);
  if (res < 0) throw new SyscallError(`waitpid ${pid}`, -res);
  return dv.getInt32(4, true);
}

export interface SyncMessage { type: number; value: number; err: number; msg: string; fd: number }

/** Read one message from the child over the sync socket (blocking). type 0 = EOF. */
export function syncRecv(fd: number): SyncMessage {
  const value = new BigInt64Array(1), err = new Int32Array(1), fdOut = new Int32Array(1);
  const msg = new Uint8Array(3200);
  const t = Number(shim().bunc_sync_recv(fd, value, err, msg, msg.length, fdOut));
  if (t < 0) throw new SyscallError("read from container process", -t);
  const end = msg.indexOf(0);
  return { type: t, value: Number(value[0]), err: err[0]!, msg: new TextDecoder().decode(msg.subarray(0, end < 0 ? msg.length : end)), fd: fdOut[0]! };
}

export function syncSend(fd: number, type: number): number {
  return shim().bunc_sync_send(fd, type);
}

export function recvFd(sock: number): number {
  return shim().bunc_recv_fd(sock);
}

/** The C decoder's description of an encoded plan (plan round-trip test). */
export function describeEncodedPlan(plan: Uint8Array): string {
  const out = new Uint8Array(1 << 20);
  const n = Number(shim().bunc_plan_describe(plan, plan.length, out, out.length));
  if (n < 0) throw new SyscallError("decode plan", -n);
  return new TextDecoder().decode(out.subarray(0, n));
}

/** Proxy the host terminal to a pty master (raw mode, window size) until ttyFinish. */
export function ttyProxy(master: number): void {
  check("terminal proxy", shim().bunc_tty_proxy(master));
}
export function ttyResize(master: number): void {
  shim().bunc_tty_resize(master);
}
export function ttyFinish(): void {
  shim().bunc_tty_finish();
}

export const SYNC = { GO: 1, HOOKS: 2, PID: 3, PTY: 4, READY: 5, ERROR: 6, SECCOMP: 7, USERNS: 8 } as const;

/** Wait for the child to say its new user namespace exists (so its maps can be written). */
export function expectUserns(fd: number, where: string): void {
  const m = syncRecv(fd);
  if (m.type === SYNC.USERNS) return;
  if (m.type === SYNC.ERROR) throw new BuncError(m.err ? `${m.msg}: ${strerror(m.err)}` : m.msg);
  throw new BuncError(`${where}: the container process exited before making its user namespace`);
}

/** sendmsg of data with fd attached (SCM_RIGHTS). */
export function sendFd(sock: number, data: Uint8Array, fd: number): void {
  check("send fd", shim().bunc_send_fd(sock, data, data.length, fd));
}
export { toArrayBuffer, CString };
