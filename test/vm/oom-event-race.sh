#!/usr/bin/env bash
# Measures how often containerd 1.6 (the vmrig guest: cgroup v2, systemd driver) publishes no
# /tasks/oom for an OOM-killed container, with bunc and with runc, alternately. Not part of
# `make test`: it is why clients.sh and test/cri/flow.ts ask the event of a lingering init. Why it
# happens: the shim reads the scope's memory.events when inotify fires; systemd removes the
# emptied scope ~15-90 ms after the kill (journal), and when the rmdir wins the shim reads
# nothing. From the project root, after `make`:
#
#   test/vm/oom-event-race.sh [ROUNDS]        (default 6 rounds: 6 containers per runtime)
#
# Prints "RESULT <runtime> <round> rc=<exit status> oom=<events seen>" lines and a summary.
set -uo pipefail

if [ "${VMRIG_GUEST:-}" != 1 ]; then
	set -e
	here=$(cd "$(dirname "$0")" && pwd)
	root=$(cd "$here/../.." && pwd)
	share=$(mktemp -d "${TMPDIR:-/var/tmp}/bunc-vm-oomrace.XXXXXX")
	trap 'rm -rf "$share"' EXIT
	mkdir -p "$share/bin"
	cp "$root/bin/bunc" "$share/bin/bunc"
	image=$("$root/node_modules/.bin/bun" "$here/make-image.ts" "$share/busybox.oci.tar")
	exec "${VMRIG:-$root/../shared/vmrig}/run.sh" --share "$share" --timeout 1800 \
		--env "BUNC_TEST_IMAGE=$image" --env "ROUNDS=${1:-6}" "$here/oom-event-race.sh"
fi

IMAGE=${BUNC_TEST_IMAGE:?}
install -m 0755 /share/bin/bunc /usr/local/bin/bunc
systemctl is-system-running --wait >/dev/null 2>&1 || true
systemctl start containerd
for i in $(seq 100); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done
ctr -n test image import /share/busybox.oci.tar >/dev/null
ctr -n test events >/tmp/events.log 2>&1 &
sleep 3
declare -A missed=([bunc]=0 [runc]=0)
for i in $(seq "$ROUNDS"); do
	for rt in bunc runc; do
		id=$rt$i
		ctr -n test run --runc-binary "$(command -v $rt)" --runc-systemd-cgroup --cgroup "system.slice:oomrace:$id" \
			--rm --memory-limit 33554432 "$IMAGE" "$id" sh -c 'x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done'
		rc=$?
		sleep 1
		n=$(grep /tasks/oom /tmp/events.log | grep -c "\"$id\"")
		[ "$n" = 1 ] || missed[$rt]=$((missed[$rt] + 1))
		echo "RESULT $rt $i rc=$rc oom=$n"
	done
done
echo "containerd published no /tasks/oom for: bunc ${missed[bunc]} of $ROUNDS, runc ${missed[runc]} of $ROUNDS"
