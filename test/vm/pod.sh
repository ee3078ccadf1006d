#!/bin/bash
# `bunc pod` on a cgroup v2 + systemd node (the vmrig guest): a pod with a memory limit under the
# systemd cgroup driver; the limit lands in the container's scope as memory.max, an OOM shows as
# OOMKilled/137, and nothing is left. From the project root, after `make`:
#   ../shared/vmrig/run.sh --share . test/vm/pod.sh
# Prints "ok - ..." / "not ok - ..." lines and "N passed, M failed"; exits non-zero on a failure.
set -u
install -m 0755 /share/bin/bunc /usr/local/bin/bunc
systemctl is-system-running --wait >/dev/null 2>&1 || true

pass=0; fail=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; pass=$((pass+1)); else echo "not ok - $what"; fail=$((fail+1)); fi; }
eq() { [ "$1" = "$2" ] || { echo "    expected '$2', got '$1'" >&2; return 1; }; }

work=$(mktemp -d); root=$work/state
mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/tmp" "$work/rootfs/etc"
cp /bin/busybox "$work/rootfs/bin/" && chroot "$work/rootfs" /bin/busybox --install -s /bin
B() { bunc --systemd-cgroup --root "$root" "$@"; }

cat > "$work/pod.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: vmpod}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: $work/rootfs
    command: ["sh", "-c", "echo up; sleep 1000"]
    resources: {limits: {memory: 100Mi, cpu: 500m}}
YAML
B pod run -d --data-dir "$work/data" "$work/pod.yaml"
check "pod run -d under --systemd-cgroup" eq "$?" 0
pid=$(B pod status vmpod -o json | jq -r '.status.containerStatuses[0].state.running.startedAt // empty' | head -c1)
scope=$(grep -rl "^$(B state vmpod-app 2>/dev/null | jq -r .pid)\$" /sys/fs/cgroup --include=cgroup.procs 2>/dev/null | head -1)
dir=$(dirname "$scope")
echo "    container cgroup: ${dir#/sys/fs/cgroup}"
check "the container runs in a systemd scope" bash -c "[[ '$dir' == *.scope ]]"
check "limits.memory 100Mi -> memory.max 104857600" eq "$(cat $dir/memory.max)" 104857600
check "limits.cpu 500m -> cpu.max 50000 100000" eq "$(cat $dir/cpu.max)" "50000 100000"
podslice=$(dirname "$dir")
echo "    pod cgroup: ${podslice#/sys/fs/cgroup}"
check "the pod is a systemd slice (kubelet's naming)" bash -c "[[ '$podslice' == */kubepods-pod*.slice ]]"
check "systemd knows the pod slice" eq "$(systemctl is-active "$(basename "$podslice")")" active
check "pod-level memory.max on the slice" eq "$(cat $podslice/memory.max)" 104857600
check "pod-level cpu.max on the slice" eq "$(cat $podslice/cpu.max)" "50000 100000"
check "the pod slice restricts no devices (the scope does)" eq "$(systemctl show -P DevicePolicy "$(basename "$podslice")")" auto
B pod stop vmpod >/dev/null 2>&1
B pod rm vmpod >/dev/null 2>&1
check "pod rm leaves no container" eq "$(B list -q | wc -l)" 0
check "pod rm leaves no scope" bash -c "[ ! -e '$dir' ]"
check "pod rm leaves no pod slice" bash -c "[ ! -e '$podslice' ] && [ \"\$(systemctl is-active '$(basename "$podslice")')\" != active ]"

cat > "$work/oom.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: vmoom}
spec:
  restartPolicy: Never
  containers:
  - name: hog
    image: $work/rootfs
    command: ["sh", "-c", "x=y; while true; do x=\$x\$x; done"]
    resources: {limits: {memory: 20Mi}}
YAML
B pod run --data-dir "$work/data" "$work/oom.yaml" >/dev/null 2>&1
check "an OOM-killed pod exits 137" eq "$?" 137
check "and is reported OOMKilled" eq "$(B pod status vmoom -o json | jq -r '.status.containerStatuses[0].state.terminated.reason')" OOMKilled
B pod rm vmoom >/dev/null 2>&1
check "no bunc scopes left" eq "$(systemctl list-units --no-legend 'bunc-*' | wc -l)" 0

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
