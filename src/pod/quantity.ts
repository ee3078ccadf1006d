// Kubernetes resource quantities ("100Mi", "0.5", "250m", "1e3", "1.5Gi"), as
// k8s.io/apimachinery/pkg/api/resource parses them, with exact (bigint) arithmetic so that
// `100Mi` is 104857600 and `0.1` CPU is 100 milliCPU, never 99.99999.

export interface Quantity {
  /** the value is num / den (den > 0) */
  num: bigint;
  den: bigint;
  text: string;
}

const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const RE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/;

/** Parse a quantity (a string, or a YAML number); undefined when it is not one. */
export function parseQuantity(v: unknown): Quantity | undefined {
  const text = typeof v === "number" && Number.isFinite(v) ? String(v) : typeof v === "string" ? v.trim() : undefined;
  if (text === undefined) return undefined;
  const m = RE.exec(text);
  if (!m) return undefined;
  const [, sign, digits, suffix = "", exp] = m;
  const [whole = "", frac = ""] = digits!.split(".");
  let num = BigInt((whole || "0") + frac);
  let den = 10n ** BigInt(frac.length);
  if (suffix in BINARY) num *= BINARY[suffix]!;
  else {
    const e = exp !== undefined ? Number(exp) : DECIMAL[suffix]!;
    if (Math.abs(e) > 100) return undefined;
    if (e >= 0) num *= 10n ** BigInt(e);
    else den *= 10n ** BigInt(-e);
  }
  if (sign === "-") num = -num;
  return { num, den, text };
}

function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n ? q + 1n : q;
}

/** The value rounded up to an integer (Quantity.Value()): bytes for memory. */
export function quantityValue(q: Quantity): number {
  return Number(ceilDiv(q.num, q.den));
}

/** The value in thousandths, rounded up (Quantity.MilliValue()): milliCPU for cpu. */
export function quantityMilli(q: Quantity): number {
  return Number(ceilDiv(q.num * 1000n, q.den));
}

export function isNegative(q: Quantity): boolean {
  return q.num < 0n;
}
