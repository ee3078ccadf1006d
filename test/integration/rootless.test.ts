// Issue 5: rootless containers. A test user is made with useradd (its /etc/subuid range comes
// with it) and bunc runs as that user through setpriv, with its state under $XDG_RUNTIME_DIR/bunc
// and the config `bunc spec --rootless` writes. The suite needs root to make the user.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Spec } from "../../src/spec/types.ts";
import { uniqueId } from "../helpers/bundle.ts";
import { busyboxRootfs } from "../helpers/rootfs.ts";
import { buncBin, describeRoot, waitFor } from "../helpers/run.ts";

const USER = "bunctestrl";
let uid = 0, gid = 0, subBase = 0, subSize = 0;
let madeUser = false;

interface RootlessBundle {
  id: string;
  base: string;
  dir: string;
  rootfs: string;
  xdg: string;
  config: Spec;
  write(): void;
}

const live: RootlessBundle[] = [];

beforeAll(() => {
  if (process.getuid?.() !== 0) return;
  if (spawnSync("id", ["-u", USER]).status !== 0) {
    const r = spawnSync("useradd", ["--create-home", "--shell", "/bin/sh", USER], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`useradd: ${r.stderr}`);
    madeUser = true;
  }
  uid = Number(spawnSync("id", ["-u", USER], { encoding: "utf8" }).stdout);
  gid = Number(spawnSync("id", ["-g", USER], { encoding: "utf8" }).stdout);
  const line = readFileSync("/etc/subuid", "utf8").split("\n").find((l) => l.startsWith(`${USER}:`));
  if (!line) throw new Error(`no /etc/subuid range for ${USER} (useradd makes one when SUB_UID_COUNT is set)`);
  [subBase, subSize] = line.split(":").slice(1).map(Number) as [number, number];
});

afterEach(() => {
  for (const b of live.splice(0)) {
    // root cleans up what the user's bunc may have left: its containers, then the files.
    for (const id of existsSync(join(b.xdg, "bunc")) ? readdirSync(join(b.xdg, "bunc")) : []) {
      spawnSync(buncBin(), ["--root", join(b.xdg, "bunc"), "delete", "--force", id], { stdio: "ignore" });
    }
    rmSync(b.base, { recursive: true, force: true });
  }
});

afterAll(() => {
  if (madeUser) spawnSync("userdel", ["--remove", USER], { stdio: "ignore" });
});

/** chown a tree so that container id c is host id (c === 0 ? uid : subBase + c - 1), as the
 * two-line mapping below does. */
function chownForMapping(dir: string, withSubids: boolean): void {
  const script = withSubids
    ? `find "${dir}" -print0 | xargs -0 stat -c '%u %g %n' | while read u g n; do
         nu=$([ $u = 0 ] && echo ${uid} || echo $((u+${subBase}-1))); ng=$([ $g = 0 ] && echo ${gid} || echo $((g+${subBase}-1)))
         chown -h $nu:$ng "$n"; done`
    : `chown -hR ${uid}:${gid} "${dir}"`;
  const r = spawnSync("sh", ["-c", script], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`chown: ${r.stderr}`);
}

/** Run bunc as the test user (its own XDG_RUNTIME_DIR); output through files, as helpers/run.ts. */
async function asUser(b: RootlessBundle, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = join(b.base, `out-${Math.random().toString(36).slice(2)}`), err = `${out}.err`;
  const o = openSync(out, "w+"), e = openSync(err, "w+");
  try {
    const p = Bun.spawn(["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--init-groups", "--", buncBin(), ...args], {
      cwd: b.dir, stdin: "ignore", stdout: o, stderr: e,
      env: { PATH: process.env.PATH, HOME: `/home/${USER}`, XDG_RUNTIME_DIR: b.xdg },
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
    const code = await p.exited.finally(() => clearTimeout(timer));
    return { code, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
  } finally {
    closeSync(o);
    closeSync(e);
  }
}

async function asUserOk(b: RootlessBundle, args: string[]) {
  const r = await asUser(b, args);
  if (r.code !== 0) throw new Error(`bunc ${args.join(" ")} (as ${USER}) exited ${r.code}: ${r.stderr}`);
  return r;
}

/** A bundle the test user owns, configured by `bunc spec --rootless` run as that user. */
async function rootlessBundle(args: string[], opts: { subids?: boolean; mutate?: (c: Spec) => void } = {}): Promise<RootlessBundle> {
  const base = mkdtempSync(join(tmpdir(), "bunc-rootless-"));
  const dir = join(base, "bundle");
  const xdg = join(base, "xdg");
  mkdirSync(dir);
  mkdirSync(xdg, { mode: 0o700 });
  const rootfs = join(dir, "rootfs");
  const cp = spawnSync("cp", ["-a", busyboxRootfs(), rootfs]);
  if (cp.status !== 0) throw new Error(`cp: ${cp.stderr}`);
  chownForMapping(rootfs, !!opts.subids);
  for (const d of [base, dir, xdg]) chownSync(d, uid, gid);
  const b: RootlessBundle = {
    id: uniqueId("rl"), base, dir, rootfs, xdg, config: {} as Spec,
    write: () => {
      writeFileSync(join(dir, "config.json"), JSON.stringify(b.config));
      chownSync(join(dir, "config.json"), uid, gid);
    },
  };
  live.push(b);
  await asUserOk(b, ["spec", "--rootless"]);
  b.config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  b.config.process!.terminal = false;
  b.config.process!.args = args;
  b.config.root!.readonly = false;
  if (opts.subids) {
    b.config.linux!.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: subBase, size: subSize }];
    b.config.linux!.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }, { containerID: 1, hostID: subBase, size: subSize }];
  }
  opts.mutate?.(b.config);
  b.write();
  return b;
}

function hostCgroupsOf(id: string): string[] {
  const out: string[] = [];
  for (const h of readdirSync("/sys/fs/cgroup")) {
    const d = join("/sys/fs/cgroup", h, id);
    if (existsSync(d)) out.push(d);
  }
  return out;
}

describeRoot("rootless", () => {
  test("bunc spec --rootless bundle runs as the user: root inside is the user outside", async () => {
    const b = await rootlessBundle(["sh", "-c", "id -u; cat /proc/self/uid_map; touch /tmp/made; echo ok > /dev/null && echo dev-ok"]);
    const r = await asUser(b, ["run", b.id]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").map((l) => l.trim().replace(/\s+/g, " "))).toEqual(["0", `0 ${uid} 1`, "dev-ok", ""]);
    expect(statSync(join(b.rootfs, "tmp/made")).uid).toBe(uid);
  });

  test("state lives under $XDG_RUNTIME_DIR/bunc; exec, kill, delete work; no cgroup is made without delegation", async () => {
    const b = await rootlessBundle(["sleep", "100"]);
    await asUserOk(b, ["run", "-d", b.id]);
    const stateFile = join(b.xdg, "bunc", b.id, "state.json");
    expect(existsSync(stateFile)).toBe(true);
    expect(statSync(join(b.xdg, "bunc", b.id)).uid).toBe(uid);
    const st = JSON.parse((await asUserOk(b, ["state", b.id])).stdout);
    expect(st.status).toBe("running");
    expect(readFileSync(`/proc/${st.pid}/status`, "utf8")).toMatch(new RegExp(`\\nUid:\\t${uid}\\t`));
    expect((await asUserOk(b, ["list", "-q"])).stdout).toBe(`${b.id}\n`);
    expect((await asUserOk(b, ["exec", b.id, "id", "-u"])).stdout).toBe("0\n");
    expect(hostCgroupsOf(b.id)).toEqual([]);
    await asUserOk(b, ["kill", b.id, "KILL"]);
    await waitFor(async () => JSON.parse((await asUserOk(b, ["state", b.id])).stdout).status === "stopped");
    await asUserOk(b, ["delete", b.id]);
    expect(existsSync(join(b.xdg, "bunc", b.id))).toBe(false);
  });

  test("the user's /etc/subuid range through newuidmap/newgidmap: process.user 1000 is a subordinate id", async () => {
    const b = await rootlessBundle(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/by-user; stat -c %u /etc/passwd /home/user"], {
      subids: true,
      mutate: (c) => { c.process!.user = { uid: 1000, gid: 1000 }; },
    });
    const r = await asUser(b, ["run", b.id]);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").map((l) => l.trim().replace(/\s+/g, " "))).toEqual([
      `0 ${uid} 1`, `1 ${subBase} ${subSize}`, `0 ${gid} 1`, `1 ${subBase} ${subSize}`, "1000", "0", "1000", "",
    ]);
    expect(statSync(join(b.rootfs, "tmp/by-user")).uid).toBe(subBase + 999);
  });

  test("what needs privilege is refused clearly", async () => {
    // no user namespace
    const nouserns = await rootlessBundle(["true"], { mutate: (c) => {
      c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== "user");
      delete c.linux!.uidMappings;
      delete c.linux!.gidMappings;
    } });
    const a = await asUser(nouserns, ["run", nouserns.id]);
    expect(a.code).not.toBe(0);
    expect(a.stderr).toContain("without root, bunc needs a user namespace");
    // host ids that are not the user's, with no newuidmap range covering them
    const foreign = await rootlessBundle(["true"], { mutate: (c) => {
      c.linux!.uidMappings = [{ containerID: 0, hostID: 4242, size: 1 }];
    } });
    const f = await asUser(foreign, ["run", foreign.id]);
    expect(f.code).not.toBe(0);
    expect(f.stderr).toContain("config.json: linux.uidMappings: newuidmap failed (are the host ids in /etc/subuid for your user?)");
    // an idmapped mount
    const idm = await rootlessBundle(["true"], { mutate: (c) => {
      c.mounts!.push({ destination: "/data", type: "bind", source: "/tmp", options: ["rbind", "idmap"] });
    } });
    const i = await asUser(idm, ["run", idm.id]);
    expect(i.code).not.toBe(0);
    expect(i.stderr).toMatch(/config\.json: mounts\[\d+\]: idmapped mounts need root/);
    // cgroup limits without a delegated cgroup
    const lim = await rootlessBundle(["true"], { mutate: (c) => {
      c.linux!.resources = { memory: { limit: 64 * 1024 * 1024 } };
    } });
    const l = await asUser(lim, ["run", lim.id]);
    expect(l.code).not.toBe(0);
    expect(l.stderr).toMatch(/permission denied \(without root, cgroup settings need a cgroup delegated to your user\)/);
    for (const b of [nouserns, foreign, idm, lim]) expect(existsSync(join(b.xdg, "bunc", b.id))).toBe(false);
  });
});
