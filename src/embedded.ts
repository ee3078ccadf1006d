// Libraries kept out of the main bundle: every command pays start-up time for the size of the
// bundle it loads (measured: ~8 ms for ~470 kB of bytecode here), so code only one rare path needs
// (the D-Bus client for --systemd-cgroup, the YAML parser for `bunc pod`) is built by make into a
// separate CommonJS bundle, embedded as a file, and evaluated the first time it is needed.
import { readFileSync } from "node:fs";

/** Evaluate a `bun build --format=cjs` bundle (a function expression) and return its exports. */
export function loadEmbeddedCjs<T>(path: string, requireFn: (id: string) => unknown = require): T {
  const factory = (0, eval)(readFileSync(path, "utf8")) as (
    exports: unknown, require: (id: string) => unknown, module: { exports: unknown }, filename: string, dirname: string,
  ) => void;
  const module = { exports: {} as unknown };
  factory(module.exports, requireFn, module, path, path.slice(0, path.lastIndexOf("/")));
  return module.exports as T;
}
