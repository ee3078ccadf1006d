// The architectures bunc can filter: OCI name -> syscall table and the arch value the kernel reports.

import { fail } from "../../errors.ts";
import { AUDIT_ARCH } from "./constants.ts";
import { IPC_CALLS, SOCKETCALL_CALLS, SYSCALL_TABLES } from "./syscalls.gen.ts";

export type TableArch = keyof typeof SYSCALL_TABLES;

export interface ArchInfo {
  /** OCI / libseccomp name, e.g. SCMP_ARCH_X86_64. */
  readonly oci: string;
  readonly table: TableArch;
  readonly auditArch: number;
  /** 32-bit ABIs compare only the low word of an argument, as libseccomp does. */
  readonly bits: 32 | 64;
  /**
   * The ABI also offers the socket and System V IPC syscalls through socketcall(2) and ipc(2);
   * libseccomp applies a rule for, e.g., `socket` to socketcall(SYS_SOCKET, ...) as well.
   */
  readonly multiplexed?: boolean;
}

export const ARCHS: Readonly<Record<TableArch, ArchInfo>> = {
  x86_64: { oci: "SCMP_ARCH_X86_64", table: "x86_64", auditArch: AUDIT_ARCH.X86_64, bits: 64 },
  x86: { oci: "SCMP_ARCH_X86", table: "x86", auditArch: AUDIT_ARCH.I386, bits: 32, multiplexed: true },
  x32: { oci: "SCMP_ARCH_X32", table: "x32", auditArch: AUDIT_ARCH.X86_64, bits: 64 },
  aarch64: { oci: "SCMP_ARCH_AARCH64", table: "aarch64", auditArch: AUDIT_ARCH.AARCH64, bits: 64 },
};

/** Every architecture name runc knows; the ones without a table here are skipped with a warning. */
export const KNOWN_OCI_ARCHS: readonly string[] = [
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_LOONGARCH64",
];

export function archByOciName(name: string): ArchInfo | undefined {
  return Object.values(ARCHS).find((a) => a.oci === name);
}

/** The syscall number of `name` on `arch`, or undefined when that ABI has no such syscall. */
export function syscallNumber(arch: TableArch, name: string): number | undefined {
  // Only own numeric entries count: inherited names ("toString", "__proto__") are not numbers.
  const nr: unknown = (SYSCALL_TABLES[arch] as Readonly<Record<string, number>>)[name];
  return typeof nr === "number" ? nr : undefined;
}

/**
 * For a socket or IPC syscall name on a multiplexing ABI: the multiplexer's syscall number and
 * the call number it takes as its first argument (e.g. socket -> socketcall, SYS_SOCKET).
 */
export function multiplexedCall(arch: ArchInfo, name: string): { nr: number; call: number } | undefined {
  if (!arch.multiplexed) return undefined;
  const lookup = (calls: Readonly<Record<string, number>>, via: string) => {
    const call: unknown = calls[name];
    const nr = syscallNumber(arch.table, via);
    return typeof call === "number" && nr !== undefined ? { nr, call } : undefined;
  };
  return lookup(SOCKETCALL_CALLS, "socketcall") ?? lookup(IPC_CALLS, "ipc");
}

/** The seccomp architecture of the machine bunc runs on. */
export function hostSeccompArch(): TableArch {
  switch (process.arch) {
    case "x64":
      return "x86_64";
    case "arm64":
      return "aarch64";
    default:
      return fail(`seccomp: unsupported host architecture ${process.arch}`);
  }
}
