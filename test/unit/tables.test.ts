// The name tables against the kernel's own headers and tools on this machine.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { CAPABILITIES, CAP_LAST_CAP, capMask, capNumber, hostLastCap } from "../../src/linux/capabilities.ts";
import { RLIMITS, RLIM_INFINITY, rlimitNumber, rlimitValue } from "../../src/linux/rlimits.ts";
import { parseSignal, signalName, STANDARD_SIGNALS } from "../../src/linux/signals.ts";
import { KNOWN_MOUNT_OPTIONS, MOUNT_ATTR, MS, PROPAGATION, parseMountOptions } from "../../src/linux/mountopts.ts";
import { BuncError } from "../../src/errors.ts";

/** `#define NAME <integer expression>` lines of a header, evaluated (numbers, <<, |, parentheses). */
function defines(file: string, prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^#\s*define\s+([A-Z0-9_]+)\s+(.+?)\s*(?:\/\*.*)?$/.exec(line);
    if (!m || !m[1]!.startsWith(prefix)) continue;
    const expr = m[2]!;
    if (!/^[\s()0-9xXa-fA-F<|]+$/.test(expr)) continue;
    out.set(m[1]!, Function(`return (${expr})`)() as number);
  }
  return out;
}

describe("capabilities", () => {
  test("names and numbers match /usr/include/linux/capability.h", () => {
    const header = defines("/usr/include/linux/capability.h", "CAP_");
    const fromHeader = [...header.entries()].filter(([name]) => name !== "CAP_LAST_CAP");
    expect(fromHeader.length).toBe(CAPABILITIES.length);
    for (const [name, n] of fromHeader) expect([name, capNumber(name)]).toEqual([name, n]);
    expect(CAP_LAST_CAP).toBe(40);
    expect(CAPABILITIES[40]).toBe("CAP_CHECKPOINT_RESTORE");
  });

  test("the running kernel knows no capability we do not", () => {
    expect(hostLastCap()).toBeLessThanOrEqual(CAP_LAST_CAP);
  });

  test("capMask sets bit N for capability N", () => {
    expect(capMask(["CAP_CHOWN"])).toBe(1n);
    expect(capMask(["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"])).toBe((1n << 5n) | (1n << 10n) | (1n << 29n));
    expect(capMask(CAPABILITIES)).toBe((1n << 41n) - 1n);
    expect(capMask(undefined)).toBe(0n);
  });

  test("capMask ignores unknown and unavailable names with one warning, as runc", () => {
    const warnings: string[] = [];
    const mask = capMask(["CAP_BPF", "CAP_FOO", "CAP_CHOWN", "cap_chown", "CAP_FOO"], (m) => warnings.push(m), 38);
    expect(mask).toBe(1n);
    expect(warnings).toEqual(["ignoring unknown or unavailable capabilities: [CAP_BPF CAP_FOO cap_chown]"]);
    expect(capMask(["CAP_CHOWN"], () => { throw new Error("no warning expected"); })).toBe(1n);
  });
});

describe("rlimits", () => {
  test("resource numbers match /usr/include/asm-generic/resource.h", () => {
    const header = defines("/usr/include/asm-generic/resource.h", "RLIMIT_");
    expect(Object.keys(RLIMITS).sort()).toEqual([...header.keys()].sort());
    for (const [name, n] of header) expect([name, rlimitNumber(name)]).toEqual([name, n]);
    expect(rlimitNumber("RLIMIT_FOO")).toBeUndefined();
    expect(rlimitNumber("toString")).toBeUndefined();
  });

  test("limit values become u64, and 2^64-1 stays unlimited", () => {
    expect(rlimitValue(1024)).toBe(1024n);
    expect(rlimitValue(JSON.parse("18446744073709551615"))).toBe(RLIM_INFINITY);
    expect(rlimitValue(2 ** 63)).toBe(2n ** 63n);
  });
});

describe("signals", () => {
  test("names 1..64 match bash's kill -l", () => {
    const r = spawnSync("bash", ["-c", "for i in $(seq 1 64); do echo \"$i $(kill -l $i 2>/dev/null)\"; done"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    let checked = 0;
    for (const line of r.stdout.trim().split("\n")) {
      const [num, name] = line.split(" ");
      const n = Number(num);
      if (!name) {
        expect(signalName(n)).toBeUndefined();
        continue;
      }
      expect([n, signalName(n)]).toEqual([n, `SIG${name}`]);
      expect(parseSignal(name)).toBe(n);
      checked++;
    }
    expect(checked).toBe(62); // all but 32 and 33
    expect(Object.keys(STANDARD_SIGNALS).length).toBe(31);
  });

  test("parseSignal accepts the spellings runc and kill(1) accept", () => {
    expect(parseSignal("TERM")).toBe(15);
    expect(parseSignal("SIGTERM")).toBe(15);
    expect(parseSignal("sigterm")).toBe(15);
    expect(parseSignal("Kill")).toBe(9);
    expect(parseSignal("15")).toBe(15);
    expect(parseSignal("0")).toBe(0);
    expect(parseSignal("64")).toBe(64);
    expect(parseSignal("SIGRTMIN")).toBe(34);
    expect(parseSignal("SIGRTMIN+3")).toBe(37);
    expect(parseSignal("rtmax-2")).toBe(62);
    expect(parseSignal("RTMAX")).toBe(64);
    expect(parseSignal("SIGIOT")).toBe(6);
    expect(parseSignal("POLL")).toBe(29);
  });

  test("parseSignal refuses what is not a signal", () => {
    for (const bad of ["FOO", "SIG", "", "65", "-9", "9x", "RTMIN-1", "RTMAX+1", "RTMIN+31", "toString", "SIGHUPX"]) {
      expect(() => parseSignal(bad)).toThrow(BuncError);
    }
    expect(() => parseSignal("FOO")).toThrow('unknown signal "FOO"');
    expect(() => parseSignal("65")).toThrow("invalid signal number 65 (must be 0..64)");
  });
});

describe("mount options", () => {
  test("MS_* and MOUNT_ATTR_* values match /usr/include/linux/mount.h", () => {
    const header = defines("/usr/include/linux/mount.h", "MS_");
    for (const [name, v] of Object.entries(MS) as [string, number][]) expect({ [name]: v }).toEqual({ [name]: header.get(`MS_${name}`)! });
    const attrs = defines("/usr/include/linux/mount.h", "MOUNT_ATTR_");
    for (const [name, v] of Object.entries(MOUNT_ATTR) as [string, number][]) expect({ [name]: v }).toEqual({ [name]: attrs.get(`MOUNT_ATTR_${name}`)! });
  });

  test("flags, data and order of a typical bind mount", () => {
    const m = parseMountOptions(["rbind", "nosuid", "nodev", "ro", "rprivate", "size=1k", "mode=755"]);
    expect(m.flags).toBe(MS.BIND | MS.REC | MS.NOSUID | MS.NODEV | MS.RDONLY);
    expect(m.bind).toBe(true);
    expect(m.recursive).toBe(true);
    expect(m.propagation).toEqual([MS.PRIVATE | MS.REC]);
    expect(m.data).toBe("size=1k,mode=755");
    expect(m.recAttrSet).toBe(0);
    expect(m.recAttrClr).toBe(0);
    expect(m.idmap).toBeUndefined();
    expect(m.tmpcopyup).toBe(false);
  });

  test("a later option overrides an earlier opposite one and is recorded as cleared", () => {
    const m = parseMountOptions(["ro", "nosuid", "rw", "suid", "exec"]);
    expect(m.flags).toBe(0);
    expect(m.clearedFlags).toBe(MS.RDONLY | MS.NOSUID | MS.NOEXEC);
    const again = parseMountOptions(["rw", "ro"]);
    expect(again.flags).toBe(MS.RDONLY);
    expect(again.clearedFlags).toBe(0);
    expect(parseMountOptions(["bind"]).recursive).toBe(false);
  });

  test("propagation options keep their order", () => {
    const m = parseMountOptions(["shared", "rslave", "private", "runbindable"]);
    expect(m.propagation).toEqual([MS.SHARED, MS.SLAVE | MS.REC, MS.PRIVATE, MS.UNBINDABLE | MS.REC]);
    expect(Object.keys(PROPAGATION).length).toBe(8);
  });

  test("recursive attributes for mount_setattr", () => {
    const m = parseMountOptions(["rro", "rnosuid", "rnodev", "rnoexec"]);
    expect(m.recAttrSet).toBe(MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC);
    expect(m.recAttrClr).toBe(0);
    expect(m.flags).toBe(0);
    const atime = parseMountOptions(["rnoatime"]);
    expect(atime.recAttrSet).toBe(MOUNT_ATTR.NOATIME);
    expect(atime.recAttrClr).toBe(MOUNT_ATTR._ATIME);
    const rel = parseMountOptions(["rrelatime"]);
    expect([rel.recAttrSet, rel.recAttrClr]).toEqual([0, MOUNT_ATTR._ATIME]);
    const undo = parseMountOptions(["rro", "rrw"]);
    expect([undo.recAttrSet, undo.recAttrClr]).toEqual([0, MOUNT_ATTR.RDONLY]);
  });

  test("extensions: tmpcopyup, idmap, ridmap; defaults is a no-op", () => {
    expect(parseMountOptions(["tmpcopyup", "mode=1777"]).tmpcopyup).toBe(true);
    expect(parseMountOptions(["tmpcopyup", "mode=1777"]).data).toBe("mode=1777");
    expect(parseMountOptions(["bind", "idmap"]).idmap).toEqual({ recursive: false });
    expect(parseMountOptions(["rbind", "ridmap"]).idmap).toEqual({ recursive: true });
    const d = parseMountOptions(["defaults"]);
    expect([d.flags, d.data]).toEqual([0, ""]);
    expect(parseMountOptions(["acl", "toString"]).data).toBe("acl,toString");
    expect(parseMountOptions(undefined).data).toBe("");
  });

  test("the known option list is sorted and complete", () => {
    expect([...KNOWN_MOUNT_OPTIONS]).toEqual([...KNOWN_MOUNT_OPTIONS].sort());
    for (const o of ["ro", "rw", "bind", "rbind", "rprivate", "rro", "tmpcopyup", "idmap", "ridmap", "nosymfollow", "rnosymfollow"]) {
      expect(KNOWN_MOUNT_OPTIONS).toContain(o);
    }
    expect(new Set(KNOWN_MOUNT_OPTIONS).size).toBe(KNOWN_MOUNT_OPTIONS.length);
  });
});
