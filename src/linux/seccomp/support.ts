// What bunc's seccomp compiler supports, for `bunc features` (the OCI features document's
// "linux.seccomp" section) and for validating a profile. One list per concept, no duplicates.

import { ARCHS } from "./arch.ts";
import { FILTER_FLAG, RET } from "./constants.ts";

/** Action name -> seccomp return value (before the errno/message is or'ed in). */
export const ACTIONS: Readonly<Record<string, number>> = {
  SCMP_ACT_KILL: RET.KILL_THREAD,
  SCMP_ACT_KILL_THREAD: RET.KILL_THREAD,
  SCMP_ACT_KILL_PROCESS: RET.KILL_PROCESS,
  SCMP_ACT_TRAP: RET.TRAP,
  SCMP_ACT_ERRNO: RET.ERRNO,
  SCMP_ACT_TRACE: RET.TRACE,
  SCMP_ACT_ALLOW: RET.ALLOW,
  SCMP_ACT_LOG: RET.LOG,
  SCMP_ACT_NOTIFY: RET.USER_NOTIF,
};

export const OPERATORS = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
] as const;
export type Operator = (typeof OPERATORS)[number];

/**
 * Flag name -> SECCOMP_FILTER_FLAG_* bit. SECCOMP_FILTER_FLAG_NEW_LISTENER is not a profile flag:
 * the compiler adds it when a rule uses SCMP_ACT_NOTIFY.
 */
export const FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: FILTER_FLAG.WAIT_KILLABLE_RECV,
};

/** Sorted lists in the shape of the OCI features document. */
export const SUPPORTED_ACTIONS: readonly string[] = Object.keys(ACTIONS).sort();
export const SUPPORTED_OPERATORS: readonly string[] = [...OPERATORS].sort();
export const SUPPORTED_ARCHS: readonly string[] = Object.values(ARCHS)
  .map((a) => a.oci)
  .sort();
export const KNOWN_FLAGS: readonly string[] = Object.keys(FLAGS).sort();
/** The first kernel release that accepts each flag. */
const FLAG_SINCE: Readonly<Record<string, [number, number]>> = {
  SECCOMP_FILTER_FLAG_TSYNC: [3, 17],
  SECCOMP_FILTER_FLAG_LOG: [4, 14],
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: [4, 17],
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: [5, 19],
};

/** The known flags that a kernel of this release (`uname -r`, e.g. "6.1.0-18-amd64") accepts. */
export function supportedFlags(kernelRelease: string): string[] {
  const [major = 0, minor = 0] = kernelRelease.split(/[.-]/).map(Number);
  return KNOWN_FLAGS.filter((f) => {
    const [wantMajor, wantMinor] = FLAG_SINCE[f];
    return major > wantMajor || (major === wantMajor && minor >= wantMinor);
  });
}
