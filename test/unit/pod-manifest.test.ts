// Manifest checking: one error line naming the file and the field path; warnings for unknown
// fields; clear refusals for what bunc does not do.
import { describe, expect, test } from "bun:test";
import { stringify } from "yaml";
import { parseManifest } from "../../src/pod/manifest.ts";

const base = () => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web" },
  spec: { containers: [{ name: "app", image: "/rootfs", command: ["sh"] }] } as Record<string, any>,
});

function errorOf(doc: unknown): string {
  try {
    parseManifest(typeof doc === "string" ? doc : stringify(doc), "pod.yaml");
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("no error");
}

describe("valid manifests", () => {
  test("a minimal pod parses, with no warnings", () => {
    const r = parseManifest(stringify(base()), "pod.yaml");
    expect(r.pod.metadata.name).toBe("web");
    expect(r.pod.spec.containers[0]!.command).toEqual(["sh"]);
    expect(r.warnings).toEqual([]);
  });

  test("JSON is YAML too", () => {
    expect(parseManifest(JSON.stringify(base()), "pod.json").pod.kind).toBe("Pod");
  });

  test("unknown fields are warnings naming the field path", () => {
    const d = base();
    (d.spec.containers[0] as any).imagee = "x";
    (d as any).extra = 1;
    const r = parseManifest(stringify(d), "pod.yaml");
    expect(r.warnings).toEqual(["pod.yaml: extra: unknown field, ignored", "pod.yaml: spec.containers[0].imagee: unknown field, ignored"]);
  });

  test("cluster-only fields are accepted silently; probes are warned about", () => {
    const d = base();
    d.spec.nodeSelector = { a: "b" };
    d.spec.tolerations = [];
    d.spec.containers[0].livenessProbe = { exec: { command: ["true"] } };
    d.spec.containers[0].ports = [{ containerPort: 80 }];
    expect(parseManifest(stringify(d), "p.yaml").warnings).toEqual(["p.yaml: spec.containers[0].livenessProbe: probes are not implemented; ignored"]);
  });

  test("quantities may be numbers or strings", () => {
    const d = base();
    d.spec.containers[0].resources = { limits: { cpu: 1, memory: "100Mi" }, requests: { cpu: "500m" } };
    expect(parseManifest(stringify(d), "p.yaml").warnings).toEqual([]);
  });
});

describe("bad manifests: one line with the field path", () => {
  test("not YAML", () => {
    expect(errorOf("a: [")).toMatch(/^pod\.yaml: not valid YAML: line 1, column \d+: /);
  });

  test("not a Pod", () => {
    expect(errorOf({ ...base(), kind: "Deployment" })).toBe('pod.yaml: kind: must be one of "Pod", not "Deployment"');
    expect(errorOf({ ...base(), apiVersion: "apps/v1" })).toBe('pod.yaml: apiVersion: must be one of "v1", not "apps/v1"');
    expect(errorOf("just a string")).toBe('pod.yaml: (top level): must be a mapping, not a string ("just a string")');
    expect(errorOf("")).toBe("pod.yaml: empty manifest (want one Pod)");
    expect(errorOf(`${stringify(base())}---\n${stringify(base())}`)).toBe("pod.yaml: holds 2 YAML documents; give one Pod");
  });

  test("missing required fields", () => {
    const d = base();
    delete (d.spec.containers[0] as any).image;
    expect(errorOf(d)).toBe("pod.yaml: spec.containers[0].image: required");
    expect(errorOf({ ...base(), metadata: {} })).toBe("pod.yaml: metadata.name: required");
    expect(errorOf({ ...base(), spec: { containers: [] } })).toBe("pod.yaml: spec.containers: must not be empty");
  });

  test("wrong types", () => {
    const d = base();
    d.spec.containers[0].command = "sh";
    expect(errorOf(d)).toBe('pod.yaml: spec.containers[0].command: must be a list, not a string ("sh")');
    const e = base();
    e.spec.containers[0].env = [{ name: "A", value: 1 }];
    expect(errorOf(e)).toBe("pod.yaml: spec.containers[0].env[0].value: must be a string, not a number (1)");
    const g = base();
    g.spec.terminationGracePeriodSeconds = -1;
    expect(errorOf(g)).toBe("pod.yaml: spec.terminationGracePeriodSeconds: must be at least 0");
  });

  test("names", () => {
    expect(errorOf({ ...base(), metadata: { name: "Web_1" } })).toMatch(/^pod\.yaml: metadata\.name: "Web_1" is not a valid name/);
    const d = base();
    d.spec.containers.push({ name: "app", image: "/x" });
    expect(errorOf(d)).toBe('pod.yaml: spec.containers[1].name: duplicate container name "app"');
  });

  test("unsupported features are refused with a reason", () => {
    const d = base();
    d.spec.containers[0].env = [{ name: "A", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }];
    expect(errorOf(d)).toMatch(/^pod\.yaml: spec\.containers\[0\]\.env\[0\]\.valueFrom: valueFrom is not supported/);
    const h = base();
    h.spec.containers[0].lifecycle = { preStop: { httpGet: { port: 80 } } };
    expect(errorOf(h)).toBe("pod.yaml: spec.containers[0].lifecycle.preStop.httpGet: httpGet handlers are not supported yet (use exec)");
    const v = base();
    v.spec.volumes = [{ name: "cfg", configMap: { name: "x" } }];
    expect(errorOf(v)).toBe("pod.yaml: spec.volumes[0].configMap: configMap volumes are not supported (bunc pod supports emptyDir and hostPath)");
  });

  test("volume mounts must name a volume", () => {
    const d = base();
    d.spec.containers[0].volumeMounts = [{ name: "data", mountPath: "/data" }];
    expect(errorOf(d)).toBe('pod.yaml: spec.containers[0].volumeMounts[0].name: no volume named "data" in spec.volumes');
  });

  test("requests above limits, bad quantities", () => {
    const d = base();
    d.spec.containers[0].resources = { limits: { cpu: "1" }, requests: { cpu: "2" } };
    expect(errorOf(d)).toBe("pod.yaml: spec.containers[0].resources.requests.cpu: must be less than or equal to the cpu limit");
    const q = base();
    q.spec.containers[0].resources = { limits: { memory: "100MB" } };
    expect(errorOf(q)).toBe('pod.yaml: spec.containers[0].resources.limits.memory: "100MB" is not a quantity (e.g. 100Mi, 1Gi, 500m, 0.5)');
  });
});
