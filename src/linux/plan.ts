// The plan: everything the C child needs, computed in TypeScript before clone.
// Mirrors struct plan in native/plan.h; encoded by plan-encode.ts.

/** Userns: a helper that only holds the user namespace clone made for it (idmapped mounts). */
export const enum PlanMode { Create = 1, Exec = 2, Userns = 3 }
export const enum HookKind { CreateContainer = 1, StartContainer = 2 }

/** bits of PlanMount.kind (MK_* in plan.h) */
export const MK = {
  BIND: 0x1, FILE: 0x2, REMOUNT: 0x4, CGROUP: 0x8, TMPCOPYUP: 0x10, PROC: 0x20, REC_ATTR: 0x40, REMOUNT_ONLY: 0x80, SYSFS: 0x100,
} as const;

export interface PlanMount {
  flags: number; // MS_* to mount with
  clear: number; // MS_* the options cleared explicitly (rw, suid, ...): informs the remount
  kind: number; // MK_*
  propagation: number[]; // MS_SHARED|MS_REC ... applied after the mount, in order
  attrSet: number; // MOUNT_ATTR_* applied recursively (rro, rnosuid, ...)
  attrClr: number;
  /** a detached mount tree the parent made (open_tree, e.g. idmapped) moved to target instead of a bind of source */
  srcfd?: number;
  source: string;
  target: string; // absolute path inside the container
  fstype: string;
  data: string;
}

export interface PlanDevice {
  type: number; // S_IFCHR / S_IFBLK / S_IFIFO
  major: number;
  minor: number;
  mode: number; // permission bits
  uid: number;
  gid: number;
  bind: boolean; // bind-mount the host's node instead of mknod (user namespaces)
  path: string;
}

export interface PlanHook {
  kind: HookKind;
  timeout: number;
  path: string;
  state: string; // the state JSON the hook reads on stdin
  args: string[];
  env: string[];
}

export interface Plan {
  mode: PlanMode;
  cloneFlags: bigint;
  nsJoin: { type: number; fd: number }[];
  syncFd: number;
  rootfs?: string;
  rootfsPropagation: number;
  rootReadonly: boolean;
  noPivot: boolean;
  mounts: PlanMount[];
  devices: PlanDevice[];
  symlinks: { target: string; linkpath: string }[];
  masked: string[];
  readonly: string[];
  hostname?: string;
  domainname?: string;
  sysctl: { key: string; value: string }[];
  args: string[];
  env: string[];
  cwd?: string;
  user?: { uid: number; gid: number; umask: number; groups: number[] };
  rlimits: { resource: number; soft: bigint; hard: bigint }[];
  caps?: { bounding: bigint; effective: bigint; inheritable: bigint; permitted: bigint; ambient: bigint };
  noNewPrivs: boolean;
  oomScoreAdj?: number;
  seccomp?: { flags: number; filter: Uint8Array };
  execFifoFd: number;
  init?: { fd: number; mode: "exec" | "init" | "init-pgrp" | "pause" };
  terminal?: { consoleFd: number };
  consoleSize?: { rows: number; cols: number };
  preserveFds: number;
  hooks: PlanHook[];
  personality?: number;
  cgroupNsAfter: boolean;
  apparmor?: string;
  selinux?: string;
  mountLabel?: string;
  ioprio?: number;
  /** v1 `tasks` files the child writes "0" to, joining its cgroups itself */
  cgroupTasksFds: number[];
  /** cgroup v2: the child is born in this cgroup directory (clone3 CLONE_INTO_CGROUP) */
  cgroupIntoFd?: number;
  /** CLONE_NEW* flags unshared by the child after its setns calls (instead of given to clone) */
  unshareFlags?: bigint;
  /** join (or create) this session keyring, as runc does unless --no-new-keyring */
  keyring?: string;
  /** fds to become the process's 0, 1, 2 (bunc pod gives each container pipes) */
  stdio?: [number, number, number];
  /** unshare a new time namespace (the exec'd process enters it) with these timens_offsets */
  timeNs?: { offsets: { clock: number; secs: bigint; nsecs: number }[] };
  scheduler?: { policy: number; nice: number; priority: number; flags: bigint; runtime: bigint; deadline: bigint; period: bigint };
}

export function emptyPlan(mode: PlanMode): Plan {
  return {
    mode, cloneFlags: 0n, nsJoin: [], syncFd: -1, rootfsPropagation: 0, rootReadonly: false, noPivot: false,
    cgroupTasksFds: [], mounts: [], devices: [], symlinks: [], masked: [], readonly: [], sysctl: [], args: [], env: [], rlimits: [],
    noNewPrivs: false, execFifoFd: -1, preserveFds: 0, hooks: [], cgroupNsAfter: false,
  };
}
