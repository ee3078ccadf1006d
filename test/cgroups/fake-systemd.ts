// A stand-in for systemd's D-Bus manager on a private bus: enough of StartTransientUnit, StopUnit,
// SetUnitProperties, ResetFailedUnit, Subscribe and the Version property for the systemd driver.
// Like systemd it makes the unit's cgroup directory (under FAKE_CGROUP_ROOT) and moves the PIDs
// in; every call is appended to FAKE_SYSTEMD_LOG as a JSON line.
import * as dbus from "@jellybrick/dbus-next";
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";

const { Message, Variant } = dbus;
const root = process.env.FAKE_CGROUP_ROOT!;
const log = process.env.FAKE_SYSTEMD_LOG!;
const bus = dbus.systemBus({ busAddress: process.env.DBUS_SYSTEM_BUS_ADDRESS! });

function expandSlice(slice: string): string {
  const parts = slice.slice(0, -".slice".length).split("-");
  return parts.map((_, i) => "/" + parts.slice(0, i + 1).join("-") + ".slice").join("");
}

const plain = (v: unknown): unknown =>
  v instanceof Variant ? { sig: v.signature, value: plain(v.value) } : typeof v === "bigint" ? v.toString() : Buffer.isBuffer(v) ? [...v] : Array.isArray(v) ? v.map(plain) : v;

let job = 0;
function finish(msg: dbus.Message, unit: string, result = "done") {
  const path = `/org/freedesktop/systemd1/job/${++job}`;
  bus.send(Message.newMethodReturn(msg, "o", [path]));
  setTimeout(() => bus.send(Message.newSignal("/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "JobRemoved", "uoss", [job, path, unit, result])), 5);
}

const units = new Map<string, string>();
bus.addMethodHandler((msg: dbus.Message) => {
  appendFileSync(log, JSON.stringify({ member: msg.member, body: plain(msg.body) }) + "\n");
  const body = msg.body as unknown[];
  switch (msg.member) {
    case "Subscribe":
    case "ResetFailedUnit":
    case "SetUnitProperties":
      bus.send(Message.newMethodReturn(msg, "", []));
      return true;
    case "Get":
      bus.send(Message.newMethodReturn(msg, "v", [new Variant("s", "252.1-fake")]));
      return true;
    case "StartTransientUnit": {
      const [unit, , props] = body as [string, string, [string, dbus.Variant][]];
      const p = Object.fromEntries(props.map(([k, v]) => [k, v.value]));
      const dir = `${root}${expandSlice(p.Slice as string)}/${unit}`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/cgroup.controllers`, "cpu memory pids\n");
      writeFileSync(`${dir}/cgroup.procs`, (p.PIDs as number[]).join("\n") + "\n");
      units.set(unit, dir);
      finish(msg, unit);
      return true;
    }
    case "StopUnit": {
      const [unit] = body as [string];
      const dir = units.get(unit);
      if (!dir) {
        bus.send(Message.newError(msg, "org.freedesktop.systemd1.NoSuchUnit", `Unit ${unit} not loaded.`));
        return true;
      }
      rmSync(dir, { recursive: true, force: true });
      units.delete(unit);
      finish(msg, unit);
      return true;
    }
  }
  return false;
});

await bus.requestName("org.freedesktop.systemd1", 0);
process.stdout.write("ready\n");
