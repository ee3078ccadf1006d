// bunc spec [--bundle|-b DIR] [--rootless]: write runc's default config.json into DIR (default:
// the current directory), never over an existing one. Tab-indented, no trailing newline, mode
// 0666 before umask: byte for byte what `runc spec` writes (hostname aside).
import { openSync, writeSync, closeSync } from "node:fs";
import { resolve } from "node:path";
import type { Globals } from "./globals.ts";
import { parseCommand } from "./globals.ts";
import { BuncError, strerror } from "../errors.ts";
import { defaultSpec } from "../spec/default.ts";

export function main(argv: string[], _g: Globals): number {
  const a = parseCommand("spec", { "--bundle": String, "-b": "--bundle", "--rootless": Boolean }, argv);
  if (a._.length > 0) throw new BuncError(`spec: takes no arguments (got ${JSON.stringify(a._[0])})`);
  const dir = resolve(a["--bundle"] ?? ".");
  const file = `${dir}/config.json`;
  const data = JSON.stringify(defaultSpec({ rootless: !!a["--rootless"] }), null, "\t");
  let fd: number;
  try {
    fd = openSync(file, "wx", 0o666); // O_CREAT|O_EXCL: refuse to overwrite, atomically
  } catch (e) {
    const err = e as { code?: string; errno?: number };
    if (err.code === "EEXIST") throw new BuncError(`spec: ${file} exists; remove it first`);
    throw new BuncError(`spec: ${file}: ${strerror(Math.abs(err.errno ?? 0))}`);
  }
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
  return 0;
}
