// The CRI pod flow (test/cri/flow.ts) and the runtime-argv check as one program, for places
// without a source tree or bun test: `bun build --compile` makes it a single binary that the
// VM script (test/vm/clients.sh) runs in the guest.
//
//   cri-driver pod --socket S --image I --cgroup-parent P --pod-cgroup-dir D --state DIR
//                  --root DIR --runtime-root DIR --log-dir DIR [--argv-log F] [--scope-prefix X]
//   cri-driver check-argv LOG     (every subcommand/flag in the wrapper's log is one bunc implements)
//
// Prints TAP-like "ok - ..." / "not ok - ..." lines, then "N passed, M failed"; exit 1 on failure.
import { mkdirSync } from "node:fs";
import { CriClient } from "../cri/client.ts";
import { CheckFailed, PodFlow } from "../cri/flow.ts";
import { readInvocations, unimplementedUses, usageSummary } from "../clients/runtime-calls.ts";

function flags(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    out[a.slice(2)] = argv[++i] ?? "";
  }
  return out;
}

let passed = 0;
let failed = 0;
const ok = (what: string) => {
  passed++;
  console.log(`ok - ${what}`);
};
const notOk = (what: string, why: string) => {
  failed++;
  console.log(`not ok - ${what}\n    ${why.replaceAll("\n", "\n    ")}`);
};

async function pod(f: Record<string, string>): Promise<void> {
  for (const k of ["socket", "image", "cgroup-parent", "pod-cgroup-dir", "state", "root", "runtime-root", "log-dir"])
    if (!f[k]) throw new Error(`pod: --${k} is required`);
  mkdirSync(f["log-dir"]!, { recursive: true });
  const cri = new CriClient(f.socket!);
  const flow = new PodFlow({
    cri,
    image: f.image!,
    cgroupParent: f["cgroup-parent"]!,
    podCgroupDirs: () => [f["pod-cgroup-dir"]!],
    stateDir: f.state!,
    rootDir: f.root!,
    runtimeRoot: f["runtime-root"]!,
    logDir: f["log-dir"]!,
    containerCgroupName: f["scope-prefix"] ? (id) => `${f["scope-prefix"]}${id}.scope` : undefined,
    readInvocations: f["argv-log"] ? () => readInvocations(f["argv-log"]!) : undefined,
    log: (m) => console.log(`# ${m}`),
    oomLinger: true, // systemd driver: containerd 1.6 may lose the OOM event of an emptied scope (flow.ts)
  });
  const steps: [string, () => Promise<void>][] = [
    ["CRI: RunPodSandbox with bunc's pause as the sandbox process", () => flow.runSandbox()],
    ["CRI: two containers share the pod's net/ipc/uts (same hostname, same inodes)", () => flow.twoContainersShareNamespaces()],
    ["CRI: ExecSync stdout/stderr/exit code", () => flow.execSync()],
    ["CRI: limits in the container's cgroup; OOMKilled 137", () => flow.limitsAndOomKill()],
    ["CRI: StopContainer timeout on a TERM-ignoring process -> 137", () => flow.stopIgnoringTerm(2)],
    ["CRI: StopPodSandbox + RemovePodSandbox leave nothing", () => flow.stopAndRemove()],
  ];
  const t0 = Date.now();
  for (const [name, step] of steps) {
    try {
      await step();
      ok(name);
    } catch (e) {
      notOk(name, e instanceof CheckFailed ? e.message : String((e as Error)?.stack ?? e));
      break; // later steps build on this one
    }
  }
  if (failed && flow.sandboxId) {
    await cri.call("StopPodSandbox", { podSandboxId: flow.sandboxId }).catch(() => {});
    await cri.call("RemovePodSandbox", { podSandboxId: flow.sandboxId }).catch(() => {});
  }
  console.log(`# CRI flow: ${((Date.now() - t0) / 1000).toFixed(1)} s; ${JSON.stringify(flow.timings)}`);
  cri.close();
}

function checkArgv(log: string): void {
  const calls = readInvocations(log);
  console.log(`# runtime calls: ${calls.length}; ${JSON.stringify(usageSummary(calls))}`);
  const problems = unimplementedUses(calls);
  if (calls.length && !problems.length) ok(`every runtime call (${calls.length}) uses subcommands and flags bunc implements`);
  else notOk("runtime calls use only what bunc implements", calls.length ? problems.join("\n") : `no calls recorded in ${log}`);
}

async function main(): Promise<number> {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === "pod") await pod(flags(rest));
  else if (mode === "check-argv" && rest[0]) checkArgv(rest[0]);
  else {
    console.error("usage: cri-driver pod --socket S ... | cri-driver check-argv LOG");
    return 2;
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`cri-driver: ${(e as Error)?.stack ?? e}`);
    process.exit(1);
  },
);
