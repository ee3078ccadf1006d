// Which Linux security modules this host runs, so that a config asking for an AppArmor profile or
// an SELinux label is refused with a clear error on a host that cannot apply it (instead of a
// failed write to /proc/thread-self/attr/... from the container process).
import { existsSync, readFileSync } from "node:fs";

export interface HostLsms {
  apparmor: boolean;
  selinux: boolean;
  /** where the answer came from, for error messages */
  source: string;
}

let cached: HostLsms | undefined;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The active LSMs: /sys/kernel/security/lsm when securityfs is mounted, else the modules' own
 * switches (/sys/module/apparmor/parameters/enabled, a mounted selinuxfs), as runc checks them. */
export function hostLsms(): HostLsms {
  if (cached) return cached;
  const list = read("/sys/kernel/security/lsm");
  if (list !== undefined) {
    const names = new Set(list.trim().split(","));
    cached = { apparmor: names.has("apparmor"), selinux: names.has("selinux"), source: `/sys/kernel/security/lsm is "${list.trim()}"` };
  } else {
    const apparmor = read("/sys/module/apparmor/parameters/enabled")?.trim() === "Y";
    const selinux = existsSync("/sys/fs/selinux/enforce");
    cached = { apparmor, selinux, source: "securityfs is not mounted, and neither /sys/module/apparmor nor /sys/fs/selinux says it is on" };
  }
  return cached;
}
