// Where the cgroup hierarchies are on this host, read from /proc/self/mountinfo once per run.
//   v1:     only v1 hierarchies (one per controller or co-mounted group such as "cpu,cpuacct")
//   hybrid: v1 hierarchies plus a cgroup2 mount (usually /sys/fs/cgroup/unified) used by systemd
//   v2:     one cgroup2 mount holding every controller
import { readFileSync } from "node:fs";
import { BuncError } from "../errors.ts";

export type CgroupMode = "v1" | "hybrid" | "v2";

export interface V1Hierarchy {
  /** where it is mounted, e.g. /sys/fs/cgroup/cpu,cpuacct */
  mountpoint: string;
  /** the cgroup of this mount's root inside the hierarchy ("/" unless we are inside a container) */
  root: string;
  /** the controllers it carries; named hierarchies appear as "name=systemd" */
  controllers: string[];
}

export interface Layout {
  mode: CgroupMode;
  /** controller -> its hierarchy (co-mounted controllers share one object) */
  v1: Map<string, V1Hierarchy>;
  /** the cgroup2 mount (v2: the only one; hybrid: the extra one), if any */
  unified?: { mountpoint: string; root: string };
  /** this process's own cgroup per controller ("" for the cgroup2 hierarchy) */
  own: Map<string, string>;
}

/** mountinfo escapes spaces and the like as \040 (octal). */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): Pick<Layout, "v1" | "unified"> {
  const v1 = new Map<string, V1Hierarchy>();
  let unified: Layout["unified"];
  for (const line of text.split("\n")) {
    if (!line) continue;
    // id parent major:minor root mountpoint options [optional fields...] - fstype source superoptions
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(" ");
    const right = line.slice(sep + 3).split(" ");
    const fstype = right[0];
    const root = unescapeMountField(left[3] ?? "/");
    const mountpoint = unescapeMountField(left[4] ?? "");
    if (fstype === "cgroup2") {
      // the first cgroup2 mount wins (a container may see a second one bind-mounted)
      unified ??= { mountpoint, root };
    } else if (fstype === "cgroup") {
      const superOpts = (right[2] ?? "").split(",");
      const controllers = superOpts.filter((o) => o !== "rw" && o !== "ro" && !o.startsWith("release_agent=") && o !== "clone_children" && o !== "xattr" && o !== "noprefix" && o !== "cpuset_v2_mode" && o !== "favordynmods");
      const h: V1Hierarchy = { mountpoint, root, controllers };
      for (const c of controllers) if (!v1.has(c)) v1.set(c, h);
    }
  }
  return { v1, unified };
}

/** /proc/self/cgroup: "id:controllers:path" lines; cgroup2 has id 0 and empty controllers. */
export function parseProcCgroup(text: string): Map<string, string> {
  const own = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const ctrls = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (ctrls === "") own.set("", path);
    else for (const c of ctrls.split(",")) own.set(c, path);
  }
  return own;
}

export function layoutFrom(mountinfo: string, procCgroup: string): Layout {
  const { v1, unified } = parseMountinfo(mountinfo);
  const own = parseProcCgroup(procCgroup);
  let mode: CgroupMode;
  if (v1.size === 0) {
    if (!unified) throw new BuncError("cgroup: no cgroup filesystem is mounted (see /proc/self/mountinfo)");
    mode = "v2";
  } else {
    mode = unified ? "hybrid" : "v1";
  }
  return { mode, v1, unified, own };
}

let cached: Layout | undefined;

export function hostLayout(): Layout {
  cached ??= layoutFrom(readFileSync("/proc/self/mountinfo", "utf8"), readFileSync("/proc/self/cgroup", "utf8"));
  return cached;
}

/** The v1 hierarchies to join, one entry per mount (co-mounted controllers share a path). */
export function v1Hierarchies(layout: Layout): V1Hierarchy[] {
  return [...new Set(layout.v1.values())];
}

/**
 * This process's cgroup directory in a hierarchy, seen through that hierarchy's mount. When the
 * mount's root is not "/" (inside a container) the own path is relative to it.
 */
export function ownDir(mountpoint: string, mountRoot: string, ownPath: string): string {
  let rel = ownPath;
  if (mountRoot !== "/" && (rel === mountRoot || rel.startsWith(mountRoot + "/"))) rel = rel.slice(mountRoot.length);
  return joinPath(mountpoint, rel);
}

/** Join absolute path parts, normalising "." and "..", never climbing above the first part. */
export function joinPath(base: string, ...rest: string[]): string {
  const out: string[] = [];
  for (const part of rest.join("/").split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  const b = base.endsWith("/") && base !== "/" ? base.slice(0, -1) : base;
  return out.length === 0 ? b : (b === "/" ? "" : b) + "/" + out.join("/");
}

/** runc's CleanPath: a lexically cleaned path that cannot escape its root via "..". */
export function cleanPath(p: string): string {
  if (p === "") return "";
  const abs = p.startsWith("/");
  const cleaned = joinPath("/", p);
  if (abs) return cleaned;
  const rel = cleaned.slice(1);
  return rel === "" ? "." : rel;
}
