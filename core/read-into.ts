/**
 * For DriveFile.read implementations whose bytes arrive in a buffer of their
 * own (memory, the node link): the bytes copied into the caller's `into`
 * when it gave one, so every drive answers a read the same way.
 */
export function placed(bytes: Uint8Array, into: Uint8Array | undefined): Uint8Array {
  if (!into) return bytes;
  into.set(bytes);
  return into.subarray(0, bytes.byteLength);
}

/** Pieces read in order, copied one after another into `into`; the view of what they fill. */
export function placedAll(pieces: readonly Uint8Array[], into: Uint8Array): Uint8Array {
  let at = 0;
  for (const p of pieces) {
    into.set(p, at);
    at += p.byteLength;
  }
  return into.subarray(0, at);
}
