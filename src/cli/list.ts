// bunc list [--format table|json] [--quiet|-q]
import { readdirSync } from "node:fs";
import type { Globals } from "./globals.ts";
import { parseCommand } from "./globals.ts";
import { BuncError } from "../errors.ts";
import { ContainerView } from "../container/view.ts";
import type { OciState } from "../spec/types.ts";
import { stdout } from "../out.ts";

function states(root: string): OciState[] {
  let ids: string[];
  try {
    ids = readdirSync(root);
  } catch {
    return [];
  }
  const out: OciState[] = [];
  for (const id of ids.sort()) {
    try {
      out.push(ContainerView.load(root, id).state());
    } catch {
      // a create in progress has no state.json yet: not listed, as runc
    }
  }
  return out;
}

export function main(argv: string[], g: Globals): number {
  const a = parseCommand("list", { "--format": String, "-f": "--format", "--quiet": Boolean, "-q": "--quiet" }, argv);
  const format = a["--format"] ?? "table";
  if (format !== "table" && format !== "json") throw new BuncError(`list: --format: must be "table" or "json", not "${format}"`);
  const list = states(g.root);
  if (a["--quiet"]) {
    for (const s of list) stdout(s.id + "\n");
  } else if (format === "json") {
    stdout(JSON.stringify(list) + "\n");
  } else {
    const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"], ...list.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner || "root"])];
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) stdout(r.map((c, i) => (i < r.length - 1 ? c.padEnd(w[i]! + 2) : c)).join("") + "\n");
  }
  return 0;
}
