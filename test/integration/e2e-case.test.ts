/**
 * End to end on the real Dovecot and Postfix (issue 6, "Must show", first bullet): a whole case
 * between real mailboxes with the daemon running in-process (IMAP IDLE, SMTP out). The reporter
 * reports over SMTP, the coordinator invites two vendors by mail, the reporter proposes an
 * embargo, vendor A accepts it with an Outlook-shaped calendar REPLY and vendor B with
 * `/embargo accept`, the embargo becomes ACTIVE, vendor A's `/public` ends it. Every mail the bot
 * sent is read back over IMAP; at the end each mailbox holds exactly the expected mails, and the
 * health endpoint says IMAP connected, outbox empty. The steps build on each other (one case).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { Daemon, Health } from '../../src/daemon/run.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { USERS, eventually, freePort, header, mail } from '../helpers/mailstack.js';
import type { MailItem, MailStack, UserName } from '../helpers/mailstack.js';
import { FAST, botConfig, memoryLogger, openDaemon, useMailStack } from './setup.js';
import type { BotSandbox } from './setup.js';

const DOMAIN = USERS.bot.email.split('@')[1] as string;
const BOT_LOCAL = USERS.bot.email.split('@')[0] as string;
const PARTICIPANTS: UserName[] = ['reporter', 'coordinator', 'alice', 'bob'];

let stack: MailStack;
let bot: BotSandbox;
let daemon: Daemon | null = null;
let healthPort: number;
const log = memoryLogger();

let caseId = '';
let reportId = '';
let ack: MailItem;
let coordNotice: MailItem;
const invitations: Partial<Record<'alice' | 'bob', MailItem>> = {};

function caseOf(id: string) {
  const store = openSqliteStore(bot.db);
  try {
    return store.getCase(id);
  } finally {
    store.close();
  }
}

async function health(): Promise<{ code: number; body: Health }> {
  const res = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
  return { code: res.status, body: (await res.json()) as Health };
}

/** The decoded text/calendar parts of a mail (with the Content-Type's method), in order. */
function calendars(m: MailItem): Array<{ method: string; ics: string }> {
  return m.parsed.attachments
    .filter((a) => a.contentType === 'text/calendar')
    .map((a) => {
      const params = (a.headers.get('content-type') as { params?: Record<string, string> } | undefined)
        ?.params;
      const ics = a.content.toString('utf8').replace(/\r?\n[ \t]/g, '');
      const method = params?.['method'] ?? /^METHOD:(.*)$/m.exec(ics)?.[1]?.trim() ?? '';
      return { method: method.toUpperCase(), ics };
    });
}

function method(m: MailItem): string | null {
  return calendars(m)[0]?.method ?? null;
}

/** [X-Vultron-Message-Types, calendar METHOD or null] of each mail of a mailbox, in order. */
function summary(items: MailItem[]): Array<[string, string | null]> {
  return items.map((m) => [header(m, 'x-vultron-message-types'), method(m)]);
}

function icsLines(ics: string, name: string): string[] {
  return ics
    .split(/\r?\n/)
    .filter((l) => l.toUpperCase().startsWith(`${name}:`) || l.toUpperCase().startsWith(`${name};`));
}

/** The headers every mail of the bot about the case carries. */
function expectBotMail(m: MailItem): void {
  expect(m.parsed.from?.value[0]?.address).toBe(USERS.bot.email);
  expect(header(m, 'auto-submitted')).toMatch(/^auto-(replied|generated)/);
  expect(header(m, 'x-vultron-message-types')).toMatch(/^[A-Z]{2}(, ?[A-Z]{2})*$/);
  expect(m.parsed.replyTo?.value[0]?.address?.toLowerCase()).toBe(
    `${BOT_LOCAL}+${caseId}@${DOMAIN}`.toLowerCase(),
  );
  expect(m.parsed.subject).toContain(`[${caseId}]`);
  expect(header(m, 'references')).toContain(`<${caseId}@${DOMAIN}>`);
}

/** Checks a vendor's embargo invitation: REQUEST, the case's UID, only that vendor invited. */
function expectInvitation(m: MailItem, vendor: 'alice' | 'bob'): string {
  expectBotMail(m);
  const cal = calendars(m);
  expect(cal).toHaveLength(1);
  const { method: meth, ics } = cal[0] as { method: string; ics: string };
  expect(meth).toBe('REQUEST');
  expect(m.raw.toString('latin1')).toMatch(/Content-Type: text\/calendar;[^\r\n]*method=REQUEST/i);
  expect(ics).toMatch(/^METHOD:REQUEST$/m);
  expect(icsLines(ics, 'UID')).toEqual([`UID:${caseId}-embargo-1@${DOMAIN}`]);
  const attendees = icsLines(ics, 'ATTENDEE');
  expect(attendees).toHaveLength(1);
  expect((attendees[0] as string).toLowerCase()).toContain(`mailto:${USERS[vendor].email}`);
  expect(icsLines(ics, 'ORGANIZER')[0]?.toLowerCase()).toContain(`mailto:${USERS.bot.email}`);
  return ics;
}

async function send(from: UserName, raw: Buffer | string, to: string = USERS.bot.email): Promise<void> {
  await stack.send(USERS[from].email, to, raw);
}

function reply(from: UserName, to: MailItem, body: string): Buffer {
  return mail({
    from: USERS[from].email,
    to: to.parsed.replyTo?.value[0]?.address ?? USERS.bot.email,
    subject: `Re: ${to.parsed.subject ?? ''}`,
    body,
    inReplyTo: to.parsed.messageId as string,
    references: [to.parsed.messageId as string],
  });
}

/** An Outlook-shaped acceptance: multipart/alternative, base64 REPLY, no ORGANIZER. */
function outlookAccept(invitation: MailItem, ics: string): Buffer {
  const uid = icsLines(ics, 'UID')[0] as string;
  const dtstart = icsLines(ics, 'DTSTART')[0] as string;
  const sequence = icsLines(ics, 'SEQUENCE')[0] ?? 'SEQUENCE:0';
  const now = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const reply = [
    'BEGIN:VCALENDAR',
    'METHOD:REPLY',
    'PRODID:Microsoft Exchange Server 2010',
    'VERSION:2.0',
    'BEGIN:VEVENT',
    `ATTENDEE;PARTSTAT=ACCEPTED;CN=Alice Vendor:mailto:${USERS.alice.email}`,
    `SUMMARY;LANGUAGE=en-US:Accepted: ${invitation.parsed.subject ?? ''}`,
    dtstart,
    uid,
    'CLASS:PUBLIC',
    'PRIORITY:5',
    `DTSTAMP:${now}`,
    'TRANSP:OPAQUE',
    'STATUS:CONFIRMED',
    sequence,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
  const b64 = (
    Buffer.from(reply)
      .toString('base64')
      .match(/.{1,76}/g) ?? []
  ).join('\r\n');
  const boundary = '_000_AM0PR08MB5500E2E0000000000000000000000_';
  const to = invitation.parsed.replyTo?.value[0]?.address ?? USERS.bot.email;
  return Buffer.from(
    [
      `From: Alice Vendor <${USERS.alice.email}>`,
      `To: ${to}`,
      `Subject: Accepted: ${invitation.parsed.subject ?? ''}`,
      'Thread-Topic: embargo',
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <AM0PR08MB5500${Date.now()}@AM0PR08MB5500.eurprd08.prod.outlook.example>`,
      'Accept-Language: en-US',
      'Content-Language: en-US',
      'MIME-Version: 1.0',
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset="us-ascii"',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '',
      `--${boundary}`,
      'Content-Type: text/calendar; charset="utf-8"; method=REPLY',
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      '',
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
}

useMailStack(async (s) => {
  stack = s;
  healthPort = await freePort();
  bot = botConfig(stack, { healthPort });
});

afterAll(async () => {
  const d = daemon;
  daemon = null;
  await d?.stop().catch(() => undefined);
  bot?.cleanup();
});

describe('a whole case between real mailboxes, the daemon running', { timeout: 30_000 }, () => {
  it('the report sent over SMTP is picked up by IDLE and opens a case', async () => {
    // No poll within the test: every mail is picked up because IDLE reported it. The watcher
    // leaves IDLE to imapflow's auto-IDLE, which starts 15 s after the last command by default;
    // the test shortens that delay (a client option) so that each step does not wait 15 s.
    daemon = openDaemon(bot, {
      logger: log.logger,
      watcherTiming: { ...FAST.watcherTiming, pollMs: 600_000 },
      imapClientOptions: { autoIdleDelay: 100 },
    });
    await daemon.start();
    await eventually(async () => (await health()).body.imap.connected === true, 'IMAP connected');
    // Dovecot titles the bot's session with the command it is in: IDLE before the report is sent.
    const idle = new RegExp(`mailstack-${stack.offset}/imap \\[${USERS.bot.email} [^\\]]* IDLE\\]`);
    await eventually(
      () => idle.test(execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' })) || undefined,
      "the bot's session in IDLE",
    );
    reportId = `<report.${Date.now()}@finder.example>`;
    await send(
      'reporter',
      mail({
        from: `Rita Reporter <${USERS.reporter.email}>`,
        to: USERS.bot.email,
        subject: 'Heap overflow in libfoo',
        body: 'libfoo 1.2 overflows its heap on long names.\n',
        messageId: reportId,
      }),
    );
    ack = (await stack.waitFor('reporter', (items) => items.length >= 1))[0] as MailItem;
    caseId = /\[(VM-\d{4}-\d{4})\]/.exec(ack.parsed.subject ?? '')?.[1] ?? '';
    expect(caseId).toBe(`VM-${new Date().getUTCFullYear()}-0001`);
    expectBotMail(ack);
    expect(header(ack, 'in-reply-to')).toContain(reportId);
    coordNotice = (await stack.waitFor('coordinator', (items) => items.length >= 1))[0] as MailItem;
    expectBotMail(coordNotice);
  });

  it('the coordinator invites two vendors by mail; each receives the report', async () => {
    await send('coordinator', reply('coordinator', coordNotice, `/invite ${USERS.alice.email} vendor\n`));
    await eventually(
      () => caseOf(caseId)?.participants.some((p) => p.email === USERS.alice.email) || undefined,
      'alice invited',
    );
    await send('coordinator', reply('coordinator', coordNotice, `/invite ${USERS.bob.email} vendor\n`));
    for (const vendor of ['alice', 'bob'] as const) {
      const report = (await stack.waitFor(vendor, (items) => items.length >= 1))[0] as MailItem;
      expectBotMail(report);
      expect(report.parsed.text).toContain('libfoo 1.2 overflows its heap');
      expect(method(report)).toBeNull();
    }
  });

  it("the reporter's /embargo reaches each vendor as a calendar invitation for that vendor alone", async () => {
    const end = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    await send('reporter', reply('reporter', ack, `/embargo ${end}\n`));
    for (const vendor of ['alice', 'bob'] as const) {
      const items = await stack.waitFor(vendor, (xs) => xs.some((m) => method(m) === 'REQUEST'));
      const invitation = items.find((m) => method(m) === 'REQUEST') as MailItem;
      expectInvitation(invitation, vendor);
      invitations[vendor] = invitation;
    }
    expect(caseOf(caseId)?.em).toBe('PROPOSED');
  });

  it('vendor A accepts by an Outlook calendar REPLY, vendor B by /embargo accept: EM ACTIVE', async () => {
    const a = invitations.alice as MailItem;
    const ics = calendars(a)[0]?.ics as string;
    await send('alice', outlookAccept(a, ics), a.parsed.replyTo?.value[0]?.address);
    await eventually(
      () =>
        caseOf(caseId)?.log.some(
          (e) => e.kind === 'inbound' && e.from === USERS.alice.email && e.types.includes('EA'),
        ) || undefined,
      "alice's calendar reply applied",
    );
    expect(caseOf(caseId)?.em).toBe('PROPOSED');
    // Delivered before the next step, so that each mailbox's order is the order of the case.
    await stack.waitFor('bob', (xs) => xs.length >= 3);
    const b = invitations.bob as MailItem;
    await send('bob', reply('bob', b, '/embargo accept\n'));
    await eventually(() => caseOf(caseId)?.em === 'ACTIVE' || undefined, 'the embargo ACTIVE');
    for (const [user, n] of [
      ['reporter', 4],
      ['coordinator', 6],
      ['alice', 4],
      ['bob', 4],
    ] as const) {
      await stack.waitFor(user, (xs) => xs.length >= n);
    }
  });

  it("a vendor's /public ends the embargo: EXITED, CANCEL to everyone", async () => {
    const a = invitations.alice as MailItem;
    await send('alice', reply('alice', a, '/public https://vendor-a.example/security/VA-1\n'));
    await eventually(() => caseOf(caseId)?.em === 'EXITED' || undefined, 'the embargo EXITED');
    for (const user of PARTICIPANTS) {
      await stack.waitFor(user, (xs) => xs.some((m) => method(m) === 'CANCEL'));
    }
  });

  it('every mailbox holds exactly the expected mails; health: IMAP connected, outbox empty', async () => {
    await eventually(async () => (await health()).body.outbox.backlog === 0 || undefined, 'backlog 0');
    const boxes = Object.fromEntries(
      await Promise.all(PARTICIPANTS.map(async (u) => [u, await stack.read(u)] as const)),
    );
    const uid = `UID:${caseId}-embargo-1@${DOMAIN}`;
    for (const u of PARTICIPANTS) {
      for (const m of boxes[u] as MailItem[]) {
        expectBotMail(m);
        // Every calendar of the case is the one embargo; each REQUEST invites its recipient only.
        for (const { method: meth, ics } of calendars(m)) {
          expect(icsLines(ics, 'UID')).toEqual([uid]);
          if (meth === 'REQUEST') {
            expect(icsLines(ics, 'ATTENDEE').map((l) => l.toLowerCase().split('mailto:')[1])).toEqual([
              USERS[u].email,
            ]);
          }
        }
      }
    }
    expect(summary(boxes['reporter'] as MailItem[])).toEqual([
      ['RK', null], // the report acknowledged
      ['EK', null], // the embargo proposal acknowledged
      ['CV, EA', null], // vendor A accepted
      ['CV, EA', 'REQUEST'], // vendor B accepted: the embargo is ACTIVE, the reporter invited
      ['CP, ET', 'CANCEL'], // public: the embargo ends
    ]);
    expect(summary(boxes['coordinator'] as MailItem[])).toEqual([
      ['RS', null], // the new case
      ['GK', null], // invite alice acknowledged
      ['GK', null], // invite bob acknowledged
      ['EP', 'REQUEST'], // the embargo proposal
      ['CV, EA', null],
      ['CV, EA', 'REQUEST'],
      ['CP, ET', 'CANCEL'],
    ]);
    expect(summary(boxes['alice'] as MailItem[])).toEqual([
      ['RS', null], // the report
      ['EP', 'REQUEST'], // the invitation
      ['EK', null], // her calendar acceptance acknowledged
      ['CV, EA', 'REQUEST'], // bob accepted: ACTIVE
      ['CK, ET', 'CANCEL'], // her /public acknowledged, the embargo ends
    ]);
    expect(summary(boxes['bob'] as MailItem[])).toEqual([
      ['RS', null],
      ['EP', 'REQUEST'],
      ['CV, EA', null], // alice accepted
      ['EK, EA', 'REQUEST'], // his acceptance acknowledged: ACTIVE
      ['CP, ET', 'CANCEL'],
    ]);
    // The bot's INBOX is empty: everything was read and moved to Processed.
    expect(await stack.read('bot')).toEqual([]);
    expect((await stack.read('bot', 'Processed')).length).toBe(7);
    const h = await health();
    expect(h.code).toBe(200);
    expect(h.body.imap.connected).toBe(true);
    expect(h.body.outbox.backlog).toBe(0);
    expect(h.body.outbox.oldestPendingAt).toBeNull();
  });
});
