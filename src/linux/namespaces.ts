// OCI namespace types -> CLONE_NEW* flags, and which are created by clone vs joined by path.
import { BuncError } from "../errors.ts";
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

/** /proc/<pid>/ns/<name> for each type (exec joins a running container through these). */
export const NS_PROC_NAME: Record<NamespaceType, string> = {
  mount: "mnt", uts: "uts", ipc: "ipc", user: "user", pid: "pid", network: "net", cgroup: "cgroup", time: "time",
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
  /** joined by path, in join order */
  join: { type: NamespaceType; path: string }[];
}

export function planNamespaces(list: Namespace[] | undefined): NamespacePlan {
  let cloneFlags = 0;
  let cgroupNsAfter = false;
  const join: NamespacePlan["join"] = [];
  for (const ns of list ?? []) {
    if (ns.path) join.push({ type: ns.type, path: ns.path });
    else if (ns.type === "cgroup") cgroupNsAfter = true;
    else if (ns.type === "time") throw new BuncError("config.json: linux.namespaces: a new time namespace is not supported yet");
    else cloneFlags |= CLONE_NEW[ns.type];
  }
  return { cloneFlags, cgroupNsAfter, join: sortForJoin(join) };
}

export function hasNamespace(list: Namespace[] | undefined, type: NamespaceType): boolean {
  return !!list?.some((n) => n.type === type);
}
