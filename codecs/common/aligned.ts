/**
 * `count` buffers of `size` bytes carved from one allocation at 64-byte
 * strides, so every shard starts on a cache line and all are aligned alike:
 * gf-complete's SIMD region multiply (reed_sol_van) needs equal alignment
 * modulo 16, and misaligned shards cost the C layer a bounce copy.
 */
export function allocAlignedShards(count: number, size: number): Uint8Array[] {
  const stride = Math.ceil(size / 64) * 64;
  const backing = Buffer.allocUnsafeSlow(stride * count + 64);
  const skew = (64 - (backing.byteOffset % 64)) % 64;
  return Array.from({ length: count }, (_, i) => backing.subarray(skew + i * stride, skew + i * stride + size));
}
