// linux.cgroupsPath -> directories, with runc's rules:
//   cgroupfs: an absolute path is under each hierarchy's root; a relative one (and the default,
//     the container id) is under this process's own cgroup (v1) or its parent (v2, whose own
//     cgroup usually has processes and so cannot have controllers enabled below it).
//   systemd: "slice:prefix:name" -> unit prefix-name.scope in slice (default system.slice,
//     user.slice when rootless, prefix "runc" when no path is given).
import { BuncError } from "../errors.ts";
import { cleanPath, joinPath, ownDir, v1Hierarchies, type Layout } from "./layout.ts";

function innerPath(cgroupsPath: string | undefined, id: string): string {
  if (cgroupsPath?.includes("\0")) throw new BuncError("linux.cgroupsPath: must not contain NUL");
  const p = cleanPath(cgroupsPath ?? "");
  return p === "" || p === "." ? cleanPath(id) : p;
}

/** controller -> directory for every mounted v1 hierarchy. */
export function v1Paths(layout: Layout, cgroupsPath: string | undefined, id: string): Record<string, string> {
  const inner = innerPath(cgroupsPath, id);
  const out: Record<string, string> = {};
  for (const h of v1Hierarchies(layout)) {
    let dir: string;
    if (inner.startsWith("/")) dir = joinPath(h.mountpoint, inner);
    else {
      const own = layout.own.get(h.controllers[0]!) ?? "/";
      dir = joinPath(ownDir(h.mountpoint, h.root, own), inner);
    }
    for (const c of h.controllers) out[c] = dir;
  }
  return out;
}

/** The container's directory in the cgroup2 hierarchy. */
export function v2Path(layout: Layout, cgroupsPath: string | undefined, id: string): string {
  const u = layout.unified;
  if (!u) throw new BuncError("cgroup: no cgroup2 filesystem is mounted");
  const inner = innerPath(cgroupsPath, id);
  if (inner.startsWith("/")) return joinPath(u.mountpoint, inner);
  const own = ownDir(u.mountpoint, u.root, layout.own.get("") ?? "/");
  const parent = own === u.mountpoint ? own : own.slice(0, own.lastIndexOf("/"));
  return joinPath(parent, inner);
}

export interface SystemdUnit {
  slice: string;
  prefix: string;
  name: string;
  /** prefix-name.scope, or name itself when it ends with .slice */
  unit: string;
}

export function parseSystemdPath(cgroupsPath: string | undefined, id: string, rootless: boolean): SystemdUnit {
  let slice = "";
  let prefix = "runc";
  let name = id;
  if (cgroupsPath) {
    const parts = cgroupsPath.split(":");
    if (parts.length !== 3)
      throw new BuncError(`linux.cgroupsPath "${cgroupsPath}": expected "slice:prefix:name" with --systemd-cgroup`);
    [slice, prefix, name] = parts as [string, string, string];
  }
  if (!slice) slice = rootless ? "user.slice" : "system.slice";
  if (!name) throw new BuncError(`linux.cgroupsPath "${cgroupsPath}": the name part must not be empty`);
  const unit = name.endsWith(".slice") ? name : `${prefix}-${name}.scope`;
  for (const [what, v] of [["slice", slice], ["unit", unit]] as const)
    if (v.includes("/")) throw new BuncError(`linux.cgroupsPath "${cgroupsPath}": the ${what} name must not contain "/"`);
  return { slice, prefix, name, unit };
}

/** systemd's slice naming: a-b-c.slice lives at /a.slice/a-b.slice/a-b-c.slice. */
export function expandSlice(slice: string): string {
  const suffix = ".slice";
  if (!slice.endsWith(suffix) || slice.length <= suffix.length || slice.includes("/"))
    throw new BuncError(`systemd: invalid slice name "${slice}"`);
  const base = slice.slice(0, -suffix.length);
  if (base === "-") return "/";
  let path = "";
  let prefix = "";
  for (const part of base.split("-")) {
    if (part === "") throw new BuncError(`systemd: invalid slice name "${slice}"`);
    path += `/${prefix}${part}${suffix}`;
    prefix += `${part}-`;
  }
  return path;
}
