// A tiny structural checker for manifests: each field has a type, may be required, refused
// (present -> error) or ignored (present -> a warning, or nothing for fields that only matter to
// a cluster). Errors and warnings name the field by its path: spec.containers[0].image.
import { BuncError } from "../errors.ts";
import { parseQuantity, isNegative } from "./quantity.ts";

export type Node =
  | { t: "str"; enum?: readonly string[]; check?: (v: string) => string | undefined }
  | { t: "int"; min?: number }
  | { t: "bool" }
  | { t: "quantity" }
  | { t: "strMap" }
  | { t: "arr"; of: Node; nonEmpty?: boolean }
  | { t: "map"; of: Node }
  | { t: "obj"; fields: Record<string, Field>; check?: (v: Record<string, unknown>, path: string) => string | undefined }
  | { t: "any" };

export interface Field {
  node?: Node;
  required?: boolean;
  /** present -> error with this text */
  refuse?: string;
  /** present -> a warning with this text ("" = accepted silently) */
  ignore?: string;
}

export const str = (o: Omit<Extract<Node, { t: "str" }>, "t"> = {}): Node => ({ t: "str", ...o });
export const int = (min?: number): Node => ({ t: "int", min });
export const bool: Node = { t: "bool" };
export const quantity: Node = { t: "quantity" };
export const strMap: Node = { t: "strMap" };
export const any: Node = { t: "any" };
export const map = (of: Node): Node => ({ t: "map", of });
export const arr = (of: Node, nonEmpty = false): Node => ({ t: "arr", of, nonEmpty });
export const obj = (fields: Record<string, Field>, check?: Extract<Node, { t: "obj" }>["check"]): Node => ({ t: "obj", fields, check });

export interface CheckContext {
  file: string;
  warnings: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `a ${typeof v} (${JSON.stringify(v)})`;
}

export function check(node: Node, v: unknown, path: string, ctx: CheckContext): void {
  const fail = (msg: string): never => {
    throw new BuncError(`${ctx.file}: ${path || "(top level)"}: ${msg}`);
  };
  switch (node.t) {
    case "any":
      return;
    case "str": {
      if (typeof v !== "string") fail(`must be a string, not ${typeName(v)}`);
      const s = v as string;
      if (node.enum && !node.enum.includes(s)) fail(`must be one of ${node.enum.map((e) => JSON.stringify(e)).join(", ")}, not ${JSON.stringify(s)}`);
      const bad = node.check?.(s);
      if (bad) fail(bad);
      return;
    }
    case "int":
      if (typeof v !== "number" || !Number.isInteger(v)) fail(`must be an integer, not ${typeName(v)}`);
      if (node.min !== undefined && (v as number) < node.min) fail(`must be at least ${node.min}`);
      return;
    case "bool":
      if (typeof v !== "boolean") fail(`must be true or false, not ${typeName(v)}`);
      return;
    case "quantity": {
      const q = parseQuantity(v);
      if (!q) fail(`${JSON.stringify(v)} is not a quantity (e.g. 100Mi, 1Gi, 500m, 0.5)`);
      if (isNegative(q!)) fail("must not be negative");
      return;
    }
    case "strMap":
      if (!isObj(v)) fail(`must be a mapping of strings, not ${typeName(v)}`);
      for (const [k, x] of Object.entries(v as object))
        if (typeof x !== "string") throw new BuncError(`${ctx.file}: ${path}.${k}: must be a string, not ${typeName(x)}`);
      return;
    case "arr":
      if (!Array.isArray(v)) fail(`must be a list, not ${typeName(v)}`);
      if (node.nonEmpty && (v as unknown[]).length === 0) fail("must not be empty");
      (v as unknown[]).forEach((x, i) => check(node.of, x, `${path}[${i}]`, ctx));
      return;
    case "map":
      if (!isObj(v)) fail(`must be a mapping, not ${typeName(v)}`);
      for (const [k, x] of Object.entries(v as object)) check(node.of, x, `${path}.${k}`, ctx);
      return;
    case "obj": {
      if (!isObj(v)) fail(`must be a mapping, not ${typeName(v)}`);
      const o = v as Record<string, unknown>;
      for (const name of Object.keys(o))
        if (!(name in node.fields)) ctx.warnings.push(`${ctx.file}: ${path ? `${path}.` : ""}${name}: unknown field, ignored`);
      for (const [name, f] of Object.entries(node.fields)) {
        const p = path ? `${path}.${name}` : name;
        if (o[name] === undefined || o[name] === null) {
          if (f.required) throw new BuncError(`${ctx.file}: ${p}: required`);
          delete o[name]; // YAML `key:` with no value means "not set", as for Kubernetes
          continue;
        }
        if (f.refuse) throw new BuncError(`${ctx.file}: ${p}: ${f.refuse}`);
        if (f.ignore !== undefined) {
          if (f.ignore) ctx.warnings.push(`${ctx.file}: ${p}: ${f.ignore}`);
          continue;
        }
        if (f.node) check(f.node, o[name], p, ctx);
      }
      const bad = node.check?.(o, path);
      if (bad) fail(bad);
      return;
    }
  }
}
