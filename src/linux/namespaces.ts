// OCI namespace types -> CLONE_NEW* flags, and which are created by clone vs joined by path.
import type { Namespace, NamespaceType } from "../spec/types.ts";

export const CLONE_NEW: Record<NamespaceType, number> = {
  mount: 0x00020000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  network: 0x40000000,
  cgroup: 0x02000000,
  time: 0x00000080,
};

/** /proc/<pid>/ns/<name> for each type (exec joins a running container through these). A new time
 * namespace is the init's time_for_children until its first execve (a created container). */
export const NS_PROC_NAME: Record<NamespaceType, string> = {
  mount: "mnt", uts: "uts", ipc: "ipc", user: "user", pid: "pid", network: "net", cgroup: "cgroup", time: "time_for_children",
};

/** runc's order for joining: the user namespace first (it grants the rights for the others),
 * the mount namespace late (it changes the root the remaining paths would resolve in). */
export const JOIN_ORDER: NamespaceType[] = ["user", "ipc", "uts", "network", "pid", "mount", "cgroup", "time"];

export function sortForJoin<T extends { type: NamespaceType }>(list: T[]): T[] {
  return [...list].sort((a, b) => JOIN_ORDER.indexOf(a.type) - JOIN_ORDER.indexOf(b.type));
}

export interface NamespacePlan {
  /** created fresh by clone */
  cloneFlags: number;
  /** created with unshare after the cgroup is joined (so the container's cgroup is its root) */
  cgroupNsAfter: boolean;
  /** a new time namespace: unshare(CLONE_NEWTIME) in the child (clone(2) does not take the flag) */
  timeNew: boolean;
  /** with a user namespace joined by path: the new namespaces, unshared after the join so that the
   * joined user namespace owns them (cloneFlags is then 0) */
  unshareFlags: number;
  /** joined by path, in join order */
  join: { type: NamespaceType; path: string }[];
}

export function planNamespaces(list: Namespace[] | undefined): NamespacePlan {
  let cloneFlags = 0;
  let cgroupNsAfter = false;
  let timeNew = false;
  const join: NamespacePlan["join"] = [];
  for (const ns of list ?? []) {
    if (ns.path) join.push({ type: ns.type, path: ns.path });
    else if (ns.type === "cgroup") cgroupNsAfter = true;
    else if (ns.type === "time") timeNew = true;
    else cloneFlags |= CLONE_NEW[ns.type];
  }
  // A new user namespace with namespaces joined by path (e.g. a host network namespace): the child
  // joins those first, while it is still privileged where they live, then makes the user
  // namespace and the rest (as runc does); the joined ones stay owned by their own user namespace.
  if (join.some((j) => j.type === "user")) return { cloneFlags: 0, unshareFlags: cloneFlags, cgroupNsAfter, timeNew, join: sortForJoin(join) };
  return { cloneFlags, unshareFlags: 0, cgroupNsAfter, timeNew, join: sortForJoin(join) };
}

export function hasNamespace(list: Namespace[] | undefined, type: NamespaceType): boolean {
  return !!list?.some((n) => n.type === type);
}
