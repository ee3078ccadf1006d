// What the benchmark needs on the host, installed from Debian when missing: runc, crun, GNU
// time (for ru_maxrss), busybox (the rootfs). And a compiled empty Bun program, the floor.
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const PACKAGES: { path: string; pkg: string }[] = [
  { path: "/usr/sbin/runc", pkg: "runc" },
  { path: "/usr/bin/crun", pkg: "crun" },
  { path: "/usr/bin/time", pkg: "time" },
  { path: "/bin/busybox", pkg: "busybox-static" },
  { path: "/usr/bin/unshare", pkg: "util-linux" },
];

function which(cmd: string): string | undefined {
  return Bun.which(cmd) ?? undefined;
}

export function ensurePackages(log: (s: string) => void): { runc: string; crun: string } {
  const missing = PACKAGES.filter((p) => !existsSync(p.path) && !which(p.path.split("/").pop()!)).map((p) => p.pkg);
  if (missing.length) {
    log(`installing from Debian: ${missing.join(" ")}`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    for (const argv of [["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", ...missing]]) {
      const r = Bun.spawnSync(argv, { env, stdio: ["ignore", "inherit", "inherit"] });
      if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (exit ${r.exitCode})`);
    }
  }
  const runc = which("runc") ?? "/usr/sbin/runc";
  const crun = which("crun") ?? "/usr/bin/crun";
  for (const b of [runc, crun]) if (!existsSync(b)) throw new Error(`${b} is missing after apt-get install`);
  return { runc, crun };
}

/** `bun build --compile --bytecode --minify` of a program that only exits: Bun's own start-up. */
export function buildEmptyBun(bun: string, dir: string): string {
  const src = `${dir}/empty.ts`;
  const out = `${dir}/empty-bun`;
  writeFileSync(src, "process.exit(0);\n");
  const r = Bun.spawnSync([bun, "build", "--compile", "--bytecode", "--minify", src, "--outfile", out], { stdio: ["ignore", "pipe", "pipe"] });
  if (r.exitCode !== 0) throw new Error(`bun build --compile of the empty program failed: ${r.stderr.toString()}`);
  return out;
}

/** Is /sys/fs/cgroup/unified a cgroup2 mount next to v1 hierarchies (crun needs the wrapper)? */
export function isHybrid(): boolean {
  const text = readFileSync("/proc/self/mountinfo", "utf8");
  return text.split("\n").some((l) => l.includes(" /sys/fs/cgroup/unified ") && l.includes(" - cgroup2 "));
}
