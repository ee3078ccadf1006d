// A minimal busybox root filesystem for tests, built once from the host's /bin/busybox
// (Debian's busybox-static) and cached. Tests use it read-only (config.json points at it by
// absolute path); a test that writes into its rootfs asks for a copy (bundle.ts).
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";

export const BUSYBOX = process.env.BUNC_TEST_BUSYBOX ?? "/bin/busybox";

/** Bump when the layout below changes, so old caches are not reused. */
const LAYOUT_VERSION = "1";

export function testCacheDir(): string {
  return process.env.BUNC_TEST_CACHE ?? "/var/tmp/bunc-test-cache";
}

/** Users and groups every test image has: root, a plain user (1000) and nobody. */
export const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "user:x:1000:1000:user:/home/user:/bin/sh",
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
].join("\n") + "\n";

export const GROUP = [
  "root:x:0:",
  "tty:x:5:",
  "user:x:1000:",
  "nogroup:x:65534:",
].join("\n") + "\n";

let cached: string | undefined;

/** Path of the cached busybox rootfs, building it first if needed. Never write into it. */
export function busyboxRootfs(): string {
  if (cached && existsSync(join(cached, "bin/busybox"))) return cached;
  if (!existsSync(BUSYBOX))
    throw new Error(`${BUSYBOX} is missing: install busybox-static (make deps does)`);
  const binary = readFileSync(BUSYBOX);
  const hash = createHash("sha256").update(LAYOUT_VERSION).update(binary).digest("hex").slice(0, 16);
  const final = join(testCacheDir(), `rootfs-${hash}`);
  if (!existsSync(join(final, ".complete"))) buildAtomically(final);
  cached = final;
  return final;
}

/**
 * Build into a private temp dir, then rename it into place. Two test processes racing both
 * build; the loser's rename fails (the target exists and is not empty) and it throws its copy
 * away. The `.complete` marker is written before the rename, so a half-built tree is never seen.
 */
function buildAtomically(final: string): void {
  mkdirSync(dirname(final), { recursive: true, mode: 0o755 });
  const tmp = `${final}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    populate(tmp);
    writeFileSync(join(tmp, ".complete"), "");
    try {
      renameSync(tmp, final);
    } catch (e) {
      if (!existsSync(join(final, ".complete"))) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function populate(root: string): void {
  const asRoot = process.getuid?.() === 0;
  mkdirSync(root, { mode: 0o755 });
  chmodSync(root, 0o755); // umask may have narrowed it
  const dir = (path: string, mode = 0o755, owner?: number) => {
    const full = join(root, path);
    mkdirSync(full, { recursive: true });
    chmodSync(full, mode);
    if (owner !== undefined && asRoot) chownSync(full, owner, owner);
  };
  const file = (path: string, text: string, mode = 0o644) => {
    writeFileSync(join(root, path), text);
    chmodSync(join(root, path), mode);
  };

  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "run", "var", "home"]) dir(d);
  dir("tmp", 0o1777);
  dir("var/tmp", 0o1777);
  dir("root", 0o700);
  dir("home/user", 0o755, 1000);

  copyFileSync(BUSYBOX, join(root, "bin/busybox"));
  chmodSync(join(root, "bin/busybox"), 0o755);
  for (const path of appletPaths()) {
    const link = join(root, path);
    if (path === "bin/busybox" || existsSync(link)) continue;
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync("/bin/busybox", link);
  }

  file("etc/passwd", PASSWD);
  file("etc/group", GROUP);
  file("etc/hostname", "bunc\n");
  file("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n");
  file("etc/resolv.conf", "");
  file("etc/os-release", 'NAME="bunc test busybox"\nID=busybox\n');
}

/** Applet install paths ("bin/sh", "usr/bin/env", ...) as busybox itself lists them. */
function appletPaths(): string[] {
  const full = Bun.spawnSync([BUSYBOX, "--list-full"]);
  if (full.exitCode === 0) {
    // Skip entries at the top level (linuxrc): a rootfs for tests does not want them.
    return full.stdout.toString().split("\n").filter((p) => p.includes("/"));
  }
  const list = Bun.spawnSync([BUSYBOX, "--list"]);
  if (list.exitCode !== 0) throw new Error(`${BUSYBOX} --list failed: ${list.stderr.toString()}`);
  return list.stdout.toString().split("\n").filter(Boolean).map((name) => `bin/${name}`);
}
