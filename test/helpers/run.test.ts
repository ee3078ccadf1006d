// The bunc() runner, pointed at small shell scripts through BUNC_BIN.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bunc, buncBin, REPO_ROOT, waitFor } from "./run.ts";

const work = mkdtempSync(join(tmpdir(), "bunc-run-test-"));
const saved = process.env.BUNC_BIN;
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  if (saved === undefined) delete process.env.BUNC_BIN;
  else process.env.BUNC_BIN = saved;
});

function fakeBunc(body: string): void {
  const file = join(work, `fake-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  process.env.BUNC_BIN = file;
}

describe("bunc()", () => {
  test("defaults to the repo's bin/bunc", () => {
    delete process.env.BUNC_BIN;
    expect(buncBin()).toBe(join(REPO_ROOT, "bin/bunc"));
  });

  test("passes --root first, collects stdout, stderr and the exit status", async () => {
    fakeBunc('echo "args: $*"; echo oops >&2; exit 3');
    const r = await bunc(["state", "x"], { root: "/tmp/r" });
    expect(r).toEqual({ code: 3, stdout: "args: --root /tmp/r state x\n", stderr: "oops\n", timedOut: false });
  });

  test("feeds stdin and extra env", async () => {
    fakeBunc('cat; echo "$EXTRA"');
    const r = await bunc([], { stdin: "in\n", env: { EXTRA: "yes" } });
    expect(r.stdout).toBe("in\nyes\n");
  });

  test("returns when bunc exits even if a child it left (like a created container) holds its stdout", async () => {
    fakeBunc("sleep 1000 & echo $!");
    const r = await bunc([], { timeoutMs: 20_000 });
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(0);
    process.kill(Number(r.stdout.trim()), "SIGKILL");
  });

  test("kills bunc after the timeout and says so", async () => {
    fakeBunc("exec sleep 100");
    const r = await bunc([], { timeoutMs: 200 });
    expect(r.timedOut).toBe(true);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("killed after 200 ms");
  });
});

describe("waitFor", () => {
  test("returns the first truthy value", async () => {
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? n : 0), 5000)).toBe(3);
  });

  test("throws after the timeout, naming what it waited for and the last error", async () => {
    const p = waitFor(() => {
      throw new Error("not yet");
    }, 100, "the thing");
    await expect(p).rejects.toThrow(/the thing not met within 100 ms \(last error: not yet\)/);
  });
});
