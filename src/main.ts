// bunc entry point: global flags (runc's), then the subcommand, loaded lazily so that a
// command pays start-up time only for the code it needs.
import { BuncError } from "./errors.ts";
import { configureLog, logError } from "./log.ts";
import { parseGlobals, type Globals } from "./cli/globals.ts";
import { stdout } from "./out.ts";

declare const BUNC_VERSION: string;
declare const BUNC_COMMIT: string;
export const VERSION = typeof BUNC_VERSION === "string" ? BUNC_VERSION : "0.0.0-dev";
export const COMMIT = typeof BUNC_COMMIT === "string" ? BUNC_COMMIT : "unknown";
export const SPEC_VERSION = "1.2.1";

export type CommandMain = (argv: string[], g: Globals) => Promise<number> | number;

const COMMANDS: Record<string, () => Promise<{ main: CommandMain }>> = {
  create: () => import("./cli/create.ts"),
  start: () => import("./cli/start.ts"),
  run: () => import("./cli/run.ts"),
  state: () => import("./cli/state.ts"),
  kill: () => import("./cli/kill.ts"),
  delete: () => import("./cli/delete.ts"),
  list: () => import("./cli/list.ts"),
  spec: () => import("./cli/spec.ts"),
  exec: () => import("./cli/exec.ts"),
  features: () => import("./cli/features.ts"),
  pod: () => import("./cli/pod.ts"),
  ps: () => import("./cli/ps.ts"),
  pause: () => import("./cli/pause.ts"),
  resume: () => import("./cli/resume.ts"),
  update: () => import("./cli/update.ts"),
  events: () => import("./cli/events.ts"),
};

const USAGE = `bunc: an OCI container runtime (a drop-in for runc)

usage: bunc [global options] command [command options] [arguments...]

commands:
  create    create a container from a bundle (blocked before its process runs)
  start     run the user process of a created container
  run       create and start a container (foreground unless --detach)
  exec      run a new process inside a running container
  state     print the state of a container as JSON
  list      list containers
  kill      send a signal to a container's init (--all: to every process)
  delete    delete a container (--force: also a running one)
  ps        list the processes of a container
  pause     freeze every process of a container
  resume    thaw a paused container
  update    change a container's cgroup resources
  events    container statistics (--stats) and OOM events
  spec      write a default config.json
  features  print the OCI features this build supports
  pod       run Kubernetes Pod manifests (pod run|status|list|logs|exec|stop|rm)

global options:
  --root DIR          state directory (default /run/bunc)
  --log FILE          log file
  --log-format FMT    text (default) or json
  --debug             debug output
  --systemd-cgroup    use systemd for cgroups (cgroupsPath slice:prefix:name)
  --version, -v       print the version
  --help, -h          this help
`;

export async function main(argv: string[]): Promise<number> {
  let g: Globals | undefined;
  try {
    const parsed = parseGlobals(argv);
    g = parsed.globals;
    configureLog({ file: g.log, format: g.logFormat, debug: g.debug });
    if (g.version) {
      stdout(`bunc version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}\n`);
      return 0;
    }
    const [name, ...rest] = parsed.rest;
    if (g.help || name === undefined || name === "help") {
      stdout(USAGE);
      return name === undefined && !g.help ? 1 : 0;
    }
    const load = COMMANDS[name];
    if (!load) throw new BuncError(`unknown command "${name}" (see bunc --help)`);
    const mod = await load();
    return await mod.main(rest, g);
  } catch (e) {
    if (e instanceof BuncError) {
      logError(e.message);
      return e.exitCode;
    }
    logError(`internal error: ${(e as Error)?.stack ?? e}`);
    return 1;
  }
}

// Exit with the command's status at once: nothing bunc starts may keep it alive.
main(process.argv.slice(2)).then((code) => process.exit(code));
