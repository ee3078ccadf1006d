// The OCI features document (runtime-spec features.md) for `bunc features`: what this build
// recognises. Lists come from the tables the runtime itself uses, so they cannot drift.
import { release } from "node:os";
import { CAPABILITIES } from "../linux/capabilities.ts";
import { KNOWN_MOUNT_OPTIONS } from "../linux/mountopts.ts";
import { KNOWN_FLAGS, SUPPORTED_ACTIONS, SUPPORTED_ARCHS, SUPPORTED_OPERATORS, supportedFlags } from "../linux/seccomp/support.ts";
import { OCI_VERSION } from "./default.ts";
import { HOOK_KINDS, NAMESPACE_TYPES } from "./validate.ts";

/**
 * What is built in, per subsystem ("compiled in", not "present on this host", as the features
 * document defines it). Keep in step with the code: each entry names where support lives.
 */
export const BUILD_SUPPORT = {
  cgroupV1: true, // src/cgroups (v1 driver)
  cgroupV2: true, // src/cgroups (v2 driver)
  systemd: true, // src/cgroups (systemd driver, --systemd-cgroup)
  systemdUser: true, // systemd driver on the user's manager (rootless)
  rdma: true, // linux.resources.rdma
  seccomp: true, // src/linux/seccomp (own BPF compiler, no libseccomp)
  // process.apparmorProfile / selinuxLabel / linux.mountLabel are applied (native/child.c writes
  // attr/exec through the host procfs; src/linux/build-plan.ts adds context= to mounts) but have
  // only been run on hosts without those LSMs, where they are refused: not claimed until seen
  // working on an AppArmor and an SELinux host.
  apparmor: false,
  selinux: false,
  intelRdt: false, // linux.intelRdt is refused (no resctrl group management yet)
  idmapMounts: true, // mount uidMappings/gidMappings, "idmap"/"ridmap" (src/linux/idmap.ts)
} as const;

/** bunc's own config.json annotations, described in the features annotations. */
export const CONFIG_ANNOTATIONS: Readonly<Record<string, string>> = {
  "run.bunc.init": 'config annotation: "true" runs bunc\'s init as the container\'s PID 1 (like --init)',
  "run.bunc.pause": 'config annotation: "true" runs bunc\'s built-in pause program instead of process.args',
};

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean; rdma: boolean };
    seccomp?: {
      enabled: boolean;
      actions: string[];
      operators: string[];
      archs: string[];
      knownFlags: string[];
      supportedFlags: string[];
    };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
    intelRdt: { enabled: boolean };
    mountExtensions: { idmap: { enabled: boolean } };
  };
  annotations: Record<string, string>;
  potentiallyUnsafeConfigAnnotations: string[];
}

export interface FeaturesOptions {
  version: string;
  commit: string;
  /** `uname -r`, deciding which seccomp flags the kernel accepts (default: this host's). */
  kernelRelease?: string;
}

/** The document, keys in the order of runtime-spec's Go struct (as `runc features` prints). */
export function buildFeatures(opts: FeaturesOptions): Features {
  const s = BUILD_SUPPORT;
  const features: Features = {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: [...HOOK_KINDS],
    mountOptions: [...KNOWN_MOUNT_OPTIONS],
    linux: {
      namespaces: [...NAMESPACE_TYPES].sort(),
      capabilities: [...CAPABILITIES],
      cgroup: { v1: s.cgroupV1, v2: s.cgroupV2, systemd: s.systemd, systemdUser: s.systemdUser, rdma: s.rdma },
      seccomp: s.seccomp
        ? {
            enabled: true,
            actions: [...SUPPORTED_ACTIONS],
            operators: [...SUPPORTED_OPERATORS],
            archs: [...SUPPORTED_ARCHS],
            knownFlags: [...KNOWN_FLAGS],
            supportedFlags: supportedFlags(opts.kernelRelease ?? release()),
          }
        : undefined,
      apparmor: { enabled: s.apparmor },
      selinux: { enabled: s.selinux },
      intelRdt: { enabled: s.intelRdt },
      mountExtensions: { idmap: { enabled: s.idmapMounts } },
    },
    annotations: {
      "run.bunc.version": opts.version,
      "run.bunc.commit": opts.commit,
      ...CONFIG_ANNOTATIONS,
    },
    // Annotations that change what the runtime does: an engine passing user-supplied
    // annotations through should filter these ("." at the end: a prefix).
    potentiallyUnsafeConfigAnnotations: ["run.bunc.", "org.systemd.property."],
  };
  return features;
}
