// Operations on an existing container that need its cgroup: kill (--all), delete, and the cgroup
// itself for pause, resume, update, ps and events. Status, state and start are ContainerView's.
import { rmSync } from "node:fs";
import { BuncError, strerror } from "../errors.ts";
import { logWarn } from "../log.ts";
import { loadCgroup, type Cgroup } from "../cgroups/index.ts";
import { runHooksWarn } from "./hooks.ts";
import { isAlive, ociState, readRecord } from "./state.ts";
import { ContainerView } from "./view.ts";

const ERRNO: Record<string, number> = { ESRCH: 3, EPERM: 1, EINVAL: 22 };

/** kill(2) without the native shim: 0 or -errno. */
function signal(pid: number, sig: number): number {
  try {
    process.kill(pid, sig);
    return 0;
  } catch (e) {
    return -(ERRNO[(e as NodeJS.ErrnoException).code ?? ""] ?? 1);
  }
}

export class Container extends ContainerView {
  private cg?: Cgroup;

  static override load(root: string, id: string): Container {
    return new Container(root, readRecord(root, id));
  }

  cgroup(): Cgroup | undefined {
    if (this.cg === undefined && this.rec.cgroup !== undefined) this.cg = loadCgroup(this.rec.cgroup);
    return this.cg;
  }

  /** Send a signal to the init, or with all to every process in the cgroup. */
  kill(sig: number, all: boolean): void {
    const st = this.status();
    if (all) {
      const cg = this.cgroup();
      if (st === "stopped" && !cg) return;
      const pids = cg ? cg.pids() : [];
      if (st === "paused" && sig === 9) {
        // A frozen task gets SIGKILL only once thawed.
        for (const p of pids) signal(p, sig);
        cg?.thaw();
        return;
      }
      for (const p of pids) signal(p, sig);
      if (st !== "stopped" && !pids.includes(this.rec.pid)) signal(this.rec.pid, sig);
      return;
    }
    if (st === "stopped") throw new BuncError(`container "${this.id}": container not running`);
    const r = signal(this.rec.pid, sig);
    if (r < 0) throw new BuncError(`kill container "${this.id}": ${strerror(-r)}`);
    if (st === "paused" && sig === 9) this.cgroup()?.thaw();
  }

  /** Remove the container: stop what is left (force), run poststop hooks, drop cgroup and state. */
  async delete(force: boolean): Promise<void> {
    const st = this.status();
    if ((st === "running" || st === "paused") && !force)
      throw new BuncError(`cannot delete container "${this.id}" that is not stopped: ${st}`);
    if (st !== "stopped") {
      this.kill(9, true);
      signal(this.rec.pid, 9);
      this.waitGone();
    }
    const cg = this.cgroup();
    if (cg) {
      // Processes may outlive the init (exec'd, or in a shared pid namespace): kill them too.
      for (let i = 0; i < 50; i++) {
        const pids = cg.pids();
        if (pids.length === 0) break;
        for (const p of pids) signal(p, 9);
        if (cg.isFrozen()) cg.thaw();
        Bun.sleepSync(10);
      }
      try {
        await cg.destroy();
      } catch (e) {
        logWarn(`delete ${this.id}: ${(e as Error).message}`);
      }
    }
    runHooksWarn("poststop", this.rec.config.hooks?.poststop, ociState(this.rec, "stopped"));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private waitGone(): void {
    // A zombie counts as gone (isAlive), so this never needs to be the process's parent.
    for (let i = 0; i < 500 && isAlive(this.rec); i++) Bun.sleepSync(2);
  }
}
