// cgroup v2 has no devices.allow: device access is decided by a BPF_PROG_TYPE_CGROUP_DEVICE
// program attached to the cgroup. This file compiles a device rule set (already reduced by
// DeviceEmulator) to that program's bytecode; attaching it is in bpf.ts.
//
// The program reads struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
// (access_type = access << 16 | type) and returns 1 to allow, 0 to deny:
//
//   r2 = type, r3 = access, r4 = major, r5 = minor
//   for each exception: if it matches, return !default
//   return default
import { BuncError } from "../errors.ts";
import { ACCESS_ALL, ACCESS_MKNOD, ACCESS_READ, ACCESS_WRITE, DeviceEmulator, WILDCARD, type DevRule } from "./devices.ts";

// include/uapi/linux/bpf.h
export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;
export const BPF_DEVCG_ACC_MKNOD = 1;
export const BPF_DEVCG_ACC_READ = 2;
export const BPF_DEVCG_ACC_WRITE = 4;

// opcodes: class | op | source
export const OP = {
  LDXW: 0x61, // r_dst = *(u32 *)(r_src + off)
  AND32_K: 0x54,
  RSH32_K: 0x74,
  MOV32_X: 0xbc,
  MOV32_K: 0xb4,
  JNE_K: 0x55, // if r_dst != imm goto pc+1+off
  JNE_X: 0x5d, // if r_dst != r_src goto pc+1+off
  EXIT: 0x95,
} as const;

export interface Insn {
  op: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const insn = (op: number, dst: number, src: number, off: number, imm: number): Insn => ({ op, dst, src, off, imm });

/** OCI/v1 access bits -> the kernel's BPF_DEVCG_ACC_* bits. */
export function bpfAccess(access: number): number {
  return (access & ACCESS_MKNOD ? BPF_DEVCG_ACC_MKNOD : 0) | (access & ACCESS_READ ? BPF_DEVCG_ACC_READ : 0) | (access & ACCESS_WRITE ? BPF_DEVCG_ACC_WRITE : 0);
}

/** The instructions of one exception: jumps skip to the next block when a field differs. */
function ruleBlock(r: DevRule): Insn[] {
  const checks: ((skip: number) => Insn[])[] = [];
  const type = r.type === "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
  checks.push((skip) => [insn(OP.JNE_K, 2, 0, skip, type)]);
  if ((r.access & ACCESS_ALL) !== ACCESS_ALL) {
    // the requested access must be a subset of the rule's: (r3 & acc) != r3 -> next
    const acc = bpfAccess(r.access);
    checks.push((skip) => [insn(OP.MOV32_X, 1, 3, 0, 0), insn(OP.AND32_K, 1, 0, 0, acc), insn(OP.JNE_X, 1, 3, skip, 0)]);
  }
  for (const [reg, v, name] of [[4, r.major, "major"], [5, r.minor, "minor"]] as const) {
    if (v === WILDCARD) continue;
    // the immediate is a signed 32-bit number compared against a zero-extended u32 register
    if (v > 0x7fffffff) throw new BuncError(`devices: ${name} ${v} is too large for the device filter`);
    checks.push((skip) => [insn(OP.JNE_K, reg, 0, skip, v)]);
  }
  const verdict = [insn(OP.MOV32_K, 0, 0, 0, r.allow ? 1 : 0), insn(OP.EXIT, 0, 0, 0, 0)];
  // Lay the checks out back to front so each knows how far the block's end is.
  const sizes = checks.map((f) => f(0).length);
  const out: Insn[] = [];
  let remaining = sizes.reduce((a, b) => a + b, 0) + verdict.length;
  checks.forEach((f, i) => {
    remaining -= sizes[i]!;
    // each group ends with its jump, so the jump skips exactly what follows it in the block
    out.push(...f(remaining));
  });
  out.push(...verdict);
  return out;
}

/** Compile rules (OCI order, defaults included) to the device filter's instructions. */
export function deviceFilter(rules: DevRule[]): Insn[] {
  const emu = DeviceEmulator.fromRules(rules, DeviceEmulator.denyAll());
  const prog: Insn[] = [
    insn(OP.LDXW, 2, 1, 0, 0),
    insn(OP.AND32_K, 2, 0, 0, 0xffff),
    insn(OP.LDXW, 3, 1, 0, 0),
    insn(OP.RSH32_K, 3, 0, 0, 16),
    insn(OP.LDXW, 4, 1, 4, 0),
    insn(OP.LDXW, 5, 1, 8, 0),
  ];
  for (const r of emu.sortedExceptions()) prog.push(...ruleBlock(r));
  prog.push(insn(OP.MOV32_K, 0, 0, 0, emu.defaultAllow ? 1 : 0), insn(OP.EXIT, 0, 0, 0, 0));
  return prog;
}

/** struct bpf_insn[] as the kernel takes it (little-endian). */
export function encode(prog: Insn[]): Uint8Array {
  const buf = new Uint8Array(prog.length * 8);
  const dv = new DataView(buf.buffer);
  prog.forEach((i, n) => {
    dv.setUint8(n * 8, i.op);
    dv.setUint8(n * 8 + 1, (i.src << 4) | (i.dst & 0xf));
    dv.setInt16(n * 8 + 2, i.off, true);
    dv.setInt32(n * 8 + 4, i.imm, true);
  });
  return buf;
}

export function decode(buf: Uint8Array): Insn[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Insn[] = [];
  for (let n = 0; n + 8 <= buf.length; n += 8) {
    const regs = dv.getUint8(n + 1);
    out.push({ op: dv.getUint8(n), dst: regs & 0xf, src: regs >> 4, off: dv.getInt16(n + 2, true), imm: dv.getInt32(n + 4, true) });
  }
  return out;
}
