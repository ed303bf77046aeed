import { describe, expect, it } from "vitest";
import { decodeArray, decodeArrays, toArrayBuffer } from "./wire";

describe("wire", () => {
  it("decodes float64 from an unaligned DataView (ipywidgets delivers DataViews)", () => {
    const backing = new ArrayBuffer(8 * 3 + 3);
    const f = new Float64Array([1.5, -2, 3.25]);
    new Uint8Array(backing).set(new Uint8Array(f.buffer), 3);
    const dv = new DataView(backing, 3, 24);
    expect(Array.from(decodeArray({ name: "x", dtype: "<f8", shape: [3] }, dv))).toEqual([1.5, -2, 3.25]);
  });

  it("converts int64 steps to numbers", () => {
    const big = new BigInt64Array([0n, 7n, 123456789n]);
    const out = decodeArray({ name: "step", dtype: "<i8", shape: [3] }, big);
    expect(Array.from(out)).toEqual([0, 7, 123456789]);
  });

  it("rejects a shape that does not match the bytes", () => {
    expect(() => decodeArray({ name: "x", dtype: "<f4", shape: [5] }, new Float32Array(4))).toThrow(/shape/);
  });

  it("rejects unknown and big-endian dtypes", () => {
    expect(() => decodeArray({ name: "x", dtype: "<c16", shape: [0] }, new ArrayBuffer(0))).toThrow(/unsupported/);
    expect(() => decodeArray({ name: "x", dtype: ">f8", shape: [0] }, new ArrayBuffer(0))).toThrow(/big-endian/);
  });

  it("decodes several arrays by name", () => {
    const r = decodeArrays(
      [
        { name: "a", dtype: "|u1", shape: [2] },
        { name: "b", dtype: "<i4", shape: [1] },
      ],
      [new Uint8Array([1, 2]), new Int32Array([-5])],
    );
    expect(Array.from(r.a)).toEqual([1, 2]);
    expect(Array.from(r.b)).toEqual([-5]);
  });

  it("copies a view into a standalone buffer", () => {
    const u = new Uint8Array([9, 8, 7, 6]);
    const b = toArrayBuffer(new DataView(u.buffer, 1, 2));
    expect(Array.from(new Uint8Array(b))).toEqual([8, 7]);
  });
});
