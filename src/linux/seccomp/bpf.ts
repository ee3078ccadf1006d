// A tiny classic-BPF assembler: instructions with symbolic, forward-only jump targets.
//
// Conditional jumps hold 8-bit offsets (jt/jf <= 255). When a target is further away, the
// assembler keeps the condition but points that branch at a `ja` placed right after the jump
// (JA has a 32-bit offset), and recomputes until every offset fits.

import { BPF, SOCK_FILTER_SIZE } from "./constants.ts";

export type Label = number;

interface Op {
  code: number;
  k: number;
  jt?: Label; // conditional jumps
  jf?: Label;
  target?: Label; // BPF_JA
}

const MAX_SHORT_JUMP = 255;
const isConditional = (code: number) => (code & 0x07) === BPF.JMP && (code & 0xf0) !== BPF.JA;
const isJa = (code: number) => code === (BPF.JMP | BPF.JA);

export class Assembler {
  private readonly ops: Op[] = [];
  /** label -> index of the op it stands before (ops.length: the end). */
  private readonly bound = new Map<Label, number>();
  private labels = 0;

  label(): Label {
    return this.labels++;
  }

  /** Place `label` before the next instruction emitted. */
  bind(label: Label): void {
    if (this.bound.has(label)) throw new Error(`bpf: label ${label} bound twice`);
    this.bound.set(label, this.ops.length);
  }

  get size(): number {
    return this.ops.length;
  }

  /** ld/ldx/alu/ret/misc instruction. */
  stmt(code: number, k = 0): void {
    this.ops.push({ code, k: k >>> 0 });
  }

  loadWord(offset: number): void {
    this.stmt(BPF.LD | BPF.W | BPF.ABS, offset);
  }

  ret(value: number): void {
    this.stmt(BPF.RET | BPF.K, value);
  }

  ja(target: Label): void {
    this.ops.push({ code: BPF.JMP | BPF.JA, k: 0, target });
  }

  /** Conditional jump on A `op` k; a null target means the instruction emitted next. */
  jump(op: number, k: number, jt: Label | null, jf: Label | null): void {
    const next = jt === null || jf === null ? this.label() : -1;
    this.ops.push({ code: BPF.JMP | op | BPF.K, k: k >>> 0, jt: jt ?? next, jf: jf ?? next });
    if (next >= 0) this.bind(next);
  }

  /** Resolve the labels and encode struct sock_filter[] (host byte order: little-endian). */
  assemble(): Uint8Array {
    const n = this.ops.length;
    // Per op: does its jt / jf go through a trampoline `ja` placed right after it?
    const farT = new Uint8Array(n);
    const farF = new Uint8Array(n);
    const pos = new Int32Array(n + 1);
    const at = (label: Label) => {
      const index = this.bound.get(label);
      if (index === undefined) throw new Error(`bpf: label ${label} never bound`);
      return pos[index];
    };
    for (;;) {
      for (let i = 0; i < n; i++) pos[i + 1] = pos[i] + 1 + farT[i] + farF[i];
      let changed = false;
      for (let i = 0; i < n; i++) {
        const op = this.ops[i];
        if (!isConditional(op.code)) continue;
        if (!farT[i] && at(op.jt!) - (pos[i] + 1) > MAX_SHORT_JUMP) {
          farT[i] = 1;
          changed = true;
        }
        if (!farF[i] && at(op.jf!) - (pos[i] + 1) > MAX_SHORT_JUMP) {
          farF[i] = 1;
          changed = true;
        }
      }
      if (!changed) break;
    }

    const out = new Uint8Array(pos[n] * SOCK_FILTER_SIZE);
    const view = new DataView(out.buffer);
    const put = (index: number, code: number, jt: number, jf: number, k: number) => {
      const o = index * SOCK_FILTER_SIZE;
      view.setUint16(o, code, true);
      view.setUint8(o + 2, jt);
      view.setUint8(o + 3, jf);
      view.setUint32(o + 4, k >>> 0, true);
    };
    const forward = (from: number, label: Label) => {
      const off = at(label) - (from + 1);
      if (off < 0) throw new Error(`bpf: backward jump from ${from} to label ${label}`);
      return off;
    };
    for (let i = 0; i < n; i++) {
      const op = this.ops[i];
      const p = pos[i];
      if (isJa(op.code)) {
        put(p, op.code, 0, 0, forward(p, op.target!));
      } else if (isConditional(op.code)) {
        let extra = p + 1;
        const jt = farT[i] ? extra++ - (p + 1) : forward(p, op.jt!);
        const jf = farF[i] ? extra - (p + 1) : forward(p, op.jf!);
        put(p, op.code, jt, jf, op.k);
        if (farT[i]) put(p + 1, BPF.JMP | BPF.JA, 0, 0, forward(p + 1, op.jt!));
        if (farF[i]) put(p + 1 + farT[i], BPF.JMP | BPF.JA, 0, 0, forward(p + 1 + farT[i], op.jf!));
      } else {
        put(p, op.code, 0, 0, op.k);
      }
    }
    return out;
  }
}
