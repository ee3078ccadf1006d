// config.json / process.json validation: good configs pass; each bad field gives exactly one
// message naming the file and the JSON path.
import { describe, expect, test } from "bun:test";
import { BuncError } from "../../src/errors.ts";
import { defaultSpec } from "../../src/spec/default.ts";
import { sysctlPath, validateProcess, validateSpec } from "../../src/spec/validate.ts";

type Json = Record<string, any>;

/** A fresh valid config (runc's default spec, no cgroup namespace). */
function good(): Json {
  return JSON.parse(JSON.stringify(defaultSpec({ rootless: false, cgroupNamespace: false })));
}

/** The error message validateSpec gives for the config after `change`. */
function errorOf(change: (c: Json) => void): string {
  const c = good();
  change(c);
  try {
    validateSpec(c);
  } catch (e) {
    expect(e).toBeInstanceOf(BuncError);
    return (e as Error).message;
  }
  throw new Error("expected validateSpec to fail");
}

function warningsOf(change: (c: Json) => void): string[] {
  const c = good();
  change(c);
  const warnings: string[] = [];
  validateSpec(c, "config.json", (m) => warnings.push(m));
  return warnings;
}

describe("good configs pass", () => {
  test("runc's default spec and its rootless variant", () => {
    expect(warningsOf(() => {})).toEqual([]);
    const rootless = JSON.parse(JSON.stringify(defaultSpec({ rootless: true, uid: 1000, gid: 1000 })));
    expect(validateSpec(rootless).linux!.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
  });

  test("a config using every field bunc reads", () => {
    const c = good();
    Object.assign(c.process, {
      consoleSize: { height: 24, width: 80 },
      user: { uid: 1000, gid: 1000, umask: 0o22, additionalGids: [10, 20] },
      oomScoreAdj: -500,
      apparmorProfile: "docker-default",
      selinuxLabel: "system_u:system_r:container_t:s0",
      scheduler: { policy: "SCHED_FIFO", priority: 10, flags: ["SCHED_FLAG_RESET_ON_FORK"] },
      ioPriority: { class: "IOPRIO_CLASS_BE", priority: 4 },
      execCPUAffinity: { initial: "0", final: "0-1,3" },
    });
    c.process.capabilities.ambient = ["CAP_KILL"];
    c.process.rlimits.push({ type: "RLIMIT_CORE", hard: 18446744073709551615, soft: 0 });
    c.domainname = "example.org";
    c.mounts.push({ destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "ro", "rprivate"] });
    c.mounts.push({
      destination: "/mapped", type: "bind", source: "/srv/m", options: ["bind", "idmap"],
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    });
    c.hooks = {
      prestart: [{ path: "/usr/bin/hook", args: ["hook", "x"], env: ["A=b"], timeout: 5 }],
      createRuntime: [{ path: "/bin/true" }],
      createContainer: [], startContainer: [], poststart: [], poststop: [{ path: "/bin/true" }],
    };
    c.annotations = { "run.bunc.init": "true" };
    c.linux.namespaces.push({ type: "user" }, { type: "cgroup" }, { type: "time" });
    c.linux.namespaces[1] = { type: "network", path: "/var/run/netns/x" };
    Object.assign(c.linux, {
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      sysctl: { "net.ipv4.ip_forward": "1", "kernel.shmmax": "100000", "fs.mqueue.msg_max": "10", "net/ipv4/conf/eth0.100/rp_filter": "0" },
      cgroupsPath: "/bunc-test/x",
      devices: [
        { type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
        { type: "p", path: "/dev/fifo" },
      ],
      seccomp: {
        defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 1, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        flags: ["SECCOMP_FILTER_FLAG_LOG"], listenerPath: "/run/agent.sock", listenerMetadata: "x",
        syscalls: [
          { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
          { names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, op: "SCMP_CMP_EQ" }] },
          { names: ["mkdir"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
          { names: ["ioctl"], action: "SCMP_ACT_NOTIFY" },
        ],
      },
      rootfsPropagation: "rslave",
      mountLabel: "system_u:object_r:container_file_t:s0",
      intelRdt: { closID: "guaranteed", l3CacheSchema: "L3:0=ff", enableCMT: true },
      personality: { domain: "LINUX" },
      timeOffsets: { monotonic: { secs: 100, nanosecs: 5 }, boottime: { secs: -1 } },
    });
    c.linux.resources = {
      devices: [{ allow: false, access: "rwm" }, { allow: true, type: "c", major: 1, minor: 3, access: "rw" }, { allow: true, type: "b", major: 8, minor: null, access: "m" }],
      memory: { limit: 1 << 30, reservation: 1 << 29, swap: -1, swappiness: 60, disableOOMKiller: false, checkBeforeUpdate: true },
      cpu: { shares: 1024, quota: 50000, burst: 0, period: 100000, realtimeRuntime: 0, realtimePeriod: 0, cpus: "0-1", mems: "0", idle: 0 },
      pids: { limit: 100 },
      blockIO: {
        weight: 500, leafWeight: 300,
        weightDevice: [{ major: 8, minor: 0, weight: 100 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
      },
      hugepageLimits: [{ pageSize: "2MB", limit: 1 << 21 }],
      network: { classID: 0x100001, priorities: [{ name: "eth0", priority: 5 }] },
      rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
      unified: { "memory.high": "1G" },
    };
    c.someFutureField = { anything: [1, 2] }; // unknown fields are ignored
    c.process.someFutureField = 7;
    const warnings: string[] = [];
    const spec = validateSpec(c, "config.json", (m) => warnings.push(m));
    expect(warnings).toEqual([]);
    expect(spec.linux!.resources!.devices![2]!.minor).toBeUndefined(); // null: a wildcard, dropped
  });

  test("JSON null means absent, as for Go: the key is removed", () => {
    const c = good();
    c.hostname = null;
    c.linux.seccomp = null;
    c.process.capabilities.ambient = null;
    const spec = validateSpec(c);
    expect("hostname" in spec).toBe(false);
    expect("seccomp" in spec.linux!).toBe(false);
    expect("ambient" in spec.process!.capabilities!).toBe(false);
  });

  test("defaults filled as Go's decoder does: process.user, device cgroup allow", () => {
    const c = good();
    delete c.process.user;
    c.linux.resources.devices = [{ access: "rwm" }];
    const spec = validateSpec(c);
    expect(spec.process!.user).toEqual({ uid: 0, gid: 0 });
    expect(spec.linux!.resources!.devices![0]!.allow).toBe(false);
    const partial = good();
    partial.process.user = { uid: 5 };
    expect(validateSpec(partial).process!.user).toEqual({ uid: 5, gid: 0 });
  });

  test("ociVersion may be missing (runc runs such configs)", () => {
    const c = good();
    delete c.ociVersion;
    expect(() => validateSpec(c)).not.toThrow();
  });
});

describe("each bad field: one line with its path", () => {
  const cases: [string, (c: Json) => void, string][] = [
    ["not an object", (c) => Object.setPrototypeOf(c, Array.prototype), ""],
    ["ociVersion", (c) => (c.ociVersion = 1), "config.json: ociVersion: must be a string"],
    ["process missing", (c) => delete c.process, "config.json: process: is required"],
    ["process type", (c) => (c.process = "sh"), "config.json: process: must be an object"],
    ["args empty", (c) => (c.process.args = []), "config.json: process.args: must not be empty"],
    ["args missing", (c) => delete c.process.args, "config.json: process.args: must not be empty"],
    ["args type", (c) => (c.process.args = "sh"), "config.json: process.args: must be an array"],
    ["args entry", (c) => (c.process.args = ["sh", 1]), "config.json: process.args[1]: must be a string"],
    ["args NUL", (c) => (c.process.args = ["s\0h"]), "config.json: process.args[0]: must not contain a NUL byte"],
    ["terminal", (c) => (c.process.terminal = "yes"), "config.json: process.terminal: must be a boolean"],
    ["consoleSize", (c) => (c.process.consoleSize = { height: -1, width: 2 }), "config.json: process.consoleSize.height: must be between 0 and 4294967295"],
    ["uid string", (c) => (c.process.user.uid = "0"), "config.json: process.user.uid: must be an integer"],
    ["uid float", (c) => (c.process.user.uid = 1.5), "config.json: process.user.uid: must be an integer"],
    ["uid range", (c) => (c.process.user.uid = 2 ** 32), "config.json: process.user.uid: must be between 0 and 4294967295"],
    ["gid negative", (c) => (c.process.user.gid = -1), "config.json: process.user.gid: must be between 0 and 4294967295"],
    ["umask", (c) => (c.process.user.umask = "022"), "config.json: process.user.umask: must be an integer"],
    ["additionalGids", (c) => (c.process.user.additionalGids = [1, "2"]), "config.json: process.user.additionalGids[1]: must be an integer"],
    ["user type", (c) => (c.process.user = []), "config.json: process.user: must be an object"],
    ["env no =", (c) => c.process.env.push("FOO"), 'config.json: process.env[2]: "FOO" must be of the form KEY=VALUE'],
    ["env empty name", (c) => c.process.env.push("=x"), 'config.json: process.env[2]: "=x" has an empty variable name'],
    ["cwd missing", (c) => delete c.process.cwd, "config.json: process.cwd: is required"],
    ["cwd empty", (c) => (c.process.cwd = ""), "config.json: process.cwd: must not be empty"],
    ["cwd relative", (c) => (c.process.cwd = "tmp"), "config.json: process.cwd: must be an absolute path"],
    ["capabilities type", (c) => (c.process.capabilities.bounding = "CAP_KILL"), "config.json: process.capabilities.bounding: must be an array"],
    ["capability entry", (c) => (c.process.capabilities.effective = [5]), "config.json: process.capabilities.effective[0]: must be a string"],
    ["rlimit type unknown", (c) => (c.process.rlimits[0].type = "RLIMIT_FOO"), 'config.json: process.rlimits[0].type: unknown rlimit type "RLIMIT_FOO"'],
    ["rlimit duplicate", (c) => c.process.rlimits.push({ type: "RLIMIT_NOFILE", hard: 1, soft: 1 }), 'config.json: process.rlimits[1].type: duplicate rlimit type "RLIMIT_NOFILE"'],
    ["rlimit soft > hard", (c) => (c.process.rlimits[0].soft = 2048), "config.json: process.rlimits[0]: soft limit 2048 is above hard limit 1024"],
    ["rlimit hard type", (c) => (c.process.rlimits[0].hard = "1024"), "config.json: process.rlimits[0].hard: must be an integer"],
    ["rlimit hard missing", (c) => delete c.process.rlimits[0].hard, "config.json: process.rlimits[0].hard: is required"],
    ["rlimit negative", (c) => (c.process.rlimits[0].soft = -1), "config.json: process.rlimits[0].soft: must not be negative"],
    ["rlimits entry type", (c) => (c.process.rlimits = ["RLIMIT_NOFILE"]), "config.json: process.rlimits[0]: must be an object"],
    ["noNewPrivileges", (c) => (c.process.noNewPrivileges = 1), "config.json: process.noNewPrivileges: must be a boolean"],
    ["apparmorProfile", (c) => (c.process.apparmorProfile = true), "config.json: process.apparmorProfile: must be a string"],
    ["oomScoreAdj range", (c) => (c.process.oomScoreAdj = 1001), "config.json: process.oomScoreAdj: must be between -1000 and 1000"],
    ["scheduler policy", (c) => (c.process.scheduler = { policy: "SCHED_FAST" }), 'config.json: process.scheduler.policy: unknown scheduler policy "SCHED_FAST"'],
    ["scheduler missing policy", (c) => (c.process.scheduler = { nice: 1 }), "config.json: process.scheduler.policy: is required"],
    ["scheduler nice", (c) => (c.process.scheduler = { policy: "SCHED_OTHER", nice: 20 }), "config.json: process.scheduler.nice: must be between -20 and 19"],
    ["scheduler priority", (c) => (c.process.scheduler = { policy: "SCHED_OTHER", priority: 1 }), "config.json: process.scheduler.priority: can only be set for SCHED_FIFO or SCHED_RR"],
    ["scheduler deadline", (c) => (c.process.scheduler = { policy: "SCHED_RR", runtime: 1 }), "config.json: process.scheduler: runtime, deadline and period can only be set for SCHED_DEADLINE"],
    ["scheduler flag", (c) => (c.process.scheduler = { policy: "SCHED_RR", flags: ["X"] }), 'config.json: process.scheduler.flags[0]: unknown scheduler flag "X"'],
    ["ioPriority class", (c) => (c.process.ioPriority = { class: "RT", priority: 1 }), 'config.json: process.ioPriority.class: unknown I/O priority class "RT"'],
    ["ioPriority priority", (c) => (c.process.ioPriority = { class: "IOPRIO_CLASS_RT", priority: 8 }), "config.json: process.ioPriority.priority: must be between 0 and 7"],
    ["execCPUAffinity", (c) => (c.process.execCPUAffinity = { initial: "0-" }), 'config.json: process.execCPUAffinity.initial: invalid CPU list "0-" (e.g. "0-3,7")'],
    ["root missing", (c) => delete c.root, "config.json: root: is required"],
    ["root.path missing", (c) => (c.root = { readonly: true }), "config.json: root.path: is required"],
    ["root.path empty", (c) => (c.root.path = ""), "config.json: root.path: must not be empty"],
    ["root.readonly", (c) => (c.root.readonly = "true"), "config.json: root.readonly: must be a boolean"],
    ["hostname type", (c) => (c.hostname = 5), "config.json: hostname: must be a string"],
    ["mounts type", (c) => (c.mounts = {}), "config.json: mounts: must be an array"],
    ["mount destination missing", (c) => delete c.mounts[3].destination, "config.json: mounts[3].destination: is required"],
    ["mount destination empty", (c) => (c.mounts[3].destination = ""), "config.json: mounts[3].destination: must not be empty"],
    ["mount options", (c) => (c.mounts[1].options = "ro"), "config.json: mounts[1].options: must be an array"],
    ["mount type", (c) => (c.mounts[0].type = 1), "config.json: mounts[0].type: must be a string"],
    ["bind without source", (c) => c.mounts.push({ destination: "/x", options: ["rbind"] }), "config.json: mounts[7].source: a bind mount needs a source"],
    ["mount idmap without bind", (c) => (c.mounts[1].uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]), 'config.json: mounts[1]: uidMappings/gidMappings need a bind mount ("bind" or "rbind" in options)'],
    ["mount mapping size", (c) => c.mounts.push({ destination: "/x", source: "/y", options: ["bind"], uidMappings: [{ containerID: 0, hostID: 1, size: 0 }] }), "config.json: mounts[7].uidMappings[0].size: must be at least 1"],
    ["hooks type", (c) => (c.hooks = []), "config.json: hooks: must be an object"],
    ["hook path relative", (c) => (c.hooks = { prestart: [{ path: "hook" }] }), "config.json: hooks.prestart[0].path: must be an absolute path"],
    ["hook path missing", (c) => (c.hooks = { poststop: [{}] }), "config.json: hooks.poststop[0].path: is required"],
    ["hook env", (c) => (c.hooks = { createRuntime: [{ path: "/h", env: ["X"] }] }), 'config.json: hooks.createRuntime[0].env[0]: "X" must be of the form KEY=VALUE'],
    ["hook timeout", (c) => (c.hooks = { poststart: [{ path: "/h", timeout: 0 }] }), "config.json: hooks.poststart[0].timeout: must be greater than zero"],
    ["hook args", (c) => (c.hooks = { startContainer: [{ path: "/h", args: "x" }] }), "config.json: hooks.startContainer[0].args: must be an array"],
    ["annotations value", (c) => (c.annotations = { a: 1 }), 'config.json: annotations["a"]: must be a string'],
    ["annotations key", (c) => (c.annotations = { "": "x" }), "config.json: annotations: keys must not be empty"],
    ["linux type", (c) => (c.linux = []), "config.json: linux: must be an object"],
    ["namespace unknown", (c) => (c.linux.namespaces[2].type = "foo"), 'config.json: linux.namespaces[2].type: unknown namespace type "foo"'],
    ["namespace duplicate", (c) => c.linux.namespaces.push({ type: "pid" }), 'config.json: linux.namespaces[5].type: duplicate namespace type "pid"'],
    ["namespace missing type", (c) => c.linux.namespaces.push({}), "config.json: linux.namespaces[5].type: is required"],
    ["namespace path", (c) => (c.linux.namespaces[1].path = "netns"), "config.json: linux.namespaces[1].path: must be an absolute path"],
    ["uidMappings type", (c) => (c.linux.uidMappings = [{ containerID: "0", hostID: 0, size: 1 }]), "config.json: linux.uidMappings[0].containerID: must be an integer"],
    ["sysctl value", (c) => (c.linux.sysctl = { "kernel.shmmax": 1 }), 'config.json: linux.sysctl["kernel.shmmax"]: must be a string'],
    ["sysctl name", (c) => (c.linux.sysctl = { "net/../../kernel/x": "1" }), 'config.json: linux.sysctl["net/../../kernel/x"]: not a valid sysctl name'],
    ["sysctl host", (c) => (c.linux.sysctl = { "kernel.panic": "1" }), "config.json: linux.sysctl[\"kernel.panic\"]: is not namespaced: the container would change the host's value"],
    ["sysctl net without netns", (c) => { c.linux.namespaces.splice(1, 1); c.linux.sysctl = { "net.core.somaxconn": "1" }; }, 'config.json: linux.sysctl["net.core.somaxconn"]: needs a network namespace (no "network" in linux.namespaces)'],
    ["sysctl ipc without ipcns", (c) => { c.linux.namespaces.splice(2, 1); c.linux.sysctl = { "kernel.shmmax": "1" }; }, 'config.json: linux.sysctl["kernel.shmmax"]: needs an IPC namespace (no "ipc" in linux.namespaces)'],
    ["sysctl hostname", (c) => (c.linux.sysctl = { "kernel.hostname": "x" }), 'config.json: linux.sysctl["kernel.hostname"]: conflicts with the "hostname" field; set that instead'],
    ["devices type", (c) => (c.linux.devices = [{ type: "x", path: "/dev/x", major: 1, minor: 1 }]), 'config.json: linux.devices[0].type: unknown device type "x"'],
    ["devices major", (c) => (c.linux.devices = [{ type: "c", path: "/dev/x", minor: 1 }]), 'config.json: linux.devices[0].major: is required for a device of type "c"'],
    ["devices minor", (c) => (c.linux.devices = [{ type: "b", path: "/dev/x", major: 1 }]), 'config.json: linux.devices[0].minor: is required for a device of type "b"'],
    ["devices path", (c) => (c.linux.devices = [{ type: "p", path: "dev/x" }]), "config.json: linux.devices[0].path: must be an absolute path"],
    ["devices fileMode", (c) => (c.linux.devices = [{ type: "p", path: "/dev/x", fileMode: "0666" }]), "config.json: linux.devices[0].fileMode: must be an integer"],
    ["resources type", (c) => (c.linux.resources = 1), "config.json: linux.resources: must be an object"],
    ["device rule access empty", (c) => (c.linux.resources.devices[0].access = ""), 'config.json: linux.resources.devices[0].access: must not be empty (some of "rwm")'],
    ["device rule access", (c) => (c.linux.resources.devices[0].access = "rwx"), 'config.json: linux.resources.devices[0].access: invalid access "rwx" (some of "rwm")'],
    ["device rule type", (c) => (c.linux.resources.devices[0].type = "p"), 'config.json: linux.resources.devices[0].type: unknown device cgroup type "p"'],
    ["device rule allow", (c) => (c.linux.resources.devices[0].allow = "no"), "config.json: linux.resources.devices[0].allow: must be a boolean"],
    ["memory limit", (c) => (c.linux.resources.memory = { limit: "1G" }), "config.json: linux.resources.memory.limit: must be an integer"],
    ["memory swappiness", (c) => (c.linux.resources.memory = { swappiness: 101 }), "config.json: linux.resources.memory.swappiness: must be between 0 and 100"],
    ["memory oom", (c) => (c.linux.resources.memory = { disableOOMKiller: 1 }), "config.json: linux.resources.memory.disableOOMKiller: must be a boolean"],
    ["cpu shares", (c) => (c.linux.resources.cpu = { shares: -2 }), "config.json: linux.resources.cpu.shares: must not be negative"],
    ["cpu cpus", (c) => (c.linux.resources.cpu = { cpus: 1 }), "config.json: linux.resources.cpu.cpus: must be a string"],
    ["cpu quota", (c) => (c.linux.resources.cpu = { quota: 1.5 }), "config.json: linux.resources.cpu.quota: must be an integer"],
    ["pids", (c) => (c.linux.resources.pids = { limit: "max" }), "config.json: linux.resources.pids.limit: must be an integer"],
    ["blkio weight", (c) => (c.linux.resources.blockIO = { weight: 70000 }), "config.json: linux.resources.blockIO.weight: must be between 0 and 65535"],
    ["blkio throttle", (c) => (c.linux.resources.blockIO = { throttleReadBpsDevice: [{ major: 8, minor: 0 }] }), "config.json: linux.resources.blockIO.throttleReadBpsDevice[0].rate: is required"],
    ["blkio weightDevice", (c) => (c.linux.resources.blockIO = { weightDevice: [{ minor: 0 }] }), "config.json: linux.resources.blockIO.weightDevice[0].major: is required"],
    ["hugepage size", (c) => (c.linux.resources.hugepageLimits = [{ pageSize: "2M", limit: 1 }]), 'config.json: linux.resources.hugepageLimits[0].pageSize: invalid page size "2M" (e.g. "2MB")'],
    ["network classID", (c) => (c.linux.resources.network = { classID: -1 }), "config.json: linux.resources.network.classID: must be between 0 and 4294967295"],
    ["network priority name", (c) => (c.linux.resources.network = { priorities: [{ priority: 1 }] }), "config.json: linux.resources.network.priorities[0].name: is required"],
    ["rdma", (c) => (c.linux.resources.rdma = { mlx: { hcaHandles: "3" } }), 'config.json: linux.resources.rdma["mlx"].hcaHandles: must be an integer'],
    ["unified", (c) => (c.linux.resources.unified = { "memory.max": 5 }), 'config.json: linux.resources.unified["memory.max"]: must be a string'],
    ["seccomp action", (c) => (c.linux.seccomp = { defaultAction: "ALLOW" }), 'config.json: linux.seccomp.defaultAction: unknown seccomp action "ALLOW"'],
    ["seccomp default notify", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_NOTIFY" }), "config.json: linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"],
    ["seccomp no default", (c) => (c.linux.seccomp = { syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW" }] }), "config.json: linux.seccomp.defaultAction: is required when syscalls are listed"],
    ["seccomp arch", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ["x86_64"] }), 'config.json: linux.seccomp.architectures[0]: unknown seccomp architecture "x86_64"'],
    ["seccomp flag", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", flags: ["TSYNC"] }), 'config.json: linux.seccomp.flags[0]: unknown seccomp flag "TSYNC"'],
    ["seccomp defaultErrnoRet", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_KILL", defaultErrnoRet: 1 }), "config.json: linux.seccomp.defaultErrnoRet: cannot be used with SCMP_ACT_KILL (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE)"],
    ["seccomp names empty", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: [], action: "SCMP_ACT_ERRNO" }] }), "config.json: linux.seccomp.syscalls[0].names: must not be empty"],
    ["seccomp names missing", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ action: "SCMP_ACT_ERRNO" }] }), "config.json: linux.seccomp.syscalls[0].names: is required"],
    ["seccomp errnoRet", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["x"], action: "SCMP_ACT_LOG", errnoRet: 1 }] }), "config.json: linux.seccomp.syscalls[0].errnoRet: cannot be used with SCMP_ACT_LOG (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE)"],
    ["seccomp notify write", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["write"], action: "SCMP_ACT_NOTIFY" }] }), "config.json: linux.seccomp.syscalls[0].names: SCMP_ACT_NOTIFY cannot be used for write (the notify agent could not log)"],
    ["seccomp arg index", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["x"], action: "SCMP_ACT_ERRNO", args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }] }] }), "config.json: linux.seccomp.syscalls[0].args[0].index: must be between 0 and 5"],
    ["seccomp arg op", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["x"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0, op: "EQ" }] }] }), 'config.json: linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "EQ"'],
    ["seccomp arg value", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["x"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: "1", op: "SCMP_CMP_EQ" }] }] }), "config.json: linux.seccomp.syscalls[0].args[0].value: must be an integer"],
    ["seccomp metadata", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", listenerMetadata: "x" }), "config.json: linux.seccomp.listenerMetadata: needs listenerPath"],
    ["rootfsPropagation", (c) => (c.linux.rootfsPropagation = "rshared2"), 'config.json: linux.rootfsPropagation: unknown rootfs propagation "rshared2"'],
    ["maskedPaths relative", (c) => c.linux.maskedPaths.push("proc/x"), "config.json: linux.maskedPaths[11]: must be an absolute path"],
    ["readonlyPaths type", (c) => (c.linux.readonlyPaths = "/proc"), "config.json: linux.readonlyPaths: must be an array"],
    ["mountLabel", (c) => (c.linux.mountLabel = 1), "config.json: linux.mountLabel: must be a string"],
    ["intelRdt closID", (c) => (c.linux.intelRdt = { closID: "../x" }), 'config.json: linux.intelRdt.closID: invalid CLOS id "../x"'],
    ["personality", (c) => (c.linux.personality = { domain: "LINUX64" }), 'config.json: linux.personality.domain: unknown personality domain "LINUX64"'],
    ["timeOffsets clock", (c) => { c.linux.namespaces.push({ type: "time" }); c.linux.timeOffsets = { realtime: { secs: 1 } }; }, 'config.json: linux.timeOffsets["realtime"]: unknown clock (must be "boottime" or "monotonic")'],
    ["timeOffsets nanosecs", (c) => { c.linux.namespaces.push({ type: "time" }); c.linux.timeOffsets = { monotonic: { nanosecs: 1e9 } }; }, 'config.json: linux.timeOffsets["monotonic"].nanosecs: must be below 1000000000'],
    ["timeOffsets without timens", (c) => (c.linux.timeOffsets = { monotonic: { secs: 1 } }), 'config.json: linux.timeOffsets: needs a time namespace (no "time" in linux.namespaces)'],
    ["hostname without uts", (c) => c.linux.namespaces.splice(3, 1), 'config.json: hostname: needs a UTS namespace (no "uts" in linux.namespaces)'],
    ["maskedPaths without mountns", (c) => c.linux.namespaces.splice(4, 1), 'config.json: linux.maskedPaths: needs a mount namespace (no "mount" in linux.namespaces)'],
    ["mappings without userns", (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), 'config.json: linux.uidMappings: needs a user namespace (no "user" in linux.namespaces)'],
    ["userns without mappings", (c) => c.linux.namespaces.push({ type: "user" }), "config.json: linux.uidMappings: a new user namespace needs at least one mapping"],
  ];
  for (const [name, change, message] of cases) {
    if (name === "not an object") {
      test(name, () => {
        expect(() => validateSpec([])).toThrow("config.json: must be a JSON object");
        expect(() => validateSpec(null)).toThrow("config.json: must be a JSON object");
        expect(() => validateSpec("x", "other.json")).toThrow("other.json: must be a JSON object");
      });
      continue;
    }
    test(name, () => expect(errorOf(change)).toBe(message));
  }

  test("a joined user namespace needs no mappings", () => {
    const c = good();
    c.linux.namespaces.push({ type: "user", path: "/proc/1/ns/user" });
    expect(() => validateSpec(c)).not.toThrow();
  });
});

describe("warnings where runc warns and goes on", () => {
  test("unknown capabilities are kept (capMask drops them) with a warning", () => {
    const warnings = warningsOf((c) => c.process.capabilities.bounding.push("CAP_FOO"));
    expect(warnings).toEqual(['config.json: process.capabilities.bounding[3]: unknown capability "CAP_FOO", ignored']);
  });

  test("a relative mount destination becomes absolute, with a warning", () => {
    const c = good();
    c.mounts[3].destination = "dev/shm";
    const warnings: string[] = [];
    const spec = validateSpec(c, "config.json", (m) => warnings.push(m));
    expect(spec.mounts![3]!.destination).toBe("/dev/shm");
    expect(warnings).toEqual(['config.json: mounts[3].destination: relative path "dev/shm" is deprecated, using "/dev/shm"']);
  });

  test("kernel memory limits and personality flags are ignored with a warning", () => {
    expect(warningsOf((c) => (c.linux.resources.memory = { kernel: 1 }))).toEqual([
      "config.json: linux.resources.memory.kernel: kernel memory limits are ignored (as by runc)",
    ]);
    expect(warningsOf((c) => (c.linux.personality = { domain: "LINUX32", flags: ["x"] }))).toEqual([
      "config.json: linux.personality.flags: no personality flags are supported, ignored",
    ]);
  });
});

describe("validateProcess (exec --process)", () => {
  const proc = () => ({ terminal: false, user: { uid: 0, gid: 0 }, args: ["ls"], env: ["A=b"], cwd: "/" });

  test("a good process passes", () => {
    expect(validateProcess(proc()).args).toEqual(["ls"]);
  });

  test("errors name process.json and a top-level path", () => {
    expect(() => validateProcess({ ...proc(), args: [] })).toThrow(new BuncError("process.json: args: must not be empty"));
    expect(() => validateProcess({ ...proc(), cwd: "x" })).toThrow(new BuncError("process.json: cwd: must be an absolute path"));
    expect(() => validateProcess({ ...proc(), user: { uid: "0" } })).toThrow(new BuncError("process.json: user.uid: must be an integer"));
    expect(() => validateProcess([])).toThrow(new BuncError("process.json: must be a JSON object"));
  });

  test("another file and path prefix", () => {
    expect(() => validateProcess({ ...proc(), env: ["X"] }, "config.json", "process")).toThrow(
      new BuncError('config.json: process.env[0]: "X" must be of the form KEY=VALUE'),
    );
  });
});

describe("sysctlPath", () => {
  test("dots and slashes, as sysctl.d(5)", () => {
    expect(sysctlPath("net.ipv4.ip_forward")).toBe("net/ipv4/ip_forward");
    expect(sysctlPath("net/ipv4/conf/eth0.100/rp_filter")).toBe("net/ipv4/conf/eth0.100/rp_filter");
    expect(sysctlPath("net.ipv4.conf.eth0/100.rp_filter")).toBe("net/ipv4/conf/eth0.100/rp_filter");
    for (const bad of ["", "net..x", ".net", "net.", "net/../kernel", "net/./x"]) expect(sysctlPath(bad)).toBeUndefined();
  });
});
