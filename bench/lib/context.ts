// What every scenario needs: the runtimes, the spawner, fresh containers (own bundle dir and
// cgroup /bunc-bench/<runtime>-<n>), the sample sizes, and the lifecycle steps they share.
import { readFileSync } from "node:fs";
import { writeBundle, type BenchContainer } from "./bundle.ts";
import type { Runtime } from "./runtimes.ts";
import type { Spawner } from "./spawn.ts";
import { closeFd, pidfdOpen, pidfdWait, reap } from "./sys.ts";

export interface Sizes {
  /** measured iterations per runtime (after the warm-up) */
  iterations: number;
  warmup: number;
  /** containers per throughput round, and rounds per runtime */
  throughputN: number;
  throughputRounds: number;
  /** iterations of the memory measurements */
  memoryIterations: number;
}

export class Ctx {
  private counters = new Map<string, number>();

  constructor(
    readonly rts: Runtime[],
    readonly sp: Spawner,
    readonly tmp: string,
    readonly rootfs: string,
    /** the crun wrapper alone (unshare + umount + exec true), when crun needs the wrapper */
    readonly wrapperOnly: string[] | undefined,
    /** a compiled empty Bun program: the floor of any `bun build --compile` executable */
    readonly emptyBun: string,
    readonly sizes: Sizes,
    readonly log: (msg: string) => void,
  ) {}

  newContainer(rt: Runtime, args: string[], annotations?: Record<string, string>): BenchContainer {
    const n = (this.counters.get(rt.name) ?? 0) + 1;
    this.counters.set(rt.name, n);
    const id = `${rt.name}-${n}`;
    return writeBundle(`${this.tmp}/bundles/${id}`, this.rootfs, id, args, annotations);
  }

  /** The container's pid from --pid-file (written by create). */
  pid(c: BenchContainer): number {
    return Number(readFileSync(c.pidFile, "utf8").trim());
  }

  create(rt: Runtime, c: BenchContainer): number {
    return this.sp.time(rt.argv(["create", "--bundle", c.bundle, "--pid-file", c.pidFile, c.id]));
  }

  /** Wait until pid has exited (as containerd-shim does), then reap it. */
  waitExit(pid: number): void {
    const fd = pidfdOpen(pid);
    if (fd >= 0) {
      if (!pidfdWait(fd, 30_000)) throw new Error(`container process ${pid} did not exit within 30 s`);
      closeFd(fd);
    }
    reap(pid);
  }

  /** Stop a running container (SIGKILL, wait) and delete it: the CRI's stop + remove. */
  stopAndDelete(rt: Runtime, c: BenchContainer, pid: number): void {
    this.sp.time(rt.argv(["kill", c.id, "9"]));
    this.waitExit(pid);
    this.sp.time(rt.argv(["delete", c.id]));
  }
}
