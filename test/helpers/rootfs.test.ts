// The cached busybox rootfs: its layout, and that concurrent builders agree on one copy.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUSYBOX, busyboxRootfs } from "./rootfs.ts";
import { isRoot } from "./run.ts";

const scratch = mkdtempSync(join(tmpdir(), "bunc-rootfs-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("busyboxRootfs", () => {
  test("holds busybox, its applets, users and the usual directories", () => {
    const root = busyboxRootfs();
    expect(new Uint8Array(readFileSync(join(root, "bin/busybox")))).toEqual(new Uint8Array(readFileSync(BUSYBOX)));
    expect(readlinkSync(join(root, "bin/sh"))).toBe("/bin/busybox");
    expect(lstatSync(join(root, "usr/bin/env")).isSymbolicLink()).toBe(true);
    const passwd = readFileSync(join(root, "etc/passwd"), "utf8");
    expect(passwd).toContain("root:x:0:0:");
    expect(passwd).toContain(":1000:1000:");
    expect(passwd).toContain(":65534:65534:");
    expect(readFileSync(join(root, "etc/group"), "utf8")).toContain("tty:x:5:");
    for (const d of ["proc", "sys", "dev", "tmp", "root", "etc"]) expect(lstatSync(join(root, d)).isDirectory()).toBe(true);
    expect(lstatSync(join(root, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(busyboxRootfs()).toBe(root);
  });

  test.if(isRoot())("is usable as a root: chroot into it runs its shell", () => {
    const r = Bun.spawnSync(["chroot", busyboxRootfs(), "/bin/sh", "-c", "echo ok; id -u user"]);
    expect(r.stdout.toString()).toBe("ok\n1000\n");
  });

  test("builders racing in separate processes end with one complete copy", async () => {
    const cache = join(scratch, "cache");
    const script = `import { busyboxRootfs } from ${JSON.stringify(join(import.meta.dir, "rootfs.ts"))}; console.log(busyboxRootfs());`;
    const procs = Array.from({ length: 4 }, () =>
      Bun.spawn([process.execPath, "-e", script], { env: { ...process.env, BUNC_TEST_CACHE: cache }, stdout: "pipe", stderr: "pipe" }),
    );
    const outs = await Promise.all(procs.map(async (p) => {
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      expect(err).toBe("");
      expect(code).toBe(0);
      return out.trim();
    }));
    expect(new Set(outs).size).toBe(1);
    expect(readdirSync(cache)).toEqual([outs[0]!.split("/").pop()!]); // no half-built temp dirs left
    expect(existsSync(join(outs[0]!, ".complete"))).toBe(true);
  });
});
