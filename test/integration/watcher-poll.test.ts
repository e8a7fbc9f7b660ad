/**
 * What the IMAP watcher sends when there is no new mail, on the real Dovecot (the commands as
 * imapflow logs them): in session a poll is a NOOP and, every `reselectMs`, a SELECT (whose
 * cost grows with the mailbox); `run --once` asks STATUS first and does not SELECT at all when
 * no UID above the cursor can exist. And the batch of handled messages is moved by one MOVE.
 */
import { describe, expect, it } from 'vitest';
import { ImapWatcher } from '../../src/mail/imap.js';
import type { FetchedMessage, ImapSettings, WatcherTiming } from '../../src/mail/imap.js';
import type { ImapCursor } from '../../src/store/port.js';
import { USERS, mail, sleep } from '../helpers/mailstack.js';
import type { MailStack } from '../helpers/mailstack.js';
import { memoryLogger, useMailStack } from './setup.js';

let stack: MailStack;
useMailStack((s) => {
  stack = s;
});

function settings(mailbox: string, processedMailbox: string): ImapSettings {
  return {
    host: '127.0.0.1',
    port: stack.ports.imaps,
    secure: true,
    tls: { ca: stack.ca, servername: 'localhost' },
    auth: { user: USERS.bot.email, pass: USERS.bot.pass },
    mailbox,
    processedMailbox,
  };
}

/** A watcher with an in-memory cursor that records the IMAP commands it sends. */
function watcher(
  s: ImapSettings,
  timing: Partial<WatcherTiming>,
  cursors: Map<string, ImapCursor>,
): { w: ImapWatcher; commands: string[]; handled: FetchedMessage[] } {
  const commands: string[] = [];
  const handled: FetchedMessage[] = [];
  const record = (entry: unknown) => {
    const e = entry as { src?: string; msg?: string };
    // Client lines: "<tag> <COMMAND> ..." or "<tag> UID <COMMAND> ...".
    if (e.src !== 'c' || typeof e.msg !== 'string') return;
    const [, name = '', sub = ''] = e.msg.toUpperCase().split(' ');
    commands.push(name === 'UID' ? `UID ${sub}` : name);
  };
  const imapLogger = { debug: record, info: record, warn: () => {}, error: () => {}, trace: () => {} };
  const w = new ImapWatcher({
    settings: s,
    store: {
      getImapCursor: (m) => cursors.get(m),
      setImapCursor: (c) => void cursors.set(c.mailbox, c),
    },
    handle: (m) => {
      handled.push(m);
      return Promise.resolve('done');
    },
    logger: memoryLogger().logger,
    timing: { commandTimeoutMs: 5_000, ...timing },
    clientOptions: { logger: imapLogger },
  });
  return { w, commands, handled };
}

function report(n: number): Buffer {
  return mail({
    from: USERS.reporter.email,
    to: USERS.bot.email,
    subject: `Poll ${n}`,
    body: `Message ${n}.\n`,
    messageId: `<watcher-poll-${n}@finder.example>`,
  });
}

describe('the watcher with no new mail (real Dovecot)', { timeout: 60_000 }, () => {
  it('run --once: STATUS, and no SELECT when no UID above the cursor can exist; one MOVE per batch', async () => {
    for (const n of [1, 2, 3]) await stack.append('bot', report(n), 'PollOnce');
    const cursors = new Map<string, ImapCursor>();
    const s = settings('PollOnce', 'PollOnceDone');

    const first = watcher(s, {}, cursors);
    expect(await first.w.drainOnce()).toBe(3);
    expect(first.handled.map((m) => m.raw.toString()).map((r) => /Subject: (.*)/.exec(r)?.[1])).toEqual([
      'Poll 1',
      'Poll 2',
      'Poll 3',
    ]);
    expect(first.commands).toContain('STATUS');
    expect(first.commands).toContain('SELECT');
    // The three handled messages are one batch: one MOVE.
    expect(first.commands.filter((c) => c === 'UID MOVE')).toHaveLength(1);
    expect((await stack.read('bot', 'PollOnceDone')).length).toBe(3);
    expect(await stack.read('bot', 'PollOnce')).toEqual([]);
    expect(cursors.get('PollOnce')?.lastUid).toBe(3);

    // Nothing new: STATUS says MESSAGES 0; no SELECT.
    const second = watcher(s, {}, cursors);
    expect(await second.w.drainOnce()).toBe(0);
    expect(second.commands).toContain('STATUS');
    expect(second.commands).not.toContain('SELECT');
    expect(second.commands.filter((c) => c.includes('FETCH'))).toEqual([]);

    // New mail: STATUS shows it, the run SELECTs and handles it.
    await stack.append('bot', report(4), 'PollOnce');
    const third = watcher(s, {}, cursors);
    expect(await third.w.drainOnce()).toBe(1);
    expect(third.commands).toContain('SELECT');
    expect(cursors.get('PollOnce')?.lastUid).toBe(4);
  });

  it('run --once: messages kept in the mailbox (flagged, not moved) below the cursor: no SELECT', async () => {
    for (const n of [5, 6]) await stack.append('bot', report(n), 'PollFlag');
    const cursors = new Map<string, ImapCursor>();
    // Processed into the watched mailbox itself: flagged instead of moved.
    const s = settings('PollFlag', 'PollFlag');
    const first = watcher(s, {}, cursors);
    expect(await first.w.drainOnce()).toBe(2);
    expect(first.commands).not.toContain('UID MOVE');
    expect(first.commands).toContain('UID STORE');
    expect((await stack.read('bot', 'PollFlag')).length).toBe(2);

    const second = watcher(s, {}, cursors);
    expect(await second.w.drainOnce()).toBe(0);
    expect(second.commands).toContain('STATUS');
    expect(second.commands).not.toContain('SELECT');
  });

  it('in session: a poll is a NOOP, and a SELECT again once reselectMs has passed', async () => {
    await stack.append('bot', report(7), 'PollSession');
    const s = settings('PollSession', 'PollSessionDone');

    const noops = watcher(s, { pollMs: 100, reselectMs: 600_000 }, new Map());
    noops.w.start();
    for (let i = 0; i < 100 && noops.commands.filter((c) => c === 'NOOP').length < 4; i++) await sleep(100);
    await noops.w.stop();
    expect(noops.handled).toHaveLength(1);
    expect(noops.commands.filter((c) => c === 'NOOP').length).toBeGreaterThanOrEqual(4);
    // Only the SELECT of the connection.
    expect(noops.commands.filter((c) => c === 'SELECT')).toHaveLength(1);

    const selects = watcher(s, { pollMs: 100, reselectMs: 0 }, new Map());
    selects.w.start();
    for (let i = 0; i < 100 && selects.commands.filter((c) => c === 'SELECT').length < 4; i++)
      await sleep(100);
    await selects.w.stop();
    expect(selects.commands.filter((c) => c === 'SELECT').length).toBeGreaterThanOrEqual(4);
    expect(selects.commands).not.toContain('NOOP');
  });
});
