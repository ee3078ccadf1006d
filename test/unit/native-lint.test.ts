// The container setup code (native/child.c and what it calls) used to run in the clone of the
// multi-threaded Bun process, where glibc functions that allocate, lock, or signal "all threads"
// hang: setresuid/setresgid/setgroups broadcast to every thread the parent had and wait on a futex
// forever (seen: exec hung 1 time in 12). It now runs in bunc-child, a fresh static program, but
// the same files are also linked into the shim (util.c runs in the clone before exec_child) and
// the setup code forks hook processes: it keeps to plain system calls, and this test keeps it so.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const AFTER_CLONE = ["child.c", "rootfs.c", "hooks.c", "terminal.c", "util.c"];
const FORBIDDEN = [
  /(?<![\w_])(setresuid|setresgid|setreuid|setregid|setuid|setgid|seteuid|setegid|setgroups)\s*\(/,
  /(?<![\w_])(malloc|calloc|realloc|free|strdup|printf|fprintf|snprintf|vsnprintf|fopen|opendir|strerror|getpwnam|getgrnam|syslog)\s*\(/,
];

test("no glibc call that allocates, locks or broadcasts to threads in the code that runs after clone", () => {
  const bad: string[] = [];
  for (const f of AFTER_CLONE) {
    const src = readFileSync(join(import.meta.dir, "../../native", f), "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")) // drop comments, keep line numbers
      .replace(/"(?:[^"\\\n]|\\.)*"/g, '""'); // and string literals
    src.split("\n").forEach((line, i) => {
      for (const re of FORBIDDEN) if (re.test(line)) bad.push(`native/${f}:${i + 1}: ${line.trim()}`);
    });
  }
  expect(bad).toEqual([]);
});
