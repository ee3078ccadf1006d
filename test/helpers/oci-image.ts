// OCI images built locally for tests (no registry is reachable): an image layout directory
// (oci-layout, index.json, blobs/sha256/...) and an oci-archive (a tar of that layout), in
// pure TypeScript. Output is reproducible: the same inputs give the same digests.
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { busyboxRootfs } from "./rootfs.ts";
import { entriesFromDir, FIXED_MTIME, type TarEntry, writeTar } from "./tar.ts";

export const MEDIA_INDEX = "application/vnd.oci.image.index.v1+json";
export const MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json";
export const MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

export interface ImageConfigOptions {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  labels?: Record<string, string>;
}

export interface LayoutOptions extends ImageConfigOptions {
  /** the tag (org.opencontainers.image.ref.name); default "latest" */
  tag?: string;
  /** a full image name for containerd's import (io.containerd.image.name), e.g. docker.io/library/busybox:latest */
  name?: string;
}

export interface BuiltImage {
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** sha256 of each uncompressed layer tar, as in the config's rootfs.diff_ids */
  diffIds: string[];
}

export const sha256 = (data: Uint8Array | string) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

export function ociArch(): string {
  return ({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" } as Record<string, string>)[process.arch] ?? process.arch;
}

/**
 * Write an image layout at `dir` whose layers are the given tar entry lists, applied in order
 * (a later layer may delete with a `.wh.<name>` whiteout entry, as the image spec says).
 */
export function buildOciLayout(dir: string, layerEntries: TarEntry[][], opts: LayoutOptions = {}): BuiltImage {
  mkdirSync(join(dir, "blobs/sha256"), { recursive: true });
  const put = (data: Uint8Array | string, mediaType: string): Descriptor => {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const digest = sha256(bytes);
    writeFileSync(join(dir, "blobs/sha256", digest.slice("sha256:".length)), bytes);
    return { mediaType, digest, size: bytes.length };
  };

  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const entries of layerEntries) {
    const tar = writeTar(entries);
    diffIds.push(sha256(tar));
    layers.push(put(gzipSync(tar, { level: 6 }), MEDIA_LAYER_GZIP));
  }

  const created = new Date(FIXED_MTIME * 1000).toISOString();
  const imageConfig = {
    created,
    architecture: ociArch(),
    os: "linux",
    config: {
      Env: opts.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      ...(opts.entrypoint ? { Entrypoint: opts.entrypoint } : {}),
      Cmd: opts.cmd ?? ["sh"],
      WorkingDir: opts.workingDir ?? "/",
      ...(opts.user ? { User: opts.user } : {}),
      ...(opts.labels ? { Labels: opts.labels } : {}),
    },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: diffIds.map((_, i) => ({ created, created_by: `bunc test image layer ${i}` })),
  };
  const config = put(JSON.stringify(imageConfig), MEDIA_CONFIG);

  const manifest = put(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_MANIFEST, config, layers }), MEDIA_MANIFEST);

  const annotations: Record<string, string> = { "org.opencontainers.image.ref.name": opts.tag ?? "latest" };
  if (opts.name) annotations["io.containerd.image.name"] = opts.name;
  const indexEntry: Descriptor = { ...manifest, annotations, platform: { architecture: ociArch(), os: "linux" } };
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_INDEX, manifests: [indexEntry] }));
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  return { manifest: indexEntry, config, layers, diffIds };
}

/** The busybox test rootfs as one layer's entries (without the cache's bookkeeping files). */
export function busyboxLayerEntries(): TarEntry[] {
  return entriesFromDir(busyboxRootfs(), (rel) => rel === ".complete");
}

/**
 * An image layout of the busybox rootfs: one gzip'd layer, Cmd ["sh"] unless told otherwise.
 * `extraLayers` are added on top (e.g. files a test wants, or whiteouts).
 */
export function buildBusyboxOciLayout(dir: string, opts: LayoutOptions & { extraLayers?: TarEntry[][] } = {}): BuiltImage {
  return buildOciLayout(dir, [busyboxLayerEntries(), ...(opts.extraLayers ?? [])], opts);
}

/** Write `file` as an oci-archive: an uncompressed tar of the layout directory's contents. */
export function ociArchive(layoutDir: string, file: string): void {
  const entries = entriesFromDir(layoutDir).map((e) => ({ ...e, uid: 0, gid: 0 }));
  writeFileSync(file, writeTar(entries));
}
