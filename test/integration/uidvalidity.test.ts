/**
 * A changed UIDVALIDITY (the watched mailbox deleted and created again, with the messages put
 * back) makes the watcher rescan the mailbox from UID 1; the ledger turns what was applied
 * before into duplicates, so nothing is applied or answered twice.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/run.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { USERS, eventually, mail } from '../helpers/mailstack.js';
import type { MailStack } from '../helpers/mailstack.js';
import { botConfig, memoryLogger, openDaemon, useMailStack } from './setup.js';
import type { BotSandbox } from './setup.js';

let stack: MailStack;
let bot: BotSandbox;
let daemon: Daemon | null = null;
const log = memoryLogger();

useMailStack((s) => {
  stack = s;
  bot = botConfig(stack, { mailbox: 'Vultron' });
});

afterAll(async () => {
  await daemon?.stop().catch(() => undefined);
  bot?.cleanup();
});

function report(n: number): Buffer {
  return mail({
    from: USERS.reporter.email,
    to: USERS.bot.email,
    subject: `Report ${n}`,
    body: `Report number ${n}.\n`,
    messageId: `<uidvalidity-report-${n}@finder.example>`,
    date: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
  });
}

function cases() {
  const store = openSqliteStore(bot.db);
  try {
    return store.listCases().map((c) => store.getCase(c.id));
  } finally {
    store.close();
  }
}

describe('UIDVALIDITY change', { timeout: 60_000 }, () => {
  it('rescans the recreated mailbox without applying anything twice', async () => {
    for (const n of [1, 2]) await stack.append('bot', report(n), 'Vultron');
    daemon = openDaemon(bot, { logger: log.logger });
    await daemon.start();
    const d = daemon;
    await eventually(() => cases().length === 2 || undefined, 'two cases');
    await stack.waitFor('bot', (items) => items.length === 0, { mailbox: 'Vultron' });
    const before = d.health().imap.uidValidity;
    const acks = await stack.waitFor('reporter', (items) => items.length === 2);
    expect(acks).toHaveLength(2);

    // Delete the watched mailbox under the daemon, create it again and put the two reports back
    // with a third one: the new mailbox has a new UIDVALIDITY and starts at UID 1 again.
    const admin = await stack.imap('bot');
    await admin.mailboxDelete('Vultron');
    await admin.mailboxCreate('Vultron');
    for (const n of [1, 2, 3]) await admin.append('Vultron', report(n));
    await admin.logout();

    await eventually(() => cases().length === 3 || undefined, 'the third case', 20_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${log.lines.map((l) => JSON.stringify(l)).join('\n')}`);
      },
    );
    await stack.waitFor('bot', (items) => items.length === 0, { mailbox: 'Vultron' });
    const after = d.health().imap.uidValidity;
    expect(after).not.toBe(before);
    expect(log.lines.some((l) => String(l['msg']).startsWith('imap: UIDVALIDITY changed'))).toBe(true);
    expect(d.metrics.get('vultron_mail_messages_total', { outcome: 'duplicate' })).toBe(2);
    expect(d.metrics.get('vultron_mail_messages_total', { outcome: 'opened' })).toBe(3);
    for (const c of cases()) expect(c?.log.filter((e) => e.kind === 'inbound')).toHaveLength(1);
    // One acknowledgement per report, none twice.
    const inbox = await stack.waitFor('reporter', (items) => items.length >= 3);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await stack.read('reporter')).length).toBe(inbox.length);
    expect(inbox).toHaveLength(3);
    const store = openSqliteStore(bot.db);
    expect(store.getImapCursor('Vultron')).toMatchObject({ uidValidity: after, lastUid: 3 });
    store.close();
  });
});
