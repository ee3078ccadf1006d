#!/usr/bin/env bash
# The demo: build bunc, build a small busybox bundle in a temp dir, run one container from it
# in the foreground, and clean up. Run as root: `sudo scripts/demo.sh` (or `make demo`).
# Any arguments replace the container's command: `sudo scripts/demo.sh sh -c 'ls /'`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: run me as root (sudo scripts/demo.sh): a container needs namespaces, mounts and cgroups" >&2
  exit 1
fi

# busybox-static gives one static binary that is a whole userland: the container's root filesystem.
if [ ! -x /bin/busybox ] || ! /bin/busybox --list >/dev/null 2>&1; then
  echo "== installing busybox-static"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static
fi

echo "== building bin/bunc"
make

work=$(mktemp -d /tmp/bunc-demo.XXXXXX)
bundle=$work/bundle
state=$work/state # a private --root, so the demo leaves nothing in /run/bunc
id=demo-$$
cleanup() {
  bin/bunc --root "$state" delete --force "$id" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building a busybox bundle in $bundle"
examples/busybox-rootfs.sh "$bundle/rootfs" >/dev/null # the same rootfs examples/pod.yaml uses

# A default config.json as `runc spec` writes it, then the demo's changes.
bin/bunc spec --bundle "$bundle"
if [ $# -gt 0 ]; then args=("$@"); else args=(sh -c 'echo "hello from bunc: $(id)"; echo "hostname: $(hostname)"; ps'); fi
node - "$bundle/config.json" "/bunc-demo-$$" "${args[@]}" <<'JS'
const fs = require("fs");
const [file, cgroupsPath, ...args] = process.argv.slice(2);
const cfg = JSON.parse(fs.readFileSync(file, "utf8"));
cfg.process.terminal = false; // stdio are passed straight through; no pty needed
cfg.process.args = args;
cfg.hostname = "bunc-demo";
cfg.linux.cgroupsPath = cgroupsPath;
fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
JS

echo "== bin/bunc --root $state run --bundle $bundle $id"
status=0
bin/bunc --root "$state" run --bundle "$bundle" "$id" || status=$?
echo "== the container exited with status $status"
exit "$status"
