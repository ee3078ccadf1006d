// Logging as runc does it: errors go to stderr as one line and, with --log, to the log file
// as logrus records (text or JSON). containerd's shim reads the *last* JSON record with
// level "error" and shows its msg, so the JSON shape and RFC 3339 time matter.
import { appendFileSync } from "node:fs";
import { stderr } from "./out.ts";

type Level = "debug" | "info" | "warning" | "error";
let logFile: string | undefined;
let jsonFormat = false;
let debugOn = false;

export function configureLog(opts: { file?: string; format?: string; debug?: boolean }): void {
  logFile = opts.file || undefined;
  jsonFormat = opts.format === "json";
  debugOn = !!opts.debug;
}

function record(level: Level, msg: string): string {
  const time = new Date().toISOString();
  if (jsonFormat) return JSON.stringify({ level, msg, time }) + "\n";
  return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

function toFile(level: Level, msg: string): boolean {
  if (!logFile) return false;
  try {
    appendFileSync(logFile, record(level, msg));
    return true;
  } catch {
    return false;
  }
}

export function logError(msg: string): void {
  toFile("error", msg);
  stderr(`bunc: ${msg}\n`);
}

export function logWarn(msg: string): void {
  if (!toFile("warning", msg) || debugOn) stderr(`bunc: warning: ${msg}\n`);
}

export function logDebug(msg: string): void {
  if (!debugOn) return;
  toFile("debug", msg);
  stderr(`bunc: debug: ${msg}\n`);
}

export function debugEnabled(): boolean {
  return debugOn;
}
