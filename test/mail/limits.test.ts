/**
 * Every cap of src/mail/limits.ts, through the whole pipeline: a mail exactly at the cap is
 * processed, the same mail with the cap one lower is quarantined with the precise reason
 * (`too-large` for sizes, `malformed` for structure) and a detail naming the cap; the sender
 * is told when that is safe, and the coordinators are alerted.
 */
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config/schema.js';
import { InboundPipeline } from '../../src/mail/inbound.js';
import { checkContent, icsCounts, resolveLimits, scanBounds } from '../../src/mail/limits.js';
import type { LimitName, Limits } from '../../src/mail/limits.js';
import { scanMime } from '../../src/mail/mime.js';
import { DEFAULT_POLICY } from '../../src/protocol/policy.js';
import { BOT, COORD, REPORTER, alerts, harness, mail, rowsTo } from './harness.js';

const CRLF = '\r\n';

function multipartMail(opts: {
  boundary?: string;
  parts: string[];
  headers?: Record<string, string>;
}): string {
  const b = opts.boundary ?? 'b0';
  return mail({
    headers: { 'Content-Type': `multipart/mixed; boundary="${b}"`, ...opts.headers },
    body: `${opts.parts.map((p) => `--${b}${CRLF}${p}${CRLF}`).join('')}--${b}--${CRLF}`,
  });
}

const textPart = (text: string) => `Content-Type: text/plain; charset=utf-8${CRLF}${CRLF}${text}`;

/** A text part inside `levels` nested multipart/mixed containers. */
function nested(levels: number): string {
  let inner = textPart('deep');
  for (let i = levels - 1; i >= 1; i -= 1) {
    inner = `Content-Type: multipart/mixed; boundary="b${i}"${CRLF}${CRLF}--b${i}${CRLF}${inner}${CRLF}--b${i}--`;
  }
  return multipartMail({ parts: [inner] });
}

function attachment(bytes: number): string {
  const content = Buffer.alloc(bytes, 0x41).toString('base64');
  return multipartMail({
    parts: [
      textPart('see attached'),
      `Content-Type: application/octet-stream; name="poc.bin"${CRLF}Content-Disposition: attachment; filename="poc.bin"${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}${content.replace(/.{76}/g, `$&${CRLF}`)}`,
    ],
  });
}

function calendar(events: number): string {
  const lines = ['BEGIN:VCALENDAR', 'METHOD:REPLY', 'VERSION:2.0', 'PRODID:-//test//EN'];
  for (let i = 0; i < events; i += 1) {
    lines.push('BEGIN:VEVENT', `UID:e${i}@test.example`, 'DTSTAMP:20260302T100000Z', 'END:VEVENT');
  }
  lines.push('END:VCALENDAR');
  return multipartMail({
    parts: [
      textPart('my answer'),
      `Content-Type: text/calendar; method=REPLY; charset=utf-8${CRLF}${CRLF}${lines.join(CRLF)}`,
    ],
  });
}

async function measure(raw: string): Promise<Record<LimitName, number>> {
  const buf = Buffer.from(raw, 'utf8');
  const scan = await scanMime(buf, scanBounds(resolveLimits()));
  const parsed = await simpleParser(buf);
  const ics = parsed.attachments
    .filter((a) => /calendar/.test(a.contentType))
    .map((a) => icsCounts(a.content));
  const count = (o: typeof parsed.to) =>
    (o === undefined ? [] : Array.isArray(o) ? o : [o]).reduce((n, a) => n + a.value.length, 0);
  return {
    maxMessageBytes: buf.length,
    maxMimeDepth: scan.depth,
    maxHeaderBytes: scan.headerBytes,
    maxParts: scan.nodes,
    maxAttachmentBytes: Math.max(0, ...parsed.attachments.map((a) => a.content.length)),
    maxTextChars: (parsed.text ?? '').length,
    maxIcsLines: Math.max(0, ...ics.map((c) => c.lines)),
    maxIcsComponents: Math.max(0, ...ics.map((c) => c.components)),
    maxRecipients: count(parsed.to) + count(parsed.cc),
  };
}

const CASES: Array<[LimitName, 'too-large' | 'malformed', () => string, string]> = [
  ['maxMessageBytes', 'too-large', () => mail({ body: 'x'.repeat(2000) }), 'message size (bytes)'],
  ['maxMimeDepth', 'malformed', () => nested(6), 'MIME nesting depth'],
  ['maxHeaderBytes', 'malformed', () => mail({ headers: { 'X-Padding': 'p'.repeat(3000) } }), 'header bytes'],
  [
    'maxParts',
    'malformed',
    () => multipartMail({ parts: Array.from({ length: 12 }, (_, i) => textPart(`part ${i}`)) }),
    'MIME parts',
  ],
  ['maxAttachmentBytes', 'too-large', () => attachment(4000), 'bytes of one attachment'],
  ['maxTextChars', 'too-large', () => mail({ body: 'word '.repeat(400) }), 'text length'],
  ['maxIcsLines', 'malformed', () => calendar(30), 'calendar lines'],
  ['maxIcsComponents', 'malformed', () => calendar(30), 'calendar components'],
  [
    'maxRecipients',
    'malformed',
    () =>
      mail({ to: 'cvd@bot.example, a@x.example, b@x.example', headers: { Cc: 'c@x.example, d@x.example' } }),
    'recipients',
  ],
];

describe('each cap: at the cap processed, one over quarantined', () => {
  it.each(CASES)('%s (%s)', async (cap, reason, build, what) => {
    const raw = build();
    const value = (await measure(raw))[cap];
    expect(value).toBeGreaterThan(1);
    // Every other cap generous, so only this one can trigger.
    const generous: Partial<Limits> = { ...DEFAULT_LIMITS };

    const at = harness({ limits: { ...generous, [cap]: value } });
    const ok = await at.ingest(raw);
    expect(ok.outcome, JSON.stringify(ok)).toBe('opened');

    const over = harness({ limits: { ...generous, [cap]: value - 1 } });
    const held = await over.ingest(raw);
    expect(held).toMatchObject({ outcome: 'quarantined', reason, caseId: null });
    expect(held.detail.startsWith(what)).toBe(true);
    expect(held.detail).toContain(`: ${value} > limits.${cap} ${value - 1}`);
    expect(over.store.listCases()).toEqual([]);
    const [entry] = over.store.listQuarantine();
    expect(entry).toMatchObject({ reason, from: REPORTER });
    expect(over.store.getRawMessage(entry?.rawId ?? -1)?.equals(Buffer.from(raw))).toBe(true);
    // The sender is told (a short reply naming no case), the coordinators alerted.
    const told = rowsTo(over.outbox(), REPORTER);
    expect(told.map((r) => r.types)).toEqual([['GE', 'GI']]);
    expect(told[0]?.caseId).toBeNull();
    expect(told[0]?.raw.toString('utf8')).toContain(`limits.${cap}`);
    expect(alerts(over.outbox()).map((r) => r.to[0])).toEqual([COORD]);
  });
});

describe('limits', () => {
  it("the defaults are DESIGN.md's, and a partial config keeps them for the rest", () => {
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits({ maxParts: 7 })).toEqual({ ...DEFAULT_LIMITS, maxParts: 7 });
    expect(DEFAULT_LIMITS.maxMessageBytes).toBe(50 * 1024 * 1024);
  });

  it('icsCounts counts lines and BEGIN: lines without parsing', () => {
    expect(icsCounts(Buffer.from(''))).toEqual({ lines: 0, components: 0 });
    expect(
      icsCounts(Buffer.from('BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n')),
    ).toEqual({
      lines: 4,
      components: 2,
    });
    expect(icsCounts(Buffer.from('begin:vcalendar\nX:1\nbegin:vevent'))).toEqual({ lines: 3, components: 2 });
  });

  it('a too-large mail from a machine is held, but nobody answers the machine', async () => {
    const h = harness({ limits: { maxMessageBytes: 100 } });
    const r = await h.ingest(
      mail({ body: 'x'.repeat(500), headers: { 'Auto-Submitted': 'auto-generated' } }),
    );
    expect(r).toMatchObject({ outcome: 'quarantined', reason: 'too-large' });
    expect(rowsTo(h.outbox(), REPORTER)).toEqual([]);
    expect(alerts(h.outbox())).toHaveLength(1);
  });

  it('the entry of a mail over the size cap names its sender, also with no notices configured', async () => {
    const h = harness();
    const bare = new InboundPipeline({
      store: h.store,
      service: h.service,
      policy: DEFAULT_POLICY,
      bot: BOT,
      security: { requireAuthenticatedSender: false },
      limits: { maxMessageBytes: 100 },
    });
    const r = await bare.ingest(Buffer.from(mail({ body: 'x'.repeat(500) })), '2026-03-02T10:00:00Z');
    expect(r).toMatchObject({ outcome: 'quarantined', reason: 'too-large' });
    expect(h.store.listQuarantine()).toMatchObject([{ from: REPORTER, reason: 'too-large' }]);
    expect(h.outbox()).toEqual([]);
  });

  it('a mail over a cap without a From is held; nobody to tell but the coordinators', async () => {
    const h = harness({ limits: { maxMessageBytes: 100 } });
    const raw = mail({ body: 'x'.repeat(500) }).replace(/^From: .*\r\n/m, '');
    expect(await h.ingest(raw)).toMatchObject({ outcome: 'quarantined', reason: 'too-large' });
    expect(h.outbox().map((r) => r.to[0])).toEqual([COORD]);
  });

  it('with sender authentication required, an unauthenticated sender of a too-large mail is not told', async () => {
    const h = harness({ limits: { maxMessageBytes: 100 }, requireAuthenticatedSender: true });
    expect(await h.ingest(mail({ body: 'x'.repeat(500) }))).toMatchObject({ reason: 'too-large' });
    expect(rowsTo(h.outbox(), REPORTER)).toEqual([]);
    const authed = mail({
      body: 'y'.repeat(500),
      top: ['Authentication-Results: mx.bot.example; dmarc=pass header.from=researcher.example'],
    });
    expect(await h.ingest(authed)).toMatchObject({ reason: 'too-large' });
    expect(rowsTo(h.outbox(), REPORTER)).toHaveLength(1);
  });

  it('a release of a too-large entry skips the size caps (the admin accepted it)', async () => {
    const h = harness({ limits: { maxMessageBytes: 300, maxTextChars: 100 } });
    const raw = mail({ body: 'x'.repeat(500) });
    expect(await h.ingest(raw)).toMatchObject({ outcome: 'quarantined', reason: 'too-large' });
    const r = await h.ingest(raw, { skip: ['too-large'] });
    expect(r.outcome).toBe('opened');
  });

  it('a structure cap is not skipped by a release: the admin raises the limit', async () => {
    const h = harness({ limits: { maxParts: 3 } });
    const raw = multipartMail({ parts: [textPart('a'), textPart('b'), textPart('c')] });
    expect(await h.ingest(raw)).toMatchObject({ reason: 'malformed' });
    expect(await h.ingest(raw, { skip: ['too-large'] })).toMatchObject({ reason: 'malformed' });
  });

  it('the MIME walk stops at the caps: 100,000 parts or 10,000 levels cost one look', async () => {
    const parts = Array.from({ length: 100_000 }, () => `--b0${CRLF}${CRLF}x${CRLF}`).join('');
    const many = Buffer.from(
      mail({ headers: { 'Content-Type': 'multipart/mixed; boundary="b0"' }, body: `${parts}--b0--` }),
    );
    const scan = await scanMime(many, scanBounds(resolveLimits()));
    expect(scan).toMatchObject({ stopped: 'nodes', nodes: DEFAULT_LIMITS.maxParts + 1 });

    let deep = 'x';
    for (let i = 10_000; i >= 1; i -= 1)
      deep = `Content-Type: multipart/mixed; boundary="d${i}"${CRLF}${CRLF}--d${i}${CRLF}${deep}${CRLF}--d${i}--`;
    const h = harness();
    const r = await h.ingest(multipartMail({ parts: [deep] }));
    expect(r).toMatchObject({ outcome: 'quarantined', reason: 'malformed' });
    expect(r.detail).toMatch(/^MIME nesting depth: 21 > limits\.maxMimeDepth 20/);
  });

  it('checkContent: sizes are skipped on request, structure never', async () => {
    const parsed = await simpleParser(calendar(3));
    const limits = resolveLimits({ maxTextChars: 1, maxIcsComponents: 1 });
    expect(checkContent(parsed, limits)?.cap).toBe('maxTextChars');
    expect(checkContent(parsed, limits, { skipSize: true })?.cap).toBe('maxIcsComponents');
  });
});
