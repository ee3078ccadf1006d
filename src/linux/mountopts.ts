// OCI mount `options` -> mount(2) flags, propagation changes, recursive mount_setattr(2)
// attributes, bunc extensions and the filesystem data string. The option names and their
// meaning follow runc (libcontainer/specconv): an option no table knows is filesystem data.
// The flag values are the kernel's (include/uapi/linux/mount.h); the unit test checks them.

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  I_VERSION: 1 << 23,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

/** mount_setattr(2) attributes (struct mount_attr.attr_set / attr_clr). */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  _ATIME: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;

interface FlagRule {
  clear: boolean;
  flag: number;
}

const set = (flag: number): FlagRule => ({ clear: false, flag });
const clear = (flag: number): FlagRule => ({ clear: true, flag });

/** Options that set or clear a mount(2) flag. */
const MOUNT_FLAGS: Readonly<Record<string, FlagRule>> = {
  // "acl" is not MS_POSIXACL (runc#3738): it stays filesystem data.
  async: clear(MS.SYNCHRONOUS),
  atime: clear(MS.NOATIME),
  bind: set(MS.BIND),
  dev: clear(MS.NODEV),
  diratime: clear(MS.NODIRATIME),
  dirsync: set(MS.DIRSYNC),
  exec: clear(MS.NOEXEC),
  iversion: set(MS.I_VERSION),
  lazytime: set(MS.LAZYTIME),
  loud: clear(MS.SILENT),
  mand: set(MS.MANDLOCK),
  noatime: set(MS.NOATIME),
  nodev: set(MS.NODEV),
  nodiratime: set(MS.NODIRATIME),
  noexec: set(MS.NOEXEC),
  noiversion: clear(MS.I_VERSION),
  nolazytime: clear(MS.LAZYTIME),
  nomand: clear(MS.MANDLOCK),
  norelatime: clear(MS.RELATIME),
  nostrictatime: clear(MS.STRICTATIME),
  nosuid: set(MS.NOSUID),
  nosymfollow: set(MS.NOSYMFOLLOW), // kernel 5.10
  rbind: set(MS.BIND | MS.REC),
  relatime: set(MS.RELATIME),
  remount: set(MS.REMOUNT),
  ro: set(MS.RDONLY),
  rw: clear(MS.RDONLY),
  silent: set(MS.SILENT),
  strictatime: set(MS.STRICTATIME),
  suid: clear(MS.NOSUID),
  sync: set(MS.SYNCHRONOUS),
  symfollow: clear(MS.NOSYMFOLLOW),
};

/** Options that change the propagation type, applied in the order given, after the mount. */
export const PROPAGATION: Readonly<Record<string, number>> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** "r"-prefixed options: attributes applied to the whole mount tree with mount_setattr(AT_RECURSIVE). */
const REC_ATTRS: Readonly<Record<string, FlagRule>> = {
  rro: set(MOUNT_ATTR.RDONLY),
  rrw: clear(MOUNT_ATTR.RDONLY),
  rnosuid: set(MOUNT_ATTR.NOSUID),
  rsuid: clear(MOUNT_ATTR.NOSUID),
  rnodev: set(MOUNT_ATTR.NODEV),
  rdev: clear(MOUNT_ATTR.NODEV),
  rnoexec: set(MOUNT_ATTR.NOEXEC),
  rexec: clear(MOUNT_ATTR.NOEXEC),
  rnodiratime: set(MOUNT_ATTR.NODIRATIME),
  rdiratime: clear(MOUNT_ATTR.NODIRATIME),
  rrelatime: set(MOUNT_ATTR.RELATIME),
  rnorelatime: clear(MOUNT_ATTR.RELATIME),
  rnoatime: set(MOUNT_ATTR.NOATIME),
  ratime: clear(MOUNT_ATTR.NOATIME),
  rstrictatime: set(MOUNT_ATTR.STRICTATIME),
  rnostrictatime: clear(MOUNT_ATTR.STRICTATIME),
  rnosymfollow: set(MOUNT_ATTR.NOSYMFOLLOW), // kernel 5.14
  rsymfollow: clear(MOUNT_ATTR.NOSYMFOLLOW),
};

/** Options bunc acts on itself rather than passing to the kernel. */
const EXTENSIONS = ["tmpcopyup", "idmap", "ridmap"] as const;

/** Every option name bunc understands (for `bunc features`), sorted. */
export const KNOWN_MOUNT_OPTIONS: readonly string[] = [
  "defaults",
  ...Object.keys(MOUNT_FLAGS),
  ...Object.keys(PROPAGATION),
  ...Object.keys(REC_ATTRS),
  ...EXTENSIONS,
].sort();

export interface MountOptions {
  /** MS_* flags for mount(2). */
  flags: number;
  /** MS_* flags an option explicitly cleared (a bind remount must not keep them from the source). */
  clearedFlags: number;
  /** Propagation changes (MS_SHARED|MS_REC, ...), one mount(2) call each, in option order. */
  propagation: number[];
  /** mount_setattr(2) with AT_RECURSIVE: attr_set and attr_clr; both 0 means no call. */
  recAttrSet: number;
  recAttrClr: number;
  /** Unknown options, comma-joined: the filesystem's own data (e.g. "mode=755,size=65536k"). */
  data: string;
  /** tmpcopyup: copy the directory's original content into the new tmpfs. */
  tmpcopyup: boolean;
  /** idmap / ridmap: make an idmapped mount (recursive for ridmap). */
  idmap?: { recursive: boolean };
  /** MS_BIND is set (bind or rbind). */
  bind: boolean;
  /** MS_BIND|MS_REC (rbind). */
  recursive: boolean;
}

export function parseMountOptions(options: readonly string[] | undefined): MountOptions {
  let flags = 0;
  let clearedFlags = 0;
  let recAttrSet = 0;
  let recAttrClr = 0;
  let tmpcopyup = false;
  let idmap: MountOptions["idmap"];
  const propagation: number[] = [];
  const data: string[] = [];
  for (const o of options ?? []) {
    const f = own(MOUNT_FLAGS, o);
    const p = own(PROPAGATION, o);
    const r = own(REC_ATTRS, o);
    if (f) {
      // A later option wins over an earlier opposite one (e.g. "ro" then "rw").
      if (f.clear) {
        flags &= ~f.flag;
        clearedFlags |= f.flag;
      } else {
        flags |= f.flag;
        clearedFlags &= ~f.flag;
      }
    } else if (p !== undefined) {
      propagation.push(p);
    } else if (r) {
      if (r.clear) {
        recAttrClr |= r.flag;
        recAttrSet &= ~r.flag;
      } else {
        recAttrSet |= r.flag;
        recAttrClr &= ~r.flag;
        // mount_setattr(2): an atime mode in attr_set needs MOUNT_ATTR__ATIME in attr_clr.
        if ((r.flag & MOUNT_ATTR._ATIME) === r.flag) recAttrClr |= MOUNT_ATTR._ATIME;
      }
    } else if (o === "tmpcopyup") {
      tmpcopyup = true;
    } else if (o === "idmap" || o === "ridmap") {
      idmap = { recursive: o === "ridmap" };
    } else if (o === "defaults") {
      // mount(8)'s "use the defaults": nothing to set. runc passes it on as filesystem data,
      // which filesystems such as tmpfs then refuse; dropping it is the intended meaning.
    } else {
      data.push(o);
    }
  }
  return {
    flags,
    clearedFlags,
    propagation,
    recAttrSet,
    recAttrClr,
    data: data.join(","),
    tmpcopyup,
    idmap,
    bind: (flags & MS.BIND) !== 0,
    recursive: (flags & (MS.BIND | MS.REC)) === (MS.BIND | MS.REC),
  };
}

function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
