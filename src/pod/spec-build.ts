// The OCI config of each pod container and of the sandbox, as containerd's CRI plugin builds
// them for kubelet: namespaces joined from the sandbox by path, the Kubernetes command/args
// rules against the image config, the runtime's default capabilities, kubelet-managed /etc
// files, volumes as bind mounts, and cgroup values from resources.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { BuncError } from "../errors.ts";
import { boundingCaps, CAPABILITIES } from "../linux/capabilities.ts";
import { isCgroup2Unified } from "../spec/default.ts";
import type { Device, Mount, Namespace, Spec } from "../spec/types.ts";
import type { Image } from "./image.ts";
import { containerResources, oomScoreAdj, SANDBOX_OOM_SCORE_ADJ, type QosClass } from "./resources.ts";
import type { ContainerSpec, PodSpec } from "./types.ts";
import { pathInRoot } from "./unpack.ts";

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** containerd's default capability set for CRI containers. */
const DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
  "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"];
const MASKED = ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
  "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"];
const READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];
export const DEFAULT_TERMINATION_PATH = "/dev/termination-log";

let ownOomFloor: number | undefined;

/**
 * A value below our own oom_score_adj needs CAP_SYS_RESOURCE; without it (some sandboxes drop
 * it), kubelet's -997/-998 would fail every container, so they are raised to what we may set.
 */
export function settableOomScoreAdj(v: number): number {
  if (ownOomFloor === undefined) {
    ownOomFloor = -1000;
    try {
      const eff = /^CapEff:\s+([0-9a-f]+)/m.exec(readFileSync("/proc/self/status", "utf8"));
      const CAP_SYS_RESOURCE = 24n;
      if (eff && !((BigInt(`0x${eff[1]}`) >> CAP_SYS_RESOURCE) & 1n))
        ownOomFloor = Number(readFileSync("/proc/self/oom_score_adj", "utf8").trim());
    } catch {}
  }
  return Math.max(v, ownOomFloor);
}

export interface PodContext {
  name: string;
  namespace: string;
  uid: string;
  spec: PodSpec;
  qos: QosClass;
  hostname: string;
  /** cgroupfs-style path of the pod cgroup: <parent>[/burstable|/besteffort]/pod<uid> */
  podCgroup: string;
  systemd: boolean;
  images: Record<string, Image>;
  /** the pod's data directory: volumes, /etc files, writable layers */
  data: string;
  memoryCapacity: number;
}

export interface Paths {
  volume: (name: string) => string;
  hosts: string;
  hostname: string;
  resolv: string;
  shm: string;
  sandboxRootfs: string;
  containerRootfs: (name: string) => string;
  terminationLog: (name: string) => string;
}

export function podPaths(data: string): Paths {
  return {
    volume: (n) => `${data}/volumes/${n}`,
    hosts: `${data}/etc/hosts`,
    hostname: `${data}/etc/hostname`,
    resolv: `${data}/etc/resolv.conf`,
    shm: `${data}/shm`,
    sandboxRootfs: `${data}/sandbox-rootfs`,
    containerRootfs: (n) => `${data}/containers/${n}/rootfs`,
    terminationLog: (n) => `${data}/containers/${n}/termination-log`,
  };
}

/**
 * kubelet's systemd naming: the cgroupfs-style path /a/b-c/d is the slice a-b_c-d.slice (each
 * level a slice of its parent, "-" inside a name escaped as "_"). A first component that is
 * already a slice name (--cgroup-parent my-pods.slice) is taken as the prefix as it is.
 */
export function systemdSlice(cgroupfsPath: string): string {
  const parts = cgroupfsPath.split("/").filter(Boolean);
  if (parts.length === 0) return "-.slice";
  const first = parts[0]!.endsWith(".slice") ? parts[0]!.slice(0, -".slice".length) : parts[0]!.replace(/-/g, "_");
  return `${[first, ...parts.slice(1).map((p) => p.replace(/-/g, "_"))].join("-")}.slice`;
}

/** linux.cgroupsPath of a container (leaf) in the pod's cgroup. */
export function cgroupsPathFor(ctx: PodContext, leaf: string, id: string): string {
  return ctx.systemd ? `${systemdSlice(ctx.podCgroup)}:bunc:${id}` : `${ctx.podCgroup}/${leaf}`;
}

/** Kubernetes' $(VAR) expansion in command, args and env values: $$ escapes, unknown stays. */
export function expandVars(s: string, lookup: (name: string) => string | undefined): string {
  return s.replace(/\$(\$|\(([A-Za-z_][A-Za-z0-9_.-]*)\))/g, (all, tok: string, name?: string) => {
    if (tok === "$") return "$";
    const v = lookup(name!);
    return v === undefined ? all : v;
  });
}

/** The container's environment: the image's, HOSTNAME, then the manifest's (later wins). */
export function containerEnv(c: ContainerSpec, img: Image, hostname: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const kv of img.config.Env ?? []) {
    const eq = kv.indexOf("=");
    if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  if (!env.has("PATH")) env.set("PATH", DEFAULT_PATH);
  env.set("HOSTNAME", hostname);
  // Each value may refer to variables defined before it in the manifest (or by the image).
  for (const e of c.env ?? []) env.set(e.name, expandVars(e.value ?? "", (n) => env.get(n)));
  return env;
}

/** The argv Kubernetes runs: command replaces Entrypoint, args replaces Cmd. */
export function containerArgs(c: ContainerSpec, img: Image, env: Map<string, string>): string[] {
  const entry = img.config.Entrypoint ?? [];
  const cmd = img.config.Cmd ?? [];
  let argv: string[];
  if (c.command) argv = [...c.command, ...(c.args ?? [])];
  else if (c.args) argv = [...entry, ...c.args];
  else argv = [...entry, ...cmd];
  return argv.map((a) => expandVars(a, (n) => env.get(n)));
}

function readInImage(rootfs: string, path: string): string {
  try {
    return readFileSync(pathInRoot(rootfs, path), "utf8");
  } catch {
    return "";
  }
}

/** The image's User ("uid", "uid:gid", "name", "name:group") as numbers, via its /etc files. */
export function imageUser(img: Image): { uid: number; gid: number; name?: string } {
  const user = img.config.User ?? "";
  if (!user) return { uid: 0, gid: 0, name: "root" };
  const [u, g] = user.split(":") as [string, string | undefined];
  const passwd = readInImage(img.rootfs, "/etc/passwd").split("\n").map((l) => l.split(":"));
  let uid: number, gid: number | undefined, name: string | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const ent = passwd.find((p) => p[2] === u);
    if (ent) { name = ent[0]; gid = Number(ent[3]); }
  } else {
    const ent = passwd.find((p) => p[0] === u);
    if (!ent) throw new BuncError(`image "${img.ref}": user "${u}" is not in the image's /etc/passwd`);
    name = u;
    uid = Number(ent[2]);
    gid = Number(ent[3]);
  }
  if (g !== undefined && g !== "") {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const ent = readInImage(img.rootfs, "/etc/group").split("\n").map((l) => l.split(":")).find((p) => p[0] === g);
      if (!ent) throw new BuncError(`image "${img.ref}": group "${g}" is not in the image's /etc/group`);
      gid = Number(ent[2]);
    }
  }
  return { uid, gid: gid ?? 0, name };
}

/** Groups of the image's /etc/group that list the user as a member. */
function memberGroups(img: Image, name: string | undefined): number[] {
  if (!name) return [];
  return readInImage(img.rootfs, "/etc/group").split("\n").map((l) => l.split(":"))
    .filter((p) => p.length >= 4 && p[3]!.split(",").includes(name)).map((p) => Number(p[2])).filter(Number.isInteger);
}

function capName(n: string): string {
  const up = n.toUpperCase();
  return up.startsWith("CAP_") ? up : `CAP_${up}`;
}

/** containerd's rules: start from the default set (or none after drop ALL), add, then drop. */
export function capabilitySet(c: ContainerSpec): string[] {
  const sc = c.securityContext;
  // "all" is all this process holds: the host may lack some (here: CAP_SYS_RESOURCE), and a
  // capset asking for one outside the bounding set fails the container
  if (sc?.privileged) return boundingCaps();
  const add = (sc?.capabilities?.add ?? []).map(capName);
  const drop = (sc?.capabilities?.drop ?? []).map(capName);
  let caps = new Set(drop.includes("CAP_ALL") ? [] : DEFAULT_CAPS);
  if (add.includes("CAP_ALL")) caps = new Set(boundingCaps());
  for (const a of add) if (a !== "CAP_ALL") {
    if (!CAPABILITIES.includes(a)) throw new BuncError(`capability "${a}" is unknown`);
    caps.add(a);
  }
  for (const d of drop) caps.delete(d);
  return [...caps];
}

function passwdEntry(img: Image, uid: number): string[] | undefined {
  return readInImage(img.rootfs, "/etc/passwd").split("\n").map((l) => l.split(":")).find((p) => p.length >= 6 && p[2] === String(uid));
}

/** containerd's rules: runAsUser takes its group (and name, for supplementary groups) from the
 * image's passwd entry unless runAsGroup says otherwise. */
function processUser(ctx: PodContext, c: ContainerSpec, img: Image) {
  const psc = ctx.spec.securityContext, sc = c.securityContext;
  let { uid, gid, name } = imageUser(img);
  const runAs = sc?.runAsUser ?? psc?.runAsUser;
  if (runAs !== undefined && runAs !== uid) {
    const ent = passwdEntry(img, runAs);
    uid = runAs;
    name = ent?.[0];
    gid = ent ? Number(ent[3]) : 0;
  }
  gid = sc?.runAsGroup ?? psc?.runAsGroup ?? gid;
  const groups = [...new Set([...memberGroups(img, name), ...(psc?.supplementalGroups ?? [])])].filter((g) => g !== gid);
  return { uid, gid, ...(groups.length ? { additionalGids: groups } : {}) };
}

/** Refuse what kubelet refuses before starting: runAsNonRoot with a root user, no command. */
export function checkRunnable(ctx: PodContext, c: ContainerSpec, where: string): void {
  const img = ctx.images[c.name]!;
  const env = containerEnv(c, img, ctx.hostname);
  if (containerArgs(c, img, env).length === 0)
    throw new BuncError(`${where}: no command to run: the image has no Entrypoint or Cmd, so give command`);
  const nonRoot = c.securityContext?.runAsNonRoot ?? ctx.spec.securityContext?.runAsNonRoot;
  if (nonRoot) {
    const u = processUser(ctx, c, img);
    if (u.uid === 0) throw new BuncError(`${where}: runAsNonRoot is set but the container would run as root (uid 0)`);
  }
}

const bind = (source: string, destination: string, extra: string[] = []): Mount => ({
  destination, type: "bind", source, options: ["rbind", "rprivate", ...extra],
});

function baseMounts(privileged: boolean): Mount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", privileged ? "rw" : "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro"] },
  ];
}

/** Every device node of the host (privileged containers get them all, as with containerd). */
function hostDevices(): Device[] {
  const out: Device[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = `${dir}/${n}`;
      if (["/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/console", "/dev/ptmx", "/dev/fd"].includes(p)) continue;
      let st;
      try {
        st = statSync(p, { throwIfNoEntry: false });
      } catch {
        continue;
      }
      if (!st) continue;
      if (st.isDirectory() && depth < 2) walk(p, depth + 1);
      else if (st.isCharacterDevice() || st.isBlockDevice()) {
        out.push({ path: p, type: st.isCharacterDevice() ? "c" : "b", major: Math.floor(st.rdev / 256) & 0xfff, minor: (st.rdev & 0xff) | ((st.rdev >> 12) & ~0xff),
          fileMode: st.mode & 0o777, uid: st.uid, gid: st.gid });
      }
    }
  };
  walk("/dev", 0);
  return out;
}

const PROPAGATION = { None: "rprivate", HostToContainer: "rslave", Bidirectional: "rshared" } as const;

function volumeMounts(ctx: PodContext, c: ContainerSpec, paths: Paths): Mount[] {
  const out: Mount[] = [];
  for (const m of c.volumeMounts ?? []) {
    const v = ctx.spec.volumes!.find((x) => x.name === m.name)!;
    let source = v.hostPath ? v.hostPath.path : paths.volume(v.name);
    if (m.subPath) source = `${source}/${m.subPath}`;
    const opts = ["rbind", PROPAGATION[m.mountPropagation ?? "None"]];
    if (m.readOnly) opts.push("ro");
    out.push({ destination: m.mountPath, type: "bind", source, options: opts });
  }
  return out;
}

function annotations(ctx: PodContext, kind: "sandbox" | "container", name?: string): Record<string, string> {
  return {
    "io.kubernetes.cri.container-type": kind,
    "io.kubernetes.pod.name": ctx.name,
    "io.kubernetes.pod.namespace": ctx.namespace,
    "io.kubernetes.pod.uid": ctx.uid,
    ...(name ? { "io.kubernetes.container.name": name } : {}),
  };
}

export interface ContainerSpecInput {
  ctx: PodContext;
  c: ContainerSpec;
  id: string;
  sandboxPid: number;
  paths: Paths;
}

export function buildContainerSpec({ ctx, c, id, sandboxPid, paths }: ContainerSpecInput): Spec {
  const img = ctx.images[c.name]!;
  const s = ctx.spec;
  const sc = c.securityContext ?? {};
  const privileged = !!sc.privileged;
  const env = containerEnv(c, img, ctx.hostname);
  const caps = capabilitySet(c);
  const user = processUser(ctx, c, img);
  // As runc does when the environment has none: HOME from the image's passwd entry, else "/".
  if (!env.has("HOME")) {
    env.set("HOME", passwdEntry(img, user.uid)?.[5] || "/");
  }
  const ns = (type: Namespace["type"]): Namespace => ({ type, path: `/proc/${sandboxPid}/ns/${type === "network" ? "net" : type}` });
  const namespaces: Namespace[] = [{ type: "mount" }];
  if (!s.hostNetwork) namespaces.push(ns("network"), ns("uts"));
  if (!s.hostIPC) namespaces.push(ns("ipc"));
  if (s.shareProcessNamespace) namespaces.push(ns("pid"));
  else if (!s.hostPID) namespaces.push({ type: "pid" });
  if (isCgroup2Unified()) namespaces.push({ type: "cgroup" });

  const mounts = [
    ...baseMounts(privileged),
    bind(paths.hosts, "/etc/hosts"),
    bind(paths.hostname, "/etc/hostname"),
    bind(paths.resolv, "/etc/resolv.conf"),
    bind(s.hostIPC ? "/dev/shm" : paths.shm, "/dev/shm", ["nosuid", "nodev", "noexec"]),
    bind(paths.terminationLog(c.name), c.terminationMessagePath ?? DEFAULT_TERMINATION_PATH),
    ...volumeMounts(ctx, c, paths),
  ];
  const resources = containerResources(c);
  resources.devices = privileged ? [{ allow: true, access: "rwm" }] : [{ allow: false, access: "rwm" }];
  return {
    ociVersion: "1.2.1",
    process: {
      terminal: false,
      user,
      args: containerArgs(c, img, env),
      env: [...env].map(([k, v]) => `${k}=${v}`),
      cwd: c.workingDir ?? (img.config.WorkingDir || "/"),
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: !privileged && sc.allowPrivilegeEscalation === false,
      oomScoreAdj: settableOomScoreAdj(oomScoreAdj(c, ctx.qos, ctx.memoryCapacity)),
    },
    root: { path: paths.containerRootfs(c.name), readonly: !!sc.readOnlyRootFilesystem },
    mounts,
    annotations: annotations(ctx, "container", c.name),
    linux: {
      cgroupsPath: cgroupsPathFor(ctx, c.name, id),
      resources,
      namespaces,
      ...(privileged ? { devices: hostDevices() } : { maskedPaths: MASKED, readonlyPaths: READONLY }),
    },
  };
}

/** The sandbox: bunc's built-in pause holding the pod's namespaces and hostname. */
export function buildSandboxSpec(ctx: PodContext, id: string, paths: Paths): Spec {
  const s = ctx.spec;
  const namespaces: Namespace[] = [{ type: "mount" }];
  if (!s.hostNetwork) namespaces.push({ type: "network" }, { type: "uts" });
  if (!s.hostIPC) namespaces.push({ type: "ipc" });
  if (!s.hostPID) namespaces.push({ type: "pid" });
  const sysctl = Object.fromEntries((s.securityContext?.sysctls ?? []).map((x) => [x.name, x.value]));
  return {
    ociVersion: "1.2.1",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ["/pause"],
      env: [`PATH=${DEFAULT_PATH}`],
      cwd: "/",
      capabilities: { bounding: [], effective: [], permitted: [] },
      noNewPrivileges: true,
      oomScoreAdj: settableOomScoreAdj(SANDBOX_OOM_SCORE_ADJ),
    },
    root: { path: paths.sandboxRootfs, readonly: true },
    ...(s.hostNetwork ? {} : { hostname: ctx.hostname }),
    mounts: [{ destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "noexec", "mode=755", "size=64k"] }],
    annotations: { ...annotations(ctx, "sandbox"), "run.bunc.pause": "true" },
    linux: {
      cgroupsPath: cgroupsPathFor(ctx, "sandbox", id),
      resources: { cpu: { shares: 2 }, devices: [{ allow: false, access: "rwm" }] },
      namespaces,
      ...(Object.keys(sysctl).length ? { sysctl } : {}),
      maskedPaths: MASKED,
      readonlyPaths: READONLY,
    },
  };
}

/** kubelet's managed /etc/hosts (with hostAliases); the host's own with hostNetwork. */
export function hostsFile(ctx: PodContext): string {
  const s = ctx.spec;
  let text: string;
  if (s.hostNetwork) {
    text = existsSync("/etc/hosts") ? readFileSync("/etc/hosts", "utf8") : "";
    if (text && !text.endsWith("\n")) text += "\n";
  } else {
    const fqdn = s.subdomain ? `${ctx.hostname}.${s.subdomain}.${ctx.namespace}.svc.cluster.local\t` : "";
    text = "# Kubernetes-managed hosts file (bunc pod).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
      "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
      `127.0.1.1\t${fqdn}${ctx.hostname}\n`;
  }
  const aliases = s.hostAliases ?? [];
  if (aliases.length) {
    text += "\n# Entries added by HostAliases.\n";
    for (const a of aliases) text += `${a.ip}\t${(a.hostnames ?? []).join("\t")}\n`;
  }
  return text;
}
