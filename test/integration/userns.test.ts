// Issue 5: user namespaces and idmapped mounts on real containers. The rootfs is a private copy
// chowned to the mapped range (host 100000..165535 is the container's 0..65535), so ownership
// inside and outside can be compared file by file.
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Spec } from "../../src/spec/types.ts";
import { bundleWithRootfsCopy, makeBundle, type Bundle } from "../helpers/bundle.ts";
import { trackPerTest } from "../helpers/tracked.ts";
import { bunc, buncOk, describeRoot, waitFor } from "../helpers/run.ts";

const BASE = 100000;
const SIZE = 65536;

const { track, tempDir } = trackPerTest({ dirMode: 0o755 });

function withUserns(cfg: Spec, base = BASE): void {
  cfg.linux!.namespaces!.push({ type: "user" });
  cfg.linux!.uidMappings = [{ containerID: 0, hostID: base, size: SIZE }];
  cfg.linux!.gidMappings = [{ containerID: 0, hostID: base, size: SIZE }];
}

/** A bundle in a user namespace, its rootfs copy owned by the mapped range. */
function usernsBundle(args: string[], mutate?: (cfg: Spec) => void): Bundle {
  const b = track(bundleWithRootfsCopy({ args, mutate: (cfg) => { withUserns(cfg); mutate?.(cfg); } }));
  // chown -R keeps the relative ownership (root -> 100000, user 1000 -> 101000).
  const r = spawnSync("sh", ["-c", `find "${b.rootfs}" -print0 | xargs -0 stat -c '%u %g %n' | while read u g n; do chown -h $((u+${BASE})):$((g+${BASE})) "$n"; done`]);
  if (r.status !== 0) throw new Error(`chown rootfs: ${r.stderr}`);
  // The container's root (host uid 100000) resolves the rootfs path itself: the bundle's private
  // temp dir (0700, root's) must let it through.
  chmodSync(dirname(b.dir), 0o755);
  chmodSync(b.dir, 0o755);
  return b;
}

async function run(b: Bundle) {
  b.writeConfig();
  return bunc(["run", "-b", b.dir, b.id], { root: b.root });
}

async function state(b: Bundle): Promise<{ pid: number; status: string }> {
  return JSON.parse((await buncOk(["state", b.id], { root: b.root })).stdout);
}

describeRoot("user namespaces", () => {
  test("container root is host 100000: files it makes, the rootfs's files, unmapped host files", async () => {
    const src = tempDir("bunc-userns-host-");
    writeFileSync(join(src, "owned-by-host-root"), "x");
    const b = usernsBundle(["sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; touch /tmp/made; stat -c '%u:%g' /bin/busybox /mnt/h/owned-by-host-root"], (cfg) => {
      cfg.mounts!.push({ destination: "/mnt/h", type: "bind", source: src, options: ["rbind", "ro"] });
    });
    const r = await run(b);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").map((l) => l.trim().replace(/\s+/g, " "))).toEqual([
      "0", "0", `0 ${BASE} ${SIZE}`, `0 ${BASE} ${SIZE}`, "0:0", "65534:65534", "",
    ]);
    const st = statSync(join(b.rootfs, "tmp/made"));
    expect([st.uid, st.gid]).toEqual([BASE, BASE]);
  });

  test("process.user is mapped too: uid 1000 inside runs as host uid 101000", async () => {
    const b = usernsBundle(["sh", "-c", "touch /tmp/by-user; exec sleep 100"], (cfg) => {
      cfg.process!.user = { uid: 1000, gid: 1000, additionalGids: [5] };
    });
    b.writeConfig();
    await buncOk(["run", "-d", "-b", b.dir, b.id], { root: b.root });
    const { pid } = await state(b);
    await waitFor(() => existsSync(join(b.rootfs, "tmp/by-user")));
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    expect(status).toMatch(new RegExp(`\\nUid:\\t${BASE + 1000}\\t${BASE + 1000}\\t${BASE + 1000}\\t${BASE + 1000}\\n`));
    expect(status).toMatch(new RegExp(`\\nGroups:\\t${BASE + 5} ?\\n`));
    const st = statSync(join(b.rootfs, "tmp/by-user"));
    expect([st.uid, st.gid]).toEqual([BASE + 1000, BASE + 1000]);
  });

  test("devices are bind mounts of the host's nodes, and work", async () => {
    const b = usernsBundle(["sh", "-c", "echo x > /dev/null && head -c 3 /dev/zero | od -An -tx1; stat -c '%t:%T' /dev/null; grep -c ' /dev/null ' /proc/self/mountinfo"]);
    const r = await run(b);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").map((l) => l.trim())).toEqual(["00 00 00", "1:3", "1", ""]);
  });

  test("exec joins the container's user namespace", async () => {
    const b = usernsBundle(["sleep", "100"]);
    b.writeConfig();
    await buncOk(["run", "-d", "-b", b.dir, b.id], { root: b.root });
    const r = await buncOk(["exec", b.id, "sh", "-c", "id -u; cat /proc/self/uid_map; touch /tmp/from-exec"], { root: b.root });
    expect(r.stdout.split("\n").map((l) => l.trim().replace(/\s+/g, " "))).toEqual(["0", `0 ${BASE} ${SIZE}`, ""]);
    expect(statSync(join(b.rootfs, "tmp/from-exec")).uid).toBe(BASE);
    const u = await buncOk(["exec", "--user", "1000:1000", b.id, "sh", "-c", "id -u; touch /tmp/from-exec-user"], { root: b.root });
    expect(u.stdout).toBe("1000\n");
    expect(statSync(join(b.rootfs, "tmp/from-exec-user")).uid).toBe(BASE + 1000);
  });

  test("a user namespace given by path owns the container's new namespaces (pod containers)", async () => {
    const sandbox = usernsBundle(["sleep", "100"]);
    sandbox.writeConfig();
    await buncOk(["run", "-d", "-b", sandbox.dir, sandbox.id], { root: sandbox.root });
    const { pid } = await state(sandbox);
    // The second container shares the sandbox's rootfs copy (already owned by the range).
    const b = makeBundle({
      args: ["sh", "-c", "echo pid=$$; hostname; cat /proc/self/uid_map; touch /tmp/from-joiner"],
      mutate: (cfg) => {
        cfg.root = { path: sandbox.rootfs, readonly: false };
        cfg.hostname = "joiner";
        cfg.linux!.namespaces!.push({ type: "user", path: `/proc/${pid}/ns/user` });
      },
    });
    track(b);
    const r = await run(b);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n").map((l) => l.trim().replace(/\s+/g, " "))).toEqual(["pid=1", "joiner", `0 ${BASE} ${SIZE}`, ""]);
    expect(statSync(join(sandbox.rootfs, "tmp/from-joiner")).uid).toBe(BASE);
  });

  test("tmpcopyup in a user namespace: mapped owners are kept; an owner the maps do not cover leaves the copy to the container's root", async () => {
    const b = usernsBundle(["sh", "-c", "stat -c '%n %u:%g' /etc/passwd /etc/stray; touch /etc/new && echo writable"]);
    // host uid 0 is not in the container's range: inside, the file reads as the overflow id 65534,
    // which the small mapping below does not cover either, so chown(65534) fails with EINVAL
    writeFileSync(join(b.rootfs, "etc", "stray"), "x\n");
    chownSync(join(b.rootfs, "etc", "stray"), 0, 0);
    b.config.linux!.uidMappings = [{ containerID: 0, hostID: BASE, size: 1000 }];
    b.config.linux!.gidMappings = [{ containerID: 0, hostID: BASE, size: 1000 }];
    b.config.mounts!.push({ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup", "nosuid", "nodev"] });
    const r = await run(b);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual(["/etc/passwd 0:0", "/etc/stray 0:0", "writable"]);
    expect(r.code).toBe(0);
  });

  test("a mapping without uid 0 is refused with what is missing", async () => {
    const b = usernsBundle(["true"], (cfg) => {
      cfg.linux!.uidMappings = [{ containerID: 1, hostID: BASE + 1, size: SIZE - 1 }];
    });
    const r = await run(b);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("is uid 0 in linux.uidMappings?");
    expect(existsSync(join(b.root, b.id))).toBe(false);
  });

  test("a namespace joined by path goes with a new user namespace (joined first, as runc)", async () => {
    // the host's network namespace (this test's), owned by the host's user namespace
    const b = usernsBundle(["sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/user; id -u"], (cfg) => {
      cfg.linux!.namespaces = cfg.linux!.namespaces!.map((n) => (n.type === "network" ? { type: "network", path: `/proc/${process.pid}/ns/net` } : n));
      cfg.mounts = cfg.mounts!.filter((m) => m.destination !== "/sys" && m.destination !== "/sys/fs/cgroup");
    });
    const r = await run(b);
    expect(r.stderr).toBe("");
    const [net, user, uid] = r.stdout.trim().split("\n");
    expect(net).toBe(readlinkSync("/proc/self/ns/net"));
    expect(user).not.toBe(readlinkSync("/proc/self/ns/user"));
    expect(uid).toBe("0");
  });
});

describeRoot("idmapped mounts", () => {
  /** a host dir owned by root with a root-owned file and a subdir owned by 1000 */
  function dataDir(): string {
    const d = tempDir("bunc-idmap-");
    writeFileSync(join(d, "root-file"), "r");
    mkdirSync(join(d, "user-dir"));
    chownSync(join(d, "user-dir"), 1000, 1000);
    return d;
  }

  test("idmap with the container's mappings: on-disk root is the container's root, and writes land as on-disk root", async () => {
    const data = dataDir();
    const plain = dataDir();
    const b = usernsBundle(["sh", "-c", [
      "stat -c '%u:%g' /data/root-file /data/user-dir /plain/root-file",
      "touch /data/new-by-root && echo wrote",
      "touch /plain/new 2>/dev/null || echo plain-refused",
    ].join("; ")], (cfg) => {
      cfg.mounts!.push({ destination: "/data", type: "bind", source: data, options: ["rbind", "idmap"] });
      cfg.mounts!.push({ destination: "/plain", type: "bind", source: plain, options: ["rbind"] });
    });
    const r = await run(b);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("0:0\n1000:1000\n65534:65534\nwrote\nplain-refused\n");
    const st = statSync(join(data, "new-by-root"));
    expect([st.uid, st.gid]).toEqual([0, 0]); // the mount maps container root back to on-disk 0
  });

  test("mount uidMappings/gidMappings of their own, with and without a user namespace", async () => {
    const data = dataDir();
    // on-disk 0 -> host 101000, which is uid 1000 in the container
    const maps = { uidMappings: [{ containerID: 0, hostID: BASE + 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: BASE + 1000, size: 1 }] };
    const b = usernsBundle(["stat", "-c", "%u:%g", "/data/root-file"], (cfg) => {
      cfg.mounts!.push({ destination: "/data", type: "bind", source: data, options: ["rbind"], ...maps });
    });
    const r = await run(b);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("1000:1000\n");
    // Without a user namespace the mapped ids are host ids.
    const n = makeBundle({ args: ["stat", "-c", "%u:%g", "/data/root-file"], mutate: (cfg) => {
      cfg.mounts!.push({ destination: "/data", type: "bind", source: data, options: ["bind"],
        uidMappings: [{ containerID: 0, hostID: 4321, size: 1 }], gidMappings: [{ containerID: 0, hostID: 4322, size: 1 }] });
    } });
    track(n);
    const nr = await run(n);
    expect(nr.stderr).toBe("");
    expect(nr.stdout).toBe("4321:4322\n");
  });

  test("ridmap maps the mounts below the source too; idmap only the top one", async () => {
    const data = dataDir();
    const sub = dataDir();
    mkdirSync(join(data, "sub"));
    expect(spawnSync("mount", ["--bind", sub, join(data, "sub")]).status).toBe(0);
    const script = "stat -c '%u' /r/root-file /r/sub/root-file /i/root-file /i/sub/root-file";
    const b = usernsBundle(["sh", "-c", script], (cfg) => {
      cfg.mounts!.push({ destination: "/r", type: "bind", source: data, options: ["rbind", "ridmap"] });
      cfg.mounts!.push({ destination: "/i", type: "bind", source: data, options: ["rbind", "idmap"] });
    });
    const r = await run(b);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("0\n0\n0\n65534\n");
  });

  test("idmap without any mapping is refused, naming the mount", async () => {
    const data = dataDir();
    const b = makeBundle({ args: ["true"], mutate: (cfg) => {
      cfg.mounts!.push({ destination: "/data", type: "bind", source: data, options: ["bind", "idmap"] });
    } });
    track(b);
    const r = await run(b);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`config.json: mounts[${b.config.mounts!.length - 1}]: an idmapped mount needs uidMappings and gidMappings`);
  });
});
