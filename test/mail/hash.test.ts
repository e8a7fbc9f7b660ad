/**
 * The ledger's keys (src/mail/inbound.ts): the SHA-256 of the raw bytes, and of the content
 * without trace headers (DESIGN.md §2 "Duplicates"). The content hash is computed on the
 * buffer without copying the body; it must give exactly the value of the plain formula below
 * (a changed value would make mail already in a store's ledger look new).
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contentHash } from '../../src/mail/inbound.js';

const TRACE = /^(received|return-path|delivered-to|x-original-to|authentication-results|arc-[a-z-]+)$/i;

/** The formula: the header fields but the trace ones, joined by LF, then the rest as it is. */
function reference(raw: Buffer): string {
  const text = raw.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  const end = m ? m.index : text.length;
  const fields: string[] = [];
  for (const line of text.slice(0, end).split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1] += `\n${line}`;
    else fields.push(line);
  }
  const kept = fields.filter((f) => !TRACE.test(f.slice(0, f.indexOf(':')).trim()));
  return createHash('sha256')
    .update(Buffer.from(`${kept.join('\n')}${text.slice(end)}`, 'latin1'))
    .digest('hex');
}

const DIRS = ['mime', 'imip', 'demo'].map((d) => new URL(`../../fixtures/${d}/`, import.meta.url));

describe('contentHash', () => {
  it('equals the formula on every fixture', () => {
    let n = 0;
    for (const dir of DIRS) {
      for (const name of readdirSync(dir)) {
        const raw = readFileSync(new URL(name, dir));
        expect(contentHash(raw), name).toBe(reference(raw));
        n += 1;
      }
    }
    expect(n).toBeGreaterThan(50);
  });

  it.each([
    ['CRLF', 'Received: x\r\nSubject: a\r\n\r\nbody\r\n'],
    ['LF', 'Received: x\nSubject: a\n\nbody\n'],
    ['LF then CRLF', 'Subject: a\n\r\nbody'],
    ['CR LF LF', 'Subject: a\r\n\nbody'],
    ['no blank line', 'Received: x\r\nSubject: a\r\n'],
    ['no line break at all', 'Subject: a'],
    ['starts with a blank line', '\r\n\r\nbody'],
    ['folded trace header', 'Received: from a\r\n\tby b\r\nSubject: a\r\n\r\nbody'],
    ['empty', ''],
  ])('equals the formula: %s', (_, text) => {
    const raw = Buffer.from(text, 'latin1');
    expect(contentHash(raw)).toBe(reference(raw));
  });

  it('ignores trace headers and nothing else', () => {
    const a = Buffer.from('Received: from a\r\nSubject: s\r\n\r\nbody\r\n');
    const b = Buffer.from('Received: from b\r\nReturn-Path: <x@y>\r\nSubject: s\r\n\r\nbody\r\n');
    const c = Buffer.from('Received: from a\r\nSubject: t\r\n\r\nbody\r\n');
    expect(contentHash(a)).toBe(contentHash(b));
    expect(contentHash(a)).not.toBe(contentHash(c));
  });
});
