/**
 * Outcomes of the inbound pipeline (DESIGN.md §2 "Machine mail", "Duplicates", "Size"; §3 "Case
 * identification", "Loops and machine mail"), driven through `vultron-mail ingest` on a real
 * SQLite file and the directory outbox made by `init`, with the clock injected by `--now`.
 *
 * Real-world inputs are copied byte-exact from shared/fixtures/mime (see its SOURCES.md for the
 * reading of each); the inputs "seeded" into a case are derived from them by rewriting only the
 * addressing headers, and say so.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaseSnapshot } from '../../src/protocol/index.js';
import type { Sandbox } from '../cli/helpers.js';
import { COORDINATOR, jsonOf, sandbox } from '../cli/helpers.js';
import type { OutboxJson } from '../helpers/mail.js';
import { emlPath, eml, outboxRows, writeMail } from '../helpers/mail.js';
import { DEMO } from '../helpers/scenario.js';

const MIME = fileURLToPath(new URL('../../fixtures/mime/', import.meta.url));
const OOO_EXCHANGE = `${MIME}01-exchange-ooo-autoreply-no-auto-submitted.eml`;
const OOO_RFC3834 = `${MIME}02-autoreply-rfc3834.eml`;
const DSN_POSTFIX = `${MIME}03-postfix-dsn-multipart-report.eml`;
const NDR_EXCHANGE = `${MIME}04-exchange2007-ndr.eml`;

const CASE = 'VM-2026-0001';
const TITLE = 'Heap overflow in libexample 2.3 image decoder';
const REPORTER = 'alice@finder.example';
const VENDOR = 'psirt@vendor-a.example';
const PLUS = `cvd+${CASE}@example.org`;
const T0 = '2026-12-07T09:12:00Z';
const T1 = '2026-12-07T10:00:00Z';
const NOW = '2026-12-08T08:00:00Z';
/** The kinds of permanent failure a bounce's detail names (src/mail/machine.ts, docs/mail.md "Bounces"). */
const NO_SUCH_ADDRESS = 'no such address (permanent)';
const POLICY_REJECTION = "rejected by the receiving side's policy, not an unknown address (permanent)";

let s: Sandbox;
beforeEach(async () => {
  s = await sandbox();
});
afterEach(() => s.cleanup());

/** The case of fixtures/demo: a report (no embargo), then vendor A invited (it gets the report). */
async function openCase(): Promise<{ reportToVendor: OutboxJson }> {
  expect((await s.cli('--now', T0, 'ingest', `${DEMO}01-report-no-embargo.eml`)).code).toBe(0);
  expect((await s.cli('--now', T1, 'ingest', `${DEMO}02-invite-vendor-a.eml`)).code).toBe(0);
  const row = (await outboxRows(s)).find((r) => r.to[0] === VENDOR && r.types.join() === 'RS');
  if (!row) throw new Error('the report was not sent to the vendor');
  return { reportToVendor: row };
}

async function show(id = CASE): Promise<CaseSnapshot> {
  return jsonOf<CaseSnapshot>(await s.cli('case', 'show', id, '--json'));
}

async function quarantine(): Promise<Array<Record<string, unknown>>> {
  return jsonOf(await s.cli('quarantine', '--json'));
}

function envelopeFrom(rowId: number): string {
  const db = new Database(s.db, { readonly: true });
  try {
    const r = db.prepare('SELECT envelope_from FROM outbox WHERE id = ?').get(rowId) as {
      envelope_from: string;
    };
    return r.envelope_from;
  } finally {
    db.close();
  }
}

function setMaxMessageBytes(n: number): void {
  const config = JSON.parse(readFileSync(s.config, 'utf8')) as { limits: Record<string, number> };
  config.limits['maxMessageBytes'] = n;
  writeFileSync(s.config, JSON.stringify(config, null, 2));
}

/**
 * The two mails a quarantine entry writes when its sender may be told (docs/mail.md
 * "Quarantine"): the fixed notice to the sender, naming no case, then the coordinator's alert.
 * Their Message-IDs are random.
 */
function quarantineNotices(id: number, sender: string, reason: string): OutboxJson[] {
  return [
    {
      id,
      caseId: null,
      to: [sender],
      subject: 'Your mail was not processed',
      types: ['GE', 'GI'],
      status: 'sent',
      attempts: 1,
      messageId: expect.stringMatching(/^<reply\.[0-9a-f]{16}@example\.org>$/) as string,
      calendarMethod: null,
    },
    {
      id: id + 1,
      caseId: null,
      to: [COORDINATOR],
      subject: `Quarantined mail: ${reason} from ${sender}`,
      types: ['GI'],
      status: 'sent',
      attempts: 1,
      messageId: expect.stringMatching(/^<quarantine\.[0-9a-f]{16}@example\.org>$/) as string,
      calendarMethod: null,
    },
  ];
}

/** Derived input: a fixture with some header lines replaced (`name` → whole new line). */
function derive(fixture: string, replace: Record<string, string>, add: string[] = []): string {
  const raw = readFileSync(fixture, 'latin1');
  const nl = raw.includes('\r\n') ? '\r\n' : '\n';
  const cut = raw.indexOf(`${nl}${nl}`);
  let head = raw.slice(0, cut);
  for (const [name, line] of Object.entries(replace)) {
    const re = new RegExp(`^${name}:.*(?:${nl}[ \\t].*)*$`, 'im');
    if (!re.test(head)) throw new Error(`${fixture} has no ${name} header`);
    head = head.replace(re, line);
  }
  return [head, ...add].join(nl) + raw.slice(cut);
}

describe('loops and machine mail: never applied, never answered', () => {
  it('a mail with our own loop header is quarantined `loop`, even from a participant of the case', async () => {
    const { reportToVendor } = await openCase();
    const before = { case: await show(), outbox: await outboxRows(s) };
    const f = writeMail(
      s,
      'loop.eml',
      eml({
        from: VENDOR,
        subject: `Re: ${reportToVendor.subject}`,
        messageId: '<loop-1@vendor-a.example>',
        date: NOW,
        inReplyTo: reportToVendor.messageId,
        headers: ['X-Vultron-Loop: cvd@example.org'],
        body: '/accept\n',
      }),
    );
    expect(await s.cli('--now', NOW, 'ingest', f)).toEqual({
      code: 0,
      stdout: `${f}: quarantined loop our own loop header\n`,
      stderr: '',
    });
    expect(await quarantine()).toEqual([
      { id: 1, messageId: '<loop-1@vendor-a.example>', from: VENDOR, reason: 'loop', at: NOW },
    ]);
    expect({ case: await show(), outbox: await outboxRows(s) }).toEqual(before);
  });

  it('auto-replies (Exchange "Automatic reply" without Auto-Submitted; RFC 3834 Auto-Submitted) open no case and get no answer', async () => {
    expect(await s.cli('--now', NOW, 'ingest', OOO_EXCHANGE, OOO_RFC3834)).toEqual({
      code: 0,
      stdout:
        `${OOO_EXCHANGE}: auto-reply auto-reply subject "Automatic reply: Nyaan"\n` +
        `${OOO_RFC3834}: auto-reply Auto-Submitted: auto-replied\n`,
      stderr: '',
    });
    expect(jsonOf(await s.cli('cases', '--json'))).toEqual([]);
    expect(await outboxRows(s)).toEqual([]);
    expect(await quarantine()).toEqual([]);
    // Recorded in the ledger: the same mail again is a duplicate.
    expect((await s.cli('--now', NOW, 'ingest', OOO_RFC3834)).stdout).toBe(
      `${OOO_RFC3834}: duplicate already auto-reply\n`,
    );
  });

  it('an auto-reply from a participant, in the case thread, is not the vendor’s answer: no awareness, no relay, no ack (derived from mime/01 and mime/02)', async () => {
    const { reportToVendor } = await openCase();
    const before = { case: await show(), outbox: await outboxRows(s) };
    const threading = [`In-Reply-To: ${reportToVendor.messageId}`, `References: ${reportToVendor.messageId}`];
    const exchange = writeMail(
      s,
      'ooo-exchange.eml',
      derive(OOO_EXCHANGE, { From: `From: "Vendor A PSIRT" <${VENDOR}>`, To: `To: ${PLUS}` }, threading),
    );
    const rfc3834 = writeMail(
      s,
      'ooo-rfc3834.eml',
      derive(OOO_RFC3834, { From: `From: ${VENDOR}`, To: `To: ${PLUS}` }, threading),
    );
    expect(await s.cli('--now', NOW, 'ingest', exchange, rfc3834)).toEqual({
      code: 0,
      stdout:
        `${exchange}: auto-reply ${CASE} auto-reply subject "Automatic reply: Nyaan"\n` +
        `${rfc3834}: auto-reply ${CASE} Auto-Submitted: auto-replied\n`,
      stderr: '',
    });
    const after = await show();
    // Recorded on the case (kind `auto-reply`, with the reason) so coordinators see why the vendor
    // is silent; nothing else changes.
    expect(after).toEqual({
      ...before.case,
      log: [
        ...before.case.log,
        {
          at: NOW,
          kind: 'auto-reply',
          from: VENDOR,
          types: [],
          detail: 'auto-reply subject "Automatic reply: Nyaan"',
        },
        { at: NOW, kind: 'auto-reply', from: VENDOR, types: [], detail: 'Auto-Submitted: auto-replied' },
      ],
    });
    expect(after.participants.find((p) => p.email === VENDOR)).toMatchObject({ rm: 'RECEIVED', vfd: 'vfd' });
    expect(await outboxRows(s)).toEqual(before.outbox);
  });

  it('`Precedence: bulk` from a participant is applied but not acknowledged; the others are still told', async () => {
    const { reportToVendor } = await openCase();
    const seen = (await outboxRows(s)).length;
    const f = writeMail(
      s,
      'bulk.eml',
      eml({
        from: VENDOR,
        subject: `Re: ${reportToVendor.subject}`,
        messageId: '<rt-1@vendor-a.example>',
        date: NOW,
        inReplyTo: reportToVendor.messageId,
        references: [reportToVendor.messageId],
        headers: ['Precedence: bulk', 'RT-Ticket: vendor-a.example #4711'],
        body: '/accept\n',
      }),
    );
    expect(await s.cli('--now', NOW, 'ingest', f)).toEqual({
      code: 0,
      stdout: `${f}: applied ${CASE} RA\n`,
      stderr: '',
    });
    const update = `[${CASE}] Update: Vendor Awareness, Report Accepted - ${TITLE}`;
    expect(
      (await outboxRows(s)).slice(seen).map((r) => ({ to: r.to, types: r.types, subject: r.subject })),
    ).toEqual([
      { to: [COORDINATOR], types: ['CV', 'RA'], subject: update },
      { to: [REPORTER], types: ['CV', 'RA'], subject: update },
    ]);
    const vendor = (await show()).participants.find((p) => p.email === VENDOR);
    expect(vendor).toMatchObject({ rm: 'ACCEPTED', vfd: 'Vfd' });
  });
});

describe('bounces', () => {
  it('DSNs that match none of our mails (mime/03 Postfix, mime/04 Exchange NDR) are quarantined `bounce-unmatched`', async () => {
    expect(await s.cli('--now', NOW, 'ingest', DSN_POSTFIX, NDR_EXCHANGE)).toEqual({
      code: 0,
      stdout:
        `${DSN_POSTFIX}: quarantined bounce-unmatched 5.0.0: ${POLICY_REJECTION} — ` +
        'smtp; 554 Host network not allowed - https://community.mimecast.com/docs/DOC-1369#554 [z7qZw5BPd1zlDYHka4589ru.us222]\n' +
        `${NDR_EXCHANGE}: quarantined bounce-unmatched 5.1.1: ${NO_SUCH_ADDRESS} — smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found\n`,
      stderr: '',
    });
    expect(await quarantine()).toEqual([
      {
        id: 1,
        messageId: '<PcWLPhBbNNzq4GD0@smtp.example.co.jp>',
        from: 'mailer-daemon@smtp.example.co.jp',
        reason: 'bounce-unmatched',
        at: NOW,
      },
      {
        id: 2,
        messageId: '<000000000000000000000000000000000000000000000000@example.com>',
        from: 'mailer-daemon@example.com',
        reason: 'bounce-unmatched',
        at: NOW,
      },
    ]);
    expect(jsonOf(await s.cli('cases', '--json'))).toEqual([]);
    expect(await outboxRows(s)).toEqual([]);
  });

  it('a DSN to the VERP address of our report to a vendor marks that address undeliverable and alerts the coordinators; the vendor stays unaware', async () => {
    const { reportToVendor } = await openCase();
    const verp = envelopeFrom(reportToVendor.id);
    expect(verp).toBe(`cvd+bounce-${reportToVendor.messageId.slice(1, -'@example.org>'.length)}@example.org`);
    const seen = (await outboxRows(s)).length;
    const dsn = [
      'Return-Path: <>',
      `Delivered-To: ${verp}`,
      'Received: by mx.example.org (Postfix) id 7C1D2E3F; Mon, 7 Dec 2026 10:00:09 +0000 (UTC)',
      'From: MAILER-DAEMON@mx.vendor-a.example (Mail Delivery System)',
      `To: ${verp}`,
      'Subject: Undelivered Mail Returned to Sender',
      'Date: Mon, 7 Dec 2026 10:00:08 +0000',
      'Message-ID: <dsn-1@mx.vendor-a.example>',
      'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-boundary"',
      '',
      '--dsn-boundary',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      `<${VENDOR}>: host mx.vendor-a.example said: 550 5.1.1 User unknown`,
      '',
      '--dsn-boundary',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.vendor-a.example',
      '',
      `Final-Recipient: rfc822; ${VENDOR}`,
      'Action: failed',
      'Status: 5.1.1',
      `Diagnostic-Code: smtp; 550 5.1.1 <${VENDOR}>: Recipient address rejected: User unknown`,
      '',
      '--dsn-boundary',
      'Content-Type: text/rfc822-headers',
      '',
      `Message-ID: ${reportToVendor.messageId}`,
      `Subject: ${reportToVendor.subject}`,
      '',
      '--dsn-boundary--',
      '',
    ].join('\r\n');
    const f = writeMail(s, 'dsn.eml', dsn);
    const DIAGNOSTIC = `smtp; 550 5.1.1 <${VENDOR}>: Recipient address rejected: User unknown`;
    expect(await s.cli('--now', '2026-12-07T10:01:00Z', 'ingest', f)).toEqual({
      code: 0,
      stdout: `${f}: bounce ${CASE} 5.1.1: ${NO_SUCH_ADDRESS} — ${DIAGNOSTIC} ${VENDOR}\n`,
      stderr: '',
    });
    const bounced = `5.1.1: ${NO_SUCH_ADDRESS} — ${DIAGNOSTIC} (for ${reportToVendor.messageId})`;
    const failed = `Mail to ${VENDOR} failed permanently (${bounced}). The address is marked undeliverable.`;
    const rows = (await outboxRows(s)).slice(seen);
    expect(rows.map((r) => ({ to: r.to, types: r.types, subject: r.subject, status: r.status }))).toEqual([
      {
        to: [COORDINATOR],
        types: ['GI'],
        // The alert's first line, cut at the subject's 200 characters.
        subject: `[${CASE}] Alert: Mail to ${VENDOR} failed permanently (5.1.1: ${NO_SUCH_ADDRESS} — ${DIAGNOSTIC} (for <…`,
        status: 'sent',
      },
    ]);
    const alert = await simpleParser(readFileSync(emlPath(s, (rows[0] as OutboxJson).messageId)));
    expect(alert.text?.replace(/\s+/g, ' ')).toContain(failed);

    const c = await show();
    expect(c.participants.find((p) => p.email === VENDOR)).toEqual({
      email: VENDOR,
      name: null,
      roles: ['vendor'],
      rm: 'START',
      vfd: 'vfd',
      deployed: false,
      engaged: true,
      embargoAdherence: true,
      consent: 'NO_EMBARGO',
      reportSent: false,
      undeliverable: true,
      maxEmbargoDays: null,
      joinedAt: T1,
    });
    expect(c.log.slice(-2)).toEqual([
      {
        at: '2026-12-07T10:01:00Z',
        kind: 'bounce',
        from: VENDOR,
        types: ['RS'],
        detail: `undeliverable: ${bounced}`,
      },
      { at: '2026-12-07T10:01:00Z', kind: 'alert', from: null, types: ['GI'], detail: failed },
    ]);
    expect(await quarantine()).toEqual([]);
  });

  it('the Exchange NDR of mime/04, seeded to answer our report (its addressing rewritten to the VERP address), marks the vendor undeliverable', async () => {
    const { reportToVendor } = await openCase();
    const verp = envelopeFrom(reportToVendor.id);
    const f = writeMail(
      s,
      'ndr.eml',
      derive(NDR_EXCHANGE, {
        'X-Original-To': `X-Original-To: ${verp}`,
        'Delivered-To': `Delivered-To: ${verp}`,
        To: `To: ${verp}`,
      }),
    );
    expect(await s.cli('--now', '2026-12-07T10:01:00Z', 'ingest', f)).toEqual({
      code: 0,
      stdout: `${f}: bounce ${CASE} 5.1.1: ${NO_SUCH_ADDRESS} — smtp;550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ${VENDOR}\n`,
      stderr: '',
    });
    expect((await show()).participants.find((p) => p.email === VENDOR)).toMatchObject({
      rm: 'START',
      vfd: 'vfd',
      reportSent: false,
      undeliverable: true,
    });
  });
});

describe('who may write to a case', () => {
  it('a non-participant naming a case (subject tag, plus-address) is quarantined `not-a-participant`: nothing applied, no case opened', async () => {
    await openCase();
    const before = { case: await show(), outbox: await outboxRows(s) };
    const byTag = writeMail(
      s,
      'tag.eml',
      eml({
        from: 'mallory@evil.example',
        subject: `Re: [${CASE}] ${TITLE}`,
        messageId: '<tag-1@evil.example>',
        date: NOW,
        body: 'We published it.\n\n/public https://evil.example/leak\n',
      }),
    );
    const byPlus = writeMail(
      s,
      'plus.eml',
      eml({
        from: 'mallory@evil.example',
        to: PLUS.toLowerCase(),
        subject: 'hello',
        messageId: '<plus-1@evil.example>',
        date: NOW,
        body: '/embargo terminate\n',
      }),
    );
    expect(await s.cli('--now', NOW, 'ingest', byTag, byPlus)).toEqual({
      code: 0,
      stdout:
        `${byTag}: quarantined not-a-participant case reference ${CASE}\n` +
        // The plus-address is read from the lower-cased recipient list (reported: cosmetic).
        `${byPlus}: quarantined not-a-participant case reference ${CASE.toLowerCase()}\n`,
      stderr: '',
    });
    expect(await quarantine()).toEqual([
      {
        id: 1,
        messageId: '<tag-1@evil.example>',
        from: 'mallory@evil.example',
        reason: 'not-a-participant',
        at: NOW,
      },
      {
        id: 2,
        messageId: '<plus-1@evil.example>',
        from: 'mallory@evil.example',
        reason: 'not-a-participant',
        at: NOW,
      },
    ]);
    // Nothing applied; only the quarantine notices are new: per entry, the sender's fixed notice
    // and the coordinator's alert.
    const n = before.outbox.length;
    const outbox = await outboxRows(s);
    expect({ case: await show(), outbox }).toEqual({
      ...before,
      outbox: [
        ...before.outbox,
        ...quarantineNotices(n + 1, 'mallory@evil.example', 'not-a-participant'),
        ...quarantineNotices(n + 3, 'mallory@evil.example', 'not-a-participant'),
      ],
    });
    for (const row of [outbox[n], outbox[n + 2]]) {
      const notice = await simpleParser(readFileSync(emlPath(s, (row as OutboxJson).messageId)));
      expect(`${notice.subject ?? ''}\n${notice.text ?? ''}`).not.toMatch(/VM-\d{4}|libexample/i);
    }
    expect(jsonOf<unknown[]>(await s.cli('cases', '--json'))).toHaveLength(1);
  });
});

describe('commands', () => {
  it('an unknown command line voids the whole mail: an error reply quotes the line; nothing applied, nobody else told', async () => {
    const { reportToVendor } = await openCase();
    const before = await show();
    const seen = (await outboxRows(s)).length;
    const f = writeMail(
      s,
      'typo.eml',
      eml({
        from: VENDOR,
        subject: `Re: ${reportToVendor.subject}`,
        messageId: '<typo-1@vendor-a.example>',
        date: NOW,
        inReplyTo: reportToVendor.messageId,
        references: [reportToVendor.messageId],
        body: 'We take it.\n\n/accept\n/embargoo 2027-01-20\n',
      }),
    );
    expect(await s.cli('--now', NOW, 'ingest', f)).toEqual({
      code: 0,
      stdout: `${f}: rejected-command ${CASE} /embargoo 2027-01-20: Unknown command "/embargoo". Did you mean "/embargo"?\n`,
      stderr: '',
    });
    const rows = (await outboxRows(s)).slice(seen);
    expect(
      rows.map((r) => ({ to: r.to, types: r.types, subject: r.subject, calendarMethod: r.calendarMethod })),
    ).toEqual([
      { to: [VENDOR], types: ['GE', 'GI'], subject: `Re: ${reportToVendor.subject}`, calendarMethod: null },
    ]);
    const reply = await simpleParser(readFileSync(emlPath(s, (rows[0] as OutboxJson).messageId)));
    expect(reply.inReplyTo).toBe('<typo-1@vendor-a.example>');
    expect(reply.text).toContain('Unknown command "/embargoo". Did you mean "/embargo"?');
    expect(reply.text).toContain('The line in question:\n  /embargoo 2027-01-20\n');
    expect(reply.text).toContain('/embargo accept [id]'); // the command list

    // The case: only a log line saying the mail was refused; the /accept of the same mail is void.
    const after = await show();
    expect(after).toEqual({
      ...before,
      log: [
        ...before.log,
        {
          at: NOW,
          kind: 'rejected-command',
          from: VENDOR,
          types: [],
          detail: '/embargoo 2027-01-20: Unknown command "/embargoo". Did you mean "/embargo"?',
        },
      ],
    });
  });

  it('an unknown command in a mail with no case reference opens no case; the error reply names no case', async () => {
    const f = writeMail(
      s,
      'new-typo.eml',
      eml({
        from: 'bob@else.example',
        subject: 'XSS in the admin panel',
        messageId: '<new-typo@else.example>',
        date: NOW,
        body: 'Details below.\n\n/embargoo +30d\n',
      }),
    );
    expect(await s.cli('--now', NOW, 'ingest', f)).toEqual({
      code: 0,
      stdout: `${f}: rejected-command /embargoo +30d: Unknown command "/embargoo". Did you mean "/embargo"?\n`,
      stderr: '',
    });
    expect(jsonOf(await s.cli('cases', '--json'))).toEqual([]);
    const rows = await outboxRows(s);
    expect(rows.map((r) => ({ caseId: r.caseId, to: r.to, types: r.types, subject: r.subject }))).toEqual([
      { caseId: null, to: ['bob@else.example'], types: ['GE', 'GI'], subject: 'Re: XSS in the admin panel' },
    ]);
    const reply = await simpleParser(readFileSync(emlPath(s, (rows[0] as OutboxJson).messageId)));
    expect(reply.text).toContain('no case was opened');
    expect(reply.text).toContain('  /embargoo +30d');
    expect(reply.text).not.toMatch(/VM-\d{4}/);
  });
});

describe('size limit (limits.maxMessageBytes)', () => {
  /** A new report with an attachment, padded to exactly `bytes` bytes. */
  function reportOf(bytes: number, messageId: string): string {
    const build = (pad: number) =>
      [
        `From: Carol Researcher <carol@researcher.example>`,
        `To: cvd@example.org`,
        `Subject: Crash dump for libexample`,
        `Date: Mon, 07 Dec 2026 09:00:00 +0000`,
        `Message-ID: ${messageId}`,
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b1"',
        '',
        '--b1',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'The crash dump is attached.',
        'x'.repeat(pad),
        '--b1',
        'Content-Type: application/octet-stream; name="crash.bin"',
        'Content-Disposition: attachment; filename="crash.bin"',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from('crash dump bytes \u0000\u0001\u0002').toString('base64'),
        '--b1--',
        '',
      ].join('\r\n');
    const raw = build(bytes - build(0).length);
    expect(Buffer.byteLength(raw)).toBe(bytes);
    return raw;
  }

  it('one byte over the cap is quarantined `too-large`; at the cap it is processed; `quarantine release` processes the held one, attachment and all', async () => {
    const CAP = 2048;
    setMaxMessageBytes(CAP);
    const over = writeMail(s, 'over.eml', reportOf(CAP + 1, '<big-1@researcher.example>'));
    expect(await s.cli('--now', NOW, 'ingest', over)).toEqual({
      code: 0,
      stdout: `${over}: quarantined too-large message size (bytes): ${CAP + 1} > limits.maxMessageBytes ${CAP}\n`,
      stderr: '',
    });
    expect(await quarantine()).toEqual([
      {
        id: 1,
        messageId: '<big-1@researcher.example>',
        from: 'carol@researcher.example', // read from the header alone
        reason: 'too-large',
        at: NOW,
      },
    ]);
    expect(jsonOf(await s.cli('cases', '--json'))).toEqual([]);
    // The sender is told (DESIGN.md §2 "Size"), and the coordinator alerted.
    expect(await outboxRows(s)).toEqual(quarantineNotices(1, 'carol@researcher.example', 'too-large'));

    const atCap = writeMail(s, 'at-cap.eml', reportOf(CAP, '<big-2@researcher.example>'));
    expect(await s.cli('--now', NOW, 'ingest', atCap)).toEqual({
      code: 0,
      stdout: `${atCap}: opened ${CASE} new case ${CASE}\n`,
      stderr: '',
    });

    const later = '2026-12-08T09:00:00Z';
    expect(await s.cli('--now', later, 'quarantine', 'release', '1')).toEqual({
      code: 0,
      stdout: 'released 1: opened VM-2026-0002 new case VM-2026-0002\n',
      stderr: '',
    });
    expect(await quarantine()).toEqual([]);
    const rows = (await outboxRows(s)).filter((r) => r.caseId === 'VM-2026-0002');
    expect(rows.map((r) => ({ to: r.to, types: r.types, status: r.status }))).toEqual([
      { to: ['carol@researcher.example'], types: ['RK'], status: 'sent' },
      { to: [COORDINATOR], types: ['RS'], status: 'sent' },
    ]);
    const forwarded = await simpleParser(readFileSync(emlPath(s, (rows[1] as OutboxJson).messageId)));
    expect(
      forwarded.attachments.map((a) => ({ name: a.filename, content: a.content.toString('latin1') })),
    ).toEqual([{ name: 'crash.bin', content: 'crash dump bytes \u0000\u0001\u0002' }]);
    // Released once: the same mail delivered again is a duplicate of the applied one.
    expect((await s.cli('--now', later, 'ingest', over)).stdout).toBe(
      `${over}: duplicate VM-2026-0002 already applied\n`,
    );
  });
});
