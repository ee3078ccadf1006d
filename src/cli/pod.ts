// bunc pod run|status|list|logs|exec|stop|rm: Kubernetes Pod manifests run directly, with a
// kubelet's semantics (see src/pod/). The pod's containers are ordinary bunc containers under
// the same --root (`<pod>-<container>`, `<pod>-sandbox`); the pod's own record is in
// <root>/pods/<name>/.
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, statSync } from "node:fs";
import { yaml } from "../pod/yaml.ts";
import type { Globals } from "./globals.ts";
import { parseCommand } from "./globals.ts";
import { BuncError } from "../errors.ts";
import { logWarn } from "../log.ts";
import * as native from "../native.ts";
import { Container } from "../container/container.ts";
import { execInContainer } from "../container/exec.ts";
import { superviseForeground } from "../container/foreground.ts";
import { observedPod, stopPod, supervisorAlive } from "../pod/control.ts";
import { preparePod } from "../pod/prepare.ts";
import { formatTable, tableRow } from "../pod/status.ts";
import { listPodNames, logPath, podDir, previousLogPath, readPodRecord, type PodRecord } from "../pod/store.ts";
import { supervise } from "../pod/supervisor.ts";
import { teardownPod } from "../pod/teardown.ts";

const USAGE = `usage: bunc pod COMMAND

  run [-d] [--rm] [--data-dir DIR] [--cgroup-parent PATH] FILE
                          run a Pod manifest (FILE "-" reads stdin); foreground unless -d
  status NAME [-o json|yaml]   the pod as \`kubectl get pod\` shows it
  list [-o json]          every pod
  logs NAME [-c CONTAINER] [-f] [-p|--previous]
  exec NAME [-c CONTAINER] [-t] -- CMD [ARG...]
  stop NAME... [--grace-period S]
  rm NAME... [--force]
`;

const DEFAULT_DATA_DIR = "/var/lib/bunc";
const DEFAULT_CGROUP_PARENT = "/kubepods";

export async function main(argv: string[], g: Globals): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "run": return run(rest, g);
    case "status": return status(rest, g);
    case "list": case "ls": return list(rest, g);
    case "logs": return logs(rest, g);
    case "exec": return exec(rest, g);
    case "stop": return stop(rest, g);
    case "rm": case "delete": return rm(rest, g);
    case "_supervise": return supervise(g.root, rest[0]!, false);
    case undefined: case "help": case "--help": case "-h":
      process.stdout.write(USAGE);
      return sub === undefined ? 1 : 0;
    default:
      throw new BuncError(`pod: unknown command "${sub}" (see bunc pod help)`);
  }
}

function oneName(cmd: string, pos: string[]): string {
  if (pos.length !== 1) throw new BuncError(`pod ${cmd}: want one pod name (usage: bunc pod ${cmd} NAME)`);
  return pos[0]!;
}

// ---- run ----

async function run(argv: string[], g: Globals): Promise<number> {
  const a = parseCommand("pod run", {
    "--detach": Boolean, "-d": "--detach", "--rm": Boolean, "--data-dir": String, "--cgroup-parent": String,
  }, argv);
  if (a._.length !== 1) throw new BuncError("pod run: want one manifest file (usage: bunc pod run [-d] FILE)");
  if (a["--detach"] && a["--rm"]) throw new BuncError("pod run: --rm and -d cannot be combined");
  const cgroupParent = a["--cgroup-parent"] ?? DEFAULT_CGROUP_PARENT;
  if (!g.systemdCgroup && !cgroupParent.startsWith("/")) throw new BuncError(`pod run: --cgroup-parent: "${cgroupParent}" must be an absolute path`);
  const rec = preparePod({
    root: g.root, file: a._[0]!, dataDir: a["--data-dir"] ?? DEFAULT_DATA_DIR, cgroupParent, systemd: g.systemdCgroup,
  });
  const name = rec.pod.metadata.name;
  if (a["--detach"]) return detach(rec, g);
  let code: number;
  try {
    code = await supervise(g.root, name, true);
  } finally {
    if (a["--rm"]) await teardownPod(readPodRecord(g.root, name), true);
  }
  return code;
}

function selfArgv(): string[] {
  // A compiled bunc is one file; under `bun src/main.ts` the script comes after the runtime.
  const script = process.argv[1];
  return script && !script.startsWith("/$bunfs/") && /\.[cm]?[jt]s$/.test(script) ? [process.execPath, script] : [process.execPath];
}

function globalArgs(g: Globals): string[] {
  return ["--root", g.root, ...(g.log ? ["--log", g.log, "--log-format", g.logFormat] : []), ...(g.debug ? ["--debug"] : []),
    ...(g.systemdCgroup ? ["--systemd-cgroup"] : [])];
}

/** `pod run -d`: leave a supervisor behind and return once every container has started. */
async function detach(rec: PodRecord, g: Globals): Promise<number> {
  const name = rec.pod.metadata.name;
  const logFile = `${podDir(g.root, name)}/supervisor.log`;
  const errFd = openSync(logFile, "a", 0o600);
  const [cmd, ...args] = [...selfArgv(), ...globalArgs(g), "pod", "_supervise", name];
  const child = spawn(cmd!, args, { detached: true, stdio: ["ignore", "ignore", errFd] });
  closeSync(errFd);
  let exited = false;
  child.on("exit", () => (exited = true));
  child.unref();
  for (;;) {
    let r: PodRecord | undefined;
    try {
      r = readPodRecord(g.root, name);
    } catch {}
    if (r?.bunc.finished) {
      if (r.pod.status.reason === "SetupFailed") throw new BuncError(`pod ${name}: ${r.pod.status.message}`);
      return 0;
    }
    const main = r?.pod.status.containerStatuses ?? [];
    if (main.length && main.every((s) => s.started || s.state.terminated || s.lastState.terminated)) return 0;
    // A container (init or not) failing over and over would keep us here for ever.
    const looping = [...(r?.pod.status.initContainerStatuses ?? []), ...main].find((s) => s.state.waiting?.reason === "CrashLoopBackOff");
    if (looping) {
      logWarn(`pod ${name}: container ${looping.name} is in CrashLoopBackOff (bunc pod logs ${name} -c ${looping.name})`);
      return 0;
    }
    if (exited) {
      const text = existsSync(logFile) ? readFileSync(logFile, "utf8").trim().split("\n").pop() : "";
      throw new BuncError(`pod ${name}: the supervisor exited before the pod started${text ? `: ${text}` : ""}`);
    }
    await Bun.sleep(20);
  }
}

// ---- status / list ----

async function status(argv: string[], g: Globals): Promise<number> {
  const a = parseCommand("pod status", { "--output": String, "-o": "--output" }, argv);
  const rec = readPodRecord(g.root, oneName("status", a._));
  const pod = observedPod(rec);
  const fmt = a["--output"];
  if (fmt === "json") process.stdout.write(JSON.stringify(pod, null, 2) + "\n");
  else if (fmt === "yaml") process.stdout.write(yaml().stringify(pod));
  else if (fmt === undefined || fmt === "wide") process.stdout.write(formatTable([["NAME", "READY", "STATUS", "RESTARTS", "AGE"], row(rec)]));
  else throw new BuncError(`pod status: -o: want json or yaml, not "${fmt}"`);
  return 0;
}

function row(rec: PodRecord): string[] {
  const alive = supervisorAlive(rec);
  return tableRow(rec.pod, alive || !!rec.bunc.finished, alive && rec.pod.status.containerStatuses.some((s) => s.state.running) && existsSync(`${podDir(rec.bunc.root, rec.pod.metadata.name)}/stop.json`));
}

async function list(argv: string[], g: Globals): Promise<number> {
  const a = parseCommand("pod list", { "--output": String, "-o": "--output", "--quiet": Boolean, "-q": "--quiet" }, argv);
  const recs: PodRecord[] = [];
  for (const n of listPodNames(g.root)) {
    try {
      recs.push(readPodRecord(g.root, n));
    } catch (e) {
      logWarn((e as Error).message);
    }
  }
  if (a["--quiet"]) process.stdout.write(recs.map((r) => r.pod.metadata.name + "\n").join(""));
  else if (a["--output"] === "json") process.stdout.write(JSON.stringify({ apiVersion: "v1", kind: "List", items: recs.map(observedPod) }, null, 2) + "\n");
  else if (a["--output"] !== undefined) throw new BuncError(`pod list: -o: want json, not "${a["--output"]}"`);
  else process.stdout.write(formatTable([["NAME", "READY", "STATUS", "RESTARTS", "AGE"], ...recs.map(row)]));
  return 0;
}

// ---- logs / exec ----

function pickContainer(cmd: string, rec: PodRecord, c: string | undefined): string {
  const names = [...(rec.pod.spec.initContainers ?? []), ...rec.pod.spec.containers].map((x) => x.name);
  if (c !== undefined) {
    if (!names.includes(c)) throw new BuncError(`pod ${cmd}: pod "${rec.pod.metadata.name}" has no container "${c}" (containers: ${names.join(", ")})`);
    return c;
  }
  const first = rec.pod.spec.containers[0]!.name;
  if (rec.pod.spec.containers.length > 1) logWarn(`Defaulted container "${first}" out of: ${rec.pod.spec.containers.map((x) => x.name).join(", ")} (use -c)`);
  return first;
}

async function logs(argv: string[], g: Globals): Promise<number> {
  const a = parseCommand("pod logs", { "--container": String, "-c": "--container", "--follow": Boolean, "-f": "--follow", "--previous": Boolean, "-p": "--previous" }, argv);
  const name = oneName("logs", a._);
  const rec = readPodRecord(g.root, name);
  const container = pickContainer("logs", rec, a["--container"]);
  if (a["--previous"]) {
    const prev = previousLogPath(g.root, name, container);
    if (!existsSync(prev)) throw new BuncError(`pod logs: previous terminated container "${container}" in pod "${name}" not found`);
    process.stdout.write(readFileSync(prev));
    return 0;
  }
  const file = logPath(g.root, name, container);
  let off = 0;
  let ino = -1;
  const dump = () => {
    let size = 0;
    try {
      const st = statSync(file);
      size = st.size;
      // a restart starts a new log file (the old one becomes the previous run's): from its start
      if (st.ino !== ino) [ino, off] = [st.ino, 0];
    } catch {
      return;
    }
    if (size <= off) return;
    const fd = openSync(file, "r");
    try {
      const buf = Buffer.alloc(size - off);
      const n = require("node:fs").readSync(fd, buf, 0, buf.length, off) as number;
      off += n;
      process.stdout.write(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  };
  dump();
  if (!a["--follow"]) return 0;
  for (;;) {
    const r = readPodRecord(g.root, name);
    const done = r.bunc.finished || !supervisorAlive(r);
    dump();
    if (done) return 0;
    await Bun.sleep(200);
  }
}

async function exec(argv: string[], g: Globals): Promise<number> {
  const dash = argv.indexOf("--");
  const head = dash >= 0 ? argv.slice(0, dash) : argv;
  const a = parseCommand("pod exec", { "--container": String, "-c": "--container", "--tty": Boolean, "-t": "--tty", "--stdin": Boolean, "-i": "--stdin" }, head, dash < 0);
  const name = a._[0];
  const cmd = dash >= 0 ? argv.slice(dash + 1) : a._.slice(1);
  if (!name || cmd.length === 0) throw new BuncError("pod exec: usage: bunc pod exec NAME [-c CONTAINER] -- CMD [ARG...]");
  if (dash >= 0 && a._.length > 1) throw new BuncError(`pod exec: unexpected "${a._[1]}" before "--"`);
  const rec = readPodRecord(g.root, name);
  const cname = pickContainer("exec", rec, a["--container"]);
  let c: Container;
  try {
    c = Container.load(g.root, rec.bunc.ids[cname]!);
  } catch {
    throw new BuncError(`pod exec: container "${cname}" of pod "${name}" is not running`);
  }
  native.setSubreaper();
  const proc = structuredClone(c.rec.config.process!);
  proc.args = cmd;
  proc.terminal = !!a["--tty"];
  const r = await execInContainer(c, { process: proc, detach: false, preserveFds: 0 });
  return superviseForeground(r.pid, r.ptyFd);
}

// ---- stop / rm ----

async function stop(argv: string[], g: Globals): Promise<number> {
  const a = parseCommand("pod stop", { "--grace-period": String, "-t": "--grace-period", "--time": "--grace-period" }, argv);
  if (a._.length === 0) throw new BuncError("pod stop: missing pod name");
  const gp = a["--grace-period"];
  if (gp !== undefined && !/^\d+$/.test(gp)) throw new BuncError(`pod stop: --grace-period: "${gp}" is not a number of seconds`);
  for (const name of a._) await stopPod(g.root, name, gp === undefined ? undefined : Number(gp));
  return 0;
}

async function rm(argv: string[], g: Globals): Promise<number> {
  const a = parseCommand("pod rm", { "--force": Boolean, "-f": "--force" }, argv);
  if (a._.length === 0) throw new BuncError("pod rm: missing pod name");
  for (const name of a._) {
    const rec = readPodRecord(g.root, name);
    if (!rec.bunc.finished && (supervisorAlive(rec) || rec.pod.status.containerStatuses.some((s) => s.state.running))) {
      if (!a["--force"]) throw new BuncError(`pod rm: pod "${name}" is running (bunc pod stop ${name} first, or --force)`);
      await stopPod(g.root, name, 0);
    }
    await teardownPod(readPodRecord(g.root, name), true);
  }
  return 0;
}
