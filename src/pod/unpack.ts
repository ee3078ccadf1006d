// Applying image layers to a directory, as the OCI image spec describes: entries in order, a
// `.wh.NAME` whiteout deletes NAME from the layers below, `.wh..wh..opq` empties its directory.
// Every path is resolved inside the rootfs (symlinks included, as if chrooted), so a layer
// cannot write outside it.
import {
  chmodSync, existsSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, rmSync,
  symlinkSync, utimesSync, writeFileSync,
} from "node:fs";
import { gunzipSync } from "node:zlib";
import * as native from "../native.ts";
import { BuncError, strerror } from "../errors.ts";
import { readTar, type TarItem } from "./tar.ts";

const WH = ".wh.";
const OPAQUE = ".wh..wh..opq";

/** Layer bytes as a tar: gzip and zstd are recognised by their magic numbers. */
export function decompress(data: Uint8Array, what: string): Uint8Array {
  try {
    if (data[0] === 0x1f && data[1] === 0x8b) return gunzipSync(data);
    if (data[0] === 0x28 && data[1] === 0xb5 && data[2] === 0x2f && data[3] === 0xfd) return Bun.zstdDecompressSync(data);
  } catch (e) {
    throw new BuncError(`${what}: cannot decompress: ${(e as Error).message}`);
  }
  return data;
}

/** Clean relative components of a name in an archive; ".." is refused. */
function components(name: string, what: string): string[] {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new BuncError(`${what}: entry "${name}" climbs out of the root with ".."`);
  return parts;
}

/**
 * The host path of `parts` inside `root`, following symlinks in the parents as the container
 * would see them (an absolute link target starts again at root). The last component is not
 * followed: the caller replaces whatever is there.
 */
function resolveIn(root: string, parts: string[], what: string, followLast = false): string {
  let cur: string[] = [];
  const queue = followLast ? [...parts] : parts.slice(0, -1);
  let hops = 0;
  while (queue.length) {
    const p = queue.shift()!;
    if (p === "." || p === "") continue;
    if (p === "..") { cur.pop(); continue; }
    const host = `${root}/${[...cur, p].join("/")}`;
    let isLink = false;
    try {
      isLink = lstatSync(host).isSymbolicLink();
    } catch {}
    if (!isLink) { cur.push(p); continue; }
    if (++hops > 255) throw new BuncError(`${what}: too many symlinks resolving ${parts.join("/")}`);
    const target = readlinkSync(host);
    if (target.startsWith("/")) cur = [];
    queue.unshift(...target.split("/"));
  }
  return [root, ...cur, ...(followLast ? [] : parts.slice(-1))].join("/");
}

/** A path inside root (all symlinks followed inside it), for reading files of an image. */
export function pathInRoot(root: string, path: string): string {
  return resolveIn(root, components(path, root), root, true);
}

function makedev(major: number, minor: number): number {
  return (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | (major > 0xfff ? (major & ~0xfff) * 2 ** 32 : 0);
}

function removeExisting(path: string, keepDir: boolean): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (keepDir && st.isDirectory()) return;
  rmSync(path, { recursive: true, force: true });
}

function ensureParent(path: string): void {
  const dir = path.slice(0, path.lastIndexOf("/"));
  if (dir && !existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o755 });
}

function extract(root: string, e: TarItem, what: string): void {
  const parts = components(e.name, what);
  if (parts.length === 0) {
    // the root itself: only its metadata
    if (e.type === "dir") { chmodSync(root, e.mode); lchownSync(root, e.uid, e.gid); }
    return;
  }
  const path = resolveIn(root, parts, what);
  ensureParent(path);
  removeExisting(path, e.type === "dir");
  switch (e.type) {
    case "dir":
      if (!existsSync(path)) mkdirSync(path, { mode: 0o755 });
      break;
    case "file":
      writeFileSync(path, e.data, { mode: 0o600, flag: "wx" });
      break;
    case "symlink":
      symlinkSync(e.linkname, path);
      break;
    case "hardlink":
      linkSync(resolveIn(root, components(e.linkname, what), what), path);
      return; // a hard link shares the target's metadata
    case "char":
    case "block":
    case "fifo": {
      const kind = e.type === "char" ? 0o020000 : e.type === "block" ? 0o060000 : 0o010000;
      const r = native.sys(native.NR.mknodat, -100, Buffer.from(path + "\0"), kind | e.mode, makedev(e.devmajor, e.devminor));
      if (r < 0) throw new BuncError(`${what}: mknod ${e.name}: ${strerror(-r)}`);
      break;
    }
  }
  lchownSync(path, e.uid, e.gid);
  if (e.type !== "symlink") chmodSync(path, e.mode); // after chown, which clears setuid bits
  if (e.type === "symlink") lutimesSync(path, e.mtime, e.mtime);
  else if (e.type !== "dir") utimesSync(path, e.mtime, e.mtime);
}

function applyWhiteout(root: string, e: TarItem, what: string): boolean {
  const parts = components(e.name, what);
  const base = parts[parts.length - 1] ?? "";
  if (!base.startsWith(WH)) return false;
  const dirParts = parts.slice(0, -1);
  const dir = resolveIn(root, dirParts, what, true);
  if (base === OPAQUE) {
    try {
      for (const n of readdirSync(dir)) rmSync(`${dir}/${n}`, { recursive: true, force: true });
    } catch {}
  } else {
    const victim = base.slice(WH.length);
    if (victim === "" || victim === "." || victim === "..") throw new BuncError(`${what}: bad whiteout "${e.name}"`);
    rmSync(`${dir}/${victim}`, { recursive: true, force: true });
  }
  return true;
}

/** Apply one (uncompressed) layer tar to root. Whiteouts go first: they only hide lower layers. */
export function applyLayer(root: string, tar: Uint8Array, what: string): void {
  const items = [...readTarOrFail(tar, what)];
  const rest: TarItem[] = [];
  for (const e of items) if (!applyWhiteout(root, e, what)) rest.push(e);
  for (const e of rest) extract(root, e, what);
  // Directory times last: creating entries inside them changed them.
  for (const e of rest) {
    if (e.type !== "dir") continue;
    const parts = components(e.name, what);
    if (parts.length) try { utimesSync(resolveIn(root, parts, what), e.mtime, e.mtime); } catch {}
  }
}

function* readTarOrFail(tar: Uint8Array, what: string) {
  try {
    yield* readTar(tar, what);
  } catch (e) {
    if (e instanceof BuncError) throw e;
    throw new BuncError((e as Error).message);
  }
}
