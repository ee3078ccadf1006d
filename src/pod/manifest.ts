// Reading a Pod manifest: YAML (or JSON) -> the checked PodManifest. One error line names the
// file and the field path (`pod.yaml: spec.containers[0].image: required`); unknown fields come
// back as warnings. Nothing here touches the system.
import { yaml } from "./yaml.ts";
import { BuncError } from "../errors.ts";
import { parseQuantity, quantityMilli, quantityValue } from "./quantity.ts";
import { any, arr, bool, check, int, map, obj, quantity, str, strMap, type CheckContext, type Field, type Node } from "./schema.ts";
import type { ContainerSpec, PodManifest } from "./types.ts";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const label = (what: string) => (v: string) =>
  v.length > 63 || !DNS_LABEL.test(v) ? `${JSON.stringify(v)} is not a valid ${what} (lowercase letters, digits and "-", at most 63, starting and ending alphanumeric)` : undefined;
const subdomain = (v: string) =>
  v.length > 253 || !DNS_SUBDOMAIN.test(v) ? `${JSON.stringify(v)} is not a valid name (lowercase RFC 1123 subdomain: letters, digits, "-" and ".")` : undefined;
const absPath = (v: string) => (v.startsWith("/") ? undefined : `${JSON.stringify(v)} must be an absolute path`);

const CLUSTER_ONLY = ""; // accepted and ignored without a word: it only means something to a cluster
const NO_PROBES = "probes are not implemented; ignored";
const NO_API = "bunc runs pods without an API server, so references to other objects are not supported; give the values literally";

const handler: Node = obj({
  exec: { node: obj({ command: { node: arr(str(), true), required: true } }) },
  sleep: { node: obj({ seconds: { node: int(0), required: true } }) },
  httpGet: { refuse: "httpGet handlers are not supported yet (use exec)" },
  tcpSocket: { refuse: "tcpSocket handlers are not supported yet (use exec)" },
});

const capabilityList = arr(str({ check: (v) => (/^[A-Za-z_]+$/.test(v) ? undefined : `${JSON.stringify(v)} is not a capability name`) }));

const securityContext: Node = obj({
  runAsUser: { node: int(0) },
  runAsGroup: { node: int(0) },
  runAsNonRoot: { node: bool },
  privileged: { node: bool },
  readOnlyRootFilesystem: { node: bool },
  allowPrivilegeEscalation: { node: bool },
  capabilities: { node: obj({ add: { node: capabilityList }, drop: { node: capabilityList } }) },
  procMount: { node: str({ enum: ["Default"] }) },
  seccompProfile: { ignore: "seccomp profiles are not applied by bunc pod yet; ignored" },
  appArmorProfile: { ignore: "AppArmor profiles are not applied by bunc pod; ignored" },
  seLinuxOptions: { ignore: "SELinux options are not applied by bunc pod; ignored" },
  windowsOptions: { ignore: CLUSTER_ONLY },
});

const resourceMap: Node = map(quantity);

const container: Node = obj({
  name: { node: str({ check: label("container name") }), required: true },
  image: { node: str({ check: (v) => (v.trim() === "" ? "must not be empty" : undefined) }), required: true },
  command: { node: arr(str()) },
  args: { node: arr(str()) },
  workingDir: { node: str({ check: absPath }) },
  env: {
    node: arr(obj({
      name: { node: str({ check: (v) => (v === "" || v.includes("=") ? `${JSON.stringify(v)} is not a valid variable name` : undefined) }), required: true },
      value: { node: str() },
      valueFrom: { refuse: `valueFrom is not supported: ${NO_API}` },
    })),
  },
  envFrom: { refuse: `envFrom is not supported: ${NO_API}` },
  resources: {
    node: obj({
      limits: { node: resourceMap },
      requests: { node: resourceMap },
      claims: { refuse: "resource claims are not supported" },
    }),
  },
  volumeMounts: {
    node: arr(obj({
      name: { node: str(), required: true },
      mountPath: { node: str({ check: absPath }), required: true },
      readOnly: { node: bool },
      subPath: { node: str({ check: (v) => (v.startsWith("/") || v.split("/").includes("..") ? `${JSON.stringify(v)} must be a relative path without ".."` : undefined) }) },
      subPathExpr: { refuse: "subPathExpr is not supported (use subPath)" },
      mountPropagation: { node: str({ enum: ["None", "HostToContainer", "Bidirectional"] }) },
      recursiveReadOnly: { ignore: "recursiveReadOnly is not implemented; ignored (readOnly applies to the mount itself)" },
    })),
  },
  volumeDevices: { refuse: "volumeDevices are not supported" },
  lifecycle: { node: obj({ postStart: { node: handler }, preStop: { node: handler }, stopSignal: { refuse: "lifecycle.stopSignal is not supported" } }) },
  securityContext: { node: securityContext },
  terminationMessagePath: { node: str({ check: absPath }) },
  terminationMessagePolicy: { node: str({ enum: ["File", "FallbackToLogsOnError"] }) },
  livenessProbe: { ignore: NO_PROBES },
  readinessProbe: { ignore: NO_PROBES },
  startupProbe: { ignore: NO_PROBES },
  ports: { node: arr(any) },
  imagePullPolicy: { node: str({ enum: ["Always", "IfNotPresent", "Never"] }) },
  stdin: { ignore: "stdin is not attached to pod containers; ignored" },
  stdinOnce: { ignore: CLUSTER_ONLY },
  tty: { ignore: "pod containers get no terminal; ignored" },
  restartPolicy: { refuse: "a container-level restartPolicy (sidecar containers) is not supported" },
  resizePolicy: { ignore: CLUSTER_ONLY },
});

const volume: Node = obj({
  name: { node: str({ check: label("volume name") }), required: true },
  emptyDir: {
    node: obj({ medium: { node: str({ enum: ["", "Memory"] }) }, sizeLimit: { node: quantity } }),
  },
  hostPath: {
    node: obj({
      path: { node: str({ check: absPath }), required: true },
      type: { node: str({ enum: ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"] }) },
    }),
  },
  ...Object.fromEntries(["configMap", "secret", "projected", "downwardAPI", "persistentVolumeClaim", "ephemeral", "csi", "nfs", "image",
    "iscsi", "rbd", "cephfs", "fc", "flexVolume", "gitRepo", "awsElasticBlockStore", "gcePersistentDisk", "azureDisk", "azureFile",
    "cinder", "glusterfs", "portworxVolume", "quobyte", "scaleIO", "storageos", "vsphereVolume", "photonPersistentDisk", "flocker"]
    .map((k): [string, Field] => [k, { refuse: `${k} volumes are not supported (bunc pod supports emptyDir and hostPath)` }])),
});

const podSpec: Node = obj({
  containers: { node: arr(container, true), required: true },
  initContainers: { node: arr(container) },
  ephemeralContainers: { refuse: "ephemeral containers are not supported" },
  restartPolicy: { node: str({ enum: ["Always", "OnFailure", "Never"] }) },
  terminationGracePeriodSeconds: { node: int(0) },
  activeDeadlineSeconds: { node: int(1) },
  hostname: { node: str({ check: label("hostname") }) },
  subdomain: { node: str({ check: label("subdomain") }) },
  setHostnameAsFQDN: { refuse: "setHostnameAsFQDN is not supported" },
  hostNetwork: { node: bool },
  hostPID: { node: bool },
  hostIPC: { node: bool },
  hostUsers: { refuse: "hostUsers (user namespaces) is not supported by bunc pod yet" },
  shareProcessNamespace: { node: bool },
  volumes: { node: arr(volume) },
  securityContext: {
    node: obj({
      runAsUser: { node: int(0) },
      runAsGroup: { node: int(0) },
      runAsNonRoot: { node: bool },
      supplementalGroups: { node: arr(int(0)) },
      sysctls: { node: arr(obj({ name: { node: str(), required: true }, value: { node: str(), required: true } })) },
      fsGroup: { ignore: "fsGroup is not applied by bunc pod; ignored" },
      fsGroupChangePolicy: { ignore: CLUSTER_ONLY },
      supplementalGroupsPolicy: { ignore: CLUSTER_ONLY },
      seccompProfile: { ignore: "seccomp profiles are not applied by bunc pod yet; ignored" },
      appArmorProfile: { ignore: "AppArmor profiles are not applied by bunc pod; ignored" },
      seLinuxOptions: { ignore: "SELinux options are not applied by bunc pod; ignored" },
      seLinuxChangePolicy: { ignore: CLUSTER_ONLY },
      windowsOptions: { ignore: CLUSTER_ONLY },
    }),
  },
  hostAliases: { node: arr(obj({ ip: { node: str(), required: true }, hostnames: { node: arr(str()) } })) },
  dnsPolicy: { ignore: CLUSTER_ONLY },
  dnsConfig: { ignore: "dnsConfig is not applied (the pod gets the host's /etc/resolv.conf); ignored" },
  ...Object.fromEntries(["nodeName", "nodeSelector", "affinity", "tolerations", "schedulerName", "priority", "priorityClassName",
    "preemptionPolicy", "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "enableServiceLinks", "imagePullSecrets",
    "runtimeClassName", "topologySpreadConstraints", "overhead", "readinessGates", "os", "schedulingGates", "resourceClaims", "resources"]
    .map((k): [string, Field] => [k, { ignore: CLUSTER_ONLY }])),
});

const pod: Node = obj({
  apiVersion: { node: str({ enum: ["v1"] }), required: true },
  kind: { node: str({ enum: ["Pod"] }), required: true },
  metadata: {
    required: true,
    node: obj({
      name: { node: str({ check: subdomain }), required: true },
      namespace: { node: str({ check: label("namespace") }) },
      labels: { node: strMap },
      annotations: { node: strMap },
      generateName: { refuse: "generateName is not supported: give metadata.name" },
      ...Object.fromEntries(["uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
        "selfLink", "managedFields", "ownerReferences", "finalizers"].map((k): [string, Field] => [k, { ignore: CLUSTER_ONLY }])),
    }),
  },
  spec: { node: podSpec, required: true },
  status: { ignore: CLUSTER_ONLY },
});

/** Check resources.{limits,requests}: known names, valid quantities, request <= limit. */
function checkResources(c: ContainerSpec, path: string, ctx: CheckContext): void {
  const r = c.resources;
  if (!r) return;
  for (const kind of ["limits", "requests"] as const) {
    for (const name of Object.keys(r[kind] ?? {})) {
      const p = `${path}.resources.${kind}.${name}`;
      if (name !== "cpu" && name !== "memory") {
        ctx.warnings.push(`${ctx.file}: ${p}: only cpu and memory are enforced; ignored`);
      }
    }
  }
  for (const name of ["cpu", "memory"]) {
    const lim = r.limits?.[name], req = r.requests?.[name];
    if (lim === undefined || req === undefined) continue;
    const toNum = name === "cpu" ? quantityMilli : quantityValue;
    if (toNum(parseQuantity(req)!) > toNum(parseQuantity(lim)!))
      throw new BuncError(`${ctx.file}: ${path}.resources.requests.${name}: must be less than or equal to the ${name} limit`);
  }
}

/** Checks across fields: unique names, mounts that name a volume, one source per volume. */
function checkCrossFields(p: PodManifest, ctx: CheckContext): void {
  const f = ctx.file;
  const volumes = new Set<string>();
  (p.spec.volumes ?? []).forEach((v, i) => {
    if (volumes.has(v.name)) throw new BuncError(`${f}: spec.volumes[${i}].name: duplicate volume name "${v.name}"`);
    volumes.add(v.name);
    const sources = (["emptyDir", "hostPath"] as const).filter((k) => v[k] !== undefined);
    if (sources.length !== 1)
      throw new BuncError(`${f}: spec.volumes[${i}]: ${sources.length ? "must have exactly one volume source" : "needs a volume source (emptyDir or hostPath)"}`);
  });
  const names = new Set<string>();
  const groups = [["initContainers", p.spec.initContainers ?? []], ["containers", p.spec.containers]] as const;
  for (const [key, list] of groups) {
    list.forEach((c, i) => {
      const path = `spec.${key}[${i}]`;
      if (names.has(c.name)) throw new BuncError(`${f}: ${path}.name: duplicate container name "${c.name}"`);
      names.add(c.name);
      checkResources(c, path, ctx);
      const paths = new Set<string>();
      (c.volumeMounts ?? []).forEach((m, j) => {
        if (!volumes.has(m.name)) throw new BuncError(`${f}: ${path}.volumeMounts[${j}].name: no volume named "${m.name}" in spec.volumes`);
        if (paths.has(m.mountPath)) throw new BuncError(`${f}: ${path}.volumeMounts[${j}].mountPath: "${m.mountPath}" is mounted twice`);
        paths.add(m.mountPath);
      });
      for (const h of ["postStart", "preStop"] as const) {
        const hd = c.lifecycle?.[h];
        if (hd && !hd.exec && !hd.sleep) throw new BuncError(`${f}: ${path}.lifecycle.${h}: needs a handler (exec or sleep)`);
      }
      if (key === "initContainers" && c.lifecycle) throw new BuncError(`${f}: ${path}.lifecycle: init containers may not have lifecycle hooks`);
    });
  }
  const s = p.spec;
  if (s.shareProcessNamespace && s.hostPID) throw new BuncError(`${f}: spec.shareProcessNamespace: may not be set with hostPID`);
  if (s.hostNetwork && s.hostname) ctx.warnings.push(`${f}: spec.hostname: ignored with hostNetwork (the pod has the host's hostname)`);
}

export interface LoadedManifest {
  pod: PodManifest;
  warnings: string[];
}

/** Parse and check a manifest's text; `file` names it in messages. Warnings found before an
 * error go to onWarning before the error is thrown (a misspelt field explains a missing one). */
export function parseManifest(text: string, file: string, onWarning?: (w: string) => void): LoadedManifest {
  const docs = yaml().parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(docs)) throw new BuncError(`${file}: not a YAML document`);
  const nonEmpty = docs.filter((d) => d.contents !== null || d.errors.length > 0);
  if (nonEmpty.length === 0) throw new BuncError(`${file}: empty manifest (want one Pod)`);
  for (const d of nonEmpty) {
    const e = d.errors[0];
    if (e) {
      const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}: ` : "";
      throw new BuncError(`${file}: not valid YAML: ${where}${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`);
    }
  }
  if (nonEmpty.length > 1) throw new BuncError(`${file}: holds ${nonEmpty.length} YAML documents; give one Pod`);
  const raw = nonEmpty[0]!.toJS({ maxAliasCount: 100 }) as unknown;
  const ctx: CheckContext = { file, warnings: [] };
  try {
    check(pod, raw, "", ctx);
    checkCrossFields(raw as PodManifest, ctx);
  } catch (e) {
    // what was wrong besides the error (a misspelt field next to a "required" one) helps too
    for (const w of ctx.warnings) onWarning?.(w);
    throw e;
  }
  return { pod: raw as PodManifest, warnings: ctx.warnings };
}
