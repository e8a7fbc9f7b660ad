/**
 * Every cap of src/mail/limits.ts, through the whole pipeline: a mail exactly at the cap is
 * processed, the same mail with the cap one lower is quarantined with the precise reason
 * (`too-large` for sizes, `malformed` for structure) and a detail naming the cap; the sender
 * is told when that is safe, and the coordinators are alerted. The calendar caps differ: a
 * calendar part over them is dropped with the code `calendar-too-large`, and the rest of the
 * mail is still processed.
 */
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config/schema.js';
import { InboundPipeline } from '../../src/mail/inbound.js';
import {
  checkCalendarParts,
  checkContent,
  icsCounts,
  resolveLimits,
  scanBounds,
} from '../../src/mail/limits.js';
import type { LimitName, Limits } from '../../src/mail/limits.js';
import { scanMime } from '../../src/mail/mime.js';
import { DEFAULT_POLICY } from '../../src/protocol/policy.js';
import { BOT, COORD, REPORTER, VENDOR, alerts, harness, mail, rowsTo } from './harness.js';

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

  it('checkContent: sizes are skipped on request, structure never; calendar caps are not its business', async () => {
    const parsed = await simpleParser(calendar(3));
    const limits = resolveLimits({ maxTextChars: 1, maxIcsComponents: 1, maxRecipients: 0.5 });
    expect(checkContent(parsed, limits)?.cap).toBe('maxTextChars');
    expect(
      checkContent(parsed, resolveLimits({ maxTextChars: 1, maxIcsComponents: 1 }), { skipSize: true }),
    ).toBe(null);
    expect(checkCalendarParts(parsed, limits).map((o) => o.detail)).toEqual([
      'calendar-too-large: calendar components: 4 > limits.maxIcsComponents 1',
    ]);
  });
});

/** A vendor's mail: `/embargo accept` in the text and a DECLINED REPLY padded with X- lines. */
function acceptTextDeclineCalendar(uid: string, subject: string, padding: number): string {
  const ics = [
    'BEGIN:VCALENDAR',
    'METHOD:REPLY',
    'VERSION:2.0',
    'PRODID:-//test//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20260302T100000Z',
    'SEQUENCE:0',
    `ATTENDEE;PARTSTAT=DECLINED:mailto:${VENDOR}`,
    ...Array.from({ length: padding }, (_, i) => `X-PAD:${i}`),
    'END:VEVENT',
    'END:VCALENDAR',
  ];
  return multipartMail({
    headers: {},
    parts: [
      textPart('Fine with us.\r\n\r\n/embargo accept'),
      `Content-Type: text/calendar; method=REPLY; charset=utf-8${CRLF}${CRLF}${ics.join(CRLF)}`,
    ],
  })
    .replace(`From: ${REPORTER}`, `From: ${VENDOR}`)
    .replace('Subject: hello', `Subject: ${subject}`);
}

describe('calendar caps: a calendar part over them is dropped, the rest of the mail is processed', () => {
  it.each([
    ['maxIcsLines', 'calendar lines'],
    ['maxIcsComponents', 'calendar components'],
  ] as const)(
    '%s: at the cap the calendar counts, one over it is ignored with calendar-too-large',
    async (cap, what) => {
      const run = async (limit: number | null) => {
        const h = harness(limit === null ? {} : { limits: { [cap]: limit } });
        const id = await h.seedCase();
        const proposed = await h.ingest(
          mail({ from: REPORTER, subject: `Re: [${id}] embargo`, body: '/embargo 2026-04-15\n' }),
        );
        expect(proposed.outcome).toBe('applied');
        const uid = h.getCase(id).embargo.proposals[0]?.uid as string;
        const raw = acceptTextDeclineCalendar(uid, `Re: [${id}] embargo`, 5);
        return { h, id, raw };
      };
      // The exact value of the cap for this mail.
      const probe = await run(null);
      const parsed = await simpleParser(Buffer.from(probe.raw));
      const [counts] = parsed.attachments.map((a) => icsCounts(a.content));
      const value = cap === 'maxIcsLines' ? counts?.lines : counts?.components;
      expect(value).toBe(cap === 'maxIcsLines' ? 16 : 2);

      // At the cap: the DECLINED calendar is read, and contradicts the text: the whole mail is void.
      const at = await run(value as number);
      const ok = await at.h.ingest(at.raw);
      expect(ok.outcome, JSON.stringify(ok)).toBe('rejected-command');
      expect(at.h.getCase(at.id).em).toBe('PROPOSED');

      // One over: the calendar part is dropped with its code, the text's /embargo accept applies.
      const over = await run((value as number) - 1);
      const r = await over.h.ingest(over.raw);
      expect(r).toMatchObject({ outcome: 'applied', caseId: over.id });
      const detail = `calendar-too-large: ${what}: ${value} > limits.${cap} ${(value as number) - 1}`;
      expect(r.detail).toContain(detail);
      expect(r.detail.startsWith('EA')).toBe(true);
      expect(over.h.store.listQuarantine()).toEqual([]);
      const c = over.h.getCase(over.id);
      expect(c.em).toBe('ACTIVE');
      expect(c.log).toContainEqual(
        expect.objectContaining({ kind: 'calendar-ignored', from: VENDOR, types: [], detail }),
      );
    },
  );

  it('a new report with an oversized calendar part still opens its case, the part noted', async () => {
    const raw = calendar(30);
    const h = harness({ limits: { maxIcsComponents: 30 } });
    const r = await h.ingest(raw);
    expect(r.outcome).toBe('opened');
    expect(r.detail).toBe(
      `new case ${r.caseId} (calendar-too-large: calendar components: 31 > limits.maxIcsComponents 30; that calendar part ignored)`,
    );
    expect(h.getCase(r.caseId as string).log).toContainEqual(
      expect.objectContaining({
        kind: 'calendar-ignored',
        detail: expect.stringMatching(/^calendar-too-large: /),
      }),
    );
    const exact = harness({ limits: { maxIcsComponents: 31 } });
    expect(await exact.ingest(raw)).toMatchObject({
      outcome: 'opened',
      detail: expect.stringMatching(/^new case VM-\d+-\d+$/),
    });
  });
});
