// Kubernetes quantities as kubelet reads them: exact, rounded up.
import { expect, test } from "bun:test";
import { parseQuantity, quantityMilli, quantityValue } from "../../src/pod/quantity.ts";

const bytes = (v: unknown) => quantityValue(parseQuantity(v)!);
const milli = (v: unknown) => quantityMilli(parseQuantity(v)!);

test("memory quantities in bytes", () => {
  expect(bytes("100Mi")).toBe(104857600);
  expect(bytes("1Gi")).toBe(1073741824);
  expect(bytes("1.5Gi")).toBe(1610612736);
  expect(bytes("128974848")).toBe(128974848);
  expect(bytes(128974848)).toBe(128974848);
  expect(bytes("129e6")).toBe(129000000);
  expect(bytes("129M")).toBe(129000000);
  expect(bytes("1k")).toBe(1000);
  expect(bytes("1Ki")).toBe(1024);
  expect(bytes("0.5")).toBe(1); // Value() rounds up
});

test("cpu quantities in milliCPU", () => {
  expect(milli("1")).toBe(1000);
  expect(milli(2)).toBe(2000);
  expect(milli("500m")).toBe(500);
  expect(milli("0.1")).toBe(100);
  expect(milli(0.25)).toBe(250);
  expect(milli("1.5")).toBe(1500);
  expect(milli("100u")).toBe(1); // MilliValue() rounds up
});

test("things that are not quantities", () => {
  for (const bad of ["", "abc", "1 Gi", "1GB", "1.2.3", "Mi", null, {}, [], true]) expect(parseQuantity(bad)).toBeUndefined();
});
