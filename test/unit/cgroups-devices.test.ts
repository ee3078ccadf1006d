import { describe, expect, test } from "bun:test";
import { containerRules, DeviceEmulator, fromOci, ruleLine, ACCESS_ALL, ACCESS_MKNOD, ACCESS_READ, ACCESS_WRITE, WILDCARD, type DevRule } from "../../src/cgroups/devices.ts";
import { BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE, BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR, decode, deviceFilter, encode } from "../../src/cgroups/ebpf.ts";
import { runDeviceProgram } from "../cgroups/bpf-interp.ts";

const C = BPF_DEVCG_DEV_CHAR;
const B = BPF_DEVCG_DEV_BLOCK;
const R = BPF_DEVCG_ACC_READ;
const W = BPF_DEVCG_ACC_WRITE;
const M = BPF_DEVCG_ACC_MKNOD;

function decide(rules: DevRule[], type: number, major: number, minor: number, access: number): number {
  return runDeviceProgram(deviceFilter(rules), { type, major, minor, access });
}

describe("device rules", () => {
  test("OCI rules get the spec's defaults and v1 syntax", () => {
    const r = fromOci([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rw" }, { allow: true, type: "b", major: 8, access: "m" }]);
    expect(r.map(ruleLine)).toEqual(["a *:* rwm", "c 1:3 rw", "b 8:* m"]);
    expect(() => fromOci([{ allow: true, access: "rwx" }])).toThrow('unknown mode "x"');
    expect(() => fromOci([{ allow: true, type: "p", access: "r" }])).toThrow("must be a, b or c");
    expect(() => fromOci([{ allow: true, access: "" }])).toThrow("access must not be empty");
  });

  test("runc's default devices follow the container's rules, minus ones linux.devices replaces", () => {
    const all = containerRules([{ allow: false, access: "rwm" }]).map(ruleLine);
    expect(all).toEqual(["a *:* rwm", "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:5 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm"]);
    const noNull = containerRules([], [{ type: "c", path: "/dev/null", major: 1, minor: 3 }]).map(ruleLine);
    expect(noNull).not.toContain("c 1:3 rwm");
  });

  test("emulator: deny-all then allows is a white list; allow-all resets", () => {
    const e = DeviceEmulator.fromRules(fromOci([{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rw" }, { allow: true, type: "c", major: 1, minor: 3, access: "m" }]));
    expect(e.defaultAllow).toBe(false);
    expect(e.sortedExceptions().map(ruleLine)).toEqual(["c 1:3 rwm"]);
    e.apply({ type: "c", major: 1, minor: 3, access: ACCESS_WRITE, allow: false });
    expect(e.sortedExceptions().map(ruleLine)).toEqual(["c 1:3 rm"]);
    e.apply({ type: "a", major: WILDCARD, minor: WILDCARD, access: ACCESS_ALL, allow: true });
    expect(e.isAllowAll()).toBe(true);
  });

  test("emulator refuses to punch a hole in a wildcard rule", () => {
    const e = DeviceEmulator.denyAll();
    e.apply({ type: "c", major: 136, minor: WILDCARD, access: ACCESS_ALL, allow: true });
    expect(() => e.apply({ type: "c", major: 136, minor: 1, access: ACCESS_READ, allow: false })).toThrow("punch a hole");
  });

  test("devices.list parsing and minimal transitions", () => {
    const cur = DeviceEmulator.fromList("c 1:3 rwm\nc 1:5 rwm\nb *:* m\n");
    expect(cur.defaultAllow).toBe(false);
    const target = DeviceEmulator.fromRules([{ type: "c", major: 1, minor: 3, access: ACCESS_ALL, allow: true }, { type: "c", major: 1, minor: 9, access: ACCESS_READ, allow: true }], DeviceEmulator.denyAll());
    expect(cur.transitionTo(target).map((r) => (r.allow ? "allow " : "deny ") + ruleLine(r))).toEqual(["deny b *:* m", "deny c 1:5 rwm", "allow c 1:9 r"]);
    // a fresh v1 cgroup ("a *:* rwm") cannot be read exactly: start with deny-all
    const fresh = DeviceEmulator.fromList("a *:* rwm\n");
    expect(fresh.transitionTo(target).map((r) => (r.allow ? "allow " : "deny ") + ruleLine(r))).toEqual(["deny a *:* rwm", "allow c 1:3 rwm", "allow c 1:9 r"]);
  });
});

describe("eBPF device filter", () => {
  const kube = containerRules([{ allow: false, access: "rwm" }]);

  test("decides like the v1 controller for runc's default set", () => {
    expect(decide(kube, C, 1, 3, R | W)).toBe(1); // /dev/null
    expect(decide(kube, C, 1, 9, R)).toBe(1); // /dev/urandom
    expect(decide(kube, C, 136, 7, R | W)).toBe(1); // /dev/pts/7
    expect(decide(kube, C, 1, 1, R)).toBe(0); // /dev/mem
    expect(decide(kube, C, 1, 11, W)).toBe(0); // /dev/kmsg
    expect(decide(kube, B, 8, 0, R)).toBe(0); // /dev/sda
    expect(decide(kube, B, 8, 0, M)).toBe(1); // mknod of anything
    expect(decide(kube, C, 4, 1, M)).toBe(1);
  });

  test("partial access rules allow only what they name", () => {
    const rules: DevRule[] = [{ type: "a", major: WILDCARD, minor: WILDCARD, access: ACCESS_ALL, allow: false }, { type: "c", major: 10, minor: 229, access: ACCESS_READ, allow: true }];
    expect(decide(rules, C, 10, 229, R)).toBe(1);
    expect(decide(rules, C, 10, 229, W)).toBe(0);
    expect(decide(rules, C, 10, 229, R | W)).toBe(0);
    expect(decide(rules, C, 10, 228, R)).toBe(0);
  });

  test("a black list (allow all, deny some) becomes default-allow", () => {
    const rules: DevRule[] = [{ type: "a", major: WILDCARD, minor: WILDCARD, access: ACCESS_ALL, allow: true }, { type: "b", major: 8, minor: WILDCARD, access: ACCESS_WRITE | ACCESS_MKNOD, allow: false }];
    expect(decide(rules, B, 8, 1, W)).toBe(0);
    expect(decide(rules, B, 8, 1, R)).toBe(1);
    expect(decide(rules, C, 1, 1, R | W)).toBe(1);
  });

  test("bytecode round-trips and every jump lands inside the program", () => {
    const prog = deviceFilter(kube);
    const bytes = encode(prog);
    expect(bytes.length).toBe(prog.length * 8);
    expect(decode(bytes)).toEqual(prog);
    prog.forEach((i, pc) => {
      if (i.op === 0x55 || i.op === 0x5d) {
        const target = pc + 1 + i.off;
        expect(target).toBeGreaterThan(pc);
        expect(target).toBeLessThan(prog.length);
      }
    });
    // the program ends with the default verdict
    expect(prog.at(-2)).toEqual({ op: 0xb4, dst: 0, src: 0, off: 0, imm: 0 });
    expect(prog.at(-1)!.op).toBe(0x95);
  });

  test("exhaustively agrees with the emulator on a mixed rule set", () => {
    const rules = containerRules([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 10, minor: 229, access: "rw" },
      { allow: true, type: "b", major: 7, access: "r" },
    ]);
    const emu = DeviceEmulator.fromRules(rules, DeviceEmulator.denyAll());
    const allowedByEmu = (t: "b" | "c", major: number, minor: number, acc: number): number => {
      for (const e of emu.sortedExceptions()) {
        if (e.type !== t) continue;
        if (e.major !== WILDCARD && e.major !== major) continue;
        if (e.minor !== WILDCARD && e.minor !== minor) continue;
        if ((e.access & acc) === acc) return e.allow ? 1 : 0;
      }
      return emu.defaultAllow ? 1 : 0;
    };
    const ocAcc = [ACCESS_READ, ACCESS_WRITE, ACCESS_READ | ACCESS_WRITE, ACCESS_MKNOD];
    const toBpf = (a: number) => (a & ACCESS_READ ? R : 0) | (a & ACCESS_WRITE ? W : 0) | (a & ACCESS_MKNOD ? M : 0);
    for (const t of ["b", "c"] as const)
      for (const major of [1, 5, 7, 10, 136, 200])
        for (const minor of [0, 2, 3, 5, 9, 200, 229])
          for (const acc of ocAcc)
            expect(`${t} ${major}:${minor} ${acc} -> ${decide(rules, t === "b" ? B : C, major, minor, toBpf(acc))}`).toBe(`${t} ${major}:${minor} ${acc} -> ${allowedByEmu(t, major, minor, acc)}`);
  });
});
