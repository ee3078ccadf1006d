// The plan round trip: TypeScript encodes, the C decoder (the one the child uses) decodes and
// describes; both descriptions must agree field for field.
import { describe, expect, test } from "bun:test";
import { describePlan, encodePlan } from "../../src/linux/plan-encode.ts";
import { emptyPlan, HookKind, MK, PlanMode, type Plan } from "../../src/linux/plan.ts";
import { describeEncodedPlan } from "../../src/native.ts";

function richPlan(): Plan {
  const p = emptyPlan(PlanMode.Create);
  p.cloneFlags = 0x20000000n | 0x00020000n | 0x04000000n;
  p.nsJoin = [{ type: 0x40000000, fd: 7 }, { type: 0x08000000, fd: 8 }];
  p.syncFd = 5;
  p.rootfs = "/var/lib/bundle/rootfs with space";
  p.rootfsPropagation = (1 << 19) | 0x4000;
  p.rootReadonly = true;
  p.noPivot = true;
  p.mounts = [
    { flags: 0xe, clear: 0, kind: MK.PROC, propagation: [], attrSet: 0, attrClr: 0, source: "proc", target: "/proc", fstype: "proc", data: "" },
    { flags: 0x1000 | 0x4000 | 1, clear: 2, kind: MK.BIND | MK.REMOUNT | MK.FILE, propagation: [1 << 18, (1 << 20) | 0x4000],
      attrSet: 1, attrClr: 0x70, source: "/etc/hosts", target: "/etc/hosts", fstype: "", data: "" },
    { flags: 2, clear: 0, kind: 0, propagation: [], attrSet: 0, attrClr: 0, source: "tmpfs", target: "/dev", fstype: "tmpfs", data: "mode=755,size=65536k" },
    { flags: 0x1000, clear: 0, kind: MK.BIND, propagation: [], attrSet: 0, attrClr: 0, srcfd: 13, source: "/srv/data", target: "/data", fstype: "", data: "" },
  ];
  p.devices = [{ type: 0o020000, major: 1, minor: 3, mode: 0o666, uid: 0, gid: 5, bind: false, path: "/dev/null" },
    { type: 0o060000, major: 8, minor: 0, mode: 0o660, uid: 1000, gid: 6, bind: true, path: "/dev/sda" }];
  p.symlinks = [{ target: "/proc/self/fd", linkpath: "/dev/fd" }];
  p.masked = ["/proc/kcore", "/sys/firmware"];
  p.readonly = ["/proc/sys"];
  p.hostname = "h\u00e9llo";
  p.domainname = "example.org";
  p.sysctl = [{ key: "net.ipv4.ip_forward", value: "1" }];
  p.args = ["sh", "-c", "echo 'quoted \"x\"' && exit 3", ""];
  p.env = ["PATH=/bin", "EMPTY="];
  p.cwd = "/work dir";
  p.user = { uid: 1000, gid: 1000, umask: 0o027, groups: [10, 20, 0] };
  p.rlimits = [{ resource: 7, soft: 1024n, hard: 0xffffffffffffffffn }];
  p.caps = { bounding: (1n << 40n) | 1n, effective: 5n, inheritable: 0n, permitted: 5n, ambient: 1n << 63n };
  p.noNewPrivs = true;
  p.oomScoreAdj = -999;
  p.seccomp = { flags: 1, filter: new Uint8Array(24).fill(7) };
  p.execFifoFd = 9;
  p.init = { fd: 10, mode: "init" };
  p.terminal = { consoleFd: -1 };
  p.consoleSize = { rows: 40, cols: 120 };
  p.preserveFds = 2;
  p.hooks = [{ kind: HookKind.StartContainer, timeout: 5, path: "/bin/hook", state: '{"id":"x"}', args: ["hook", "a b"], env: ["X=1"] }];
  p.personality = 8;
  p.cgroupNsAfter = true;
  p.apparmor = "docker-default";
  p.selinux = "system_u:system_r:container_t:s0:c1,c2";
  p.mountLabel = "system_u:object_r:container_file_t:s0:c1,c2";
  p.ioprio = 0x4004;
  p.stdio = [11, 12, 12];
  p.keyring = "_ses.abc";
  p.cgroupIntoFd = 16;
  p.unshareFlags = 0x20000000n | 0x00020000n;
  p.cgroupTasksFds = [13, 14, 15];
  p.timeNs = { offsets: [{ clock: 7, secs: -86400n, nsecs: 5 }, { clock: 1, secs: 1n << 40n, nsecs: 999999999 }] };
  p.scheduler = { policy: 1, nice: -5, priority: 10, flags: 3n, runtime: 100n, deadline: 200n, period: 300n };
  return p;
}

describe("plan encoding", () => {
  test("C decodes exactly what TypeScript encoded (rich plan)", () => {
    const p = richPlan();
    expect(describeEncodedPlan(encodePlan(p))).toBe(describePlan(p));
  });

  test("C decodes an empty plan", () => {
    const p = emptyPlan(PlanMode.Exec);
    expect(describeEncodedPlan(encodePlan(p))).toBe(describePlan(p));
  });

  test("C refuses a truncated or corrupted plan", () => {
    const buf = encodePlan(richPlan());
    expect(() => describeEncodedPlan(buf.subarray(0, buf.length - 4))).toThrow(/invalid argument/);
    const bad = new Uint8Array(buf);
    bad[12] = 0xee; // first record's tag
    expect(() => describeEncodedPlan(bad)).toThrow(/invalid argument/);
  });

  test("strings with NUL are refused by the encoder", () => {
    const p = emptyPlan(PlanMode.Create);
    p.args = ["a\0b"];
    expect(() => encodePlan(p)).toThrow(/NUL/);
  });
});
