// kubelet's QoS classes and cgroup values, checked against the numbers kubelet computes.
import { expect, test } from "bun:test";
import {
  containerResources, milliCpuToQuota, milliCpuToShares, oomScoreAdj, podResources, qosClass, qosDir,
} from "../../src/pod/resources.ts";
import type { ContainerSpec, PodSpec } from "../../src/pod/types.ts";

const c = (resources?: ContainerSpec["resources"], name = "c"): ContainerSpec => ({ name, image: "/x", resources });
const pod = (...containers: ContainerSpec[]): PodSpec => ({ containers });

test("QoS: BestEffort, Burstable, Guaranteed as GetPodQOS decides", () => {
  expect(qosClass(pod(c()))).toBe("BestEffort");
  expect(qosClass(pod(c({ requests: { cpu: "100m" } })))).toBe("Burstable");
  expect(qosClass(pod(c({ limits: { memory: "100Mi" } })))).toBe("Burstable");
  // limits for both, requests defaulted from them
  expect(qosClass(pod(c({ limits: { memory: "100Mi", cpu: "1" } })))).toBe("Guaranteed");
  expect(qosClass(pod(c({ limits: { memory: "100Mi", cpu: "1" }, requests: { cpu: "1000m", memory: "104857600" } })))).toBe("Guaranteed");
  expect(qosClass(pod(c({ limits: { memory: "100Mi", cpu: "1" }, requests: { cpu: "500m" } })))).toBe("Burstable");
  // one container without limits makes the pod Burstable
  expect(qosClass(pod(c({ limits: { memory: "1Gi", cpu: "1" } }), c(undefined, "d")))).toBe("Burstable");
  expect(qosDir("Guaranteed")).toBe("");
  expect(qosDir("Burstable")).toBe("/burstable");
  expect(qosDir("BestEffort")).toBe("/besteffort");
});

test("cpu shares and quota: milliCPU*1024/1000 (min 2), milliCPU*period/1000 (min 1000)", () => {
  expect(milliCpuToShares(0)).toBe(2);
  expect(milliCpuToShares(1)).toBe(2);
  expect(milliCpuToShares(100)).toBe(102);
  expect(milliCpuToShares(250)).toBe(256);
  expect(milliCpuToShares(1000)).toBe(1024);
  expect(milliCpuToQuota(0)).toBe(0);
  expect(milliCpuToQuota(5)).toBe(1000);
  expect(milliCpuToQuota(500)).toBe(50000);
  expect(milliCpuToQuota(2000)).toBe(200000);
});

test("container resources: memory limit in bytes, shares from the request (or the limit), quota from the limit", () => {
  expect(containerResources(c({ limits: { memory: "100Mi", cpu: "500m" }, requests: { cpu: "250m" } }))).toEqual({
    cpu: { shares: 256, quota: 50000, period: 100000 }, memory: { limit: 104857600 },
  });
  expect(containerResources(c({ limits: { cpu: "1" } }))).toEqual({ cpu: { shares: 1024, quota: 100000, period: 100000 } });
  expect(containerResources(c())).toEqual({ cpu: { shares: 2, period: 100000 } });
});

test("pod cgroup: sums, limits only when every container has one", () => {
  const both = pod(c({ limits: { memory: "100Mi", cpu: "500m" } }), c({ limits: { memory: "50Mi", cpu: "250m" } }, "d"));
  expect(podResources(both, qosClass(both))).toEqual({ cpu: { shares: 768, quota: 75000, period: 100000 }, memory: { limit: 157286400 } });
  const partly = pod(c({ limits: { memory: "100Mi" } }), c({ requests: { cpu: "100m" } }, "d"));
  expect(podResources(partly, "Burstable")).toEqual({ cpu: { shares: 102 } });
  expect(podResources(pod(c()), "BestEffort")).toEqual({ cpu: { shares: 2 } });
  // an init container bigger than the sum of the containers sets the pod's request
  const init: PodSpec = { ...pod(c({ requests: { cpu: "100m" } })), initContainers: [c({ requests: { cpu: "2" } }, "i")] };
  expect(podResources(init, "Burstable").cpu!.shares).toBe(2048);
});

test("oom_score_adj: -997 Guaranteed, 1000 BestEffort, Burstable by memory request", () => {
  const cap = 8 * 1024 ** 3;
  expect(oomScoreAdj(c(), "Guaranteed", cap)).toBe(-997);
  expect(oomScoreAdj(c(), "BestEffort", cap)).toBe(1000);
  expect(oomScoreAdj(c({ requests: { memory: "4Gi" } }), "Burstable", cap)).toBe(500);
  expect(oomScoreAdj(c({ requests: { cpu: "1" } }), "Burstable", cap)).toBe(999);
  expect(oomScoreAdj(c({ requests: { memory: "8Gi" } }), "Burstable", cap)).toBe(3);
});
