// Reading a bundle: <bundle>/config.json parsed, validated, and its rootfs resolved. Every
// failure is one line naming the file and what is wrong with it.
import { readFileSync, realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { BuncError, strerror } from "../errors.ts";
import type { Spec } from "./types.ts";
import { sysctlPath, validateSpec, type Warn } from "./validate.ts";

export interface LoadedBundle {
  spec: Spec;
  /** The bundle directory: absolute, symlinks resolved (what `state` reports). */
  bundle: string;
  /** root.path resolved against the bundle: absolute, symlinks resolved, a directory. */
  rootfs: string;
}

/** errno number of a Node fs error ("ENOENT" -> 2), for strerror. */
function errnoOf(e: unknown): number {
  const n = (e as { errno?: number }).errno;
  return typeof n === "number" ? Math.abs(n) : 0;
}

function fsMessage(e: unknown): string {
  const errno = errnoOf(e);
  return errno ? strerror(errno) : String((e as Error).message ?? e);
}

export function loadBundle(bundle: string, warn: Warn = () => {}): LoadedBundle {
  const abs = resolve(bundle);
  let dir: string;
  try {
    dir = realpathSync(abs);
    if (!statSync(dir).isDirectory()) throw new BuncError(`bundle: ${abs}: not a directory`);
  } catch (e) {
    if (e instanceof BuncError) throw e;
    throw new BuncError(`bundle: ${abs}: ${errnoOf(e) === 2 ? "no such directory" : fsMessage(e)}`);
  }

  const file = `${dir}/config.json`;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new BuncError(`config.json: ${file}: ${fsMessage(e)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const why = String((e as Error).message).replace(/^JSON Parse error: /, "");
    throw new BuncError(`config.json: invalid JSON: ${why}${where(text, jsonErrorOffset(text))}`);
  }
  const spec = validateSpec(parsed, "config.json", warn);

  const rootfs = resolveRootfs(dir, spec.root!.path);
  checkJoinedNetns(spec);
  return { spec, bundle: dir, rootfs };
}

function resolveRootfs(bundle: string, rootPath: string): string {
  const abs = resolve(bundle, rootPath);
  try {
    const real = realpathSync(abs);
    if (!statSync(real).isDirectory()) throw new BuncError(`config.json: root.path: ${abs}: not a directory`);
    return real;
  } catch (e) {
    if (e instanceof BuncError) throw e;
    throw new BuncError(`config.json: root.path: ${abs}: ${errnoOf(e) === 2 ? "no such directory" : fsMessage(e)}`);
  }
}

/**
 * net.* sysctls are written in the container's network namespace. When that namespace is
 * joined by path, refuse if the path is the host's own (runc's isHostNetNS): the write would
 * change the host.
 */
function checkJoinedNetns(spec: Spec): void {
  const keys = Object.keys(spec.linux?.sysctl ?? {}).filter((k) => sysctlPath(k)?.startsWith("net/"));
  const path = spec.linux?.namespaces?.find((ns) => ns.type === "network")?.path;
  if (keys.length === 0 || !path) return;
  let same: boolean;
  try {
    const ours = statSync("/proc/self/ns/net");
    const theirs = statSync(path);
    same = ours.dev === theirs.dev && ours.ino === theirs.ino;
  } catch (e) {
    throw new BuncError(`config.json: linux.namespaces: network namespace path ${path}: ${fsMessage(e)}`);
  }
  if (same) {
    throw new BuncError(`config.json: linux.sysctl[${JSON.stringify(keys[0])}]: not allowed in the host's network namespace (${path})`);
  }
}

/** " at line L, column C" for an offset in text (1-based, as editors count). */
function where(text: string, offset: number | undefined): string {
  if (offset === undefined) return "";
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - (before.lastIndexOf("\n") + 1) + 1;
  return ` at line ${line}, column ${column}`;
}

/**
 * Where JSON.parse gave up: the parser's message has no position, so walk the text with a
 * small syntax-only JSON reader and return the offset of the first character it cannot accept
 * (text.length at an unexpected end). Undefined if it finds nothing wrong.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  class Stop { constructor(readonly at: number) {} }
  const stop = (at = i): never => { throw new Stop(at); };
  const ws = () => { while (i < text.length && " \t\n\r".includes(text[i]!)) i++; };
  const lit = (word: string) => { for (const ch of word) if (text[i++] !== ch) stop(i - 1); };
  const str = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) stop();
      const ch = text[i]!;
      if (ch === '"') { i++; return; }
      if (ch < " ") stop();
      if (ch === "\\") {
        const esc = text[i + 1];
        if (esc === "u") { if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) stop(i + 1); i += 6; }
        else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) i += 2;
        else stop(i + 1);
      } else i++;
    }
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === "" || m[0] === "-") stop();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++; ws();
      if (text[i] === "}") { i++; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') stop();
        str(); ws();
        if (text[i] !== ":") stop();
        i++; value(); ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "}") { i++; return; }
        stop();
      }
    } else if (ch === "[") {
      i++; ws();
      if (text[i] === "]") { i++; return; }
      for (;;) {
        value(); ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "]") { i++; return; }
        stop();
      }
    } else if (ch === '"') str();
    else if (ch === "t") lit("true");
    else if (ch === "f") lit("false");
    else if (ch === "n") lit("null");
    else if (ch === "-" || (ch !== undefined && ch >= "0" && ch <= "9")) num();
    else stop();
  };
  try {
    value(); ws();
    if (i < text.length) stop();
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return Math.min(e.at, text.length);
    throw e;
  }
}
