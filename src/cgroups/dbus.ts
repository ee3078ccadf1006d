// A small client of systemd's D-Bus manager API on top of @jellybrick/dbus-next (a maintained
// fork of dbus-next: pure JavaScript, works under Bun and in `bun build --compile` binaries).
// Only the calls the systemd cgroup driver needs: StartTransientUnit / StopUnit (waiting for the
// job), SetUnitProperties, ResetFailedUnit and Manager properties.
import type * as DbusNext from "@jellybrick/dbus-next";
import { createConnection } from "node:net";
import { BuncError } from "../errors.ts";
import { loadEmbeddedCjs } from "../embedded.ts";
// @ts-ignore: an embedded file (make builds it from the package; see src/embedded.ts)
import dbusNextBundle from "../../build/dbus-next.cjs" with { type: "file" };

// This module itself is only imported when a systemd container is handled.
const dbus = loadEmbeddedCjs<typeof DbusNext>(dbusNextBundle);

export const { Variant } = dbus;
export type Variant = DbusNext.Variant;

const DEST = "org.freedesktop.systemd1";
const PATH = "/org/freedesktop/systemd1";
const MANAGER = "org.freedesktop.systemd1.Manager";

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
  return ["unix:path=/run/dbus/system_bus_socket", "unix:path=/run/systemd/private"];
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
    const target = m[1] === "abstract" ? "\0" + m[2] : m[2]!;
    return new Promise((resolve, reject) => {
      const s = createConnection(target);
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
      // sessionBus() is the constructor that honours busAddress (systemBus() always reads the environment)
      const bus = dbus.sessionBus({ busAddress: address });
      const timer = setTimeout(() => {
        bus.disconnect();
        reject(new Error("timed out connecting"));
      }, 10_000);
      // the library may emit several errors for one failed connection: keep listening
      let failed = false;
      bus.on("error", (e: Error) => {
        clearTimeout(timer);
        if (failed) return;
        failed = true;
        reject(e);
      });
      bus.once("connect", async () => {
        clearTimeout(timer);
        try {
          await bus.call(new dbus.Message({
            destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus",
            member: "AddMatch", signature: "s", body: [`type='signal',sender='${DEST}',interface='${MANAGER}',member='JobRemoved'`],
          }));
          // systemd only emits JobRemoved to subscribed clients
          const sd = new SystemdBus(bus);
          await sd.call("Subscribe", "", []);
          resolve(sd);
        } catch (e) {
          bus.disconnect();
          reject(e);
        }
      });
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
