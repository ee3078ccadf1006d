// A small, deterministic tar writer (POSIX ustar, with pax headers for long names) for the
// test image builder. Only what image layers need: directories, regular files, symlinks.
import { lstatSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";

export interface TarEntry {
  /** path inside the archive, relative, "/"-separated, no leading "./" (dirs may end in "/") */
  name: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  uid?: number;
  gid?: number;
  /** seconds since the epoch; default FIXED_MTIME so archives are reproducible */
  mtime?: number;
  data?: Uint8Array;
  linkname?: string;
}

/** 2023-11-14T22:13:20Z: a fixed time, so the same inputs always give the same digests. */
export const FIXED_MTIME = 1_700_000_000;

const BLOCK = 512;
const enc = new TextEncoder();

/** The entries of a directory tree, sorted, parents before children; `skip` gets relative paths. */
export function entriesFromDir(dir: string, skip: (rel: string) => boolean = () => false): TarEntry[] {
  const out: TarEntry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const full = join(dir, r);
      const st = lstatSync(full);
      const common = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) {
        out.push({ name: `${r}/`, type: "dir", ...common });
        walk(r);
      } else if (st.isSymbolicLink()) {
        out.push({ name: r, type: "symlink", linkname: readlinkSync(full), ...common });
      } else if (st.isFile()) {
        out.push({ name: r, type: "file", data: readFileSync(full), ...common });
      } else {
        throw new Error(`tar: ${full}: only files, directories and symlinks are supported`);
      }
    }
  };
  walk("");
  return out;
}

/** Serialize entries into a tar archive (uncompressed). */
export function writeTar(entries: TarEntry[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const e of entries) {
    const name = e.type === "dir" && !e.name.endsWith("/") ? `${e.name}/` : e.name;
    const data = e.type === "file" ? (e.data ?? new Uint8Array()) : new Uint8Array();
    const linkname = e.linkname ?? "";
    const split = splitUstarName(name);
    const pax: Record<string, string> = {};
    if (!split) pax.path = name;
    if (enc.encode(linkname).length > 100) pax.linkpath = linkname;
    if (Object.keys(pax).length) {
      const body = paxBody(pax);
      chunks.push(header({ name: "PaxHeaders/entry", prefix: "", type: "x", size: body.length, mode: 0o644, uid: 0, gid: 0, mtime: e.mtime ?? FIXED_MTIME, linkname: "" }));
      chunks.push(padded(body));
    }
    chunks.push(
      header({
        name: split ? split.name : name.slice(-100),
        prefix: split ? split.prefix : "",
        type: e.type === "file" ? "0" : e.type === "dir" ? "5" : "2",
        size: data.length,
        mode: e.mode,
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        mtime: e.mtime ?? FIXED_MTIME,
        linkname: linkname.length > 100 ? linkname.slice(0, 100) : linkname,
      }),
    );
    if (data.length) chunks.push(padded(data));
  }
  chunks.push(new Uint8Array(BLOCK * 2)); // end of archive
  return concat(chunks);
}

interface Header {
  name: string;
  prefix: string;
  type: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
}

function header(h: Header): Uint8Array {
  const b = new Uint8Array(BLOCK);
  const str = (off: number, len: number, s: string) => b.set(enc.encode(s).subarray(0, len), off);
  const oct = (off: number, len: number, n: number) => str(off, len, n.toString(8).padStart(len - 1, "0") + "\0");
  str(0, 100, h.name);
  oct(100, 8, h.mode);
  oct(108, 8, h.uid);
  oct(116, 8, h.gid);
  oct(124, 12, h.size);
  oct(136, 12, h.mtime);
  str(148, 8, "        "); // checksum is computed with its own field as spaces
  str(156, 1, h.type);
  str(157, 100, h.linkname);
  str(257, 6, "ustar\0");
  str(263, 2, "00");
  str(265, 32, h.uid === 0 ? "root" : "");
  str(297, 32, h.gid === 0 ? "root" : "");
  oct(329, 8, 0);
  oct(337, 8, 0);
  str(345, 155, h.prefix);
  let sum = 0;
  for (const byte of b) sum += byte;
  str(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return b;
}

/** ustar keeps up to 155 bytes of directory in `prefix` and 100 in `name`; null when that cannot hold it. */
function splitUstarName(path: string): { prefix: string; name: string } | null {
  const bytes = enc.encode(path).length;
  if (bytes <= 100) return { prefix: "", name: path };
  if (bytes > 256) return null;
  // Split at a "/" (not the trailing one of a directory) so both parts fit.
  for (let i = path.lastIndexOf("/", path.length - 2); i > 0; i = path.lastIndexOf("/", i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (enc.encode(prefix).length <= 155 && enc.encode(name).length <= 100) return { prefix, name };
  }
  return null;
}

/** pax records are "<len> key=value\n" where <len> counts the whole record, itself included. */
function paxBody(records: Record<string, string>): Uint8Array {
  let text = "";
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    const restLen = enc.encode(rest).length;
    let digits = 1;
    while (String(restLen + digits).length !== digits) digits++;
    text += `${restLen + digits}${rest}`;
  }
  return enc.encode(text);
}

function padded(data: Uint8Array): Uint8Array {
  const rem = data.length % BLOCK;
  return rem === 0 ? data : concat([data, new Uint8Array(BLOCK - rem)]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
