/**
 * Calendar answers through the whole pipeline (`vultron-mail ingest` on a real SQLite store,
 * DESIGN.md §3–4): a case opened by a report mail, a vendor invited and an embargo proposed by
 * mail, then the vendor answers from its calendar client. The REPLY carries no case reference
 * but the event UID (taken from `case show --json`), which names the case.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaseSnapshot } from '../../src/protocol/index.js';
import type { Sandbox } from '../cli/helpers.js';
import { COORDINATOR, NOW, jsonOf, sandbox } from '../cli/helpers.js';

const REPORTER = 'alice@finder.example';
const VENDOR = 'psirt@vendor.example';
const CASE = 'VM-2026-0001';
const LATER = '2026-03-02T12:00:00Z';

let s: Sandbox;
let n = 0;
beforeEach(async () => {
  s = await sandbox();
});
afterEach(() => s.cleanup());

function crlf(lines: string[]): string {
  return `${lines.join('\r\n')}\r\n`;
}

/** Ingests one message; returns the CLI's line about it. */
async function ingest(raw: string | Buffer, now = LATER): Promise<string> {
  const file = join(s.dir, `in-${++n}.eml`);
  writeFileSync(file, raw);
  const r = await s.cli('--now', now, 'ingest', '--no-send', file);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

async function show(): Promise<CaseSnapshot> {
  return jsonOf<CaseSnapshot>(await s.cli('case', 'show', CASE, '--json'));
}

interface OutboxJson {
  to: string[];
  types: string[];
  calendarMethod: string | null;
}

async function outbox(): Promise<OutboxJson[]> {
  return jsonOf<OutboxJson[]>(await s.cli('outbox', '--json'));
}

function plain(from: string, subject: string, body: string, id: string): string {
  return crlf([
    `From: ${from}`,
    'To: CVD Coordination <cvd@example.org>',
    `Subject: ${subject}`,
    'Date: Mon, 2 Mar 2026 09:00:00 +0000',
    `Message-ID: <${id}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
  ]);
}

/** A case like fixtures/demo/01-report.eml, a vendor invited by the coordinator, E1 proposed. */
async function caseWithProposal(): Promise<string> {
  const report = plain(
    `Alice Finder <${REPORTER}>`,
    'Heap overflow in libexample 2.3 image decoder',
    'libexample 2.3 overflows a heap buffer when it decodes a crafted PNG.\r\nA proof of concept is available on request.',
    'report-1@finder.example',
  );
  expect(await ingest(report, NOW)).toMatch(new RegExp(`opened ${CASE}`));
  const invite = plain(COORDINATOR, `[${CASE}] vendor`, `/invite ${VENDOR} vendor`, 'invite-1@example.org');
  expect(await ingest(invite, NOW)).toMatch(/applied/);
  const propose = plain(
    REPORTER,
    `Re: [${CASE}] embargo`,
    'Six weeks, please.\r\n\r\n/embargo 2026-04-15',
    'p-1@finder.example',
  );
  expect(await ingest(propose, NOW)).toMatch(/applied/);
  const c = await show();
  expect(c.em).toBe('PROPOSED');
  expect(c.embargo.proposals).toHaveLength(1);
  const uid = c.embargo.proposals[0]?.uid as string;
  expect(uid).toBe(`${CASE}-embargo-1@example.org`);
  // The vendor was invited by calendar.
  expect(await outbox()).toContainEqual(
    expect.objectContaining({ to: [VENDOR], calendarMethod: 'REQUEST', types: ['EP'] }),
  );
  return uid;
}

/**
 * DERIVED from the shape SOURCES.md describes (no public sample): an Outlook/Exchange REPLY,
 * base64 text/calendar; method=REPLY, a Windows zone, MAILTO: in upper case, no ORGANIZER, no
 * case reference in the subject or the headers.
 */
function outlookReply(
  uid: string,
  partstat: string,
  from = VENDOR,
  id = 'DB7PR01MB0001@vendor.example',
): Buffer {
  const ics = [
    'BEGIN:VCALENDAR',
    'METHOD:REPLY',
    'PRODID:Microsoft Exchange Server 2010',
    'VERSION:2.0',
    'BEGIN:VTIMEZONE',
    'TZID:W. Europe Standard Time',
    'BEGIN:STANDARD',
    'DTSTART:16010101T030000',
    'TZOFFSETFROM:+0200',
    'TZOFFSETTO:+0100',
    'RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10',
    'END:STANDARD',
    'BEGIN:DAYLIGHT',
    'DTSTART:16010101T020000',
    'TZOFFSETFROM:+0100',
    'TZOFFSETTO:+0200',
    'RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3',
    'END:DAYLIGHT',
    'END:VTIMEZONE',
    'BEGIN:VEVENT',
    `ATTENDEE;PARTSTAT=${partstat};CN=PSIRT:MAILTO:${from.toUpperCase()}`,
    `SUMMARY;LANGUAGE=en-US:Accepted: ${CASE} embargo expiration`,
    'DTSTART;TZID=W. Europe Standard Time:20260416T015959',
    `UID:${uid}`,
    'DTSTAMP:20260302T110000Z',
    'SEQUENCE:0',
    'X-MICROSOFT-CDO-APPT-SEQUENCE:0',
    'X-MICROSOFT-CDO-OWNERAPPTID:-1118528617',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\n');
  return Buffer.from(
    crlf([
      `From: PSIRT <${from}>`,
      'To: CVD Coordination <cvd@example.org>',
      `Subject: Accepted: ${CASE} embargo expiration`,
      'Date: Mon, 2 Mar 2026 11:00:00 +0000',
      `Message-ID: <${id}>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="_000_X_"',
      '',
      '--_000_X_',
      'Content-Type: text/plain; charset="us-ascii"',
      '',
      '',
      '--_000_X_',
      'Content-Type: text/calendar; charset="utf-8"; method=REPLY',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(ics).toString('base64').replace(/.{76}/g, '$&\r\n'),
      '--_000_X_--',
    ]),
  );
}

/**
 * A Thunderbird/Lightning COUNTER in the shape of fixtures/imip/09 (inline text/calendar plus the
 * same object as application/ics, lower-case header names, 8bit), moved to our UID and vendor and
 * proposing 2026-04-10 12:00 Europe/Berlin (= 10:00Z).
 */
function lightningCounter(uid: string, local = '20260410T120000', id = 'counter-1@vendor.example'): Buffer {
  let text = readFileSync('fixtures/imip/09-lightning-reply-declined.eml', 'latin1');
  for (const [from, to] of [
    ['method=REPLY', 'method=COUNTER'],
    ['METHOD:REPLY', 'METHOD:COUNTER'],
    ['4f0162146d61cb2c06cbe2abf94636f4526abe16', uid],
    ['tine20admin@caldav.net', VENDOR],
    ['PARTSTAT=DECLINED', 'PARTSTAT=TENTATIVE'],
    ['DTSTART;TZID=Europe/Berlin:20111121T130000', `DTSTART;TZID=Europe/Berlin:${local}`],
    ['DTEND;TZID=Europe/Berlin:20111121T140000', `DTEND;TZID=Europe/Berlin:${local}`],
    ['<20111121121154.E6B047D34@laptop.vendor.example>', `<${id}>`],
  ] as const) {
    expect(text.includes(from), from).toBe(true);
    text = text.split(from).join(to);
  }
  return Buffer.from(text, 'latin1');
}

/** Quoted-printable as Gmail writes its calendar parts: `=` escaped, lines of at most 76. */
function qp(text: string): string {
  return text
    .split('\r\n')
    .map((line) => {
      const escaped = line.replace(/=/g, '=3D');
      const out: string[] = [];
      let rest = escaped;
      while (rest.length > 75) {
        let cut = 75;
        // Never split an =XX escape.
        if (rest[cut - 1] === '=') cut -= 1;
        else if (rest[cut - 2] === '=') cut -= 2;
        out.push(`${rest.slice(0, cut)}=`);
        rest = rest.slice(cut);
      }
      out.push(rest);
      return out.join('\r\n');
    })
    .join('\r\n');
}

/**
 * A Google Calendar REPLY in the shape of fixtures/imip/11 (organizer without `mailto:`, the
 * ATTENDEE folded inside a parameter name, X-NUM-GUESTS) sent the way fixtures/imip/02 is:
 * multipart/mixed › (multipart/alternative › (text/plain, text/html, quoted-printable
 * text/calendar; method=REPLY), and the same object as base64 application/ics `invite.ics`).
 * Moved to our UID, our bot as organizer and the vendor as attendee.
 */
function gmailReply(uid: string, partstat: string, id = 'CAGmail0001@mail.gmail.com'): Buffer {
  let ics = readFileSync('fixtures/imip/11-google-reply-accepted-organizer-no-mailto.ics', 'latin1');
  for (const [from, to] of [
    ['62050f080e53ca8e00353ff0a89c6c6aa4af3dec', uid],
    [':unittest@tine20.org', ':cvd@example.org'],
    ['PARTSTAT=ACCEPTED;X-NUM-GUE', `PARTSTAT=${partstat};X-NUM-GUE`],
    ['mailto:carol@researcher.example', `mailto:${VENDOR}`],
    ['DTSTART:20171116T103000Z', 'DTSTART:20260415T235959Z'],
    ['DTEND:20171116T113000Z', 'DTEND:20260415T235959Z'],
    ['SUMMARY:testtermin google confirm', `SUMMARY:${CASE} embargo expiration`],
  ] as const) {
    expect(ics.includes(from), from).toBe(true);
    ics = ics.split(from).join(to);
  }
  // Google's organizer line really has no scheme.
  expect(ics).toMatch(/^ORGANIZER;[^\r\n]*:cvd@example\.org\r?$/m);
  const crlfIcs = ics.replace(/\r?\n/g, '\r\n');
  const word = partstat === 'ACCEPTED' ? 'Accepted' : 'Declined';
  return Buffer.from(
    crlf([
      'MIME-Version: 1.0',
      `Date: Mon, 2 Mar 2026 11:00:00 +0000`,
      `Message-ID: <${id}>`,
      `Subject: ${word}: ${CASE} embargo expiration @ Wed Apr 15, 2026 11:59pm - 11:59pm (UTC) (PSIRT)`,
      `From: PSIRT <${VENDOR}>`,
      'To: cvd@example.org',
      'Content-Type: multipart/mixed; boundary="0000000000008c6d6205be1c767e"',
      '',
      '--0000000000008c6d6205be1c767e',
      'Content-Type: multipart/alternative; boundary="0000000000008c6d6005be1c767c"',
      '',
      '--0000000000008c6d6005be1c767c',
      'Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes',
      '',
      `${VENDOR} has ${word.toLowerCase()} this invitation.`,
      '',
      '--0000000000008c6d6005be1c767c',
      'Content-Type: text/html; charset="UTF-8"',
      '',
      `<p>${VENDOR} has ${word.toLowerCase()} this invitation.</p>`,
      '',
      '--0000000000008c6d6005be1c767c',
      'Content-Type: text/calendar; charset="UTF-8"; method=REPLY',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      qp(crlfIcs).replace(/\r\n$/, ''),
      '--0000000000008c6d6005be1c767c--',
      '',
      '--0000000000008c6d6205be1c767e',
      'Content-Type: application/ics; name="invite.ics"',
      'Content-Disposition: attachment; filename="invite.ics"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from(crlfIcs).toString('base64').replace(/.{76}/g, '$&\r\n'),
      '--0000000000008c6d6205be1c767e--',
    ]),
  );
}

/**
 * An Apple iCal REPLY in the shape of fixtures/imip/12: a VTIMEZONE, DTSTART in Europe/Berlin,
 * the quoted `EMAIL="…"` folded inside the address, no newline at the end of the object; sent
 * by Apple Mail as a text/calendar part next to the text. Moved to our UID and the vendor.
 */
function appleReply(uid: string, partstat: string, id = 'A1B2C3D4-0001@vendor.example'): Buffer {
  let ics = readFileSync('fixtures/imip/12-apple-ical-reply-accepted.ics', 'latin1');
  for (const [from, to] of [
    ['a8d10369e051094ae9322bd65e8afecac010bfc8', uid],
    ['mailto:unittest@tine20.org', 'mailto:cvd@example.org'],
    [
      'ATTENDEE;CN="Researcher, Carol";CUTYPE=INDIVIDUAL;EMAIL="carol@researcher.\n example";PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:carol@researcher.ex\n ample',
      `ATTENDEE;CN="PSIRT, Vendor";CUTYPE=INDIVIDUAL;EMAIL="psirt@vendor.\n example";PARTSTAT=${partstat};ROLE=REQ-PARTICIPANT:mailto:psirt@vendor.ex\n ample`,
    ],
    // 2026-04-16 01:59:59 CEST is the embargo end, 2026-04-15 23:59:59Z.
    ['DTSTART;TZID=Europe/Berlin:20111130T150000', 'DTSTART;TZID=Europe/Berlin:20260416T015959'],
    ['DTEND;TZID=Europe/Berlin:20111130T160000', 'DTEND;TZID=Europe/Berlin:20260416T015959'],
    ['SUMMARY:TEST7', `SUMMARY:${CASE} embargo expiration`],
  ] as const) {
    expect(ics.includes(from), from).toBe(true);
    ics = ics.split(from).join(to);
  }
  expect(ics.endsWith('END:VCALENDAR')).toBe(true);
  const word = partstat === 'ACCEPTED' ? 'accepted' : 'declined';
  return Buffer.from(
    [
      `From: Vendor PSIRT <${VENDOR}>`,
      'Content-Type: multipart/alternative; boundary="Apple-Mail=_0D1F2E3C-0001"',
      `Subject: Invitation: ${CASE} embargo expiration (${word})`,
      'Date: Mon, 2 Mar 2026 11:00:00 +0000',
      `Message-Id: <${id}>`,
      'To: cvd@example.org',
      'Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))',
      '',
      '',
      '--Apple-Mail=_0D1F2E3C-0001',
      'Content-Transfer-Encoding: 7bit',
      'Content-Type: text/plain;',
      '\tcharset=us-ascii',
      '',
      `Vendor PSIRT has ${word} your event.`,
      '',
      '--Apple-Mail=_0D1F2E3C-0001',
      'Content-Transfer-Encoding: 7bit',
      'Content-Type: text/calendar;',
      '\tcharset=utf-8;',
      '\tmethod=REPLY',
      '',
      ics.replace(/\r?\n/g, '\r\n'),
      '--Apple-Mail=_0D1F2E3C-0001--',
      '',
    ].join('\r\n'),
  );
}

describe('calendar answers end to end', () => {
  it('an Outlook REPLY ACCEPTED names the case by UID, records the acceptance and reaches the quorum', async () => {
    const uid = await caseWithProposal();
    const line = await ingest(outlookReply(uid, 'ACCEPTED'));
    expect(line).toMatch(new RegExp(`applied ${CASE} EA$`));

    const c = await show();
    expect(c.em).toBe('ACTIVE');
    expect(c.embargo.end).toBe('2026-04-15T23:59:59Z');
    expect(c.embargo.proposals[0]).toMatchObject({ id: 'E1', status: 'accepted' });
    expect(c.embargo.proposals[0]?.acceptedBy).toContain(VENDOR);
    expect(c.participants.find((p) => p.email === VENDOR)?.consent).toBe('SIGNATORY');
    expect(c.log).toContainEqual(expect.objectContaining({ kind: 'inbound', from: VENDOR, types: ['EA'] }));
    // The confirmation (REQUEST, CONFIRMED) goes to every attendee: coordinator, reporter, vendor.
    const confirmations = (await outbox()).filter(
      (r) => r.calendarMethod === 'REQUEST' && r.types.includes('EA'),
    );
    expect(confirmations.map((r) => r.to[0]).sort()).toEqual([COORDINATOR, REPORTER, VENDOR].sort());
  });

  it('a Thunderbird COUNTER while proposed: a new proposal (EP) countering E1, end in UTC', async () => {
    const uid = await caseWithProposal();
    expect(await ingest(lightningCounter(uid))).toMatch(new RegExp(`applied ${CASE} EP$`));
    const c = await show();
    expect(c.em).toBe('PROPOSED');
    expect(c.embargo.proposals[1]).toMatchObject({
      id: 'E2',
      kind: 'proposal',
      status: 'pending',
      end: '2026-04-10T10:00:00Z',
      proposer: VENDOR,
      counterTo: 'E1',
      uid: `${CASE}-embargo-2@example.org`,
    });
  });

  it('after acceptance, a Thunderbird COUNTER on the active event is a revision (EV)', async () => {
    const uid = await caseWithProposal();
    await ingest(outlookReply(uid, 'ACCEPTED'));
    expect(await ingest(lightningCounter(uid))).toMatch(new RegExp(`applied ${CASE} EV$`));
    const c = await show();
    expect(c.em).toBe('REVISE');
    expect(c.embargo.proposals[1]).toMatchObject({
      id: 'E2',
      kind: 'revision',
      counterTo: 'E1',
      end: '2026-04-10T10:00:00Z',
    });
  });

  it('ANCHORS C.2 #12 embargo time ambiguity: a COUNTER whose time cannot be read as one instant gets an error reply; nothing changes', async () => {
    const uid = await caseWithProposal();
    // 02:30 on 29 March 2026 does not exist in Europe/Berlin.
    const line = await ingest(lightningCounter(uid, '20260329T023000'));
    expect(line).toMatch(/rejected-command/);
    expect(line).toMatch(/UTC date/);
    const c = await show();
    expect(c.embargo.proposals).toHaveLength(1);
    expect((await outbox()).at(-1)).toMatchObject({ to: [VENDOR], calendarMethod: null });
  });

  it('a calendar ACCEPTED and "/embargo reject" in one mail contradict each other: an error reply', async () => {
    const uid = await caseWithProposal();
    const raw = outlookReply(uid, 'ACCEPTED')
      .toString('latin1')
      .replace(
        'Content-Type: text/plain; charset="us-ascii"\r\n\r\n',
        'Content-Type: text/plain; charset="us-ascii"\r\n\r\n/embargo reject\r\n',
      );
    expect(await ingest(raw)).toMatch(/rejected-command/);
    expect((await show()).em).toBe('PROPOSED');
  });

  it('ANCHORS C.2 #11 spoofed iTIP REPLY: a REPLY from an address that is not in the case is quarantined as not-a-participant', async () => {
    const uid = await caseWithProposal();
    expect(await ingest(outlookReply(uid, 'ACCEPTED', 'mallory@evil.example', 'm-1@evil.example'))).toMatch(
      /quarantined not-a-participant/,
    );
    expect((await show()).em).toBe('PROPOSED');
  });

  it('a REFRESH sends the invitation again to the sender only', async () => {
    const uid = await caseWithProposal();
    const before = (await outbox()).length;
    const refresh = readFileSync('fixtures/imip/29-rfc2446-refresh.ics', 'utf8')
      .replace('acme-12345@host1.com', uid)
      .replace('Mailto:B@example.com', `mailto:${VENDOR}`);
    const raw = crlf([
      `From: <${VENDOR}>`,
      'To: cvd@example.org',
      'Subject: Refresh',
      'Message-ID: <refresh-1@vendor.example>',
      'MIME-Version: 1.0',
      'Content-Type: text/calendar; method=REFRESH; charset=UTF-8',
      '',
      refresh,
    ]);
    expect(await ingest(raw)).toMatch(new RegExp(`applied ${CASE} GI$`));
    const added = (await outbox()).slice(before);
    // The vendor's first own mail also makes it aware (CV), which the others are told.
    expect(added.filter((r) => r.types.includes('GI'))).toEqual([]);
    expect(added.filter((r) => r.calendarMethod !== null)).toEqual([
      expect.objectContaining({ to: [VENDOR], calendarMethod: 'REQUEST', types: ['EP'] }),
    ]);
  });
  it('a Gmail REPLY ACCEPTED (organizer without mailto:, application/ics copy) counts once: EA, the embargo in force', async () => {
    const uid = await caseWithProposal();
    const line = await ingest(gmailReply(uid, 'ACCEPTED'));
    expect(line).toMatch(new RegExp(`applied ${CASE} EA$`));
    const c = await show();
    expect(c.em).toBe('ACTIVE');
    expect(c.embargo.end).toBe('2026-04-15T23:59:59Z');
    expect(c.embargo.proposals[0]).toMatchObject({ id: 'E1', status: 'accepted' });
    expect(c.embargo.proposals[0]?.acceptedBy).toContain(VENDOR);
    // One answer, not two: the inline part and its invite.ics copy are one object.
    expect(c.log.filter((e) => e.kind === 'inbound' && e.from === VENDOR)).toEqual([
      expect.objectContaining({ types: ['EA'] }),
    ]);
  });

  it('a Gmail REPLY DECLINED rejects the proposal: ER, the embargo back to NONE, a CANCEL to all', async () => {
    const uid = await caseWithProposal();
    expect(await ingest(gmailReply(uid, 'DECLINED'))).toMatch(new RegExp(`applied ${CASE} ER$`));
    const c = await show();
    expect(c.em).toBe('NONE');
    expect(c.embargo.proposals[0]).toMatchObject({ id: 'E1', status: 'rejected', declinedBy: [VENDOR] });
    expect((await outbox()).filter((r) => r.calendarMethod === 'CANCEL').map((r) => r.to[0])).toContain(
      VENDOR,
    );
  });

  it('an Apple iCal REPLY ACCEPTED (EMAIL= folded inside the address, no final newline): EA, the embargo in force', async () => {
    const uid = await caseWithProposal();
    expect(await ingest(appleReply(uid, 'ACCEPTED'))).toMatch(new RegExp(`applied ${CASE} EA$`));
    const c = await show();
    expect(c.em).toBe('ACTIVE');
    expect(c.embargo.end).toBe('2026-04-15T23:59:59Z');
    expect(c.participants.find((p) => p.email === VENDOR)?.consent).toBe('SIGNATORY');
    expect(c.log).toContainEqual(expect.objectContaining({ kind: 'inbound', from: VENDOR, types: ['EA'] }));
  });

  it('an Apple iCal REPLY DECLINED: ER, the proposal rejected', async () => {
    const uid = await caseWithProposal();
    expect(await ingest(appleReply(uid, 'DECLINED'))).toMatch(new RegExp(`applied ${CASE} ER$`));
    const c = await show();
    expect(c.em).toBe('NONE');
    expect(c.embargo.proposals[0]).toMatchObject({ id: 'E1', status: 'rejected' });
  });
});
