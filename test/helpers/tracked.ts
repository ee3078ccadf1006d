// What a test makes and must not outlive it: bundles (containers, cgroups, state) and temp dirs
// (mounts under them unmounted first) are removed after each test whatever its outcome, and
// cleanupAll() runs after the file. One call at the top of a test file registers the hooks.
import { afterAll, afterEach } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleWithRootfsCopy, cleanupAll, makeBundle, mountsUnder, type Bundle, type BundleOptions } from "./bundle.ts";

export interface Tracked {
  /** makeBundle(), removed after the test */
  bundle(opts?: BundleOptions): Bundle;
  /** bundleWithRootfsCopy(), removed after the test */
  copyBundle(opts?: Omit<BundleOptions, "copyRootfs">): Bundle;
  /** a bundle made some other way, removed after the test */
  track(b: Bundle): Bundle;
  /** a fresh temp dir (chmod'ed to mode when given), removed after the test */
  tempDir(prefix: string, mode?: number): string;
}

/** dirMode: the mode every tempDir() gets unless told otherwise (e.g. 0o755 for a container's uid) */
export function trackPerTest(opts: { dirMode?: number } = {}): Tracked {
  const made: Bundle[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const b of made.splice(0)) b.cleanup();
    for (const d of dirs.splice(0)) {
      for (const m of mountsUnder(d)) spawnSync("umount", ["-l", m]);
      rmSync(d, { recursive: true, force: true });
    }
  });
  afterAll(() => cleanupAll());
  const track = (b: Bundle) => {
    made.push(b);
    return b;
  };
  return {
    track,
    bundle: (opts = {}) => track(makeBundle(opts)),
    copyBundle: (opts = {}) => track(bundleWithRootfsCopy(opts)),
    tempDir(prefix, mode = opts.dirMode) {
      const d = mkdtempSync(join(tmpdir(), prefix));
      if (mode !== undefined) chmodSync(d, mode);
      dirs.push(d);
      return d;
    },
  };
}
