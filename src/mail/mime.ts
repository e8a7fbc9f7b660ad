/**
 * One pass over the MIME tree of a raw message, before mailparser sees it: the facts the
 * limits (src/mail/limits.ts), the charset repair (src/mail/charset.ts) and the PGP checks
 * need. It uses the splitter mailparser itself uses (@zone-eu/mailsplit, same options), so
 * both see the same tree. Bodies are not kept, except the transfer-decoded bytes of inline
 * text parts (bounded) and the raw bytes of the signed content of a `multipart/signed`.
 *
 * The pass stops early once the node count or the depth passes the given bounds, so a
 * hostile message costs at most one look at its bytes.
 */
import type { EventEmitter } from 'node:events';
import { Joiner, Splitter } from '@zone-eu/mailsplit';
import type { MimeNode, SplitterChunk } from '@zone-eu/mailsplit';
import { slices } from '../bytes.js';

export interface MimeLeaf {
  /** Position of the node in the tree walk (root = 0); stable for the same bytes. */
  index: number;
  contentType: string;
  /** Declared charset, lower case; null when there is none. */
  charset: string | null;
  /** Content-Transfer-Encoding, lower case; null when there is none. */
  encoding: string | null;
  disposition: string | null;
  filename: string | null;
  depth: number;
  /** Inside a message/rfc822 part that the parser reads as a nested message. */
  embedded: boolean;
  /** Raw (still transfer-encoded) body bytes. */
  bodyBytes: number;
  /** Inline text parts only: the body, transfer-decoded (bounded by `maxTextBytes`). */
  decoded: Buffer | null;
}

export interface MimeScan {
  /** Number of MIME entities, the root included. */
  nodes: number;
  /** Largest number of ancestors of any entity (a single-part message has 0). */
  depth: number;
  /** Bytes of all header blocks, of every entity. */
  headerBytes: number;
  leaves: MimeLeaf[];
  /** Indexes of `message/rfc822` parts read as nested messages (inline forwards). */
  embedded: number[];
  /** `multipart/encrypted`, or a PGP/MIME or S/MIME encrypted part in another container. */
  encrypted: string | null;
  /** The raw bytes of the signed content of the first `multipart/signed`, if any. */
  signedContent: Buffer | null;
  /** Why the pass stopped before the end (a bound was passed), else null. */
  stopped: 'nodes' | 'depth' | null;
  /** The splitter failed on these bytes (the parser would too). */
  error: string | null;
}

export interface ScanBounds {
  /** Stop once more than this many entities were seen. */
  maxNodes: number;
  /** Stop once an entity is deeper than this. */
  maxDepth: number;
  /** Keep at most this many decoded bytes per text part. */
  maxTextBytes: number;
}

interface Sink {
  write(chunk: Buffer): boolean;
  end(): unknown;
  readonly destroyed: boolean;
}

/**
 * Writes `raw` into `stream` in slices (src/bytes.ts), waiting for 'drain' when it asks to,
 * then ends it. Stops writing (without ending) once the stream is destroyed.
 */
function writeSliced(stream: Sink, raw: Buffer): void {
  const views = slices(raw);
  const more = (): void => {
    for (let next = views.next(); !next.done; next = views.next()) {
      if (stream.destroyed) return;
      if (!stream.write(next.value)) {
        emitter(stream).once('drain', more);
        return;
      }
    }
    if (!stream.destroyed) stream.end();
  };
  more();
}

/** The splitter's typings declare only its 'data' event; they are streams like any other. */
function emitter(stream: object): EventEmitter {
  return stream as EventEmitter;
}

/**
 * The splitter's own per-part header cap, set so that it never triggers (the header caps are
 * ours, in limits.ts): it counts each header line as at least 64 bytes.
 */
function headCostBound(raw: Buffer): number {
  return raw.length * 64 + 1024;
}

function depthOf(node: MimeNode): number {
  let d = 0;
  for (let p = node.parentNode; p; p = p.parentNode) d += 1;
  return d;
}

function isWithin(node: MimeNode, ancestor: MimeNode): boolean {
  for (let p: MimeNode | false = node; p; p = p.parentNode as MimeNode | false)
    if (p === ancestor) return true;
  return false;
}

function insideEmbedded(node: MimeNode): boolean {
  for (let p = node.parentNode; p; p = p.parentNode) if (p.messageNode) return true;
  return false;
}

/** Quoted-printable to bytes (RFC 2045 §6.7); lenient: a malformed escape stays as it is. */
export function decodeQuotedPrintable(input: Buffer): Buffer {
  const out = Buffer.alloc(input.length);
  let n = 0;
  for (let i = 0; i < input.length; i += 1) {
    const c = input[i] as number;
    if (c !== 0x3d) {
      out[n++] = c;
      continue;
    }
    const a = input[i + 1];
    const b = input[i + 2];
    if (a === 0x0d && b === 0x0a) {
      i += 2; // soft line break (CRLF)
    } else if (a === 0x0a) {
      i += 1; // soft line break (LF)
    } else if (a !== undefined && b !== undefined && /^[0-9A-Fa-f]{2}$/.test(String.fromCharCode(a, b))) {
      out[n++] = parseInt(String.fromCharCode(a, b), 16);
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

function transferDecode(body: Buffer, encoding: string | null): Buffer {
  if (encoding === 'base64')
    return Buffer.from(body.toString('latin1').replace(/[^A-Za-z0-9+/]/g, ''), 'base64');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

function isInlineText(node: MimeNode): boolean {
  return (
    /^text\/(plain|html)$/i.test(node.contentType || '') &&
    node.disposition !== 'attachment' &&
    !node.filename
  );
}

const ENCRYPTED_TYPES = /^application\/(pgp-encrypted|pkcs7-mime|x-pkcs7-mime)$/i;

/** Walks the MIME tree of `raw` once (see the file comment). Never throws. */
export async function scanMime(raw: Buffer, bounds: ScanBounds): Promise<MimeScan> {
  const scan: MimeScan = {
    nodes: 0,
    depth: 0,
    headerBytes: 0,
    leaves: [],
    embedded: [],
    encrypted: null,
    signedContent: null,
    stopped: null,
    error: null,
  };
  const splitter = new Splitter({ maxChildNodes: bounds.maxNodes + 2, maxHeadSize: headCostBound(raw) });
  const bodies = new Map<MimeNode, { leaf: MimeLeaf; chunks: Buffer[]; kept: number }>();
  let signedNode: MimeNode | null = null;
  let signedChild: MimeNode | null = null;
  const signedChunks: Buffer[] = [];

  await new Promise<void>((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      resolve();
    };
    const stop = (why: 'nodes' | 'depth') => {
      scan.stopped = why;
      splitter.removeAllListeners('data');
      splitter.destroy();
      finish();
    };
    splitter.on('data', (chunk: SplitterChunk) => {
      if (chunk.type === 'node') {
        const node = chunk;
        const index = scan.nodes;
        scan.nodes += 1;
        const depth = depthOf(node);
        scan.depth = Math.max(scan.depth, depth);
        const head = node.getHeaders();
        scan.headerBytes += head.length;
        if (scan.nodes > bounds.maxNodes) return stop('nodes');
        if (depth > bounds.maxDepth) return stop('depth');
        const type = (node.contentType || 'text/plain').toLowerCase();
        // What a forwarded message inside holds is not this sender's (signature, encryption).
        const own = !insideEmbedded(node);
        const encrypted =
          type === 'multipart/encrypted' ||
          (ENCRYPTED_TYPES.test(type) && !/signed-data/i.test(head.toString('latin1')));
        if (own && encrypted) {
          scan.encrypted ??= type;
        }
        if (node.messageNode) scan.embedded.push(index);
        if (own && type === 'multipart/signed' && !signedNode) signedNode = node;
        else if (signedNode && !signedChild && node.parentNode === signedNode) signedChild = node;
        if (signedChild && isWithin(node, signedChild)) signedChunks.push(head);
        if (!node.multipart && !node.messageNode) {
          const leaf: MimeLeaf = {
            index,
            contentType: type,
            charset: node.charset ? node.charset.toLowerCase() : null,
            encoding: node.encoding ? node.encoding.toLowerCase() : null,
            disposition: node.disposition ? node.disposition.toLowerCase() : null,
            filename: node.filename || null,
            depth,
            embedded: insideEmbedded(node),
            bodyBytes: 0,
            decoded: null,
          };
          scan.leaves.push(leaf);
          bodies.set(node, { leaf, chunks: [], kept: 0 });
        }
        return;
      }
      if (signedChild && isWithin(chunk.node, signedChild)) signedChunks.push(chunk.value);
      if (chunk.type !== 'body') return;
      const body = bodies.get(chunk.node);
      if (!body) return;
      body.leaf.bodyBytes += chunk.value.length;
      // Encoded text is at most ~4/3 of the decoded size; keep a little more than needed.
      if (isInlineText(chunk.node) && body.kept < bounds.maxTextBytes * 2) {
        body.chunks.push(chunk.value);
        body.kept += chunk.value.length;
      }
    });
    const stream = emitter(splitter);
    stream.on('error', (err: Error) => {
      scan.error = err.message;
      finish();
    });
    stream.on('end', finish);
    writeSliced(splitter, raw);
  });

  for (const [node, body] of bodies) {
    if (!isInlineText(node) || body.chunks.length === 0) continue;
    body.leaf.decoded = transferDecode(Buffer.concat(body.chunks), body.leaf.encoding).subarray(
      0,
      bounds.maxTextBytes,
    );
  }
  if (signedChild) scan.signedContent = Buffer.concat(signedChunks);
  return scan;
}

/** Changes to the copy of a message given to the parser (never to the stored raw). */
export interface ParseEdits {
  /** Node index → the charset its Content-Type should declare. */
  charsets: ReadonlyMap<number, string>;
  /** Indexes of nested `message/rfc822` parts to be read as attachments. */
  asAttachment: ReadonlySet<number>;
}

/**
 * Re-serialises `raw` with the header edits applied (splitter → joiner: every other byte is
 * kept as it was). Returns `raw` itself when there is nothing to change.
 */
export async function editForParsing(raw: Buffer, edits: ParseEdits): Promise<Buffer> {
  if (edits.charsets.size === 0 && edits.asAttachment.size === 0) return raw;
  const splitter = new Splitter({ maxHeadSize: headCostBound(raw), maxChildNodes: Number.MAX_SAFE_INTEGER });
  const joiner = new Joiner();
  const out: Buffer[] = [];
  let index = 0;
  await new Promise<void>((resolve, reject) => {
    splitter.on('data', (chunk: SplitterChunk) => {
      if (chunk.type === 'node') {
        const charset = edits.charsets.get(index);
        if (charset) chunk.setCharset(charset);
        if (edits.asAttachment.has(index) && chunk.headers) {
          chunk.headers.update('Content-Disposition', 'attachment');
        }
        index += 1;
      }
      joiner.write(chunk);
    });
    const input = emitter(splitter);
    const output = emitter(joiner);
    input.on('end', () => joiner.end());
    input.on('error', reject);
    output.on('data', (b: Buffer) => out.push(b));
    output.on('end', () => resolve());
    output.on('error', reject);
    writeSliced(splitter, raw);
  });
  return Buffer.concat(out);
}
