#!/bin/sh
# Build a busybox root filesystem for examples/pod.yaml (needs busybox-static: /bin/busybox).
# Usage: examples/busybox-rootfs.sh [DIR]   (default /var/tmp/bunc-example-rootfs)
set -eu
dir=${1:-/var/tmp/bunc-example-rootfs}
mkdir -p "$dir/bin" "$dir/etc" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/tmp" "$dir/root"
chmod 1777 "$dir/tmp"
cp /bin/busybox "$dir/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" >"$dir/etc/passwd"
echo "root:x:0:" >"$dir/etc/group"
echo "$dir"
