// Kernel ABI constants for seccomp filters (from <linux/seccomp.h>, <linux/filter.h>, <linux/audit.h>).

/** seccomp return values; the low 16 bits (SECCOMP_RET_DATA) carry an errno or a trace message. */
export const RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;
export const RET_DATA_MASK = 0x0000ffff;
export const RET_ACTION_FULL_MASK = 0xffff0000;

/** seccomp(SECCOMP_SET_MODE_FILTER, flags, ...) flags. */
export const FILTER_FLAG = {
  TSYNC: 1 << 0,
  LOG: 1 << 1,
  SPEC_ALLOW: 1 << 2,
  NEW_LISTENER: 1 << 3,
  TSYNC_ESRCH: 1 << 4,
  WAIT_KILLABLE_RECV: 1 << 5,
} as const;

/** AUDIT_ARCH_* values, what the kernel puts in seccomp_data.arch. */
export const AUDIT_ARCH = {
  X86_64: 0xc000003e, // EM_X86_64 | 64BIT | LE; also x32, told apart by X32_SYSCALL_BIT in nr
  I386: 0x40000003, // EM_386 | LE
  AARCH64: 0xc00000b7, // EM_AARCH64 | 64BIT | LE
  ARM: 0x40000028, // EM_ARM | LE
} as const;

export const X32_SYSCALL_BIT = 0x40000000;

/** Classic BPF opcodes used by seccomp filters. */
export const BPF = {
  // classes
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  MISC: 0x07,
  // ld/ldx sizes and modes
  W: 0x00,
  H: 0x08,
  B: 0x10,
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  LEN: 0x80,
  // alu/jmp operations
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  // sources
  K: 0x00,
  X: 0x08,
  A: 0x10,
  // misc
  TAX: 0x00,
  TXA: 0x80,
} as const;

/** BPF_MAXINSNS: the kernel's limit on a classic BPF program. */
export const BPF_MAXINSNS = 4096;
/** sizeof(struct sock_filter): u16 code, u8 jt, u8 jf, u32 k. */
export const SOCK_FILTER_SIZE = 8;

/** struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; } */
export const SECCOMP_DATA = {
  NR: 0,
  ARCH: 4,
  IP: 8,
  ARGS: 16,
  SIZE: 64,
} as const;

/** Offsets of the low and high 32-bit words of args[i] (both supported hosts are little-endian). */
export function argLoOffset(i: number): number {
  return SECCOMP_DATA.ARGS + 8 * i;
}
export function argHiOffset(i: number): number {
  return SECCOMP_DATA.ARGS + 8 * i + 4;
}

export const EPERM = 1;
export const ENOSYS = 38;
