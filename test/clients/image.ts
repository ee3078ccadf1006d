// The busybox image every client test runs, as an oci-archive built locally (no registry is
// reachable): containerd imports it with `ctr image import`, podman with `podman load`.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { buildBusyboxOciLayout, ociArchive } from "../helpers/oci-image.ts";
import { testCacheDir } from "../helpers/rootfs.ts";

/** The name both clients know the image by (containerd: io.containerd.image.name; podman: ref.name). */
export const IMAGE = "docker.io/bunctest/busybox:latest";

let archive: string | undefined;

/** Path of the oci-archive, built once per test process into the test cache dir. */
export function busyboxImageArchive(): string {
  if (archive && existsSync(archive)) return archive;
  mkdirSync(testCacheDir(), { recursive: true });
  const work = mkdtempSync(join(testCacheDir(), "image-"));
  try {
    const layout = join(work, "layout");
    buildBusyboxOciLayout(layout, { name: IMAGE, tag: IMAGE, cmd: ["sh"] });
    const file = join(work, "busybox.oci.tar");
    ociArchive(layout, file);
    // Reproducible output: the same busybox gives the same archive, so one shared, cached file
    // (replaced atomically) serves every test process and is never left behind per run.
    const final = join(testCacheDir(), "busybox-image.oci.tar");
    renameSync(file, final);
    archive = final;
    return final;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
