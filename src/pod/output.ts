// Container output. In the foreground each container instance writes into two pipes (stdout,
// stderr); the supervisor copies every line into logs/<container>.log and to its own
// stdout/stderr with a "[name] " prefix (pipe reads go through Bun's event loop, no thread per
// pipe). A detached pod's containers write straight into their log file.
import { closeSync, openSync, renameSync, writeSync } from "node:fs";
import * as native from "../native.ts";

let devNull = -1;

/** A shared /dev/null fd (a container's stdin). */
export function devNullFd(): number {
  if (devNull < 0) devNull = native.check("open /dev/null", native.openFd("/dev/null", native.O.RDWR | native.O.CLOEXEC));
  return devNull;
}

/** Read a pipe to its end, calling onLine for each line (a last line without "\n" too). */
export async function readLines(fd: number, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  try {
    for await (const chunk of Bun.file(fd).stream()) {
      const text = partial + decoder.decode(chunk, { stream: true });
      const lines = text.split("\n");
      partial = lines.pop()!;
      for (const l of lines) onLine(l);
    }
  } catch {
    // a read error ends the stream like EOF
  } finally {
    native.closeFd(fd);
  }
  partial += decoder.decode();
  if (partial) onLine(partial);
}

/** Read a pipe to its end into a string (at most `cap` characters are kept). */
export async function readAll(fd: number, cap = 16384): Promise<string> {
  let out = "";
  await readLines(fd, (l) => {
    if (out.length < cap) out += l + "\n";
  });
  return out.slice(0, cap);
}

export class ContainerOutput {
  private logFd: number;

  constructor(private name: string, private logFile: string, private foreground: boolean, private previousFile: string) {
    this.logFd = openSync(logFile, "a", 0o600);
  }

  /** Before a restart: the log so far becomes the previous run's, and the new run starts a fresh
   * one (kubelet keeps one log per run; `pod logs --previous` shows the one before). */
  rotate(): void {
    closeSync(this.logFd);
    renameSync(this.logFile, this.previousFile);
    this.logFd = openSync(this.logFile, "a", 0o600);
  }

  /** The stdio for one run of the container, and a promise that settles once its output is all
   * in. In the foreground: fresh pipes (for the prefixes). Detached: the log file itself, so the
   * container's output does not depend on the supervisor staying alive (and costs it nothing).
   * Call closeWriteEnds() once the container was created. */
  attach(): { stdio: [number, number, number]; closeWriteEnds: () => void; drained: Promise<void> } {
    if (!this.foreground) return { stdio: [devNullFd(), this.logFd, this.logFd], closeWriteEnds: () => {}, drained: Promise.resolve() };
    const [outR, outW] = native.pipe();
    const [errR, errW] = native.pipe();
    const drained = Promise.all([this.pump(outR, false), this.pump(errR, true)]).then(() => {});
    return { stdio: [devNullFd(), outW, errW], closeWriteEnds: () => { native.closeFd(outW); native.closeFd(errW); }, drained };
  }

  private pump(fd: number, isErr: boolean): Promise<void> {
    return readLines(fd, (line) => {
      try {
        writeSync(this.logFd, line + "\n");
      } catch {}
      if (this.foreground) (isErr ? process.stderr : process.stdout).write(`[${this.name}] ${line}\n`);
    });
  }

  close(): void {
    try {
      closeSync(this.logFd);
    } catch {}
  }
}
