// Loading the device filter and attaching it to a cgroup v2 directory with bpf(2).
// The raw system call comes from the caller (src/native.ts in bunc, a test stand-in in tests):
// this file only lays out the bpf_attr unions and decides what to attach and detach.
import { closeSync, openSync, constants } from "node:fs";
import { BuncError, strerror } from "../errors.ts";

export interface BpfSys {
  /** raw syscall(nr, ...args); returns the result or -errno. Uint8Array args pass as pointers. */
  sys(nr: number, ...args: (number | bigint | Uint8Array)[]): number;
  /** the address of a buffer, for pointers inside bpf_attr */
  addressOf(buf: Uint8Array): bigint;
}

const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280 };

const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_PROG_QUERY = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
const BPF_F_ALLOW_MULTI = 2;
const ATTR_SIZE = 128; // larger than every field we use; the kernel wants the tail zeroed

function bpf(s: BpfSys, cmd: number, attr: Uint8Array): number {
  const nr = SYS_BPF[process.arch];
  if (nr === undefined) throw new BuncError(`cgroup: device filter: bpf(2) number unknown for ${process.arch}`);
  return s.sys(nr, cmd, attr, attr.length);
}

function fail(what: string, rc: number, log?: Uint8Array): never {
  let msg = `cgroup: device filter: ${what}: ${strerror(rc)}`;
  if (log) {
    const text = new TextDecoder().decode(log.subarray(0, Math.max(0, log.indexOf(0)))).trim();
    if (text) msg += ` (verifier: ${text.split("\n").slice(-2).join("; ")})`;
  }
  throw new BuncError(msg);
}

/** BPF_PROG_LOAD of a cgroup device program; returns its fd. */
export function loadDeviceProgram(s: BpfSys, insns: Uint8Array): number {
  const license = new TextEncoder().encode("Apache\0");
  const log = new Uint8Array(64 * 1024);
  const attr = new Uint8Array(ATTR_SIZE);
  const dv = new DataView(attr.buffer);
  const load = (withLog: boolean) => {
    attr.fill(0);
    dv.setUint32(0, BPF_PROG_TYPE_CGROUP_DEVICE, true);
    dv.setUint32(4, insns.length / 8, true);
    dv.setBigUint64(8, s.addressOf(insns), true);
    dv.setBigUint64(16, s.addressOf(license), true);
    if (withLog) {
      dv.setUint32(24, 1, true); // log_level
      dv.setUint32(28, log.length, true);
      dv.setBigUint64(32, s.addressOf(log), true);
    }
    return bpf(s, BPF_PROG_LOAD, attr);
  };
  const fd = load(false);
  if (fd >= 0) return fd;
  // load again with the verifier log to say why
  const again = load(true);
  if (again >= 0) return again;
  fail("BPF_PROG_LOAD", again, log);
}

/** ids of the device programs attached to the cgroup directory fd. */
export function queryDevicePrograms(s: BpfSys, dirFd: number): number[] {
  const ids = new Uint8Array(4 * 64);
  const attr = new Uint8Array(ATTR_SIZE);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, dirFd, true);
  dv.setUint32(4, BPF_CGROUP_DEVICE, true);
  dv.setBigUint64(16, s.addressOf(ids), true);
  dv.setUint32(24, 64, true);
  const rc = bpf(s, BPF_PROG_QUERY, attr);
  if (rc < 0) fail("BPF_PROG_QUERY", rc);
  const n = dv.getUint32(24, true);
  const idv = new DataView(ids.buffer);
  return Array.from({ length: Math.min(n, 64) }, (_, i) => idv.getUint32(i * 4, true)).filter((id) => id !== 0);
}

function progFdById(s: BpfSys, id: number): number {
  const attr = new Uint8Array(ATTR_SIZE);
  new DataView(attr.buffer).setUint32(0, id, true);
  return bpf(s, BPF_PROG_GET_FD_BY_ID, attr);
}

function attachDetach(s: BpfSys, cmd: number, dirFd: number, progFd: number, flags: number): number {
  const attr = new Uint8Array(ATTR_SIZE);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, dirFd, true);
  dv.setUint32(4, progFd, true);
  dv.setUint32(8, BPF_CGROUP_DEVICE, true);
  dv.setUint32(12, flags, true);
  return bpf(s, cmd, attr);
}

/**
 * Attach a new device filter to the cgroup at dir and detach the ones that were there before,
 * so an update never leaves a moment without a filter (the old one allows less or more, but
 * never everything).
 */
export function attachDeviceFilter(s: BpfSys, dir: string, insns: Uint8Array): void {
  let dirFd: number;
  try {
    dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (e) {
    throw new BuncError(`cgroup: device filter: open ${dir}: ${(e as Error).message}`);
  }
  const progFd = loadDeviceProgram(s, insns);
  try {
    const old = queryDevicePrograms(s, dirFd);
    const rc = attachDetach(s, BPF_PROG_ATTACH, dirFd, progFd, BPF_F_ALLOW_MULTI);
    if (rc < 0) fail(`BPF_PROG_ATTACH to ${dir}`, rc);
    for (const id of old) {
      const fd = progFdById(s, id);
      if (fd < 0) continue; // already gone
      const drc = attachDetach(s, BPF_PROG_DETACH, dirFd, fd, 0);
      closeSync(fd);
      if (drc < 0) fail(`BPF_PROG_DETACH of program ${id} from ${dir}`, drc);
    }
  } finally {
    closeSync(progFd);
    closeSync(dirFd);
  }
}
