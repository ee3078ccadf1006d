// The CNI network for the CRI tests: containerd 1.6 wants each pod to get an eth0 with an
// address, so a loopback-only config fails. A bridge of our own with no uplink does it: the
// bridge has no address (isGateway off), no masquerade, no route out of the machine, and pod
// addresses come from TEST-NET-1 (192.0.2.0/24, never routed), leased in the run's temp dir.
import { join } from "node:path";

export interface CniNetwork {
  name: string;
  /** the host bridge the plugin creates; removed by the harness */
  bridge: string;
  subnet: string;
  /** host-local's lease directory (inside the run's temp dir) */
  dataDir: string;
}

export function testNetwork(tag: string, dir: string): CniNetwork {
  const id = tag.replace(/[^a-zA-Z0-9]/g, "").slice(0, 10);
  return { name: `bunc-test-${id}`, bridge: `bunc${id}`.slice(0, 15), subnet: "192.0.2.0/24", dataDir: join(dir, "cni-leases") };
}

export function cniConflist(n: CniNetwork): object {
  return {
    cniVersion: "1.0.0",
    name: n.name,
    plugins: [
      {
        type: "bridge",
        bridge: n.bridge,
        isGateway: false,
        ipMasq: false,
        hairpinMode: false,
        ipam: { type: "host-local", ranges: [[{ subnet: n.subnet }]], dataDir: n.dataDir },
      },
      { type: "loopback" },
    ],
  };
}
