// The config.json `bunc spec` writes: runc's example spec (libcontainer/specconv/example.go of
// current runc), field for field and in the key order Go marshals it, so the output reads like
// `runc spec`'s. Differences: the hostname is "bunc"; and against runc 1.1.x (Debian 12's) the
// ones current runc made too: no ambient capabilities (ambient caps would be granted to every
// non-root program the container runs), /sys/devices/virtual/tpm masked, ociVersion ours.
import { statfsSync } from "node:fs";
import type { Mount, Spec } from "./types.ts";

/** The runtime-spec version bunc implements (config.json `ociVersion`, `bunc state`, `--version`). */
export const OCI_VERSION = "1.2.1";

const CGROUP2_SUPER_MAGIC = 0x63677270;

/** True when /sys/fs/cgroup is a cgroup2 mount (not the v1 or hybrid layout). */
export function isCgroup2Unified(): boolean {
  try {
    return statfsSync("/sys/fs/cgroup").type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

export interface DefaultSpecOptions {
  /** `bunc spec --rootless`: runc's ToRootless changes (user namespace, no cgroup settings). */
  rootless: boolean;
  /** Add a cgroup namespace, as runc does on a cgroup v2 host (default: detect the host). */
  cgroupNamespace?: boolean;
  /** The ids the rootless mappings map to container root (default: this process's euid/egid). */
  uid?: number;
  gid?: number;
}

const DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

export function defaultSpec(opts: DefaultSpecOptions): Spec {
  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "bunc",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
      },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
        "/sys/devices/virtual/tpm",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
  if (opts.cgroupNamespace ?? isCgroup2Unified()) spec.linux!.namespaces!.push({ type: "cgroup" });
  if (opts.rootless) toRootless(spec, opts.uid ?? process.geteuid!(), opts.gid ?? process.getegid!());
  return spec;
}

/**
 * runc's ToRootless: a user namespace mapping container root to the calling user, no network
 * namespace (an unprivileged user could not configure it), /sys bind-mounted from the host
 * (sysfs cannot be mounted without owning the network namespace), no uid=/gid= mount options
 * (those ids are not mapped), and no cgroup settings.
 */
function toRootless(spec: Spec, uid: number, gid: number): void {
  const linux = spec.linux!;
  const namespaces = (linux.namespaces ?? []).filter((ns) => ns.type !== "network" && ns.type !== "user");
  namespaces.push({ type: "user" });
  // Rebuild `linux` so that the mappings come first, where Go's struct order puts them.
  const { resources: _dropped, ...rest } = linux;
  spec.linux = {
    uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
    ...rest,
    namespaces,
  };
  spec.mounts = (spec.mounts ?? []).map((m): Mount => {
    if (cleanPath(m.destination) === "/sys") {
      return { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] };
    }
    if (!m.options) return m;
    const options = m.options.filter((o) => !o.startsWith("gid=") && !o.startsWith("uid="));
    const { options: _old, ...rest } = m;
    return options.length > 0 ? { ...m, options } : rest;
  });
}

function cleanPath(p: string): string {
  const parts: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return (p.startsWith("/") ? "/" : "") + parts.join("/");
}
