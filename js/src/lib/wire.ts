// Decoding numpy arrays sent by weightslab_nb/panels/wire.py: raw little-endian buffers with
// `{name, dtype, shape}` descriptors (numpy's `dtype.str`, e.g. "<f8", "<i8", "|u1").

import type { Buffer } from "./model";

export interface ArrayMeta {
  name: string;
  dtype: string;
  shape: number[];
}

/** Copy the bytes of any buffer-like value into a fresh, aligned ArrayBuffer. */
export function toArrayBuffer(buf: Buffer): ArrayBuffer {
  if (buf instanceof ArrayBuffer) return buf;
  const view = buf as ArrayBufferView;
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  return bytes.slice().buffer;
}

/** Bytes of a buffer-like value as a Uint8Array (no copy when possible). */
export function toBytes(buf: Buffer): Uint8Array {
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
  const view = buf as ArrayBufferView;
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

const NUMERIC: Record<string, (b: ArrayBuffer) => ArrayLike<number>> = {
  f8: (b) => new Float64Array(b),
  f4: (b) => new Float32Array(b),
  i4: (b) => new Int32Array(b),
  i2: (b) => new Int16Array(b),
  i1: (b) => new Int8Array(b),
  u4: (b) => new Uint32Array(b),
  u2: (b) => new Uint16Array(b),
  u1: (b) => new Uint8Array(b),
  b1: (b) => new Uint8Array(b),
};

/** Decode one array to a Float64Array (int64 values are converted to JS numbers). */
export function decodeArray(meta: ArrayMeta, buf: Buffer): Float64Array {
  const dtype = meta.dtype;
  const order = dtype[0];
  if (order === ">") throw new Error(`wire: big-endian dtype ${dtype} is not supported`);
  const kind = order === "<" || order === "|" || order === "=" ? dtype.slice(1) : dtype;
  const raw = toArrayBuffer(buf);
  const n = meta.shape.reduce((a, b) => a * b, 1);
  let src: ArrayLike<number>;
  if (kind === "i8" || kind === "u8") {
    const big = kind === "i8" ? new BigInt64Array(raw) : new BigUint64Array(raw);
    const out = new Float64Array(big.length);
    for (let i = 0; i < big.length; i++) out[i] = Number(big[i]);
    src = out;
  } else {
    const make = NUMERIC[kind];
    if (!make) throw new Error(`wire: unsupported dtype ${dtype}`);
    src = make(raw);
  }
  if (src.length !== n) {
    throw new Error(`wire: array ${meta.name} has ${src.length} values, shape says ${n}`);
  }
  return src instanceof Float64Array ? src : Float64Array.from(src);
}

/** Decode every array of a message: `msg.arrays[i]` describes `buffers[i]`. */
export function decodeArrays(metas: ArrayMeta[], buffers: Buffer[]): Record<string, Float64Array> {
  if (!Array.isArray(metas) || metas.length > buffers.length) {
    throw new Error(`wire: ${metas?.length} arrays described, ${buffers.length} buffers received`);
  }
  const out: Record<string, Float64Array> = {};
  metas.forEach((m, i) => {
    out[m.name] = decodeArray(m, buffers[i]);
  });
  return out;
}
