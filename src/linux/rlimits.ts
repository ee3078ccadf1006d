// POSIX resource limits: the OCI `process.rlimits[].type` names and their resource numbers
// (include/uapi/asm-generic/resource.h; the unit test checks them against the header).

export const RLIMITS: Readonly<Record<string, number>> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

/** RLIM_INFINITY as the kernel sees it (an all-ones u64). */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;

/** "RLIMIT_NOFILE" -> 7; undefined for an unknown name. */
export function rlimitNumber(type: string): number | undefined {
  return Object.hasOwn(RLIMITS, type) ? RLIMITS[type] : undefined;
}

/**
 * A config.json limit as the u64 the kernel takes. JSON numbers are doubles: the usual
 * "unlimited" spelling 18446744073709551615 parses as 2^64, which must become RLIM_INFINITY
 * (writing 2^64 into a u64 would wrap to 0).
 */
export function rlimitValue(n: number): bigint {
  if (n >= 2 ** 64) return RLIM_INFINITY;
  return BigInt(Math.trunc(n));
}
