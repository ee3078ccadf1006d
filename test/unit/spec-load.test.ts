// loadBundle: config.json read, parsed, validated, rootfs resolved; one clear line per failure.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { BuncError } from "../../src/errors.ts";
import { defaultSpec } from "../../src/spec/default.ts";
import { jsonErrorOffset, loadBundle } from "../../src/spec/load.ts";

const top = realpathSync(mkdtempSync(join(tmpdir(), "bunc-load-")));
afterAll(() => rmSync(top, { recursive: true, force: true }));

let n = 0;
/** A bundle dir with a rootfs/ and the given config.json text (or the default spec). */
function bundle(config?: string | object): string {
  const dir = join(top, `b${n++}`);
  mkdirSync(join(dir, "rootfs"), { recursive: true });
  if (config !== undefined || arguments.length === 0) {
    const text = typeof config === "string" ? config : JSON.stringify(config ?? defaultSpec({ rootless: false, cgroupNamespace: false }));
    writeFileSync(join(dir, "config.json"), text);
  }
  return dir;
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BuncError);
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

describe("loadBundle", () => {
  test("a good bundle: spec, absolute bundle and rootfs", () => {
    const dir = bundle();
    const b = loadBundle(dir);
    expect(b.bundle).toBe(dir);
    expect(b.rootfs).toBe(join(dir, "rootfs"));
    expect(b.spec.process!.args).toEqual(["sh"]);
  });

  test("a relative bundle path and symlinks are resolved", () => {
    const dir = bundle();
    const link = join(top, `link${n++}`);
    symlinkSync(dir, link);
    expect(loadBundle(relative(process.cwd(), link)).bundle).toBe(dir);
  });

  test("root.path may be absolute or a symlink; the real directory is returned", () => {
    const elsewhere = join(top, `rootfs${n++}`);
    mkdirSync(elsewhere);
    const spec = defaultSpec({ rootless: false, cgroupNamespace: false });
    spec.root = { path: elsewhere };
    expect(loadBundle(bundle(spec)).rootfs).toBe(elsewhere);
    const dir = bundle();
    rmSync(join(dir, "rootfs"), { recursive: true });
    symlinkSync(elsewhere, join(dir, "rootfs"));
    expect(loadBundle(dir).rootfs).toBe(elsewhere);
  });

  test("missing bundle directory", () => {
    const missing = join(top, "nope");
    expect(errorOf(() => loadBundle(missing))).toBe(`bundle: ${missing}: no such directory`);
  });

  test("missing config.json", () => {
    const dir = bundle(undefined);
    expect(errorOf(() => loadBundle(dir))).toBe(`config.json: ${dir}/config.json: no such file or directory`);
  });

  test("malformed JSON: the parser's message and where", () => {
    expect(errorOf(() => loadBundle(bundle('{\n  "ociVersion": "1.2.1",\n  "process": {,\n}')))).toBe(
      "config.json: invalid JSON: Expected '}' at line 3, column 15",
    );
    expect(errorOf(() => loadBundle(bundle("")))).toBe("config.json: invalid JSON: Unexpected EOF at line 1, column 1");
  });

  test("validation errors come through with their path", () => {
    const spec = defaultSpec({ rootless: false, cgroupNamespace: false });
    spec.process!.args = [];
    expect(errorOf(() => loadBundle(bundle(spec)))).toBe("config.json: process.args: must not be empty");
  });

  test("warnings reach the caller", () => {
    const spec = defaultSpec({ rootless: false, cgroupNamespace: false });
    spec.process!.capabilities!.bounding!.push("CAP_NOPE");
    const warnings: string[] = [];
    loadBundle(bundle(spec), (m) => warnings.push(m));
    expect(warnings).toEqual(['config.json: process.capabilities.bounding[3]: unknown capability "CAP_NOPE", ignored']);
  });

  test("missing rootfs, or a rootfs that is not a directory", () => {
    const dir = bundle();
    rmSync(join(dir, "rootfs"), { recursive: true });
    expect(errorOf(() => loadBundle(dir))).toBe(`config.json: root.path: ${dir}/rootfs: no such directory`);
    writeFileSync(join(dir, "rootfs"), "");
    expect(errorOf(() => loadBundle(dir))).toBe(`config.json: root.path: ${dir}/rootfs: not a directory`);
  });

  test("net.* sysctls in a joined namespace that is the host's are refused", () => {
    const spec = defaultSpec({ rootless: false, cgroupNamespace: false });
    spec.linux!.namespaces![1] = { type: "network", path: "/proc/self/ns/net" };
    spec.linux!.sysctl = { "net.ipv4.ip_forward": "1" };
    expect(errorOf(() => loadBundle(bundle(spec)))).toBe(
      `config.json: linux.sysctl["net.ipv4.ip_forward"]: not allowed in the host's network namespace (/proc/self/ns/net)`,
    );
    spec.linux!.namespaces![1] = { type: "network", path: join(top, "no-such-netns") };
    expect(errorOf(() => loadBundle(bundle(spec)))).toBe(
      `config.json: linux.namespaces: network namespace path ${join(top, "no-such-netns")}: no such file or directory`,
    );
  });
});

describe("jsonErrorOffset", () => {
  test("finds nothing wrong in valid JSON", () => {
    const samples = [
      defaultSpec({ rootless: true }), [], {}, "x\u00e9\n\"", -0.5e-3, 0, true, null, [1, [2, [3, {}]]], { a: { b: [null, false] } },
    ];
    for (const v of samples) {
      expect(jsonErrorOffset(JSON.stringify(v))).toBeUndefined();
      expect(jsonErrorOffset(JSON.stringify(v, null, "\t") + "\n")).toBeUndefined();
    }
    expect(jsonErrorOffset(' { "a\\u0041\\/" : [ 1 , 2e5 ] } ')).toBeUndefined();
  });

  test("points at the first character JSON.parse refuses too", () => {
    const bad: [string, number][] = [
      ["", 0], ["{", 1], ['{"a":1,}', 7], ['{"a" 1}', 5], ["[1,,2]", 3], ["[1 2]", 3], ["tru", 3], ["nul!", 3],
      ['"abc', 4], ['"a\\x"', 3], ["01", 1], ["-", 0], ["1.", 1], ["{'a':1}", 1], ["[1]]", 3], ['"tab\there"', 4], ["{} x", 3],
    ];
    for (const [text, at] of bad) {
      expect(() => JSON.parse(text)).toThrow();
      expect([text, jsonErrorOffset(text)]).toEqual([text, at]);
    }
  });
});
