// The huge page sizes this kernel supports, in the hugetlb controller's naming ("2MB", "1GB").
import { readdirSync } from "node:fs";
import { pageSizeName } from "./convert.ts";

let sizes: string[] | undefined;

export function hugePageSizes(): string[] {
  if (!sizes) {
    try {
      sizes = readdirSync("/sys/kernel/mm/hugepages").map(pageSizeName).filter((s): s is string => !!s);
    } catch {
      sizes = [];
    }
  }
  return sizes;
}
