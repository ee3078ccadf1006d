import type { Headline } from "../lib/format.ts";

/** What a scenario contributes to RESULTS.md. */
export interface Section {
  title: string;
  markdown: string;
  headlines: Headline[];
}
