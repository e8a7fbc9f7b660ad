/**
 * Regression tests for the failure and abuse cases of ANCHORS.md Part C.2 that concern reading
 * mail, one (or a few) per case, named after it. Cases about sending, crashing, IMAP and
 * embargo policy (#7, #8, #12, #13, #14) belong to other parts; #11 (spoofed iTIP replies) to
 * the calendar reader.
 */
import { describe, expect, it } from 'vitest';
import { AUTHSERV, COORD, OUTSIDER, REPORTER, VENDOR, alerts, harness, mail, rowsTo } from './harness.js';
import type { Harness } from './harness.js';

function participantOf(h: Harness, id: string, email: string) {
  return h.getCase(id).participants.find((p) => p.email === email);
}

describe('ANCHORS C.2 — reading hostile and odd mail', () => {
  it('#1 spoofed From claiming to be a vendor: no state change, no answer to it or to Reply-To, coordinators told', async () => {
    const h = harness({ requireAuthenticatedSender: true });
    const authed = (domain: string) => [
      `Authentication-Results: ${AUTHSERV}; dmarc=pass header.from=${domain}`,
    ];
    const id = (
      await h.ingest(mail({ from: REPORTER, subject: 'Bug', body: 'x\n', top: authed('researcher.example') }))
    ).caseId as string;
    await h.ingest(
      mail({
        from: COORD,
        subject: `[${id}] i`,
        body: `/invite ${VENDOR} vendor\n`,
        top: authed('cert.example'),
      }),
    );
    const before = JSON.stringify(h.getCase(id));
    h.mark();
    const r = await h.ingest(
      mail({
        from: VENDOR,
        subject: `Re: [${id}] Bug`,
        body: '/fix-ready\n/public https://evil.example/\n',
        top: [
          `Authentication-Results: ${AUTHSERV}; spf=fail smtp.mailfrom=vendor.example; dkim=none; dmarc=fail`,
        ],
        headers: { 'Reply-To': OUTSIDER },
      }),
    );
    expect(r).toMatchObject({ outcome: 'quarantined', reason: 'unauthenticated' });
    expect(JSON.stringify(h.getCase(id))).toBe(before);
    expect(h.newRows().map((row) => row.to[0])).toEqual([COORD]);
  });

  it('#2 reply from a non-participant (a colleague of the vendor, in the thread): held, not redistributed, nobody added', async () => {
    const h = harness();
    const id = await h.seedCase();
    const ours = h.outbox().find((row) => row.to[0] === VENDOR)?.messageId as string;
    const before = h.getCase(id);
    h.mark();
    const r = await h.ingest(
      mail({
        from: 'colleague@vendor.example',
        subject: `Re: [${id}] Report`,
        body: 'We fixed it, see attached.\n\n> quoted case text\n',
        headers: { 'In-Reply-To': ours, Cc: `${VENDOR}, ${OUTSIDER}` },
      }),
    );
    expect(r).toMatchObject({ outcome: 'quarantined', reason: 'not-a-participant' });
    expect(h.getCase(id).participants).toEqual(before.participants);
    // Only a non-disclosing note to the sender and the coordinators' alert; no one else.
    expect(
      h
        .newRows()
        .map((row) => row.to[0])
        .sort(),
    ).toEqual([COORD, 'colleague@vendor.example'].sort());
    const note = rowsTo(h.newRows(), 'colleague@vendor.example')[0]?.raw.toString('utf8') ?? '';
    expect(note).not.toMatch(new RegExp(`${id}|FooServer|Heap overflow`));
  });

  it("#2 a participant's Reply All that adds an outsider: applied, the outsider gets nothing and is not added", async () => {
    const h = harness();
    const id = await h.seedCase();
    h.mark();
    const r = await h.ingest(
      mail({
        from: VENDOR,
        to: `cvd@bot.example, ${OUTSIDER}`,
        subject: `Re: [${id}] x`,
        body: '/valid\n',
        headers: { Cc: 'cc@evil.example' },
      }),
    );
    expect(r).toMatchObject({ outcome: 'applied', detail: 'RV' });
    expect(rowsTo(h.newRows(), OUTSIDER)).toEqual([]);
    expect(rowsTo(h.newRows(), 'cc@evil.example')).toEqual([]);
    expect(
      h
        .getCase(id)
        .participants.map((p) => p.email)
        .sort(),
    ).toEqual([COORD, REPORTER, VENDOR].sort());
  });

  it("#3 subject tag pointing at someone else's case: never appended to the tagged case", async () => {
    const h = harness();
    const mine = (await h.ingest(mail({ from: 'a@one.example', subject: 'Bug A', body: 'a\n' })))
      .caseId as string;
    const theirs = (await h.ingest(mail({ from: 'b@two.example', subject: 'Bug B', body: 'b\n' })))
      .caseId as string;
    const before = JSON.stringify(h.getCase(theirs));
    const r = await h.ingest(
      mail({ from: 'a@one.example', subject: `Re: [${theirs}] Bug B`, body: 'gimme\n' }),
    );
    expect(r).toMatchObject({
      outcome: 'quarantined',
      reason: 'not-a-participant',
      detail: `case reference ${theirs}`,
    });
    expect(JSON.stringify(h.getCase(theirs))).toBe(before);
    expect(h.store.getReports(theirs)).toHaveLength(1);
    expect(h.getCase(mine).log.filter((e) => e.kind === 'inbound')).toHaveLength(1);
  });

  it('#4 mail loop with another bot: our loop header is dropped; machine mail never answered; a chatty robot is capped', async () => {
    const h = harness({ rateCaps: { perSenderPerHour: 5, perSenderPerCasePerHour: 3 } });
    const id = await h.seedCase();
    h.mark();
    // A second instance of us (another bot address, same loop header).
    expect(
      await h.ingest(
        mail({
          from: 'cvd@other-bot.example',
          subject: `[${id}] x`,
          headers: { 'X-Vultron-Loop': 'cvd@other-bot.example' },
        }),
      ),
    ).toMatchObject({ outcome: 'quarantined', reason: 'loop' });
    // A helpdesk acknowledging our mail.
    expect(
      await h.ingest(
        mail({
          from: VENDOR,
          subject: `[${id}] Ticket received`,
          headers: { 'Auto-Submitted': 'auto-replied' },
        }),
      ),
    ).toMatchObject({ outcome: 'auto-reply' });
    expect(h.newRows()).toEqual([]);
    // A robot that looks human: at most perSenderPerCasePerHour answers.
    for (let i = 0; i < 10; i += 1) {
      await h.ingest(mail({ from: VENDOR, subject: `Re: [${id}] Ticket #5 updated`, body: `update ${i}\n` }));
    }
    expect(rowsTo(h.newRows(), VENDOR)).toHaveLength(3);
  });

  it('#5 out-of-office reply to an embargo invite: not an acceptance or rejection, no reply, seen on the case', async () => {
    const h = harness();
    const id = await h.seedCase();
    await h.ingest(mail({ from: REPORTER, subject: `Re: [${id}] x`, body: '/embargo 2026-04-15\n' }));
    const invite = h.outbox().find((row) => row.to[0] === VENDOR && row.calendarMethod === 'REQUEST');
    expect(invite).toBeDefined();
    const before = h.getCase(id);
    h.mark();
    const r = await h.ingest(
      mail({
        from: VENDOR,
        subject: `Automatic reply: ${invite?.subject ?? ''}`,
        body: 'I am out of the office until 2026-04-20.\n/embargo accept\n',
        headers: { 'In-Reply-To': invite?.messageId ?? '' },
      }),
    );
    expect(r).toMatchObject({ outcome: 'auto-reply', caseId: id });
    const after = h.getCase(id);
    expect(after.embargo).toEqual(before.embargo);
    expect(after.em).toBe(before.em);
    expect(participantOf(h, id, VENDOR)).toEqual(before.participants.find((p) => p.email === VENDOR));
    expect(h.newRows()).toEqual([]);
    expect(after.log.at(-1)).toMatchObject({ kind: 'auto-reply', from: VENDOR });
  });

  it('#6 same message delivered twice: a no-op, also with other trace headers; same Message-ID with other content is held', async () => {
    const h = harness();
    const id = await h.seedCase();
    const raw = mail({
      from: VENDOR,
      subject: `Re: [${id}] x`,
      body: '/valid\n',
      messageId: '<twice@vendor.example>',
    });
    expect(await h.ingest(raw)).toMatchObject({ outcome: 'applied' });
    const log = h.getCase(id).log.length;
    h.mark();
    expect(await h.ingest(raw)).toMatchObject({ outcome: 'duplicate' });
    const refetched = `Received: from mx2 by mx.bot.example; Mon, 2 Mar 2026 10:05:00 +0000\r\nDelivered-To: cvd@bot.example\r\n${raw}`;
    expect(await h.ingest(refetched)).toMatchObject({ outcome: 'duplicate' });
    expect(h.getCase(id).log).toHaveLength(log);
    expect(h.newRows()).toEqual([]);
    const other = mail({
      from: VENDOR,
      subject: `Re: [${id}] x`,
      body: '/invalid\n',
      messageId: '<twice@vendor.example>',
    });
    expect(await h.ingest(other)).toMatchObject({ outcome: 'quarantined', reason: 'duplicate-message-id' });
    expect(participantOf(h, id, VENDOR)?.rm).toBe('VALID');
    // Suspicious: the coordinators hear of it, the sender is not answered.
    expect(h.newRows().map((row) => row.to[0])).toEqual([COORD]);
  });

  it('#6 a legitimate message replayed months later is caught by the ledger', async () => {
    const h = harness();
    const id = await h.seedCase();
    const raw = mail({
      from: VENDOR,
      subject: `Re: [${id}] x`,
      body: '/valid\n',
      messageId: '<replay@vendor.example>',
    });
    await h.ingest(raw);
    expect(await h.ingest(raw, { now: '2026-09-01T00:00:00Z' })).toMatchObject({ outcome: 'duplicate' });
  });

  it('#9 bounce for a participant address: never a case or a reply; the vendor is undeliverable and not aware', async () => {
    const h = harness();
    const id = await h.seedCase();
    const report = h.outbox().find((row) => row.to[0] === VENDOR && row.types.includes('RS'));
    const bounce = mail({
      from: 'MAILER-DAEMON@mx.vendor.example',
      to: report?.envelopeFrom,
      subject: 'Undelivered Mail Returned to Sender',
      headers: {
        'Return-Path': '<>',
        'Content-Type': 'multipart/report; report-type=delivery-status; boundary="b"',
      },
      body: [
        '--b',
        'Content-Type: text/plain',
        '',
        'User unknown.',
        '--b',
        'Content-Type: message/delivery-status',
        '',
        'Final-Recipient: rfc822; psirt@vendor.example',
        'Action: failed',
        'Status: 5.1.1',
        'Diagnostic-Code: smtp; 550 5.1.1 User unknown',
        '--b--',
      ].join('\n'),
    });
    const cases = h.store.listCases().length;
    expect(await h.ingest(bounce)).toMatchObject({ outcome: 'bounce', caseId: id });
    expect(h.store.listCases()).toHaveLength(cases);
    expect(participantOf(h, id, VENDOR)).toMatchObject({ undeliverable: true, vfd: 'vfd' });
    expect(rowsTo(h.newRows(), VENDOR)).toEqual([]);
    expect(rowsTo(h.newRows(), COORD)).toHaveLength(1);
  });

  it('#10 malformed or huge ICS (100,000 lines; 10,000 VEVENTs): the calendar part dropped before any parsing (calendar-too-large), the text still processed', async () => {
    for (const [what, ics] of [
      [
        '100,000 lines',
        ['BEGIN:VCALENDAR', ...Array.from({ length: 100_000 }, (_, i) => `X-L:${i}`), 'END:VCALENDAR'],
      ],
      [
        '10,000 VEVENTs',
        [
          'BEGIN:VCALENDAR',
          ...Array.from({ length: 10_000 }, () => 'BEGIN:VEVENT\r\nEND:VEVENT'),
          'END:VCALENDAR',
        ],
      ],
    ] as const) {
      const h = harness();
      const id = await h.seedCase();
      const before = JSON.stringify(h.getCase(id));
      const r = await h.ingest(
        mail({
          from: VENDOR,
          subject: `Re: [${id}] accepted`,
          headers: { 'Content-Type': 'multipart/mixed; boundary="c"' },
          body: `--c\r\nContent-Type: text/plain\r\n\r\nok\r\n--c\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n${ics.join('\r\n')}\r\n--c--\r\n`,
        }),
      );
      // The calendar part is dropped unread (calendar-too-large); the text is still processed.
      expect(r.outcome, what).not.toBe('quarantined');
      expect(r.detail, what).toMatch(
        /\(calendar-too-large: calendar (lines|components): \d+ > limits\.maxIcs(Lines|Components)/,
      );
      const after = h.getCase(id);
      expect(after.em, what).toBe(JSON.parse(before).em);
      expect(after.embargo, what).toEqual(JSON.parse(before).embargo);
      expect(after.log.at(-1), what).toMatchObject({ kind: 'calendar-ignored', from: VENDOR });
    }
  });

  it('#15 encrypted mail we cannot read: threaded by In-Reply-To, stored, the sender told without quoting it', async () => {
    const h = harness();
    const id = await h.seedCase();
    const ours = h.outbox().find((row) => row.to[0] === VENDOR)?.messageId as string;
    const before = JSON.stringify(h.getCase(id));
    h.mark();
    const raw = mail({
      from: VENDOR,
      subject: '...',
      headers: {
        'In-Reply-To': ours,
        'Content-Type': 'multipart/encrypted; protocol="application/pgp-encrypted"; boundary="e"',
      },
      body: '--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--e\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA1secret\r\n-----END PGP MESSAGE-----\r\n--e--\r\n',
    });
    expect(await h.ingest(raw)).toMatchObject({ outcome: 'quarantined', reason: 'undecryptable' });
    expect(JSON.stringify(h.getCase(id))).toBe(before);
    const [entry] = h.store.listQuarantine();
    expect(h.store.getRawMessage(entry?.rawId ?? -1)?.toString('utf8')).toBe(raw);
    const told = rowsTo(h.newRows(), VENDOR)[0]?.raw.toString('utf8') ?? '';
    expect(told).toContain('a coordinator will follow up with you');
    expect(told).not.toMatch(/hQEMA1secret|BEGIN PGP|unencrypted/);
    expect(alerts(h.newRows()).map((row) => row.to[0])).toEqual([COORD]);
  });

  it('#15 an inline PGP message in a reply is undecryptable too', async () => {
    const h = harness();
    const id = await h.seedCase();
    const r = await h.ingest(
      mail({
        from: VENDOR,
        subject: `Re: [${id}] x`,
        body: '-----BEGIN PGP MESSAGE-----\n\nhQEM\n-----END PGP MESSAGE-----\n',
      }),
    );
    expect(r).toMatchObject({ outcome: 'quarantined', reason: 'undecryptable' });
  });

  it('#15 oversized mail: held as too-large, kept whole, the sender told', async () => {
    const h = harness({ limits: { maxMessageBytes: 10_000 } });
    const id = await h.seedCase();
    const raw = mail({ from: VENDOR, subject: `Re: [${id}] PoC`, body: 'A'.repeat(20_000) });
    expect(await h.ingest(raw)).toMatchObject({ outcome: 'quarantined', reason: 'too-large' });
    expect(h.store.getRawMessage(h.store.listQuarantine()[0]?.rawId ?? -1)?.length).toBe(
      Buffer.byteLength(raw),
    );
    expect(rowsTo(h.newRows(), VENDOR)[0]?.raw.toString('utf8')).toContain(
      'larger than this address accepts',
    );
  });

  it('also: a Date header far in the future does not move "+30d": arrival time counts', async () => {
    const h = harness();
    const id = await h.seedCase();
    const raw = mail({ from: REPORTER, subject: `Re: [${id}] x`, body: '/embargo +30d\n' }).replace(
      'Date: Mon, 02 Mar 2026 09:00:00 +0000',
      'Date: Fri, 01 Jan 2100 00:00:00 +0000',
    );
    expect(await h.ingest(raw)).toMatchObject({ outcome: 'applied' });
    expect(h.getCase(id).embargo.proposals.at(-1)?.end).toBe('2026-04-01T23:59:59Z');
  });

  it('also: HTML-only mail with scripts is stored and read as text', async () => {
    const h = harness();
    const raw = mail({
      from: OUTSIDER,
      subject: 'XSS in FooServer',
      headers: { 'Content-Type': 'text/html; charset=utf-8' },
      body: '<html><body><script>alert(document.cookie)</script><p>Payload in the <b>name</b> field.</p></body></html>',
    });
    const r = await h.ingest(raw);
    expect(r.outcome).toBe('opened');
    const [report] = h.store.getReports(r.caseId as string);
    expect(report?.text).toContain('Payload in the name field.');
    expect(report?.text).not.toContain('<script>');
  });
});
