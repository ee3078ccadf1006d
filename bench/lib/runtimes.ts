// The runtimes under test and how to call each. crun refuses this host's hybrid cgroup layout,
// so it runs inside a private mount namespace without the cgroup2 mount (the wrapper);
// the wrapper alone is timed as its own "runtime" so crun can be reported net of it.
import { realpathSync } from "node:fs";

export type RuntimeName = "bunc" | "runc" | "crun";

export interface Runtime {
  name: RuntimeName;
  /** the executable (for sizes, versions and finding its processes) */
  binary: string;
  /** its private --root state directory */
  root: string;
  /** argv for `<runtime> --root R <args...>` */
  argv(args: string[]): string[];
}

export function crunWrapperScript(crun: string): string {
  return `umount /sys/fs/cgroup/unified && exec ${crun} "$@"`;
}
/** The same wrapper doing nothing: its time is subtracted from crun's. */
export const WRAPPER_ONLY = ["unshare", "-m", "sh", "-c", "umount /sys/fs/cgroup/unified && exec true"];

export function makeRuntimes(opts: { bunc: string; runc: string; crun: string; tmp: string; wrapCrun: boolean }): Runtime[] {
  const bunc = realpathSync(opts.bunc);
  return [
    { name: "bunc", binary: bunc, root: `${opts.tmp}/bunc-root`, argv(a) { return [bunc, "--root", this.root, ...a]; } },
    { name: "runc", binary: opts.runc, root: `${opts.tmp}/runc-root`, argv(a) { return [opts.runc, "--root", this.root, ...a]; } },
    {
      name: "crun",
      binary: opts.crun,
      root: `${opts.tmp}/crun-root`,
      argv(a) {
        const args = ["--root", this.root, ...a];
        // sh -c SCRIPT crun ARGS...: "crun" is $0, ARGS are "$@"
        return opts.wrapCrun ? ["unshare", "-m", "sh", "-c", crunWrapperScript(opts.crun), "crun", ...args] : [opts.crun, ...args];
      },
    },
  ];
}
