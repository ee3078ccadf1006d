// A small client of systemd's D-Bus manager API on top of @jellybrick/dbus-next (a maintained
// fork of dbus-next: pure JavaScript, works under Bun and in `bun build --compile` binaries).
// Only the calls the systemd cgroup driver needs: StartTransientUnit / StopUnit (waiting for the
// job), SetUnitProperties, ResetFailedUnit and Manager properties.
import type * as DbusNext from "@jellybrick/dbus-next";
import * as net from "node:net";
import { existsSync } from "node:fs";
import { BuncError } from "../errors.ts";
import { loadEmbeddedCjs } from "../embedded.ts";
// @ts-ignore: an embedded file (make builds it from the package; see src/embedded.ts)
import dbusNextBundle from "../../build/dbus-next.cjs" with { type: "file" };

/** Called when the library's socket closes (one connection is opened at a time, see openChecked). */
let onSocketClose: (() => void) | undefined;

/** node:net for the library, telling openChecked when its socket closes before the bus answered
 * (the library itself would only let the connection hang until the timeout). */
const libraryNet = {
  ...net,
  createConnection: ((...args: Parameters<typeof net.createConnection>) => {
    const socket = net.createConnection(...args);
    const closed = onSocketClose; // the connection being opened now; a later one has its own
    socket.once("close", () => closed?.());
    return socket;
  }) as typeof net.createConnection,
};

// This module itself is only imported when a systemd container is handled.
const dbus = loadEmbeddedCjs<typeof DbusNext>(dbusNextBundle, (id) => (id === "net" || id === "node:net" ? libraryNet : require(id)));

/** systemd's private socket: what runc and kubelet fall back to where no dbus-daemon runs (kind's nodes). */
const SYSTEMD_PRIVATE = "unix:path=/run/systemd/private";

export const { Variant } = dbus;
export type Variant = DbusNext.Variant;

const DEST = "org.freedesktop.systemd1";
const PATH = "/org/freedesktop/systemd1";
const MANAGER = "org.freedesktop.systemd1.Manager";
/** What a direct (peer-to-peer) connection answers to the bus's Hello. */
const HELLO_UNANSWERED = new Set(["org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownMethod"]);

/** Where to find systemd: the system bus, or the user's bus for rootless containers. */
export function busAddresses(rootless: boolean): string[] {
  if (rootless) {
    if (process.env.DBUS_SESSION_BUS_ADDRESS) return [process.env.DBUS_SESSION_BUS_ADDRESS];
    const run = process.env.XDG_RUNTIME_DIR;
    if (!run) throw new BuncError("systemd: rootless needs DBUS_SESSION_BUS_ADDRESS or XDG_RUNTIME_DIR to find the user's systemd");
    return [`unix:path=${run}/bus`];
  }
  // DBUS_SYSTEM_BUS_ADDRESS is the standard override (tests point it at a private bus)
  if (process.env.DBUS_SYSTEM_BUS_ADDRESS) return [process.env.DBUS_SYSTEM_BUS_ADDRESS];
  return ["unix:path=/run/dbus/system_bus_socket", SYSTEMD_PRIVATE];
}

export class SystemdBus {
  /** results of jobs nobody waits for yet (the signal can overtake the method's reply) */
  private results = new Map<string, string>();
  private waiters = new Map<string, (result: string) => void>();

  private constructor(private bus: DbusNext.MessageBus) {
    bus.on("message", (m: DbusNext.Message) => {
      if (m.interface !== MANAGER || m.member !== "JobRemoved") return;
      const [, job, , result] = m.body as [number, string, string, string];
      const w = this.waiters.get(job);
      if (w) {
        this.waiters.delete(job);
        w(result);
      } else if (this.results.size < 256) this.results.set(job, result);
    });
  }

  static async connect(rootless: boolean): Promise<SystemdBus> {
    const errors: string[] = [];
    for (const address of busAddresses(rootless)) {
      try {
        return await SystemdBus.open(address);
      } catch (e) {
        errors.push(`${address}: ${(e as Error).message}`);
      }
    }
    throw new BuncError(`systemd: cannot reach systemd over D-Bus (${errors.join("; ")})`);
  }

  /**
   * Connect to a unix socket address once ourselves first: the library attaches its socket error
   * listener a tick late, so a refused or missing socket would crash the process instead of
   * failing the call.
   */
  private static probe(address: string): Promise<void> {
    const m = /^unix:(path|abstract)=([^,;]+)/.exec(address);
    if (!m) return Promise.resolve();
    // systemd listens on its private socket whenever it exists; a probe connection there only
    // makes systemd log "Failed to start new connection bus: Connection reset by peer"
    if (address === SYSTEMD_PRIVATE) return existsSync(m[2]!) ? Promise.resolve() : Promise.reject(new Error("no such socket"));
    const target = m[1] === "abstract" ? "\0" + m[2] : m[2]!;
    return new Promise((resolve, reject) => {
      const s = net.createConnection(target);
      s.once("connect", () => {
        s.destroy();
        resolve();
      });
      s.once("error", reject);
    });
  }

  private static async open(address: string): Promise<SystemdBus> {
    await SystemdBus.probe(address);
    return SystemdBus.openChecked(address);
  }

  private static openChecked(address: string): Promise<SystemdBus> {
    return new Promise((resolve, reject) => {
      let finished = false;
      const finish = (e: Error | undefined, sd?: SystemdBus) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        clearInterval(nudge);
        if (e) {
          bus.disconnect();
          reject(e);
        } else resolve(sd!);
      };
      // generous: the emulated test VM is slow
      const timer = setTimeout(() => finish(new Error("timed out connecting")), 20_000);
      onSocketClose = () => finish(new Error("the connection was closed before the bus answered"));
      // sessionBus() is the constructor that honours busAddress (systemBus() always reads the environment)
      const bus = dbus.sessionBus({ busAddress: address });
      let started = false;
      // systemd's private socket can leave the first message unprocessed when it arrives in the same
      // read as the handshake's BEGIN (it then waits for more data that never comes: both socket
      // queues empty, no reply, seen in 1 of 2 connections under emulation). A Peer.Ping every
      // 250 ms until the connection answers is that "more data"; its own replies are ignored.
      const nudge = address === SYSTEMD_PRIVATE
        ? setInterval(() => {
          if (started || finished) return clearInterval(nudge);
          try {
            bus.send(new dbus.Message({ destination: DEST, path: PATH, interface: "org.freedesktop.DBus.Peer", member: "Ping" }));
          } catch {}
        }, 250)
        : undefined;
      const ready = async (direct: boolean) => {
        if (started || finished) return;
        started = true;
        try {
          // systemd only emits JobRemoved to subscribed clients; through a bus daemon the signal
          // must also be matched (a direct connection gets it without)
          if (!direct) {
            await bus.call(new dbus.Message({
              destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus",
              member: "AddMatch", signature: "s", body: [`type='signal',sender='${DEST}',interface='${MANAGER}',member='JobRemoved'`],
            }));
          }
          const sd = new SystemdBus(bus);
          await sd.call("Subscribe", "", []);
          finish(undefined, sd);
        } catch (e) {
          finish(e as Error);
        }
      };
      // the library may emit several errors for one failed connection: the first one counts
      bus.on("error", (e: Error) => {
        // systemd's private socket (what runc and kubelet fall back to when there is no dbus-daemon,
        // as on kind's nodes) is a direct connection: no bus answers the library's Hello
        if (!started && HELLO_UNANSWERED.has((e as { type?: string }).type ?? "")) return void ready(true);
        finish(e);
      });
      bus.once("connect", () => void ready(false));
    });
  }

  async call(member: string, signature: string, body: unknown[], iface = MANAGER, path = PATH): Promise<unknown[]> {
    try {
      const reply = await this.bus.call(new dbus.Message({ destination: DEST, path, interface: iface, member, signature, body }));
      return (reply?.body as unknown[]) ?? [];
    } catch (e) {
      const err = e as { type?: string; text?: string; message?: string };
      throw new SystemdError(member, err.type ?? "", err.text ?? err.message ?? String(e));
    }
  }

  /** Run a job-returning method and wait for its JobRemoved result ("done" on success). */
  async job(member: string, signature: string, body: unknown[], timeoutMs = 30_000): Promise<string> {
    const [job] = (await this.call(member, signature, body)) as [string];
    const early = this.results.get(job);
    if (early !== undefined) {
      this.results.delete(job);
      return early;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await new Promise<string>((resolve) => {
        this.waiters.set(job, resolve);
        timer = setTimeout(() => {
          this.waiters.delete(job);
          resolve("timeout");
        }, timeoutMs);
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async managerProperty(name: string): Promise<unknown> {
    const [v] = await this.call("Get", "ss", [MANAGER, name], "org.freedesktop.DBus.Properties");
    return (v as DbusNext.Variant).value;
  }

  close(): void {
    this.bus.disconnect();
  }
}

export class SystemdError extends BuncError {
  constructor(readonly method: string, readonly dbusName: string, text: string) {
    super(`systemd: ${method}: ${text}${dbusName ? ` (${dbusName})` : ""}`);
  }
}

/** "v245.4-1.fc32", "245" ... -> 245 (-1 when unknown). */
export function systemdVersionNumber(v: unknown): number {
  const m = /^"?v?(\d+)/.exec(String(v ?? ""));
  return m ? Number(m[1]) : -1;
}
