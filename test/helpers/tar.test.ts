// The tar writer, checked by GNU tar reading what it wrote.
import { afterAll, describe, expect, test } from "bun:test";
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TarEntry, writeTar } from "./tar.ts";

const work = mkdtempSync(join(tmpdir(), "bunc-tar-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function extract(entries: TarEntry[], name: string): string {
  const file = join(work, `${name}.tar`);
  writeFileSync(file, writeTar(entries));
  const out = join(work, name);
  Bun.spawnSync(["mkdir", "-p", out]);
  const r = Bun.spawnSync(["tar", "-x", "--no-same-owner", "-f", file, "-C", out]);
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
  return out;
}

describe("writeTar", () => {
  test("directories, files and symlinks come back as written", () => {
    const out = extract(
      [
        { name: "etc/", type: "dir", mode: 0o755 },
        { name: "etc/motd", type: "file", mode: 0o640, data: new TextEncoder().encode("hello\n") },
        { name: "etc/empty", type: "file", mode: 0o600 },
        { name: "bin", type: "dir", mode: 0o711 },
        { name: "bin/sh", type: "symlink", mode: 0o777, linkname: "/bin/busybox" },
      ],
      "basic",
    );
    expect(readFileSync(join(out, "etc/motd"), "utf8")).toBe("hello\n");
    expect(lstatSync(join(out, "etc/motd")).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(out, "etc/empty")).length).toBe(0);
    expect(lstatSync(join(out, "bin")).mode & 0o777).toBe(0o711);
    expect(readlinkSync(join(out, "bin/sh"))).toBe("/bin/busybox");
  });

  test("long names use the ustar prefix, longer ones a pax header; long link targets too", () => {
    const mid = `${"d".repeat(90)}/${"e".repeat(90)}`; // 181 bytes: needs the prefix field
    const long = `${"a".repeat(120)}/${"b".repeat(120)}/${"c".repeat(80)}`; // > 256 bytes: needs pax
    const target = `/${"t".repeat(150)}`;
    const out = extract(
      [
        { name: `${mid}/f`, type: "file", mode: 0o644, data: new TextEncoder().encode("mid") },
        { name: long, type: "file", mode: 0o644, data: new TextEncoder().encode("long") },
        { name: "link", type: "symlink", mode: 0o777, linkname: target },
      ],
      "long",
    );
    expect(readFileSync(join(out, mid, "f"), "utf8")).toBe("mid");
    expect(readFileSync(join(out, long), "utf8")).toBe("long");
    expect(readlinkSync(join(out, "link"))).toBe(target);
  });

  test("file data that is not a multiple of 512 bytes and owners survive", () => {
    const data = new Uint8Array(1000).map((_, i) => i % 251);
    const file = join(work, "owners.tar");
    writeFileSync(file, writeTar([{ name: "x", type: "file", mode: 0o644, uid: 1000, gid: 65534, data }]));
    const list = Bun.spawnSync(["tar", "-tv", "--numeric-owner", "-f", file]).stdout.toString();
    expect(list).toContain("1000/65534");
    expect(list).toContain(" 1000 "); // the size column
    const out = extract([{ name: "x", type: "file", mode: 0o644, data }], "data");
    expect(new Uint8Array(readFileSync(join(out, "x")))).toEqual(data);
  });

  test("the same entries give the same bytes", () => {
    const e: TarEntry[] = [{ name: "a", type: "file", mode: 0o644, data: new Uint8Array([1, 2, 3]) }];
    expect(writeTar(e)).toEqual(writeTar(e));
  });
});
