// User namespace id mappings, written by bunc (the parent) for a child it cloned into a new user
// namespace, after the clone and before the child is let go (it does nothing privileged before).
// As root bunc writes /proc/<pid>/uid_map and gid_map itself; without root it can only map its own
// uid and gid (and must deny setgroups first), anything else goes through the setuid helpers
// newuidmap/newgidmap (package uidmap), which check the ranges in /etc/subuid and /etc/subgid.
import { BuncError, strerror } from "../errors.ts";
import type { IDMapping } from "../spec/types.ts";
import * as native from "../native.ts";
import { encodePlan } from "./plan-encode.ts";
import { emptyPlan, PlanMode } from "./plan.ts";
import { CLONE_NEW } from "./namespaces.ts";

function mapText(maps: IDMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join("");
}

/** One write(2) of the whole map: the kernel takes a map in a single write only. */
function writeProcFile(path: string, text: string, what: string): void {
  const fd = native.openFd(path, native.O.WRONLY | native.O.CLOEXEC);
  if (fd < 0) throw new BuncError(`${what}: open ${path}: ${strerror(-fd)}`);
  try {
    const data = Buffer.from(text);
    const n = native.writeFd(fd, data);
    if (n < 0) throw new BuncError(`${what}: write ${path}: ${strerror(-n)}`);
  } finally {
    native.closeFd(fd);
  }
}

function isOwnIdOnly(maps: IDMapping[], own: number): boolean {
  return maps.length === 1 && maps[0]!.hostID === own && maps[0]!.size === 1;
}

function runHelper(helper: "newuidmap" | "newgidmap", pid: number, maps: IDMapping[], what: string): void {
  const args = [String(pid), ...maps.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])];
  // Bun.spawnSync, not node:child_process: loading that module costs every create ~0.65 ms
  let r: ReturnType<typeof Bun.spawnSync>;
  try {
    r = Bun.spawnSync([helper, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new BuncError(`${what}: run ${helper}: ${(e as Error).message}`);
    throw new BuncError(`${what}: mapping more than your own id without root needs ${helper} (Debian package uidmap) and a range in /etc/sub${helper === "newuidmap" ? "uid" : "gid"}`);
  }
  if (r.exitCode !== 0) {
    const file = helper === "newuidmap" ? "/etc/subuid" : "/etc/subgid";
    const said = (r.stderr?.toString() || r.stdout?.toString() || "").trim();
    throw new BuncError(`${what}: ${helper} failed (are the host ids in ${file} for your user?): ${said}`);
  }
}

export interface Mappings {
  uid: IDMapping[];
  gid: IDMapping[];
}

/** Map the user namespace of pid. `where` names the config field in errors. */
export function writeIdMappings(pid: number, maps: Mappings, where = "config.json: linux"): void {
  const euid = process.geteuid!(), egid = process.getegid!();
  const uidWhat = `${where}.uidMappings`, gidWhat = `${where}.gidMappings`;
  if (euid === 0) {
    writeProcFile(`/proc/${pid}/uid_map`, mapText(maps.uid), uidWhat);
    writeProcFile(`/proc/${pid}/gid_map`, mapText(maps.gid), gidWhat);
    return;
  }
  if (isOwnIdOnly(maps.uid, euid)) writeProcFile(`/proc/${pid}/uid_map`, mapText(maps.uid), uidWhat);
  else runHelper("newuidmap", pid, maps.uid, uidWhat);
  if (isOwnIdOnly(maps.gid, egid)) {
    // Without CAP_SETGID a process may write its own gid only once setgroups(2) is denied.
    writeProcFile(`/proc/${pid}/setgroups`, "deny", gidWhat);
    writeProcFile(`/proc/${pid}/gid_map`, mapText(maps.gid), gidWhat);
  } else runHelper("newgidmap", pid, maps.gid, gidWhat);
}

/**
 * An fd of a new user namespace with the given mappings (for mount_setattr(MOUNT_ATTR_IDMAP)):
 * a helper process is cloned into it, mapped, its /proc/<pid>/ns/user opened, and let go.
 */
export function userNamespaceFd(maps: Mappings, where: string): number {
  const [parentEnd, childFd] = native.socketpair();
  let childEnd = childFd;
  const plan = emptyPlan(PlanMode.Userns);
  plan.cloneFlags = BigInt(CLONE_NEW.user);
  plan.syncFd = childEnd;
  let pid = 0;
  try {
    pid = native.spawn(encodePlan(plan));
    native.closeFd(childEnd); // ours closed: a child that dies gives EOF, not a hang
    childEnd = -1;
    native.expectUserns(parentEnd, where);
    writeIdMappings(pid, maps, where);
    const fd = native.openFd(`/proc/${pid}/ns/user`, native.O.RDONLY | native.O.CLOEXEC);
    if (fd < 0) throw new BuncError(`${where}: open the user namespace of the mapping helper: ${strerror(-fd)}`);
    return fd;
  } finally {
    native.closeFd(childEnd);
    if (pid > 0) {
      native.syncSend(parentEnd, native.SYNC.GO); // the helper exits on any message
      native.waitpid(pid);
    }
    native.closeFd(parentEnd);
  }
}
