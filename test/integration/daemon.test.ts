/**
 * The daemon in-process against the real Dovecot and Postfix: mail delivered by SMTP to the
 * bot's mailbox is picked up by IDLE, applied, moved to Processed, and the answers arrive in the
 * participants' real mailboxes; then the same daemon through a dropped and a dead IMAP
 * connection, a Dovecot restart and a Postfix outage. The steps build on each other (one case).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { Daemon, Health } from '../../src/daemon/run.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { USERS, eventually, freePort, header, mail } from '../helpers/mailstack.js';
import type { MailItem, MailStack } from '../helpers/mailstack.js';
import { botConfig, memoryLogger, openDaemon, useMailStack } from './setup.js';
import type { BotSandbox } from './setup.js';

let stack: MailStack;
let bot: BotSandbox;
let daemon: Daemon | null = null;
let healthPort: number;
const log = memoryLogger();
/** The daemon's clock runs this far ahead of the real one (to pass SMTP retry delays). */
let clockOffsetMs = 0;
const clock = () => new Date(Date.now() + clockOffsetMs);

async function startDaemon(): Promise<Daemon> {
  const d = openDaemon(bot, { logger: log.logger, clock });
  await d.start();
  daemon = d;
  return d;
}

async function stopDaemon(): Promise<void> {
  const d = daemon;
  daemon = null;
  await d?.stop();
}

function current(): Daemon {
  if (!daemon) throw new Error('no daemon running');
  return daemon;
}

async function health(): Promise<{ code: number; body: Health }> {
  const res = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
  return { code: res.status, body: (await res.json()) as Health };
}

async function metrics(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).text();
}

function caseOf(id: string) {
  const store = openSqliteStore(bot.db);
  try {
    return store.getCase(id);
  } finally {
    store.close();
  }
}

/** The pids of the IMAP processes serving `user` (Dovecot titles them with the user and IP). */
function imapPids(user: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(`mailstack-${stack.offset}/imap`) && l.includes(`[${user} `))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

let caseId = '';
let reportId = '';
let ack: MailItem;

useMailStack(async (s) => {
  stack = s;
  healthPort = await freePort();
  bot = botConfig(stack, { healthPort });
});

afterAll(async () => {
  await stopDaemon().catch(() => undefined);
  bot?.cleanup();
});

describe('the daemon on real Dovecot and Postfix', { timeout: 60_000 }, () => {
  it('picks up a report delivered by SMTP (IDLE), opens a case and the acknowledgement reaches the reporter', async () => {
    const d = await startDaemon();
    await eventually(async () => (await health()).body.imap.connected === true, 'IMAP connected');
    reportId = `<report-1.${Date.now()}@finder.example>`;
    await stack.send(
      USERS.reporter.email,
      USERS.bot.email,
      mail({
        from: `Rita Reporter <${USERS.reporter.email}>`,
        to: USERS.bot.email,
        subject: 'Heap overflow in libfoo',
        body: 'libfoo 1.2 overflows its heap on long names.\n',
        messageId: reportId,
      }),
    );
    const inbox = await stack.waitFor('reporter', (items) => items.length >= 1);
    ack = inbox[0] as MailItem;
    const subject = ack.parsed.subject ?? '';
    caseId = /\[(VM-\d{4}-\d{4,})\]/.exec(subject)?.[1] ?? '';
    expect(caseId, subject).not.toBe('');
    expect(header(ack, 'in-reply-to')).toContain(reportId);
    expect(header(ack, 'auto-submitted')).toMatch(/auto-replied/);
    expect(ack.parsed.from?.value[0]?.address).toBe(USERS.bot.email);
    // The bot's mailbox: nothing left in INBOX, the report in Processed.
    await stack.waitFor('bot', (items) => items.length === 0);
    const processed = await stack.read('bot', 'Processed');
    expect(processed.map((m) => m.parsed.messageId)).toEqual([reportId]);
    // The coordinator was told of the new case.
    await stack.waitFor('coordinator', (items) =>
      items.some((m) => (m.parsed.subject ?? '').includes(caseId)),
    );

    const h = await health();
    expect(h.code).toBe(200);
    expect(h.body.imap.connected).toBe(true);
    expect(h.body.imap.lastPollAt).toMatch(/^\d{4}-/);
    expect(h.body.outbox.backlog).toBe(0);
    const m = await metrics();
    expect(m).toContain('vultron_mail_messages_total{outcome="opened"} 1');
    expect(m).toMatch(/vultron_mail_transitions_total\{code="RS"\} 1/);
    expect(m).toMatch(/vultron_mail_outbox_sent_total [1-9]/);
    expect(d.health().imap.uidValidity).toMatch(/^\d+$/);
  });

  it('applies a vendor reply sent over SMTP to the case', async () => {
    // The coordinator invites a vendor by mail, the vendor gets the report and validates it.
    await stack.send(
      USERS.coordinator.email,
      USERS.bot.email,
      mail({
        from: USERS.coordinator.email,
        to: USERS.bot.email,
        subject: `Re: [${caseId}] Heap overflow in libfoo`,
        body: `/invite ${USERS.alice.email} vendor\n`,
      }),
    );
    const vendorInbox = await stack.waitFor('alice', (items) => items.length >= 1);
    const report = vendorInbox[0] as MailItem;
    expect(report.parsed.subject).toContain(caseId);
    expect(report.parsed.text).toContain('libfoo 1.2 overflows its heap');
    await stack.send(
      USERS.alice.email,
      USERS.bot.email,
      mail({
        from: USERS.alice.email,
        to: USERS.bot.email,
        subject: `Re: ${report.parsed.subject ?? ''}`,
        body: '/valid\n/accept\n\nWe are on it.\n',
        inReplyTo: report.parsed.messageId as string,
      }),
    );
    await eventually(() => {
      const p = caseOf(caseId)?.participants.find((x) => x.email === USERS.alice.email);
      return p?.rm === 'ACCEPTED' ? p : undefined;
    }, 'the vendor ACCEPTED');
    await stack.waitFor('alice', (items) => items.some((m) => m.parsed.inReplyTo !== undefined));
  });

  it('sends the embargo proposal to the vendor as a calendar invitation, and applies the acceptance', async () => {
    const before = (await stack.read('alice')).length;
    await stack.send(
      USERS.reporter.email,
      USERS.bot.email,
      mail({
        from: USERS.reporter.email,
        to: USERS.bot.email,
        subject: `Re: [${caseId}] Heap overflow in libfoo`,
        body: '/embargo +30d\n',
        inReplyTo: ack.parsed.messageId as string,
      }),
    );
    const inbox = await stack.waitFor('alice', (items) => items.length > before);
    const invitation = inbox.slice(before).find((m) => /text\/calendar/.test(m.raw.toString('latin1')));
    expect(invitation, 'a mail with a text/calendar part').toBeDefined();
    const rawText = (invitation as MailItem).raw.toString('latin1');
    expect(rawText).toMatch(/Content-Type: text\/calendar;[^\r\n]*method=REQUEST/i);
    expect(rawText).toMatch(/BEGIN:VCALENDAR/);
    expect(rawText).toMatch(new RegExp(`UID:${caseId}-embargo-1@cvd\\.example`));
    // Threading: every mail of the case refers to the case's thread root.
    expect(header(invitation as MailItem, 'references')).toContain(`<${caseId}@cvd.example>`);
    expect(caseOf(caseId)?.em).toBe('PROPOSED');
    await stack.send(
      USERS.alice.email,
      USERS.bot.email,
      mail({
        from: USERS.alice.email,
        to: USERS.bot.email,
        subject: `Re: ${(invitation as MailItem).parsed.subject ?? ''}`,
        body: '/embargo accept\n',
        inReplyTo: (invitation as MailItem).parsed.messageId as string,
      }),
    );
    await eventually(() => caseOf(caseId)?.em === 'ACTIVE' || undefined, 'the embargo ACTIVE');
  });

  it('after a restart, does not read processed mail again (the cursor)', async () => {
    await stopDaemon();
    const before = caseOf(caseId)?.log.length;
    const cursorStore = openSqliteStore(bot.db);
    const cursorBefore = cursorStore.getImapCursor('INBOX');
    cursorStore.close();
    const d = await startDaemon();
    await eventually(() => d.health().imap.lastPollAt !== null, 'a first poll');
    expect(d.metrics.get('vultron_mail_messages_total', { outcome: 'duplicate' })).toBe(0);
    expect(caseOf(caseId)?.log.length).toBe(before);
    expect(d.health().imap.lastUid).toBe(cursorBefore?.lastUid);

    // A message left in INBOX at or below the cursor is not fetched: only `last+1:*` is read.
    await stopDaemon();
    const uid = await stack.append(
      'bot',
      mail({ from: USERS.reporter.email, to: USERS.bot.email, subject: 'below the cursor', body: 'x' }),
    );
    const store = openSqliteStore(bot.db);
    const cursor = store.getImapCursor('INBOX');
    store.setImapCursor({ ...(cursor as NonNullable<typeof cursor>), lastUid: uid });
    store.close();
    const again = await startDaemon();
    await eventually(() => again.health().imap.lastPollAt !== null, 'a first poll');
    await new Promise((r) => setTimeout(r, 1500));
    expect(again.metrics.get('vultron_mail_messages_total', { outcome: 'opened' })).toBe(0);
    const left = await stack.read('bot');
    expect(left.map((m) => m.uid)).toEqual([uid]);
  });

  it('detects a killed IMAP session and a dead (silent) one, reconnects, and misses nothing', async () => {
    const d = current();
    const pids = await eventually(() => {
      const p = imapPids(USERS.bot.email);
      return p.length > 0 ? p : undefined;
    }, "the bot's IMAP process");
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await eventually(
      () => d.health().imap.connected === false || undefined,
      'the loss noticed',
      5_000,
      20,
    ).catch(() => undefined);
    await eventually(() => d.health().imap.connected, 'reconnected');

    // Silent: the server process stops answering (SIGSTOP), the TCP connection stays open.
    const stopped = await eventually(() => {
      const p = imapPids(USERS.bot.email);
      return p.length > 0 ? p : undefined;
    }, "the bot's new IMAP process");
    for (const pid of stopped) process.kill(pid, 'SIGSTOP');
    const t0 = Date.now();
    try {
      await eventually(
        () => {
          const now = imapPids(USERS.bot.email);
          return d.health().imap.connected && now.some((p) => !stopped.includes(p)) ? now : undefined;
        },
        'a new session after the dead one',
        20_000,
      );
    } finally {
      for (const pid of stopped) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // gone
        }
      }
    }
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(log.lines.some((l) => String(l['msg']).includes('reconnecting'))).toBe(true);

    // Mail after all that is still picked up.
    await stack.send(
      USERS.alice.email,
      USERS.bot.email,
      mail({
        from: USERS.alice.email,
        to: USERS.bot.email,
        subject: `Re: [${caseId}] status`,
        body: '/status\n',
      }),
    );
    await stack.waitFor('alice', (items) => items.some((m) => (m.parsed.subject ?? '').includes('status')));
  });

  it('Dovecot restarted: health says degraded while it is down, the watcher reconnects and misses nothing', async () => {
    const d = current();
    await stack.stop('dovecot');
    await eventually(async () => (await health()).code === 503 || undefined, 'health 503');
    expect((await health()).body.imap.connected).toBe(false);
    await new Promise((r) => setTimeout(r, 1500));
    await stack.start('dovecot');
    await eventually(async () => (await health()).code === 200 || undefined, 'health 200 again', 20_000);
    const text = await metrics();
    expect(text).toMatch(/vultron_mail_imap_connections_lost [1-9]/);
    await stack.send(
      USERS.reporter.email,
      USERS.bot.email,
      mail({
        from: USERS.reporter.email,
        to: USERS.bot.email,
        subject: `Re: [${caseId}] any news?`,
        body: 'Any news?\n',
      }),
    );
    await eventually(
      () =>
        caseOf(caseId)?.log.some(
          (e) => e.kind === 'inbound' && e.from === USERS.reporter.email && e.types.includes('GI'),
        ),
      'the reporter mail applied',
    );
    expect(d.health().imap.connected).toBe(true);
  });

  it('Postfix stopped: the outbox backs off, keeps the Message-ID, and delivers after Postfix returns', async () => {
    const d = current();
    await stack.stop('postfix');
    // Inbound mail still reaches the bot (delivered straight into its mailbox).
    const messageId = `<down.${Date.now()}@finder.example>`;
    await stack.append(
      'bot',
      mail({
        from: USERS.reporter.email,
        to: USERS.bot.email,
        subject: 'Second report: crash in libbar',
        body: 'libbar crashes.\n',
        messageId,
      }),
    );
    const row = await eventually(() => {
      const store = openSqliteStore(bot.db);
      try {
        return store
          .listOutbox({ status: 'pending' })
          .find((r) => r.to[0] === USERS.reporter.email && r.attempts >= 1);
      } finally {
        store.close();
      }
    }, 'a failed attempt');
    expect(row.lastError).toMatch(/ESMTP_TEMP/);
    const h = await health();
    expect(h.body.outbox.backlog).toBeGreaterThanOrEqual(1);
    expect(h.body.outbox.oldestPendingAt).toMatch(/^\d{4}-/);
    expect(h.body.outbox.retrying).toBeGreaterThanOrEqual(1);
    expect(h.body.outbox.lastError).toMatch(/ESMTP_TEMP/);
    expect(await metrics()).toMatch(/vultron_mail_outbox_failed_total [1-9]/);

    await stack.start('postfix');
    // Nothing is sent before the retry time (1 minute later): move the daemon's clock there.
    clockOffsetMs += 5 * 60_000;
    const inbox = await stack.waitFor('reporter', (items) =>
      items.some((m) => m.parsed.messageId === row.messageId),
    );
    expect(inbox.filter((m) => m.parsed.messageId === row.messageId)).toHaveLength(1);
    await eventually(async () => (await health()).body.outbox.backlog === 0 || undefined, 'backlog 0');
    expect((await health()).body.outbox).toMatchObject({ retrying: 0, lastError: null });
    const store = openSqliteStore(bot.db);
    const sent = store.outboxByMessageId(row.messageId);
    store.close();
    expect(sent?.status).toBe('sent');
    expect(sent?.attempts).toBeGreaterThanOrEqual(2);
    void d;
  });

  it('stops gracefully: connections closed, the store closed', async () => {
    await stopDaemon();
    await eventually(
      () => imapPids(USERS.bot.email).length === 0 || undefined,
      'the IMAP session gone',
      5_000,
    );
    expect(log.lines.some((l) => l['msg'] === 'vultron-mail daemon stopped')).toBe(true);
  });
});
