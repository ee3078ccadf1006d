// bunc features: the OCI features document as JSON (4-space indent, as runc prints it).
import type { Globals } from "./globals.ts";
import { parseCommand } from "./globals.ts";
import { BuncError } from "../errors.ts";
import { buildFeatures } from "../spec/features.ts";
import { stdout } from "../out.ts";

declare const BUNC_VERSION: string;
declare const BUNC_COMMIT: string;

export function main(argv: string[], _g: Globals): number {
  const a = parseCommand("features", {}, argv);
  if (a._.length > 0) throw new BuncError(`features: takes no arguments (got ${JSON.stringify(a._[0])})`);
  const features = buildFeatures({
    version: typeof BUNC_VERSION === "string" ? BUNC_VERSION : "0.0.0-dev",
    commit: typeof BUNC_COMMIT === "string" ? BUNC_COMMIT : "unknown",
  });
  stdout(JSON.stringify(features, null, 4) + "\n");
  return 0;
}
