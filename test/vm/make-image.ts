// Write the busybox test image (the host's busybox-static) as an oci-archive for the VM:
//   bun test/vm/make-image.ts OUT.tar      (prints the image name)
import { copyFileSync } from "node:fs";
import { busyboxImageArchive, IMAGE } from "../clients/image.ts";

const out = process.argv[2];
if (!out) {
  console.error("usage: bun test/vm/make-image.ts OUT.tar");
  process.exit(2);
}
copyFileSync(busyboxImageArchive(), out);
console.log(IMAGE);
