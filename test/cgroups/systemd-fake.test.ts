// The systemd driver against a fake systemd on a private D-Bus (dbus-daemon): the transient unit
// it asks for, the properties, and the file writes it does itself; start to destroy.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import type { Subprocess } from "bun";
import { newCgroup, loadCgroup, setBpfSys, type BpfSys } from "../../src/cgroups/index.ts";
import { layoutFrom } from "../../src/cgroups/layout.ts";

const haveDaemon = Bun.spawnSync(["sh", "-c", "command -v dbus-daemon"]).success;
let dir = "";
let daemon: Subprocess | undefined;
let fake: Subprocess | undefined;
const saved = process.env.DBUS_SYSTEM_BUS_ADDRESS;

async function firstLine(p: Subprocess): Promise<string> {
  const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return text.trim();
}

beforeAll(async () => {
  if (!haveDaemon) return;
  dir = mkdtempSync(`${tmpdir()}/bunc-fake-systemd-`);
  writeFileSync(`${dir}/bus.conf`, `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>custom</type><listen>unix:path=${dir}/bus</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/><allow user="*"/></policy></busconfig>`);
  daemon = Bun.spawn(["dbus-daemon", `--config-file=${dir}/bus.conf`, "--nofork", "--print-address"], { stdout: "pipe", stderr: "ignore" });
  await firstLine(daemon);
  process.env.DBUS_SYSTEM_BUS_ADDRESS = `unix:path=${dir}/bus`;
  fake = Bun.spawn([process.execPath, `${import.meta.dir}/fake-systemd.ts`], {
    stdout: "pipe", stderr: "inherit",
    env: { ...process.env, FAKE_CGROUP_ROOT: `${dir}/cg`, FAKE_SYSTEMD_LOG: `${dir}/calls.log` },
  });
  expect(await firstLine(fake)).toBe("ready");
});

afterAll(async () => {
  for (const p of [fake, daemon]) {
    p?.kill(9);
    await p?.exited;
  }
  if (saved === undefined) delete process.env.DBUS_SYSTEM_BUS_ADDRESS;
  else process.env.DBUS_SYSTEM_BUS_ADDRESS = saved;
  setBpfSys(undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const calls = () => readFileSync(`${dir}/calls.log`, "utf8").trim().split("\n").map((l) => JSON.parse(l));

describe.skipIf(!haveDaemon)("systemd driver (fake systemd on a private bus)", () => {
  test("a kubelet-style container: transient scope with runc's properties, files, update, destroy", async () => {
    const bpf: BpfSys = {
      sys: (_nr, cmd, attr) => {
        if (cmd === 5) return openSync("/dev/null", "r");
        if (cmd === 16) new DataView((attr as Uint8Array).buffer).setUint32(24, 0, true);
        return 0;
      },
      addressOf: () => 1n,
    };
    setBpfSys(bpf);
    const layout = layoutFrom(`30 23 0:26 / ${dir}/cg rw - cgroup2 cgroup2 rw\n`, "0::/\n");
    writeFileSync(`${dir}/calls.log`, "");
    const cg = newCgroup({
      id: "abc", systemd: true, layout, cgroupsPath: "kubepods-besteffort-pod1.slice:cri-containerd:abc",
      resources: { devices: [{ allow: false, access: "rwm" }], memory: { limit: 64 << 20 }, cpu: { shares: 2 }, pids: { limit: 100 } },
      annotations: { "org.systemd.property.CollectMode": "'inactive-or-failed'" },
    });
    await cg.create();
    const unitDir = `${dir}/cg/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-abc.scope`;
    expect(cg.paths()).toEqual({ "": unitDir });
    expect(existsSync(unitDir)).toBe(false); // a scope needs a pid: it starts at attach

    await cg.attach(4242);
    const start = calls().find((c) => c.member === "StartTransientUnit")!;
    expect(start.body[0]).toBe("cri-containerd-abc.scope");
    expect(start.body[1]).toBe("replace");
    const props = Object.fromEntries(start.body[2].map(([k, v]: [string, { sig: string; value: unknown }]) => [k, v]));
    expect(props.Slice).toEqual({ sig: "s", value: "kubepods-besteffort-pod1.slice" });
    expect(props.Delegate).toEqual({ sig: "b", value: true });
    expect(props.PIDs).toEqual({ sig: "au", value: [4242] });
    expect(props.DefaultDependencies).toEqual({ sig: "b", value: false });
    expect(props.MemoryMax).toEqual({ sig: "t", value: String(64 << 20) });
    expect(props.CPUWeight).toEqual({ sig: "t", value: "1" });
    expect(props.TasksMax).toEqual({ sig: "t", value: "100" });
    expect(props.DevicePolicy).toEqual({ sig: "s", value: "strict" });
    expect(props.CollectMode).toEqual({ sig: "s", value: "inactive-or-failed" });
    // then the file driver sets what it sets on cgroupfs
    expect(readFileSync(`${unitDir}/memory.max`, "utf8")).toBe(String(64 << 20));
    expect(readFileSync(`${unitDir}/pids.max`, "utf8")).toBe("100");
    expect(readFileSync(`${unitDir}/cgroup.procs`, "utf8")).toBe("4242");

    // the record round-trips; update goes to systemd and the files
    const again = loadCgroup(JSON.parse(JSON.stringify(cg.save())), layout);
    await again.update({ memory: { limit: 128 << 20 }, pids: { limit: 200 } });
    const set = calls().find((c) => c.member === "SetUnitProperties")!;
    expect(set.body[0]).toBe("cri-containerd-abc.scope");
    expect(set.body[1]).toBe(true);
    expect(set.body[2]).toContainEqual(["MemoryMax", { sig: "t", value: String(128 << 20) }]);
    expect(readFileSync(`${unitDir}/pids.max`, "utf8")).toBe("200");

    await again.destroy();
    expect(calls().some((c) => c.member === "StopUnit" && c.body[0] === "cri-containerd-abc.scope")).toBe(true);
    expect(existsSync(unitDir)).toBe(false);
  });

  test("an unreachable systemd fails create with a clear error", async () => {
    const keep = process.env.DBUS_SYSTEM_BUS_ADDRESS;
    process.env.DBUS_SYSTEM_BUS_ADDRESS = `unix:path=${dir}/nobody-here`;
    try {
      const layout = layoutFrom(`30 23 0:26 / ${dir}/cg rw - cgroup2 cgroup2 rw\n`, "0::/\n");
      const cg = newCgroup({ id: "x", systemd: true, layout });
      await expect(cg.create()).rejects.toThrow("cannot reach systemd over D-Bus");
    } finally {
      process.env.DBUS_SYSTEM_BUS_ADDRESS = keep;
    }
  });
});
