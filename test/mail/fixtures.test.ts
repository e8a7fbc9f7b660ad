/**
 * Every file of fixtures/mime (byte-exact copies of shared/fixtures/mime) through the whole
 * inbound pipeline, with the outcome its SOURCES.md entry implies. The fixtures' senders take
 * part in no case, so a readable human mail opens a new case (DESIGN.md §2 "New report");
 * "derived" tests change a real fixture in one place (marked) to put it into a seeded case.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { subjectCaseTag } from '../../src/mail/subject.js';
import type { IngestResult } from '../../src/mail/inbound.js';
import type { OutboxRow, Report } from '../../src/store/port.js';
import { BOT, COORD, VENDOR, alerts, harness, rowsTo } from './harness.js';
import type { Harness } from './harness.js';

const DIR = new URL('../../fixtures/mime/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, DIR));

/** Replaces exactly one occurrence of `from` in the raw mail (a derived fixture). */
function derive(raw: Buffer | string, from: string, to: string): Buffer {
  const text = typeof raw === 'string' ? raw : raw.toString('latin1');
  expect(text.split(from), `"${from}" once`).toHaveLength(2);
  return Buffer.from(text.replace(from, to), 'latin1');
}

interface Seen {
  h: Harness;
  r: IngestResult;
  rows: OutboxRow[];
  report: Report | undefined;
}

async function ingestFixture(name: string): Promise<Seen> {
  const h = harness();
  const r = await h.ingest(fixture(name));
  const rows = h.outbox();
  const report = r.caseId ? h.store.getReports(r.caseId)[0] : undefined;
  return { h, r, rows, report };
}

/** A machine mail: nothing opened, nothing sent, nothing quarantined; raw kept in the ledger. */
function expectIgnoredMachineMail(s: Seen): void {
  expect(s.r.outcome).toBe('auto-reply');
  expect(s.r.caseId).toBeNull();
  expect(s.rows).toEqual([]);
  expect(s.h.store.listCases()).toEqual([]);
  expect(s.h.store.listQuarantine()).toEqual([]);
}

/** A bounce of nothing we sent: held, nobody answered or alerted (an alert could loop). */
function expectUnmatchedBounce(s: Seen, kind: RegExp): void {
  expect(s.r).toMatchObject({ outcome: 'quarantined', reason: 'bounce-unmatched' });
  expect(s.r.detail).toMatch(kind);
  expect(s.rows).toEqual([]);
  expect(s.h.store.listCases()).toEqual([]);
  expect(s.h.store.listQuarantine()).toMatchObject([{ reason: 'bounce-unmatched' }]);
}

/** An encrypted mail: held, the sender told a coordinator follows up, the coordinators alerted. */
function expectUndecryptable(s: Seen, sender: string): void {
  expect(s.r).toMatchObject({ outcome: 'quarantined', reason: 'undecryptable' });
  expect(s.h.store.listCases()).toEqual([]);
  const [told] = rowsTo(s.rows, sender);
  expect(told?.types).toEqual(['GE', 'GI']);
  const body = told?.raw.toString('utf8') ?? '';
  expect(body).toContain('cannot be decrypted here');
  expect(body).toContain('a coordinator will follow up with you');
  // Never asked to send it again unencrypted, and nothing of its content is quoted.
  expect(body).not.toMatch(/unencrypted|resend|send it again|BEGIN PGP/i);
  expect(alerts(s.rows).map((r) => r.to[0])).toEqual([COORD]);
}

/** A readable mail from a stranger: a new case, no commands but the report itself. */
function expectOpened(s: Seen): void {
  expect(s.r.outcome).toBe('opened');
  const c = s.h.getCase(s.r.caseId as string);
  expect(c.log.filter((e) => e.kind === 'inbound').map((e) => e.types)).toEqual([['RS']]);
}

const TABLE: Array<[string, string, (s: Seen) => void]> = [
  [
    '01-exchange-ooo-autoreply-no-auto-submitted.eml',
    'Exchange "Automatic reply:" without Auto-Submitted: auto-reply, never answered',
    (s) => {
      expectIgnoredMachineMail(s);
      expect(s.r.detail).toMatch(/auto-reply subject/);
    },
  ],
  [
    '02-autoreply-rfc3834.eml',
    'Auto-Submitted: auto-replied vacation notice: ignored, "May 5" is no date proposal',
    (s) => {
      expectIgnoredMachineMail(s);
      expect(s.r.detail).toBe('Auto-Submitted: auto-replied');
    },
  ],
  [
    '03-postfix-dsn-multipart-report.eml',
    'Postfix DSN, Mimecast policy block: bounce-unmatched, a policy rejection',
    (s) =>
      expectUnmatchedBounce(s, /^5\.0\.0: rejected by the receiving side's policy, not an unknown address/),
  ],
  [
    '04-exchange2007-ndr.eml',
    'Exchange 2007 NDR: bounce-unmatched, no such address',
    (s) => expectUnmatchedBounce(s, /^5\.1\.1: no such address .*RecipNotFound/),
  ],
  [
    '05-pgp-mime-encrypted.eml',
    'PGP/MIME encrypted: undecryptable',
    (s) => expectUndecryptable(s, 'bob@openpgp.example'),
  ],
  [
    '06-pgp-mime-mangled-by-exchange.eml',
    'PGP/MIME mangled by Exchange into multipart/mixed: undecryptable like 05',
    (s) => expectUndecryptable(s, 'alice@openpgp.example'),
  ],
  [
    '07-inline-pgp-signed-latin1.eml',
    'inline PGP signed, latin1: read normally',
    (s) => {
      expectOpened(s);
      expect(s.report?.text).toContain('\nàèìòù\n');
    },
  ],
  [
    '08-pgp-mime-signed-mailman-footer.eml',
    'PGP/MIME signed inside a list footer: read normally',
    (s) => {
      expectOpened(s);
      expect(s.report?.text).toContain('Sundays are nothing without callaloo.');
    },
  ],
  [
    '09-no-charset-windows1252-8bit.eml',
    'no charset, 8-bit windows-1252: decoded as windows-1252',
    (s) => {
      expectOpened(s);
      expect(s.report?.text).toContain('Aquí tenemos texto en español:');
      expect(s.report?.text).toContain('el descubrimiento\nde América en 1492');
      expect(s.report?.text).not.toContain('\ufffd');
    },
  ],
  [
    '10-wrongly-declared-utf8.eml',
    'declared windows-1252, really UTF-8: decoded as UTF-8',
    (s) => {
      expectOpened(s);
      expect(s.report?.text).toMatch(/^メールを簡単に。\n/);
      expect(s.report?.text).toContain('そんなメールソフトが Thunderbird です。');
    },
  ],
  [
    '11-badly-folded-headers.eml',
    'badly folded headers: the subject unfolds',
    (s) => {
      expectOpened(s);
      expect(s.h.getCase(s.r.caseId as string).title.replace(/\s+/g, ' ')).toBe(
        'Badly folded headers, one line with space between To and From',
      );
      expect(s.report?.text).toBe("Here's our body\n");
    },
  ],
  [
    '12-outlook-top-post-from-sent.eml',
    'Outlook top-post: a report with no commands',
    (s) => expectOpened(s),
  ],
  ['13-gmail-reply-on-wrote.eml', 'Gmail reply: a report with no commands', (s) => expectOpened(s)],
  [
    '15-html-only.eml',
    'HTML only: the text mailparser derives',
    (s) => {
      expectOpened(s);
      expect(s.report?.text.replace(/\u00a0/g, ' ')).toBe('Code: 10848255');
    },
  ],
  [
    '16-forwarded-message-rfc822.eml',
    'forward as message/rfc822: the forward is an attachment, not the sender’s text',
    (s) => {
      expectOpened(s);
      expect(s.report?.text).toBe('Test for parsing forwarded emails.\n\n-- \nAlice');
      expect(s.report?.attachments.map((a) => [a.filename, a.contentType])).toEqual([
        ['[Officespot-cs-svn] r15209 - trunk/tine20/Tinebase.eml', 'message/rfc822'],
      ]);
    },
  ],
  [
    '17-mime-torture-nested-rfc822.eml',
    'MIME torture test: survives; the top-level text only',
    (s) => {
      expectOpened(s);
      expect(s.report?.text).toMatch(/^Welcome to Mallory Tester's MIME torture test\./);
      // The nested messages are attachments, not text of this sender.
      expect(s.report?.text).not.toContain('Subject:');
      expect(s.report?.attachments.length).toBeGreaterThan(5);
    },
  ],
  [
    '18-broken-base64-decoder-ended.eml',
    'broken base64 after the decoder ended: no hang, the text that decoded is kept',
    (s) => {
      expectOpened(s);
      expect(s.report?.text).toContain('Note: forwarded message attached.');
    },
  ],
  [
    '19-bad-charset.eml',
    'charset="bad-charset" on windows-1252 text: falls back instead of U+FFFD',
    (s) => {
      expectOpened(s);
      expect(s.report?.text).toContain('the search term Mätterhorn.');
    },
  ],
  [
    '20-rfc2047-encoded-attachment-name.eml',
    'RFC 2047 word inside a name parameter: decoded attachment name',
    (s) => {
      expectOpened(s);
      expect(s.report?.attachments.map((a) => a.filename)).toEqual(['äöppopä.txt']);
    },
  ],
  [
    '22-long-subject-iso2022jp-encoded-words.eml',
    'Domino DSN with a long ISO-2022-JP subject: bounce-unmatched, user not found',
    (s) => {
      expectUnmatchedBounce(s, /^5\.0\.0: no such address .*Domino ディレクトリには見つかりません/);
    },
  ],
];

describe('every fixture of fixtures/mime through the pipeline', () => {
  it('the table covers every file, and the files are byte-exact copies of shared/', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.eml'));
    expect(TABLE.map(([f]) => f).sort()).toEqual(files.sort());
    const shared = new URL('../../../shared/fixtures/mime/', DIR);
    let compared = 0;
    for (const f of files) {
      let original: Buffer;
      try {
        original = readFileSync(new URL(f, shared));
      } catch {
        continue; // shared/ is not next to every clone
      }
      expect(fixture(f).equals(original), f).toBe(true);
      compared += 1;
    }
    expect(compared === 0 || compared === files.length).toBe(true);
  });

  it.each(TABLE)('%s: %s', async (name, _what, check) => {
    check(await ingestFixture(name));
  });

  it('mime/22: the long encoded subject decodes exactly', async () => {
    const s = await ingestFixture('22-long-subject-iso2022jp-encoded-words.eml');
    const q = s.h.store.listQuarantine()[0];
    expect(q?.from).toBe('postmaster@example.co.jp');
    const { simpleParser } = await import('mailparser');
    const parsed = await simpleParser(fixture('22-long-subject-iso2022jp-encoded-words.eml'));
    expect(parsed.subject).toBe(
      'DELIVERY FAILURE:  ユーザー Neko (kijitora@example.co.jp) は Domino ディレクトリには見つかりません。',
    );
  });

  it('a second ingest of any fixture is a duplicate: nothing more happens', async () => {
    for (const [name] of TABLE) {
      const h = harness();
      await h.ingest(fixture(name));
      const rows = h.outbox().length;
      const again = await h.ingest(fixture(name));
      expect(again.outcome, name).toBe('duplicate');
      expect(h.outbox().length, name).toBe(rows);
    }
  });
});

describe('derived: the fixtures inside a case', () => {
  /** Sets From and Subject of a fixture so that it comes from the vendor about the case. */
  function asVendorReply(raw: Buffer, from: string, subject: string, caseId: string): Buffer {
    const a = derive(raw, from, `From: ${VENDOR}`);
    return derive(a, subject, `Subject: Re: [${caseId}] Test`);
  }

  it('mime/12 derived: a command in the unmarked Outlook original is not applied', async () => {
    const h = harness();
    const id = await h.seedCase();
    let raw = asVendorReply(
      fixture('12-outlook-top-post-from-sent.eml'),
      'From: me@example.com',
      'Subject: Test',
      id,
    );
    raw = derive(raw, "The manager's comment:\n", "The manager's comment:\n/invalid\n");
    const r = await h.ingest(raw);
    expect(r).toMatchObject({ outcome: 'applied', caseId: id });
    const vendor = h.getCase(id).participants.find((p) => p.email === VENDOR);
    expect(vendor?.rm).toBe('RECEIVED');
    // Applied as plain text (GI), not as RI.
    expect(
      h
        .getCase(id)
        .log.filter((e) => e.kind === 'inbound')
        .at(-1),
    ).toMatchObject({
      from: VENDOR,
      types: ['GI'],
    });
  });

  it('mime/13 derived: a command in the >-quote is not applied, one in the reply is', async () => {
    const h = harness();
    const id = await h.seedCase();
    const base = asVendorReply(
      fixture('13-gmail-reply-on-wrote.eml'),
      'From: Heidi Reporter <xxx@gmail.com>',
      'Subject: Re: Test',
      id,
    );
    const quoted = derive(derive(base, '> Hi\n', '> /invalid\n'), '<CAKsfaBW4hj0', '<quoted.CAKsfaBW4hj0');
    expect(await h.ingest(quoted)).toMatchObject({ outcome: 'applied', caseId: id });
    expect(h.getCase(id).participants.find((p) => p.email === VENDOR)?.rm).toBe('RECEIVED');
    const own = derive(
      derive(base, 'Hello\n\nOn Mon', 'Hello\n/valid\n\nOn Mon'),
      '<CAKsfaBW4hj0',
      '<own.CAKsfaBW4hj0',
    );
    expect(await h.ingest(own)).toMatchObject({ outcome: 'applied', caseId: id });
    expect(h.getCase(id).participants.find((p) => p.email === VENDOR)?.rm).toBe('VALID');
  });

  it('mime/16 derived: a command inside a forwarded message (attached or inline) is not applied', async () => {
    for (const disposition of ['attachment', 'inline']) {
      const h = harness();
      const id = await h.seedCase();
      let raw = asVendorReply(
        fixture('16-forwarded-message-rfc822.eml'),
        'From: Alice Vendor <alice@vendor.example>',
        'Subject: Fwd: [Officespot-cs-svn] r15209 - trunk/tine20/Tinebase',
        id,
      );
      raw = derive(
        raw,
        'Content-Disposition: attachment;\r\n filename*0=',
        `Content-Disposition: ${disposition};\r\n filename*0=`,
      );
      // The first body line of the forwarded message becomes a command.
      raw = derive(raw, 'Author: ', '/invalid\r\nAuthor: ');
      const r = await h.ingest(raw);
      expect(r, disposition).toMatchObject({ outcome: 'applied', caseId: id });
      expect(h.getCase(id).participants.find((p) => p.email === VENDOR)?.rm, disposition).toBe('RECEIVED');
    }
  });

  it('mime/08 derived: a command in the unsigned list footer is not read', async () => {
    const h = harness();
    const id = await h.seedCase();
    let raw = derive(
      fixture('08-pgp-mime-signed-mailman-footer.eml'),
      'From: Carol <carol@example.com>\r\nSubject: Signed Unencrypted with unsigned mailing list footer',
      `From: ${VENDOR}\r\nSubject: Re: [${id}] signed`,
    );
    raw = derive(raw, 'Mailman mailing list\r\n', 'Mailman mailing list\r\n/invalid\r\n');
    const r = await h.ingest(raw);
    expect(r).toMatchObject({ outcome: 'applied', caseId: id });
    expect(h.getCase(id).participants.find((p) => p.email === VENDOR)?.rm).toBe('RECEIVED');
    // The relayed note is the signed text only.
    const note = rowsTo(h.newRows(), COORD)
      .map((row) => row.raw.toString('utf8'))
      .join('\n');
    expect(note).toContain('Sundays are nothing without callaloo.');
    expect(note).not.toContain('Mailman mailing list');
  });

  it('mime/07 derived: a command in the inline-signed text is read, the armour is not', async () => {
    const h = harness();
    const id = await h.seedCase();
    let raw = derive(
      fixture('07-inline-pgp-signed-latin1.eml'),
      'From: alice@example.com',
      `From: ${VENDOR}`,
    );
    raw = derive(
      raw,
      'Subject: inline signed openpgp - in latin1 - from tb78',
      `Subject: Re: [${id}] signed`,
    );
    raw = derive(raw, 'Hash: SHA512\r\n\r\n', 'Hash: SHA512\r\n\r\n/valid\r\n');
    const r = await h.ingest(raw);
    expect(r).toMatchObject({ outcome: 'applied', caseId: id, detail: 'RV' });
  });

  it('mime/22 derived: a case tag in a long, folded ISO-2022-JP subject is found', async () => {
    const raw = fixture('22-long-subject-iso2022jp-encoded-words.eml');
    const tagged = derive(raw, ' =?US-ASCII?Q??=', ' =?US-ASCII?Q?[VM-2026-?=\n =?US-ASCII?Q?0001]?=');
    const { simpleParser } = await import('mailparser');
    const subject = (await simpleParser(tagged)).subject ?? '';
    expect(subject).toContain('[VM-2026-0001]');
    expect(subjectCaseTag(subject, BOT.caseIdPrefix)).toBe('VM-2026-0001');
  });
});

describe('derived: bounces that match a mail of ours', () => {
  /** The seeded case and the report row that went to the vendor. */
  async function seeded(): Promise<{ h: Harness; id: string; row: OutboxRow }> {
    const h = harness();
    const id = await h.seedCase();
    const row = h.outbox().find((r) => r.to[0] === VENDOR && r.types.includes('RS'));
    if (!row) throw new Error('no report row to the vendor');
    return { h, id, row };
  }

  function expectUndeliverable(h: Harness, id: string, kind: RegExp): void {
    const c = h.getCase(id);
    const vendor = c.participants.find((p) => p.email === VENDOR);
    expect(vendor).toMatchObject({ undeliverable: true, vfd: 'vfd', rm: 'START', reportSent: false });
    const bounce = c.log.filter((e) => e.kind === 'bounce');
    expect(bounce).toMatchObject([{ from: VENDOR }]);
    expect(bounce[0]?.detail).toMatch(kind);
    const told = rowsTo(h.newRows(), COORD);
    expect(told).toHaveLength(1);
    expect(told[0]?.raw.toString('utf8')).toMatch(/failed permanently/);
    expect(rowsTo(h.newRows(), VENDOR)).toEqual([]);
    expect(h.store.listQuarantine()).toEqual([]);
  }

  it('mime/03 via VERP: a policy rejection (5.0.0 "not allowed"), told apart from an unknown address', async () => {
    const { h, id, row } = await seeded();
    const raw = derive(
      fixture('03-postfix-dsn-multipart-report.eml'),
      '\nTo: kijitora@example.co.jp\n',
      `\nTo: ${row.envelopeFrom}\n`,
    );
    const r = await h.ingest(raw);
    expect(r).toMatchObject({ outcome: 'bounce', caseId: id });
    expectUndeliverable(h, id, /rejected by the receiving side's policy, not an unknown address/);
    expect(h.getCase(id).log.find((e) => e.kind === 'bounce')?.detail).not.toMatch(/no such address/);
  });

  it('mime/03 derived 5.7.1: a policy rejection by its status code', async () => {
    const { h, id, row } = await seeded();
    let raw = derive(
      fixture('03-postfix-dsn-multipart-report.eml'),
      '\nTo: kijitora@example.co.jp\n',
      `\nTo: ${row.envelopeFrom}\n`,
    );
    raw = derive(raw, 'Status: 5.0.0', 'Status: 5.7.1');
    expect(await h.ingest(raw)).toMatchObject({ outcome: 'bounce', caseId: id });
    expectUndeliverable(h, id, /5\.7\.1: rejected by the receiving side's policy/);
  });

  it('mime/04 by the original Message-ID in the returned message: no such user (5.1.1)', async () => {
    const { h, id, row } = await seeded();
    const raw = derive(
      fixture('04-exchange2007-ndr.eml'),
      'Subject: Nyaan\nFrom: Kijitora <kijitora@example.jp>\nTo: Neko <mikeneko@example.co.jp>\nMIME-Version: 1.0\nContent-Type: multipart/alternative;\n\tboundary="_=neko',
      `Subject: Nyaan\nFrom: Kijitora <kijitora@example.jp>\nTo: Neko <mikeneko@example.co.jp>\nMessage-ID: ${row.messageId}\nMIME-Version: 1.0\nContent-Type: multipart/alternative;\n\tboundary="_=neko`,
    );
    expect(await h.ingest(raw)).toMatchObject({ outcome: 'bounce', caseId: id });
    expectUndeliverable(h, id, /5\.1\.1: no such address/);
  });

  it('mime/04 derived into multipart/mixed (older Exchange shape): still a bounce', async () => {
    const { h, id, row } = await seeded();
    let raw = derive(
      fixture('04-exchange2007-ndr.eml'),
      'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="0000ffff',
      'Content-Type: multipart/mixed;\n\tboundary="0000ffff',
    );
    raw = derive(raw, '\nTo: kijitora@example.jp\n', `\nTo: ${row.envelopeFrom}\n`);
    expect(await h.ingest(raw)).toMatchObject({ outcome: 'bounce', caseId: id });
    expectUndeliverable(h, id, /5\.1\.1: no such address/);
  });

  it('mime/22 by the returned Message-ID: the Domino "not found" is no such user', async () => {
    const { h, id, row } = await seeded();
    const raw = derive(
      fixture('22-long-subject-iso2022jp-encoded-words.eml'),
      'MIME-Version: 1.0\nMessage-ID: <0000000000.00000000-0000000000.00000000-00000000.00000000@example.co.jp>\nContent-Type: text/plain;',
      `MIME-Version: 1.0\nMessage-ID: ${row.messageId}\nContent-Type: text/plain;`,
    );
    expect(await h.ingest(raw)).toMatchObject({ outcome: 'bounce', caseId: id });
    expectUndeliverable(h, id, /no such address .*見つかりません/);
  });

  it('mime/22 derived into a plain-text Domino notice (no multipart/report): a bounce, matched by VERP', async () => {
    const { h, id, row } = await seeded();
    const text = [
      'From: Postmaster@example.co.jp',
      `To: ${row.envelopeFrom}`,
      'Subject: DELIVERY FAILURE: User psirt (psirt@vendor.example) not listed in Domino Directory',
      'Date: Thu, 08 Jul 2012 00:03:54 +0800',
      'Message-ID: <domino-text-1@example.co.jp>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=US-ASCII',
      '',
      'Your message',
      '',
      '  Subject: [VM-2026-0001] Report',
      '',
      'was not delivered to:',
      '',
      '  psirt@vendor.example',
      '',
      'because:',
      '',
      '  User psirt (psirt@vendor.example) not listed in Domino Directory',
      '',
    ].join('\n');
    expect(await h.ingest(text)).toMatchObject({ outcome: 'bounce', caseId: id });
    expectUndeliverable(h, id, /no such address .*not listed in Domino Directory|permanent failure/);
  });

  it('a delay notice (4.x.x) is logged, nothing is marked', async () => {
    const { h, id, row } = await seeded();
    let raw = derive(
      fixture('03-postfix-dsn-multipart-report.eml'),
      '\nTo: kijitora@example.co.jp\n',
      `\nTo: ${row.envelopeFrom}\n`,
    );
    raw = derive(derive(raw, 'Action: failed', 'Action: delayed'), 'Status: 5.0.0', 'Status: 4.4.1');
    expect(await h.ingest(raw)).toMatchObject({ outcome: 'bounce', caseId: id });
    const c = h.getCase(id);
    expect(c.participants.find((p) => p.email === VENDOR)?.undeliverable).toBe(false);
    expect(c.log.at(-1)).toMatchObject({ kind: 'bounce', from: VENDOR });
    expect(c.log.at(-1)?.detail).toMatch(/temporary delivery failure: 4\.4\.1: temporary failure/);
    expect(h.newRows()).toEqual([]);
  });
});
