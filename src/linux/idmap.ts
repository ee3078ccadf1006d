// Idmapped bind mounts (mount uidMappings/gidMappings, or the "idmap"/"ridmap" options with the
// container's own mappings). mount_setattr(MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN over the source
// filesystem (the host's user namespace), which the container child no longer has once it is in
// its own user namespace. So bunc makes the trees before clone: open_tree(OPEN_TREE_CLONE) of the
// source, idmapped with a user namespace that carries the mapping; the child only moves each
// detached tree onto its target (move_mount, native/rootfs.c).
import { BuncError, strerror } from "../errors.ts";
import type { IDMapping, Mount, Spec } from "../spec/types.ts";
import * as native from "../native.ts";
import { MOUNT_ATTR } from "./mountopts.ts";
import { userNamespaceFd, type Mappings } from "./userns.ts";

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const AT_RECURSIVE = 0x8000;
const OPEN_TREE_CLONE = 1;

export interface IdmapRequest {
  mount: Mount;
  index: number;
  source: string;
  /** rbind: clone the whole tree under source */
  recursiveBind: boolean;
  /** "ridmap": idmap every mount of the tree, not only its top */
  recursiveIdmap: boolean;
}

/** Makes idmapped trees for one create; close() releases what is left after the clone. */
export class IdmapTrees {
  private readonly fds: number[] = [];
  private readonly userns = new Map<string, number>();

  constructor(private readonly spec: Spec) {}

  private mappings(r: IdmapRequest, where: string): Mappings {
    const m = r.mount;
    const uid = m.uidMappings?.length ? m.uidMappings : this.spec.linux?.uidMappings;
    const gid = m.gidMappings?.length ? m.gidMappings : this.spec.linux?.gidMappings;
    if (!uid?.length || !gid?.length) {
      throw new BuncError(`${where}: an idmapped mount needs uidMappings and gidMappings (on the mount, or linux.uidMappings/gidMappings of a user namespace)`);
    }
    return { uid, gid };
  }

  private usernsFor(maps: Mappings, where: string): number {
    const key = JSON.stringify([maps.uid.map(flat), maps.gid.map(flat)]);
    let fd = this.userns.get(key);
    if (fd === undefined) {
      fd = userNamespaceFd(maps, where);
      this.userns.set(key, fd);
      this.fds.push(fd);
    }
    return fd;
  }

  /** The fd of a detached, idmapped copy of r.source (the plan's srcfd). */
  tree(r: IdmapRequest): number {
    const where = `config.json: mounts[${r.index}]`;
    if (process.geteuid!() !== 0) throw new BuncError(`${where}: idmapped mounts need root (mount_setattr over the host's filesystem)`);
    const usernsFd = this.usernsFor(this.mappings(r, where), where);
    const fd = native.sys(native.NR.open_tree, AT_FDCWD, Buffer.from(r.source + "\0"),
      OPEN_TREE_CLONE | native.O.CLOEXEC | (r.recursiveBind ? AT_RECURSIVE : 0));
    if (fd < 0) throw new BuncError(`${where}: open_tree ${r.source}: ${strerror(-fd)}`);
    this.fds.push(fd);
    // struct mount_attr { u64 attr_set, attr_clr, propagation, userns_fd }
    const attr = new BigInt64Array([BigInt(MOUNT_ATTR.IDMAP), 0n, 0n, BigInt(usernsFd)]);
    const rc = native.sys(native.NR.mount_setattr, fd, Buffer.from("\0"), AT_EMPTY_PATH | (r.recursiveIdmap ? AT_RECURSIVE : 0), attr, 32);
    if (rc < 0) {
      const why = -rc === 22 ? " (does the filesystem of the source support idmapped mounts?)" : "";
      throw new BuncError(`${where}: idmap ${r.source}: ${strerror(-rc)}${why}`);
    }
    return fd;
  }

  close(): void {
    for (const fd of this.fds.splice(0)) native.closeFd(fd);
    this.userns.clear();
  }
}

function flat(m: IDMapping): number[] {
  return [m.containerID, m.hostID, m.size];
}
