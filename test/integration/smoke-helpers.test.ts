// The test helpers against real containers: makeBundle's config runs under bin/bunc, and
// cleanup() leaves nothing behind, also for a container that is still running.
import { afterAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bundleWithRootfsCopy, cleanupAll, makeBundle, mountsUnder, type Bundle } from "../helpers/bundle.ts";
import { bunc, buncOk, describeRoot, waitFor } from "../helpers/run.ts";

afterAll(cleanupAll);

/** The container's cgroup directories in every hierarchy mounted under /sys/fs/cgroup. */
function cgroupDirs(b: Bundle): string[] {
  return readdirSync("/sys/fs/cgroup")
    .map((h) => join("/sys/fs/cgroup", h, b.cgroupsPath))
    .filter((d) => existsSync(d));
}

function expectNothingLeft(b: Bundle, cgroups: string[]): void {
  expectNothingLeftButState(b, cgroups);
  expect(existsSync(join(b.root, b.id))).toBe(false);
}

/** Without bunc's delete, the state dir goes only because the whole --root dir is removed. */
function expectNothingLeftButState(b: Bundle, cgroups: string[]): void {
  for (const d of cgroups) expect(existsSync(d)).toBe(false);
  expect(cgroupDirs(b)).toEqual([]);
  expect(existsSync(b.root)).toBe(false);
  expect(existsSync(b.dir)).toBe(false);
  expect(mountsUnder(b.dir)).toEqual([]);
}

const processGone = (pid: number) => {
  try {
    return /^\S+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return true;
  }
};

describeRoot("helpers with bin/bunc", () => {
  test("run of `echo hi` in a makeBundle bundle prints hi; cleanup leaves nothing", async () => {
    const b = makeBundle({ args: ["echo", "hi"] });
    const r = await bunc(["run", "--bundle", b.dir, b.id], { root: b.root });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hi\n");
    expect(r.code).toBe(0);
    b.cleanup();
    expectNothingLeft(b, []);
  });

  test("cleanup kills a running container and removes its cgroups and state", async () => {
    const b = makeBundle({ args: ["sleep", "1000"] });
    await buncOk(["create", "--bundle", b.dir, b.id], { root: b.root });
    await buncOk(["start", b.id], { root: b.root });
    const state = JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout);
    expect(state.status).toBe("running");
    const cgroups = cgroupDirs(b); // whatever bunc made; all must go
    b.cleanup();
    await waitFor(() => processGone(state.pid), 5000, `container init ${state.pid} to exit`);
    expectNothingLeft(b, cgroups);
  });

  test("cleanup removes a running container by itself when bunc's delete is not there to help", async () => {
    const b = makeBundle({ args: ["sleep", "1000"] });
    await buncOk(["run", "--detach", "--bundle", b.dir, b.id], { root: b.root });
    const state = JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout);
    const cgroups = cgroupDirs(b);
    expect(cgroups.length).toBeGreaterThan(0); // bunc made them; the helper must remove them
    const saved = process.env.BUNC_BIN;
    process.env.BUNC_BIN = "/nonexistent/bunc"; // cleanup skips `bunc delete --force`
    try {
      b.cleanup();
    } finally {
      if (saved === undefined) delete process.env.BUNC_BIN;
      else process.env.BUNC_BIN = saved;
    }
    await waitFor(() => processGone(state.pid), 5000, `container init ${state.pid} to exit`);
    expectNothingLeftButState(b, cgroups);
  });

  test("bundleWithRootfsCopy: the container writes into its own copy", async () => {
    const b = bundleWithRootfsCopy({ args: ["sh", "-c", "echo written > /from-container"] });
    const r = await bunc(["run", "--bundle", b.dir, b.id], { root: b.root });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readFileSync(join(b.rootfs, "from-container"), "utf8")).toBe("written\n");
    b.cleanup();
    expectNothingLeft(b, []);
  });
});
