// Go-compatible parsing of the sizes and durations runc's flags take.
import { BuncError } from "../errors.ts";

const RAM_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** docker/go-units RAMInBytes: "64m", "1.5g", "512kb", "1024" (binary units, case-insensitive). */
export function parseRamBytes(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new BuncError(`${flag}: invalid size "${text}" (examples: 1024, 64m, 1.5g)`);
  return Math.floor(Number(m[1]) * RAM_UNITS[m[2]!.toLowerCase()]!);
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration ("5s", "100ms", "1m30s") -> milliseconds. */
export function parseDurationMs(flag: string, text: string): number {
  const t = text.trim();
  if (t === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t))) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== t.length) throw new BuncError(`${flag}: invalid duration "${text}" (examples: 5s, 500ms, 1m)`);
  return total;
}

/** An integer flag value (runc's uint64/int64 flags). */
export function parseIntFlag(flag: string, text: string, min = -Infinity): number {
  if (!/^-?\d+$/.test(text.trim())) throw new BuncError(`${flag}: invalid number "${text}"`);
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < min) throw new BuncError(`${flag}: ${text} is out of range`);
  return v;
}
