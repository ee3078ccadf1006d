// Host-side system work for a pod, done from the bunc process with plain system calls: the
// per-container overlay (the writable layer over the image), tmpfs for memory-backed emptyDirs
// and /dev/shm, and bringing up loopback in the sandbox's network namespace.
import { readFileSync } from "node:fs";
import * as native from "../native.ts";
import { BuncError, strerror } from "../errors.ts";

const X64 = process.arch === "x64";
const NR_MOUNT = X64 ? 165 : 40;
const NR_UMOUNT2 = X64 ? 166 : 39;
const MS_NOSUID = 0x2, MS_NODEV = 0x4;
const MNT_DETACH = 2;
const CLONE_NEWNET = 0x40000000;

const cstr = (s: string) => Buffer.from(s + "\0");

function mount(source: string, target: string, fstype: string, flags: number, data: string): void {
  const r = native.sys(NR_MOUNT, cstr(source), cstr(target), cstr(fstype), flags, cstr(data));
  if (r < 0) throw new BuncError(`mount ${fstype} on ${target}: ${strerror(-r)}`);
}

/** overlayfs option values escape ",", ":" and "\" with a backslash. */
const ovlEscape = (p: string) => p.replace(/([\\,:])/g, "\\$1");

/** The container's root: the image read-only below, a private writable layer above. */
export function mountOverlay(lower: string, upper: string, work: string, target: string): void {
  mount("overlay", target, "overlay", 0, `lowerdir=${ovlEscape(lower)},upperdir=${ovlEscape(upper)},workdir=${ovlEscape(work)}`);
}

export function mountTmpfs(target: string, sizeBytes: number | undefined, mode = 0o777): void {
  const data = `mode=${mode.toString(8).padStart(4, "0")}${sizeBytes ? `,size=${sizeBytes}` : ""}`;
  mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, data);
}

export function unmount(target: string): void {
  const r = native.sys(NR_UMOUNT2, cstr(target), MNT_DETACH);
  if (r < 0 && -r !== 22 /* EINVAL: not a mount point */ && -r !== 2) throw new BuncError(`unmount ${target}: ${strerror(-r)}`);
}

/** Mount points at or below dir in our mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  const points = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter(Boolean)
    .map((l) => l.split(" ")[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmount everything at or below dir (a pod's data directory), deepest first. */
export function unmountAll(dir: string): void {
  for (let pass = 0; pass < 5; pass++) {
    const points = mountsUnder(dir);
    if (points.length === 0) return;
    for (const p of points) unmount(p);
  }
}

/**
 * `ip link set lo up` inside the network namespace of pid: this thread enters the namespace
 * (allowed for network namespaces in a multi-threaded process: it changes only the calling
 * thread), asks for IFF_UP on "lo" through an AF_INET socket, and comes back.
 */
export function loopbackUp(pid: number): void {
  const O = native.O.RDONLY | native.O.CLOEXEC;
  const home = native.check("open /proc/thread-self/ns/net", native.openFd("/proc/thread-self/ns/net", O));
  const target = native.openFd(`/proc/${pid}/ns/net`, O);
  if (target < 0) {
    native.closeFd(home);
    throw new BuncError(`sandbox network namespace: open /proc/${pid}/ns/net: ${strerror(-target)}`);
  }
  let sock = -1;
  try {
    native.check("setns into the pod's network namespace", native.sys(native.NR.setns, target, CLONE_NEWNET));
    try {
      sock = native.check("socket", native.sys(native.NR.socket, 2 /* AF_INET */, 2 | 0o2000000 /* SOCK_DGRAM|CLOEXEC */, 0));
      const ifr = new Uint8Array(40);
      ifr.set(new TextEncoder().encode("lo"));
      native.check("SIOCGIFFLAGS lo", native.sys(native.NR.ioctl, sock, 0x8913, ifr));
      const view = new DataView(ifr.buffer);
      view.setUint16(16, view.getUint16(16, true) | 0x1 /* IFF_UP */, true);
      native.check("SIOCSIFFLAGS lo up", native.sys(native.NR.ioctl, sock, 0x8914, ifr));
    } finally {
      native.closeFd(sock);
      // Coming back must work, or this thread would carry on in the pod's namespace.
      const r = native.sys(native.NR.setns, home, CLONE_NEWNET);
      if (r < 0) throw new Error(`cannot return to the host network namespace: ${strerror(-r)}`);
    }
  } finally {
    native.closeFd(target);
    native.closeFd(home);
  }
}
