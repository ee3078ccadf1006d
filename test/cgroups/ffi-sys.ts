// Tests only: a stand-in for bunc's native sys() (src/native.ts needs the built shim), so the
// v2 device filter can be loaded into this kernel from a plain `bun test`.
import { dlopen, ptr, read } from "bun:ffi";
import type { BpfSys } from "../../src/cgroups/bpf.ts";

let libc: ReturnType<typeof open> | undefined;
function open() {
  return dlopen("libc.so.6", {
    syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: "i64" },
    __errno_location: { args: [], returns: "ptr" },
  });
}

export const testBpfSys: BpfSys = {
  sys(nr, ...args) {
    libc ??= open();
    const v = args.map((a) => (a instanceof Uint8Array ? ptr(a) : Number(a)));
    while (v.length < 6) v.push(0);
    const r = Number(libc.symbols.syscall(nr, ...(v as [number, number, number, number, number, number])));
    return r === -1 ? -read.i32(libc.symbols.__errno_location()!, 0) : r;
  },
  addressOf: (b) => BigInt(ptr(b)),
};
