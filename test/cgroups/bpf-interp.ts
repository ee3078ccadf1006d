// A tiny interpreter for the eBPF subset the device filter uses, so tests can ask the generated
// program what it decides for a device access without loading it into a kernel.
import { OP, type Insn } from "../../src/cgroups/ebpf.ts";

/** Run prog on struct bpf_cgroup_dev_ctx { access_type, major, minor }; returns r0. */
export function runDeviceProgram(prog: Insn[], ctx: { type: number; access: number; major: number; minor: number }): number {
  const mem = new DataView(new ArrayBuffer(12));
  mem.setUint32(0, (ctx.access << 16) | ctx.type, true);
  mem.setUint32(4, ctx.major, true);
  mem.setUint32(8, ctx.minor, true);
  const r = new Array<bigint>(11).fill(0n);
  const CTX = 0x1000n; // r1 points at the context
  r[1] = CTX;
  const u32 = (v: bigint) => v & 0xffffffffn;
  const imm64 = (i: number) => BigInt.asUintN(64, BigInt(i)); // sign-extended immediate
  for (let pc = 0, steps = 0; pc < prog.length; pc++) {
    if (++steps > 10000) throw new Error("program does not terminate");
    const i = prog[pc]!;
    switch (i.op) {
      case OP.LDXW: {
        const addr = Number(r[i.src]! - CTX) + i.off;
        if (addr < 0 || addr + 4 > 12) throw new Error(`out of bounds load at ${pc}`);
        r[i.dst] = BigInt(mem.getUint32(addr, true));
        break;
      }
      case OP.AND32_K:
        r[i.dst] = u32(r[i.dst]! & BigInt(i.imm >>> 0));
        break;
      case OP.RSH32_K:
        r[i.dst] = u32(r[i.dst]!) >> BigInt(i.imm);
        break;
      case OP.MOV32_X:
        r[i.dst] = u32(r[i.src]!);
        break;
      case OP.MOV32_K:
        r[i.dst] = BigInt(i.imm >>> 0);
        break;
      case OP.JNE_K:
        if (r[i.dst] !== imm64(i.imm)) pc += i.off;
        break;
      case OP.JNE_X:
        if (r[i.dst] !== r[i.src]) pc += i.off;
        break;
      case OP.EXIT:
        return Number(r[0]);
      default:
        throw new Error(`unknown opcode 0x${i.op.toString(16)} at ${pc}`);
    }
    if (pc + 1 > prog.length) throw new Error("jump past the end");
  }
  throw new Error("fell off the end");
}
