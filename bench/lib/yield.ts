// The scenarios run synchronously (spawnSync); a signal handler only runs when the event loop
// gets a turn. Awaiting this once per iteration lets Ctrl-C stop the benchmark (and clean up)
// within one iteration instead of at the end.
export function yieldToSignals(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
