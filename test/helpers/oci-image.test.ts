// The test image builder: every digest matches its blob, and GNU tar unpacks what we wrote.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { buildBusyboxOciLayout, MEDIA_CONFIG, MEDIA_INDEX, MEDIA_LAYER_GZIP, MEDIA_MANIFEST, ociArchive, sha256 } from "./oci-image.ts";
import { busyboxRootfs } from "./rootfs.ts";

const work = mkdtempSync(join(tmpdir(), "bunc-oci-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const blob = (layout: string, digest: string) => readFileSync(join(layout, "blobs/sha256", digest.replace("sha256:", "")));
const json = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data));

function run(argv: string[]): string {
  const r = Bun.spawnSync(argv);
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

describe("buildBusyboxOciLayout", () => {
  const layout = join(work, "layout");
  const image = buildBusyboxOciLayout(layout, { tag: "1.0", cmd: ["echo", "hi"], entrypoint: ["/bin/sh", "-c"], workingDir: "/tmp", env: ["PATH=/bin", "A=b"] });

  test("index.json and oci-layout point at a manifest, config and layer whose digests match", () => {
    expect(json(readFileSync(join(layout, "oci-layout")))).toEqual({ imageLayoutVersion: "1.0.0" });
    const index = json(readFileSync(join(layout, "index.json")));
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(MEDIA_INDEX);
    expect(index.manifests).toHaveLength(1);
    const desc = index.manifests[0];
    expect(desc.mediaType).toBe(MEDIA_MANIFEST);
    expect(desc.annotations["org.opencontainers.image.ref.name"]).toBe("1.0");

    // Every blob is named by the sha256 of its bytes.
    for (const name of readdirSync(join(layout, "blobs/sha256")))
      expect(sha256(readFileSync(join(layout, "blobs/sha256", name)))).toBe(`sha256:${name}`);

    const manifestBytes = blob(layout, desc.digest);
    expect(manifestBytes.length).toBe(desc.size);
    const manifest = json(manifestBytes);
    expect(manifest.config.mediaType).toBe(MEDIA_CONFIG);
    expect(blob(layout, manifest.config.digest).length).toBe(manifest.config.size);
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0].mediaType).toBe(MEDIA_LAYER_GZIP);
    const layer = blob(layout, manifest.layers[0].digest);
    expect(layer.length).toBe(manifest.layers[0].size);

    const config = json(blob(layout, manifest.config.digest));
    expect(config.os).toBe("linux");
    expect(config.rootfs).toEqual({ type: "layers", diff_ids: [sha256(gunzipSync(layer))] });
    expect(config.config).toMatchObject({ Entrypoint: ["/bin/sh", "-c"], Cmd: ["echo", "hi"], WorkingDir: "/tmp", Env: ["PATH=/bin", "A=b"] });
    expect(image.manifest.digest).toBe(desc.digest);
    expect(image.diffIds).toEqual(config.rootfs.diff_ids);
  });

  test("the layer unpacks with tar into the busybox rootfs", () => {
    const out = join(work, "unpacked");
    mkdirSync(out);
    const layerFile = join(layout, "blobs/sha256", image.layers[0]!.digest.replace("sha256:", ""));
    run(["tar", "-xzf", layerFile, "-C", out]);
    expect(new Uint8Array(readFileSync(join(out, "bin/busybox")))).toEqual(new Uint8Array(readFileSync(join(busyboxRootfs(), "bin/busybox"))));
    expect(readlinkSync(join(out, "bin/sh"))).toBe("/bin/busybox");
    expect(readFileSync(join(out, "etc/passwd"), "utf8")).toContain("user:x:1000:1000:");
    const listing = run(["tar", "-tvzf", layerFile, "--numeric-owner"]);
    expect(listing).toMatch(/drwxr-xr-x 1000\/1000 .* home\/user\//);
    expect(listing).not.toContain(".complete");
  });

  test("building again gives the same digests", () => {
    const again = buildBusyboxOciLayout(join(work, "again"), { tag: "1.0", cmd: ["echo", "hi"], entrypoint: ["/bin/sh", "-c"], workingDir: "/tmp", env: ["PATH=/bin", "A=b"] });
    expect(again.manifest.digest).toBe(image.manifest.digest);
  });

  test("extra layers go on top, in order, whiteouts included", () => {
    const dir = join(work, "layered");
    const img = buildBusyboxOciLayout(dir, {
      extraLayers: [[{ name: "etc/.wh.motd", type: "file", mode: 0o644 }, { name: "hello", type: "file", mode: 0o644, data: new TextEncoder().encode("hi") }]],
    });
    expect(img.layers).toHaveLength(2);
    const manifest = json(blob(dir, img.manifest.digest));
    expect(manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(img.layers.map((l) => l.digest));
    const top = run(["tar", "-tzf", join(dir, "blobs/sha256", img.layers[1]!.digest.replace("sha256:", ""))]);
    expect(top.split("\n").filter(Boolean)).toEqual(["etc/.wh.motd", "hello"]);
  });
});

describe("ociArchive", () => {
  test("is a tar of the layout that unpacks to the same files", () => {
    const layout = join(work, "for-archive");
    buildBusyboxOciLayout(layout, { name: "docker.io/library/busybox:latest" });
    const file = join(work, "image.tar");
    ociArchive(layout, file);
    const names = run(["tar", "-tf", file]).split("\n").filter(Boolean);
    expect(names).toContain("index.json");
    expect(names).toContain("oci-layout");
    for (const b of readdirSync(join(layout, "blobs/sha256"))) expect(names).toContain(`blobs/sha256/${b}`);
    const out = join(work, "from-archive");
    mkdirSync(out);
    run(["tar", "-xf", file, "-C", out]);
    expect(readFileSync(join(out, "index.json"), "utf8")).toBe(readFileSync(join(layout, "index.json"), "utf8"));
    expect(json(readFileSync(join(out, "index.json"))).manifests[0].annotations["io.containerd.image.name"]).toBe("docker.io/library/busybox:latest");
    for (const b of readdirSync(join(layout, "blobs/sha256")))
      expect(sha256(readFileSync(join(out, "blobs/sha256", b)))).toBe(`sha256:${b}`);
  });
});
