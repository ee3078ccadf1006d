// Pod images are local (no registry is reachable): a root filesystem directory, an OCI image
// layout (`oci:DIR[:TAG]`) or an oci-archive (`oci-archive:FILE[:TAG]`). OCI images are unpacked
// once into a cache keyed by the manifest digest; the image config's Entrypoint/Cmd/Env/
// WorkingDir/User come along for the container spec.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { BuncError } from "../errors.ts";
import { readTar } from "./tar.ts";
import { applyLayer, decompress } from "./unpack.ts";

export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
}

export interface Image {
  /** as written in the manifest */
  ref: string;
  /** the root filesystem directory (read-only for us: containers get an overlay on top) */
  rootfs: string;
  config: ImageConfig;
  /** imageID as Kubernetes shows it: the manifest digest, or the directory for a plain rootfs */
  id: string;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string; variant?: string };
}

const INDEX_TYPES = ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
const REF_NAME = "org.opencontainers.image.ref.name";

const ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" };

/** Reads blobs from a layout directory or from an archive held in memory. */
interface BlobSource {
  what: string;
  read(path: string): Uint8Array | undefined;
}

function dirSource(dir: string, what: string): BlobSource {
  return {
    what,
    read(path) {
      try {
        return readFileSync(`${dir}/${path}`);
      } catch {
        return undefined;
      }
    },
  };
}

function archiveSource(file: string, what: string): BlobSource {
  let buf: Uint8Array;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new BuncError(`${what}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const files = new Map<string, Uint8Array>();
  try {
    for (const e of readTar(buf, what)) if (e.type === "file") files.set(e.name.replace(/^(\.\/)+/, ""), e.data);
  } catch (e) {
    throw new BuncError(`${what}: not a tar archive: ${(e as Error).message}`);
  }
  return { what, read: (path) => files.get(path) };
}

function blob(src: BlobSource, digest: string): Uint8Array {
  const m = /^(sha256|sha512):([a-f0-9]+)$/.exec(digest);
  if (!m) throw new BuncError(`${src.what}: unsupported digest "${digest}"`);
  const data = src.read(`blobs/${m[1]}/${m[2]}`);
  if (!data) throw new BuncError(`${src.what}: blob ${digest} is missing`);
  const got = createHash(m[1]!).update(data).digest("hex");
  if (got !== m[2]) throw new BuncError(`${src.what}: blob ${digest} does not match its digest (got ${m[1]}:${got})`);
  return data;
}

function json<T>(src: BlobSource, data: Uint8Array, what: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(data)) as T;
  } catch {
    throw new BuncError(`${src.what}: ${what} is not valid JSON`);
  }
}

/** The manifest descriptor for tag (or the only one), descending into image indexes by platform. */
function pickManifest(src: BlobSource, tag: string | undefined): Descriptor {
  const indexBytes = src.read("index.json");
  if (!indexBytes) throw new BuncError(`${src.what}: not an OCI image layout (index.json is missing)`);
  const index = json<{ manifests?: Descriptor[] }>(src, indexBytes, "index.json");
  const all = index.manifests ?? [];
  let d: Descriptor | undefined;
  if (tag !== undefined) d = all.find((m) => m.annotations?.[REF_NAME] === tag);
  else d = all.length === 1 ? all[0] : all.find((m) => m.annotations?.[REF_NAME] === "latest");
  if (!d) {
    const tags = all.map((m) => m.annotations?.[REF_NAME]).filter(Boolean);
    const want = tag === undefined ? "no tag given and no \"latest\"" : `no image tagged "${tag}"`;
    throw new BuncError(`${src.what}: ${want} (tags: ${tags.length ? tags.join(", ") : "none"})`);
  }
  for (let depth = 0; d && INDEX_TYPES.includes(d.mediaType ?? ""); depth++) {
    if (depth > 4) throw new BuncError(`${src.what}: image indexes nest too deep`);
    const inner: { manifests?: Descriptor[] } = json(src, blob(src, d.digest), `index ${d.digest}`);
    const arch = ARCH[process.arch] ?? process.arch;
    d = inner.manifests?.find((m: Descriptor) => m.platform?.os === "linux" && m.platform?.architecture === arch);
    if (!d) throw new BuncError(`${src.what}: no image for linux/${arch} in the index`);
  }
  return d;
}

/** "oci:DIR:TAG" -> [DIR, TAG]: the tag is what follows the last ":" after the last "/". */
function splitTag(rest: string): [string, string | undefined] {
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/") && colon > 0) return [rest.slice(0, colon), rest.slice(colon + 1)];
  return [rest, undefined];
}

export function imageHelp(ref: string): string {
  return `image "${ref}": no registry is reachable; give a local image: a root filesystem directory (absolute, or relative to the manifest), oci:DIR[:TAG] (an OCI image layout) or oci-archive:FILE[:TAG]`;
}

export interface ResolveOptions {
  /** the manifest's directory (relative images start there) */
  baseDir: string;
  /** where unpacked images are kept */
  cacheDir: string;
  /** the field path for messages, e.g. "pod.yaml: spec.containers[0].image" */
  where: string;
}

/** Find (and if needed unpack) an image. Throws BuncError naming the field. */
export function resolveImage(ref: string, o: ResolveOptions): Image {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(o.baseDir, p));
  try {
    if (ref.startsWith("oci:") || ref.startsWith("oci-archive:")) {
      const archive = ref.startsWith("oci-archive:");
      const [path, tag] = splitTag(ref.slice(archive ? "oci-archive:".length : "oci:".length));
      if (!path) throw new BuncError(`image "${ref}": missing path`);
      const full = abs(path);
      if (!existsSync(full)) throw new BuncError(`image "${ref}": ${full} does not exist`);
      const src = archive ? archiveSource(full, `image "${ref}"`) : dirSource(full, `image "${ref}"`);
      return unpackCached(ref, src, tag, o.cacheDir);
    }
    const dir = abs(ref);
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {}
    if (isDir) return { ref, rootfs: dir, config: {}, id: dir };
    if (isAbsolute(ref) || ref.startsWith(".")) throw new BuncError(`image "${ref}": ${dir} is not a directory`);
    throw new BuncError(imageHelp(ref));
  } catch (e) {
    if (e instanceof BuncError) throw new BuncError(`${o.where}: ${e.message}`);
    throw e;
  }
}

function unpackCached(ref: string, src: BlobSource, tag: string | undefined, cacheDir: string): Image {
  const d = pickManifest(src, tag);
  const [algo, hex] = d.digest.split(":") as [string, string];
  const dir = `${cacheDir}/${algo}/${hex}`;
  const id = d.digest;
  const configFile = `${dir}/config.json`;
  if (existsSync(`${dir}/.complete`)) return { ref, rootfs: `${dir}/rootfs`, config: JSON.parse(readFileSync(configFile, "utf8")), id };

  const manifest = json<{ config?: Descriptor; layers?: Descriptor[] }>(src, blob(src, d.digest), `manifest ${d.digest}`);
  if (!manifest.config) throw new BuncError(`${src.what}: manifest ${d.digest} has no config`);
  const imageConfig = json<{ config?: ImageConfig }>(src, blob(src, manifest.config.digest), "image config").config ?? {};
  // Unpack beside the final place and rename: a half-unpacked image is never used, and two
  // pods unpacking the same image at once both end up with a complete one.
  mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    mkdirSync(`${tmp}/rootfs`, { recursive: true, mode: 0o755 });
    for (const [i, l] of (manifest.layers ?? []).entries()) {
      if (/foreign|nondistributable/.test(l.mediaType ?? "")) throw new BuncError(`${src.what}: layer ${i} is a foreign layer (not in the image)`);
      applyLayer(`${tmp}/rootfs`, decompress(blob(src, l.digest), `${src.what}: layer ${i}`), `${src.what}: layer ${i}`);
    }
    writeFileSync(`${tmp}/config.json`, JSON.stringify(imageConfig));
    writeFileSync(`${tmp}/.complete`, "");
    try {
      renameSync(tmp, dir);
    } catch (e) {
      if (!existsSync(`${dir}/.complete`)) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { ref, rootfs: `${dir}/rootfs`, config: imageConfig, id };
}
