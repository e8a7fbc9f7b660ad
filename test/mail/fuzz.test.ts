/**
 * Fuzzing the inbound pipeline (DESIGN.md §6 "No input crashes the process"): 2,000 messages
 * mutated from the real fixtures and from mails into a seeded case (truncations, bit flips,
 * duplicated and huge headers, deep nesting, broken boundaries, line-ending changes, NULs).
 * Each one must come out of `ingest` as a handled outcome, never as an exception, with its raw
 * bytes kept; afterwards the store must be consistent.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CaseSnapshotSchema } from '../../src/case/schemas.js';
import { REPORTER, VENDOR, harness, mail } from './harness.js';

const DIR = new URL('../../fixtures/mime/', import.meta.url);
const COUNT = 2000;
const SEED = 0x5eed;

/** mulberry32: a small deterministic PRNG, so a failure is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Mutation = (raw: Buffer, rnd: () => number) => Buffer;
const int = (rnd: () => number, n: number) => Math.floor(rnd() * n);

const MUTATIONS: Record<string, Mutation> = {
  truncate: (raw, rnd) => raw.subarray(0, int(rnd, raw.length + 1)),
  bitflips: (raw, rnd) => {
    const out = Buffer.from(raw);
    for (let i = 0, n = 1 + int(rnd, 20); i < n && out.length > 0; i += 1) {
      const at = int(rnd, out.length);
      out[at] = (out[at] as number) ^ (1 << int(rnd, 8));
    }
    return out;
  },
  duplicateHeaders: (raw, rnd) => {
    const text = raw.toString('latin1');
    const end = text.search(/\r?\n\r?\n/);
    const head = end < 0 ? text : text.slice(0, end);
    const lines = head.split(/\r?\n/).filter((l) => /^[A-Za-z-]+:/.test(l));
    const pick = lines[int(rnd, lines.length)] ?? 'X-Empty:';
    const copies = Array.from({ length: 1 + int(rnd, 50) }, () => pick).join('\r\n');
    return Buffer.from(`${copies}\r\n${text}`, 'latin1');
  },
  hugeHeader: (raw, rnd) => {
    const folded = rnd() < 0.5;
    const value = folded
      ? Array.from({ length: 5000 }, (_, i) => `v${i}`).join('\r\n ')
      : 'h'.repeat(50_000 + int(rnd, 300_000));
    return Buffer.concat([Buffer.from(`X-Huge: ${value}\r\n`), raw]);
  },
  deepNesting: (raw, rnd) => {
    const levels = 5 + int(rnd, 60);
    let body = 'Content-Type: text/plain\r\n\r\n/valid\r\n';
    for (let i = levels; i >= 1; i -= 1) {
      body = `Content-Type: multipart/mixed; boundary="n${i}"\r\n\r\n--n${i}\r\n${body}\r\n--n${i}--\r\n`;
    }
    const text = raw.toString('latin1');
    const end = text.search(/\r?\n\r?\n/);
    const head = (end < 0 ? text : text.slice(0, end))
      .split(/\r?\n(?![ \t])/)
      .filter((l) => !/^content-(type|transfer-encoding):/i.test(l))
      .join('\r\n');
    return Buffer.from(`${head}\r\nMIME-Version: 1.0\r\n${body}`, 'latin1');
  },
  badBoundaries: (raw, rnd) => {
    let text = raw.toString('latin1');
    const m = /boundary="?([^";\r\n]+)"?/i.exec(text);
    if (!m) return Buffer.from(`${text}\r\n--orphan--\r\n--orphan\r\n`, 'latin1');
    const b = m[1] as string;
    const choice = int(rnd, 4);
    if (choice === 0)
      text = text.split(`--${b}--`).join(''); // never closed
    else if (choice === 1)
      text = text.replace(m[0], 'boundary=""'); // empty boundary
    else if (choice === 2)
      text = text.split(`--${b}`).join(`--${b.slice(0, -1)}`); // no part matches
    else text = text.replace(m[0], `boundary="${'x'.repeat(2000)}"`); // absurdly long
    return Buffer.from(text, 'latin1');
  },
  lineEndings: (raw, rnd) => {
    const text = raw.toString('latin1');
    const choice = int(rnd, 3);
    const out =
      choice === 0
        ? text.replace(/\r\n/g, '\n')
        : choice === 1
          ? text.replace(/\r?\n/g, '\r')
          : text.replace(/\n/g, '\r\r\n');
    return Buffer.from(out, 'latin1');
  },
  garbage: (raw, rnd) => {
    const at = int(rnd, raw.length + 1);
    const junk = Buffer.alloc(1 + int(rnd, 200));
    for (let i = 0; i < junk.length; i += 1) junk[i] = rnd() < 0.3 ? 0 : int(rnd, 256);
    return Buffer.concat([raw.subarray(0, at), junk, raw.subarray(at)]);
  },
};

const HANDLED = new Set([
  'applied',
  'opened',
  'ignored',
  'duplicate',
  'quarantined',
  'bounce',
  'rejected-command',
  'auto-reply',
]);

describe('fuzz: mutated messages never escape the pipeline', () => {
  it(`${COUNT} mutants of the fixtures and of case mails: each handled, raw kept, store consistent`, async () => {
    const rnd = prng(SEED);
    const h = harness({ limits: { maxMessageBytes: 2_000_000 } });
    const id = await h.seedCase();
    const bases: Buffer[] = [
      ...readdirSync(DIR).map((f) => readFileSync(new URL(f, DIR))),
      Buffer.from(mail({ from: VENDOR, subject: `Re: [${id}] x`, body: '/valid\n/embargo 2026-04-15\n' })),
      Buffer.from(mail({ from: REPORTER, subject: `Re: [${id}] y`, body: '/embargo accept\n> /invalid\n' })),
    ];
    const names = Object.keys(MUTATIONS);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < COUNT; i += 1) {
      let base = bases[i % bases.length] as Buffer;
      // Mostly a fresh Message-ID, so that mutants reach past the ledger's duplicate check.
      if (rnd() < 0.8) {
        const text = base.toString('latin1');
        const fresh = `<fuzz-${i}@fuzz.example>`;
        base = Buffer.from(
          /^message-id:/im.test(text)
            ? text.replace(/^(message-id:)[^\r\n]*/im, `$1 ${fresh}`)
            : `Message-ID: ${fresh}\r\n${text}`,
          'latin1',
        );
      }
      const name = names[int(rnd, names.length)] as string;
      let raw = (MUTATIONS[name] as Mutation)(base, rnd);
      if (rnd() < 0.3) raw = (MUTATIONS[names[int(rnd, names.length)] as string] as Mutation)(raw, rnd);
      const rawCount = () =>
        (h.store.db.prepare('SELECT count(*) AS n FROM raw_messages').get() as { n: number }).n;
      const before = rawCount();
      let r;
      try {
        r = await h.ingest(raw, {
          now: new Date(Date.parse('2026-03-02T10:00:00Z') + i * 1000).toISOString(),
        });
      } catch (err) {
        throw new Error(`mutant ${i} (${name} of base ${i % bases.length}) threw: ${(err as Error).stack}`);
      }
      expect(HANDLED.has(r.outcome), `mutant ${i}: ${r.outcome}`).toBe(true);
      if (r.outcome !== 'duplicate') expect(rawCount(), `mutant ${i} (${name}): raw kept`).toBe(before + 1);
      outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1);
    }
    // Several kinds of outcome were reached, not only quarantine.
    expect(outcomes.size).toBeGreaterThanOrEqual(4);

    // The store is consistent: valid snapshots, one recipient per row, known cases, raw for every entry.
    for (const summary of h.store.listCases()) {
      const c = h.getCase(summary.id);
      expect(CaseSnapshotSchema.safeParse(c).success, summary.id).toBe(true);
    }
    const cases = new Set(h.store.listCases().map((c) => c.id));
    for (const row of h.outbox()) {
      expect(row.to).toHaveLength(1);
      if (row.caseId !== null) expect(cases.has(row.caseId)).toBe(true);
    }
    for (const q of h.store.listQuarantine()) expect(h.store.getRawMessage(q.rawId)).toBeDefined();
    const fk = h.store.db.prepare('PRAGMA foreign_key_check').all();
    expect(fk).toEqual([]);
  }, 300_000);
});
