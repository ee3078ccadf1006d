// Linux capability names and numbers (include/uapi/linux/capability.h), up to
// CAP_CHECKPOINT_RESTORE. The index in CAPABILITIES is the capability number; the unit test
// checks every entry against /usr/include/linux/capability.h.
import { readFileSync } from "node:fs";

export const CAPABILITIES: readonly string[] = [
  "CAP_CHOWN", // 0
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL", // 5
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE", // 10
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER", // 15
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT", // 20
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME", // 25
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL", // 30
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM", // 35
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE", // 40
];

/** The highest capability number this build knows. */
export const CAP_LAST_CAP = CAPABILITIES.length - 1;

const BY_NAME = new Map(CAPABILITIES.map((name, i) => [name, i]));

/** "CAP_SYS_ADMIN" -> 21; undefined for a name this build does not know. Names are exact (runc's too). */
export function capNumber(name: string): number | undefined {
  return BY_NAME.get(name);
}

/** The running kernel's last capability (/proc/sys/kernel/cap_last_cap), or ours if unreadable. */
export function hostLastCap(): number {
  try {
    const n = Number.parseInt(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"), 10);
    return Number.isInteger(n) && n >= 0 ? n : CAP_LAST_CAP;
  } catch {
    return CAP_LAST_CAP;
  }
}

/** The capabilities this process can still hand out (its bounding set, CapBnd of /proc/self/status):
 * what "all capabilities" means for a privileged container, as containerd's WithAllCurrentCapabilities. */
export function boundingCaps(): string[] {
  try {
    const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (hex === undefined) return [...CAPABILITIES];
    const mask = BigInt(`0x${hex}`);
    return CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
  } catch {
    return [...CAPABILITIES];
  }
}

/**
 * The bitmask (bit N = capability N) of a list of names. Like runc, names that are unknown, or
 * above `lastCap` (not available on this kernel), are left out and reported once through
 * `onIgnored` rather than failing the container.
 */
export function capMask(
  names: readonly string[] | undefined,
  onIgnored?: (message: string) => void,
  lastCap: number = CAP_LAST_CAP,
): bigint {
  let mask = 0n;
  const ignored: string[] = [];
  for (const name of names ?? []) {
    const n = capNumber(name);
    if (n === undefined || n > lastCap) {
      if (!ignored.includes(name)) ignored.push(name);
      continue;
    }
    mask |= 1n << BigInt(n);
  }
  if (ignored.length > 0 && onIgnored) {
    onIgnored(`ignoring unknown or unavailable capabilities: [${ignored.sort().join(" ")}]`);
  }
  return mask;
}
