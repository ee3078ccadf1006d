// bunc ps [--format table|json] ID [ps options]: the container's processes. json is the list of
// host pids (what containerd reads); table runs ps(1) (default "-ef") and keeps the header and
// the lines of the container's pids, as runc does.
import { BuncError } from "../errors.ts";
import { Container } from "../container/container.ts";
import { parseCommand, requireId, type Globals } from "./globals.ts";
import { stdout } from "../out.ts";

export function main(argv: string[], g: Globals): number {
  const a = parseCommand("ps", { "--format": String, "-f": "--format" }, argv, true);
  const id = requireId("ps", a._);
  const format = a["--format"] ?? "table";
  if (format !== "table" && format !== "json") throw new BuncError(`ps: --format: must be "table" or "json", not "${format}"`);
  const c = Container.load(g.root, id);
  const pids = c.cgroup()?.pids() ?? [];
  if (format === "json") {
    stdout(JSON.stringify(pids) + "\n");
    return 0;
  }
  let psArgs = a._.slice(1);
  if (psArgs[0] === "--") psArgs = psArgs.slice(1);
  if (psArgs.length === 0) psArgs = ["-ef"];
  const ps = Bun.spawnSync(["ps", ...psArgs], { stdout: "pipe", stderr: "pipe" });
  const out = ps.stdout.toString() + ps.stderr.toString();
  if (!ps.success) throw new BuncError(`ps ${psArgs.join(" ")}: ${out.trim() || `exit status ${ps.exitCode}`}`);
  const lines = out.split("\n");
  const header = lines[0] ?? "";
  const pidCol = header.trim().split(/\s+/).indexOf("PID");
  if (pidCol < 0) throw new BuncError(`ps: couldn't find the PID field in the ps output (add a pid column, e.g. -o pid,...)`);
  const wanted = new Set(pids);
  const keep = [header];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const pid = Number(line.trim().split(/\s+/)[pidCol]);
    if (wanted.has(pid)) keep.push(line);
  }
  stdout(keep.join("\n") + "\n");
  return 0;
}
