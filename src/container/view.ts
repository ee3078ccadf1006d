// A container as its record and the kernel show it: status, the OCI state, and start. What
// `state`, `start` and `list` need, without the cgroup library (container.ts adds the operations
// that need it: kill --all, delete, and the cgroup itself).
import { closeSync, constants, openSync, readlinkSync, unlinkSync, writeSync } from "node:fs";
import { BuncError } from "../errors.ts";
import type { ContainerStatus, OciState } from "../spec/types.ts";
import { isSavedFrozen } from "../cgroups/frozen.ts";
import { runHooksWarn } from "./hooks.ts";
import { containerDir, deriveStatus, execFifoPath, isAlive, ociState, readRecord, type ContainerRecord } from "./state.ts";

export class ContainerView {
  readonly dir: string;

  constructor(readonly root: string, readonly rec: ContainerRecord) {
    this.dir = containerDir(root, rec.id);
  }

  static load(root: string, id: string): ContainerView {
    return new ContainerView(root, readRecord(root, id));
  }

  get id(): string {
    return this.rec.id;
  }

  status(): ContainerStatus {
    return deriveStatus(this.root, this.rec, () => {
      try {
        return isSavedFrozen(this.rec.cgroup);
      } catch {
        return false;
      }
    });
  }

  state(): OciState {
    return ociState(this.rec, this.status());
  }

  /** Release the process blocked on the exec fifo. */
  start(): void {
    const st = this.status();
    if (st !== "created") {
      if (st === "stopped") throw new BuncError(`cannot start a container that has stopped`);
      throw new BuncError(`cannot start an already ${st} container`);
    }
    const fifo = execFifoPath(this.dir);
    // Plain node:fs here: `start`, `kill` and `delete` never load the native shim (start-up time).
    let fd: number;
    try {
      fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (e) {
      // ENXIO: no reader, the container process is gone.
      throw new BuncError(`cannot start container "${this.id}": its process is not waiting (${(e as Error).message})`);
    }
    try {
      writeSync(fd, new Uint8Array([0]));
    } catch (e) {
      throw new BuncError(`start container "${this.id}": write exec fifo: ${(e as Error).message}`);
    } finally {
      closeSync(fd);
    }
    try {
      unlinkSync(fifo);
    } catch {}
    const poststart = this.rec.config.hooks?.poststart;
    if (poststart?.length) {
      // The spec runs poststart after the user process is executed: wait until the container
      // process no longer runs bunc's setup program (it has exec'd), or is gone.
      this.waitExeced();
      runHooksWarn("poststart", poststart, ociState(this.rec, "running"));
    }
  }

  private waitExeced(): void {
    const self = readlinkSync("/proc/self/exe");
    for (let i = 0; i < 2500 && isAlive(this.rec); i++) {
      try {
        const exe = readlinkSync(`/proc/${this.rec.pid}/exe`);
        if (exe !== self && !exe.startsWith("/memfd:bunc-child")) return;
      } catch {
        return;
      }
      Bun.sleepSync(1);
    }
  }
}
