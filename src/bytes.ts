/**
 * Large byte buffers handed to stream parsers and composers in slices (views, no copy). Given a
 * whole large message or attachment in one write, mailparser, the MIME splitter and
 * nodemailer's base64 encoder each hold several times its size at once; in 64 KiB slices
 * they hold a few slices (docs/performance.md, "Memory"). Imports nothing of the project.
 */
import { Readable } from 'node:stream';

export const SLICE_BYTES = 64 * 1024;

/** `bytes` as views of at most SLICE_BYTES each. */
export function* slices(bytes: Buffer): Generator<Buffer> {
  for (let i = 0; i < bytes.length; i += SLICE_BYTES) yield bytes.subarray(i, i + SLICE_BYTES);
}

/** `bytes` as a byte stream of SLICE_BYTES views. */
export function sliced(bytes: Buffer): Readable {
  return Readable.from(slices(bytes), { objectMode: false });
}
