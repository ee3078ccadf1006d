// Timed, synchronous runs of a runtime command. stdin/stdout are /dev/null and stderr goes to a
// log file, never a pipe: a created container inherits the runtime's stdio, and a pipe it holds
// open would make the caller wait for EOF.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

export class CommandError extends Error {}

export class Spawner {
  private readonly errFd: number;
  /** CPU ms (user + system) of the last timed command and the children it waited for */
  lastCpuMs = 0;

  constructor(readonly errLog: string) {
    this.errFd = openSync(errLog, "a");
  }

  /** Run argv, return its wall time in ms; throw (with its stderr) when it fails, unless allowFail. */
  time(argv: string[], allowFail = false): number {
    const before = fstatSync(this.errFd).size;
    const t0 = performance.now();
    const r = Bun.spawnSync(argv, { stdio: ["ignore", "ignore", this.errFd] });
    const ms = performance.now() - t0;
    this.lastCpuMs = Number(r.resourceUsage?.cpuTime.total ?? 0) / 1000;
    if (r.exitCode !== 0 && !allowFail) {
      throw new CommandError(`${argv.join(" ")}: exit ${r.exitCode ?? "signal " + r.signalCode}: ${this.tail(before).trim()}`);
    }
    return ms;
  }

  /** Run argv for its stdout (setup and reporting, never timed). */
  output(argv: string[]): string {
    const r = Bun.spawnSync(argv, { stdio: ["ignore", "pipe", "pipe"] });
    if (r.exitCode !== 0) throw new CommandError(`${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString().trim()}`);
    return r.stdout.toString();
  }

  private tail(from: number): string {
    const size = fstatSync(this.errFd).size;
    const len = Math.min(size - from, 4000);
    if (len <= 0) return "";
    const buf = Buffer.alloc(len);
    const fd = openSync(this.errLog, "r");
    try {
      readSync(fd, buf, 0, len, size - len);
    } finally {
      closeSync(fd);
    }
    return buf.toString();
  }

  close(): void {
    closeSync(this.errFd);
  }
}
