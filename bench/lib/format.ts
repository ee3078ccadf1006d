// Markdown pieces for RESULTS.md.
import type { Summary } from "./stats.ts";

export const ms = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)) : "n/a");
export const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}×` : "n/a");
export const kib = (kb: number) =>
  !Number.isFinite(kb) ? "n/a" : kb < 2048 ? `${Math.round(kb)} KiB` : `${(kb / 1024).toFixed(1)} MiB`;

export function spread(s: Summary): string {
  return `${ms(s.p10)} – ${ms(s.p90)}`;
}

export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

/** One row per sample: median, p10–p90, and bunc's median as a multiple of this one (runtimes only, not references). */
export function timeTable(rows: { label: string; s: Summary | undefined; note?: string; reference?: boolean }[], bunc: Summary | undefined): string {
  return table(
    ["", "median ms", "p10 – p90 ms", "n", "bunc / this"],
    rows.map(({ label, s, note, reference }) => [
      note ? `${label} (${note})` : label,
      s ? ms(s.median) : "n/a",
      s ? spread(s) : "n/a",
      s ? String(s.n) : "0",
      s && bunc && label !== "bunc" && !reference ? ratio(bunc.median, s.median) : "",
    ]),
  );
}

/** A headline ratio for the summary table. */
export interface Headline {
  metric: string;
  bunc: string;
  runc: string;
  crun: string;
  vsRunc: string;
  vsCrun: string;
  target: string;
  met?: boolean;
}
