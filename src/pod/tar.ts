// Reading tar archives (image layers, oci-archive files): ustar, GNU long names and pax headers,
// base-256 numbers. Entries come out in archive order with their data as views of the input.

export type TarType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

export interface TarItem {
  name: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  data: Uint8Array;
}

const BLOCK = 512;
const dec = new TextDecoder();

function str(b: Uint8Array, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const end = s.indexOf(0);
  return dec.decode(end < 0 ? s : s.subarray(0, end));
}

function num(b: Uint8Array, off: number, len: number): number {
  if (b[off]! & 0x80) {
    // base-256 (GNU): big-endian, first byte's top bit is the marker
    let v = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  const s = str(b, off, len).trim();
  return s ? parseInt(s, 8) : 0;
}

/** pax records: "<len> <key>=<value>\n" */
function parsePax(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(dec.decode(data.subarray(i, sp)), 10);
    if (!(len > 0)) break;
    const rec = dec.decode(data.subarray(sp + 1, i + len - 1));
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

const TYPES: Record<string, TarType> = { "0": "file", "\0": "file", "7": "file", "1": "hardlink", "2": "symlink", "3": "char", "4": "block", "5": "dir", "6": "fifo" };

/** Walk the entries of an uncompressed tar; throws on a malformed archive. */
export function* readTar(buf: Uint8Array, what = "tar"): Generator<TarItem> {
  let off = 0;
  let global: Record<string, string> = {};
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((x) => x === 0)) break; // end of archive
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== num(h, 148, 8)) throw new Error(`${what}: bad header checksum at offset ${off}`);
    const flag = String.fromCharCode(h[156]!);
    const size = num(h, 124, 12);
    const dataStart = off + BLOCK;
    if (dataStart + size > buf.length) throw new Error(`${what}: truncated entry at offset ${off}`);
    const data = buf.subarray(dataStart, dataStart + size);
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (flag === "x") { pax = { ...pax, ...parsePax(data) }; continue; }
    if (flag === "g") { global = { ...global, ...parsePax(data) }; continue; }
    if (flag === "L") { longName = str(data, 0, data.length); continue; }
    if (flag === "K") { longLink = str(data, 0, data.length); continue; }
    const type = TYPES[flag];
    const attrs = { ...global, ...pax };
    const magic = str(h, 257, 6);
    const prefix = magic.startsWith("ustar") ? str(h, 345, 155) : "";
    let name = attrs.path ?? longName ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    const linkname = attrs.linkpath ?? longLink ?? str(h, 157, 100);
    pax = {};
    longName = longLink = undefined;
    if (!type) continue; // other GNU extensions (sparse, volume labels): not in image layers
    if (type === "dir" && name.endsWith("/")) name = name.replace(/\/+$/, "");
    yield {
      name, type, linkname, size, data,
      mode: num(h, 100, 8) & 0o7777,
      uid: attrs.uid !== undefined ? Number(attrs.uid) : num(h, 108, 8),
      gid: attrs.gid !== undefined ? Number(attrs.gid) : num(h, 116, 8),
      mtime: attrs.mtime !== undefined ? Math.floor(Number(attrs.mtime)) : num(h, 136, 12),
      devmajor: num(h, 329, 8),
      devminor: num(h, 337, 8),
    };
  }
}
