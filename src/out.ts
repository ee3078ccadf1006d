// stdout/stderr as plain writes: the first touch of process.stdout/stderr costs a compiled Bun
// program ~18 ms and 8.5 MB (measured in bench/PROFILE.md), which most commands never need.
import { writeSync } from "node:fs";

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue; // a non-blocking pipe: retry
      return; // EPIPE and the like: the reader is gone
    }
  }
}

export const stdout = (text: string): void => writeAll(1, text);
export const stderr = (text: string): void => writeAll(2, text);
