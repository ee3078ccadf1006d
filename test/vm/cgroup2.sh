#!/bin/bash
# bunc's cgroup support on cgroup v2 + systemd (the vmrig guest). From the project root:
#   make && ../shared/vmrig/run.sh --share . test/vm/cgroup2.sh
# Prints "ok - ..." / "not ok - ..." lines and "N passed, M failed"; exits non-zero on a failure.
set -u
install -m 0755 /share/bin/bunc /usr/local/bin/bunc
systemctl is-system-running --wait >/dev/null 2>&1 || true

pass=0; fail=0
ok()   { echo "ok - $*"; pass=$((pass+1)); }
bad()  { echo "not ok - $*"; fail=$((fail+1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
eq()   { [ "$1" = "$2" ] || { echo "    expected '$2', got '$1'" >&2; return 1; }; }

work=$(mktemp -d); root=$work/state
mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/" && chroot "$work/rootfs" /bin/busybox --install -s /bin

# bundle NAME CGROUPSPATH RESOURCES-JSON ARGS-JSON
bundle() {
  local b=$work/$1; mkdir -p "$b"; ln -sfn "$work/rootfs" "$b/rootfs"
  (cd "$b" && bunc spec && rm -f config.json.tmp)
  jq --arg p "$2" --argjson r "$3" --argjson a "$4" '
    .process.terminal=false | .process.args=$a | .linux.cgroupsPath=$p | .linux.resources=(.linux.resources+$r)
    | .process.capabilities.bounding+=["CAP_MKNOD"] | .process.capabilities.effective+=["CAP_MKNOD"] | .process.capabilities.permitted+=["CAP_MKNOD"]
  ' "$b/config.json" > "$b/c.json" && mv "$b/c.json" "$b/config.json"
  echo "$b"
}
B() { bunc --root "$root" "$@"; }
# allow-all device rules need no eBPF program: the checks below that are not about devices use
# them, so they do not depend on bpf(2) support in the build (the c2 check is about exactly that)
ALLDEV='"devices":[{"allow":true,"access":"rwm"}]'


echo "# host: $(uname -r), systemd $(systemctl --version | head -1 | awk '{print $2}'), $(stat -fc %T /sys/fs/cgroup)"

# --- cgroupfs driver on v2 ---------------------------------------------------------------
b=$(bundle c1 /bunc-vm/c1 '{'"$ALLDEV"',"memory":{"limit":67108864,"swap":67108864},"pids":{"limit":20},"cpu":{"shares":512,"quota":50000,"period":100000}}' '["sleep","1000"]')
B create --bundle "$b" c1 && B start c1
d=/sys/fs/cgroup/bunc-vm/c1
check "fs2: memory.max" eq "$(cat $d/memory.max)" 67108864
check "fs2: memory.swap.max (swap == limit -> 0)" eq "$(cat $d/memory.swap.max)" 0
check "fs2: pids.max" eq "$(cat $d/pids.max)" 20
check "fs2: cpu.weight from shares 512" eq "$(cat $d/cpu.weight)" 59
check "fs2: cpu.max" eq "$(cat $d/cpu.max)" "50000 100000"
check "fs2: controllers enabled in the parent" grep -q memory /sys/fs/cgroup/bunc-vm/cgroup.subtree_control
pid=$(B state c1 | jq .pid)
check "fs2: ps --format json" eq "$(B ps --format json c1)" "[$pid]"
B pause c1
check "fs2: pause -> cgroup.freeze 1" eq "$(cat $d/cgroup.freeze)" 1
check "fs2: state paused" eq "$(B state c1 | jq -r .status)" paused
B resume c1
check "fs2: resume -> running" eq "$(B state c1 | jq -r .status)" running
B update --memory 100m --pids-limit 30 c1
check "fs2: update memory.max" eq "$(cat $d/memory.max)" 104857600
check "fs2: update pids.max" eq "$(cat $d/pids.max)" 30
check "fs2: events --stats" eq "$(B events --stats c1 | jq -r '.type + " " + (.data.memory.usage.limit|tostring)')" "stats 104857600"
B delete --force c1
check "fs2: delete removes the cgroup" test ! -e $d

# the host's /dev/kmsg bound in: opening it is the device filter's decision alone (the rootfs is
# read-only in `bunc spec`'s config, so no mknod of our own)
b=$(bundle c2 /bunc-vm/c2 '{}' '["sh","-c","(exec 3</dev/kmsg) 2>/dev/null && echo kmsg-open || echo kmsg-denied; echo x >/dev/null && echo null-ok"]')
jq '.mounts += [{"destination":"/dev/kmsg","type":"bind","source":"/dev/kmsg","options":["bind"]}]' "$b/config.json" > "$b/c.json" && mv "$b/c.json" "$b/config.json"
out=$(B run --bundle "$b" c2 2>&1)
check "fs2: eBPF device filter denies /dev/kmsg, allows /dev/null" eq "$(echo $out)" "kmsg-denied null-ok"

b=$(bundle c3 /bunc-vm/c3 '{'"$ALLDEV"',"memory":{"limit":33554432,"swap":33554432}}' '["sh","-c","x=$(head -c 200000000 /dev/zero | tr \"\\\\0\" a); echo survived"]')
B run --bundle "$b" c3 >/dev/null 2>&1; rc=$?
check "fs2: memory hog exits 137" eq "$rc" 137

# --- systemd driver ----------------------------------------------------------------------
b=$(bundle s1 system.slice:bunc:s1 '{'"$ALLDEV"',"memory":{"limit":67108864},"pids":{"limit":40},"cpu":{"shares":1024}}' '["sleep","1000"]')
B --systemd-cgroup create --bundle "$b" s1 && B --systemd-cgroup start s1
sd=/sys/fs/cgroup/system.slice/bunc-s1.scope
check "systemd: scope is active" eq "$(systemctl is-active bunc-s1.scope)" active
check "systemd: MemoryMax" eq "$(systemctl show -P MemoryMax bunc-s1.scope)" 67108864
check "systemd: TasksMax" eq "$(systemctl show -P TasksMax bunc-s1.scope)" 40
check "systemd: Delegate" eq "$(systemctl show -P Delegate bunc-s1.scope)" yes
check "systemd: memory.max file" eq "$(cat $sd/memory.max)" 67108864
pid=$(B state s1 | jq .pid)
check "systemd: init pid in the scope" grep -qx "$pid" $sd/cgroup.procs
B --systemd-cgroup update --memory 80m s1
check "systemd: update -> MemoryMax" eq "$(systemctl show -P MemoryMax bunc-s1.scope)" 83886080
B --systemd-cgroup pause s1
check "systemd: pause" eq "$(B state s1 | jq -r .status)" paused
B --systemd-cgroup resume s1
B --systemd-cgroup delete --force s1
check "systemd: delete stops the unit" bash -c '! systemctl is-active -q bunc-s1.scope'
check "systemd: scope directory gone" test ! -e $sd

b=$(bundle s2 kubepods-besteffort-podx.slice:cri-containerd:s2 '{'"$ALLDEV"',"cpu":{"shares":2}}' '["true"]')
B --systemd-cgroup run --bundle "$b" s2
check "systemd: run in a nested kubepods slice exits 0" eq "$?" 0

# Nodes without a dbus-daemon (kind's) have only systemd's private socket: a direct connection,
# where nobody answers the D-Bus Hello (runc and kubelet fall back to it the same way).
b=$(bundle s3 system.slice:bunc:s3 '{'"$ALLDEV"',"memory":{"limit":67108864}}' '["sh","-c","cat /sys/fs/cgroup/memory.max"]')
out=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/systemd/private B --systemd-cgroup run --bundle "$b" s3 2>&1)
check "systemd: through /run/systemd/private (no bus daemon)" eq "$out" 67108864
systemctl stop dbus.socket dbus.service >/dev/null 2>&1
out=$(B --systemd-cgroup run --bundle "$b" s3 2>&1)
check "systemd: dbus-daemon stopped: falls back to the private socket" eq "$out" 67108864
check "systemd: no bunc-s3 unit left" eq "$(systemctl list-units --all --no-legend 'bunc-s3*' | wc -l)" 0

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
