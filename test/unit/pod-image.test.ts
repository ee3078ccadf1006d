// Local images for pods: OCI layouts and archives unpacked into the digest-keyed cache, layers
// in order with whiteouts, symlinks that cannot lead outside the rootfs, tags, digests.
import { afterAll, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { resolveImage } from "../../src/pod/image.ts";
import { applyLayer } from "../../src/pod/unpack.ts";
import { readTar } from "../../src/pod/tar.ts";
import { buildOciLayout, ociArchive } from "../helpers/oci-image.ts";
import { writeTar, type TarEntry } from "../helpers/tar.ts";

const base = mkdtempSync(join(tmpdir(), "bunc-pod-image-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const enc = (s: string) => new TextEncoder().encode(s);
const file = (name: string, text: string, mode = 0o644): TarEntry => ({ name, type: "file", mode, data: enc(text) });
const dir = (name: string): TarEntry => ({ name, type: "dir", mode: 0o755 });
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const own = (entries: TarEntry[]) => entries.map((e) => ({ ...e, ...me }));

let n = 0;
const fresh = () => {
  const d = join(base, `t${++n}`);
  mkdirSync(d);
  return d;
};

test("tar reader: names, types, modes, long names through pax", () => {
  const long = `${"d".repeat(120)}/${"f".repeat(120)}`;
  const items = [...readTar(writeTar([dir("a/"), file("a/x", "hi", 0o755), { name: "a/l", type: "symlink", mode: 0o777, linkname: "x" }, file(long, "z")]))];
  expect(items.map((i) => [i.name, i.type])).toEqual([["a", "dir"], ["a/x", "file"], ["a/l", "symlink"], [long, "file"]]);
  expect(items[1]!.mode).toBe(0o755);
  expect(new TextDecoder().decode(items[1]!.data)).toBe("hi");
  expect(items[2]!.linkname).toBe("x");
});

test("layers apply in order; .wh. and opaque whiteouts hide what is below", () => {
  const root = fresh();
  applyLayer(root, writeTar(own([dir("etc/"), file("etc/a", "1"), file("etc/b", "2"), dir("opt/"), file("opt/old", "o")])), "l0");
  applyLayer(root, writeTar(own([file("etc/.wh.a", ""), dir("opt/"), file("opt/.wh..wh..opq", ""), file("opt/new", "n"), file("etc/b", "22")])), "l1");
  expect(existsSync(join(root, "etc/a"))).toBe(false);
  expect(readFileSync(join(root, "etc/b"), "utf8")).toBe("22");
  expect(existsSync(join(root, "opt/old"))).toBe(false);
  expect(readFileSync(join(root, "opt/new"), "utf8")).toBe("n");
  expect(existsSync(join(root, "etc/.wh.a"))).toBe(false);
});

test("an entry under a symlink that points outside stays inside the rootfs", () => {
  const root = fresh();
  const outside = fresh();
  applyLayer(root, writeTar(own([{ name: "escape", type: "symlink", mode: 0o777, linkname: outside }, { name: "up", type: "symlink", mode: 0o777, linkname: "../../../.." }])), "l0");
  applyLayer(root, writeTar(own([file("escape/pwned", "x"), file("up/pwned2", "y")])), "l1");
  expect(existsSync(join(outside, "pwned"))).toBe(false);
  expect(readFileSync(join(root, outside, "pwned"), "utf8")).toBe("x"); // followed as if chrooted
  expect(readFileSync(join(root, "pwned2"), "utf8")).toBe("y");
  expect(readlinkSync(join(root, "escape"))).toBe(outside);
});

test('".." in an entry name is refused', () => {
  const root = fresh();
  expect(() => applyLayer(root, writeTar(own([file("a/../../x", "no")])), "layer 0")).toThrow('layer 0: entry "a/../../x" climbs out of the root with ".."');
});

test("an OCI layout is unpacked once, keyed by the manifest digest, with its config", () => {
  const layout = fresh(), cache = fresh();
  const built = buildOciLayout(layout, [own([dir("bin/"), file("bin/tool", "#!", 0o755)]), own([file("hello", "world")])], {
    tag: "v2", entrypoint: ["/bin/tool"], cmd: ["x"], env: ["A=1"], workingDir: "/w", user: "1000",
  });
  const r = resolveImage(`oci:${layout}:v2`, { baseDir: "/", cacheDir: cache, where: "w" });
  expect(r.id).toBe(built.manifest.digest);
  expect(r.rootfs).toBe(join(cache, "sha256", built.manifest.digest.slice(7), "rootfs"));
  expect(readFileSync(join(r.rootfs, "hello"), "utf8")).toBe("world");
  expect(lstatSync(join(r.rootfs, "bin/tool")).mode & 0o777).toBe(0o755);
  expect(r.config).toEqual({ Env: ["A=1"], Entrypoint: ["/bin/tool"], Cmd: ["x"], WorkingDir: "/w", User: "1000" });
  // a second resolve uses the cache (a marker file survives)
  writeFileSync(join(r.rootfs, "marker"), "");
  expect(existsSync(join(resolveImage(`oci:${layout}`, { baseDir: "/", cacheDir: cache, where: "w" }).rootfs, "marker"))).toBe(true);
});

test("an oci-archive, relative to the manifest's directory", () => {
  const layout = fresh(), cache = fresh();
  const built = buildOciLayout(layout, [own([file("f", "from archive")])]);
  ociArchive(layout, join(base, "img.tar"));
  const r = resolveImage("oci-archive:img.tar:latest", { baseDir: base, cacheDir: cache, where: "w" });
  expect(r.id).toBe(built.manifest.digest);
  expect(readFileSync(join(r.rootfs, "f"), "utf8")).toBe("from archive");
});

test("errors: unknown tag, corrupted blob, registry names, missing paths", () => {
  const layout = fresh(), cache = fresh();
  const built = buildOciLayout(layout, [own([file("f", "x")])], { tag: "v1" });
  const o = { baseDir: base, cacheDir: cache, where: "pod.yaml: spec.containers[0].image" };
  expect(() => resolveImage(`oci:${layout}:v9`, o)).toThrow(`pod.yaml: spec.containers[0].image: image "oci:${layout}:v9": no image tagged "v9" (tags: v1)`);
  expect(() => resolveImage("busybox", o)).toThrow('pod.yaml: spec.containers[0].image: image "busybox": no registry is reachable; give a local image');
  expect(() => resolveImage("docker.io/library/busybox:latest", o)).toThrow("no registry is reachable");
  expect(() => resolveImage("./nothing-here", o)).toThrow(`is not a directory`);
  expect(() => resolveImage("oci:/nonexistent/layout", o)).toThrow("/nonexistent/layout does not exist");
  const layer = built.layers[0]!.digest.slice(7);
  writeFileSync(join(layout, "blobs/sha256", layer), gzipSync(writeTar([file("evil", "x")])));
  expect(() => resolveImage(`oci:${layout}:v1`, o)).toThrow(`does not match its digest`);
  expect(existsSync(join(cache, "sha256", built.manifest.digest.slice(7)))).toBe(false); // nothing half-unpacked kept
});

test("a rootfs directory is used as it is", () => {
  const d = fresh();
  expect(resolveImage(d, { baseDir: "/", cacheDir: "/nonexistent", where: "w" })).toEqual({ ref: d, rootfs: d, config: {}, id: d });
});
