/**
 * `vultron-mail run` as a real process against the real Dovecot and Postfix: `--once`, SIGTERM,
 * and SIGKILL at random moments during 200 inbound messages across 20 cases: after the restarts
 * the cases are exactly those of an uninterrupted run, every message was applied once, and
 * every committed mail was delivered at least once (a repeat only with the same Message-ID).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openApp } from '../../src/cli/app.js';
import { ingestMessages } from '../../src/cli/ingest.js';
import { isoSecond } from '../../src/mail/imap.js';
import type { CaseSnapshot } from '../../src/protocol/index.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { BIN, ensureBuilt } from '../helpers/build.js';
import { USERS, eventually, header, mail, sleep } from '../helpers/mailstack.js';
import type { MailStack } from '../helpers/mailstack.js';
import { botConfig, useMailStack } from './setup.js';
import type { BotSandbox } from './setup.js';

let stack: MailStack;
const sandboxes: BotSandbox[] = [];

interface Proc {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function cli(config: string, ...args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, '--config', config, ...args], {
    env: { PATH: process.env['PATH'] ?? '', VULTRON_MAIL_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      if (code !== 0 && code !== null) lines.push({ msg: `stderr: ${stderr}` });
      resolve({ code, signal });
    }),
  );
  return { child, lines, exit };
}

type Json = Record<string, Record<string, unknown>>;

function withConfig(bot: BotSandbox, change: (c: Json) => void): void {
  const c = JSON.parse(readFileSync(bot.config, 'utf8')) as Json;
  change(c);
  writeFileSync(bot.config, JSON.stringify(c, null, 2));
}

// The tests run bin/ → dist/: bring dist/ up to date first (a no-op after `npm ci`).
useMailStack(async (s) => {
  stack = s;
  await ensureBuilt();
});

afterAll(() => {
  for (const s of sandboxes) s.cleanup();
});

describe('vultron-mail run as a process', { timeout: 120_000 }, () => {
  it('run --once handles the pending report, delivers the acknowledgement and exits 0', async () => {
    const bot = botConfig(stack);
    sandboxes.push(bot);
    const reportId = `<once.${Date.now()}@finder.example>`;
    await stack.send(
      USERS.reporter.email,
      USERS.bot.email,
      mail({
        from: USERS.reporter.email,
        to: USERS.bot.email,
        subject: 'XSS in webfoo',
        body: 'webfoo echoes the q parameter.\n',
        messageId: reportId,
      }),
    );
    await stack.waitFor('bot', (items) => items.length === 1);
    const p = cli(bot.config, 'run', '--once');
    const { code } = await p.exit;
    expect(code, JSON.stringify(p.lines)).toBe(0);
    const done = p.lines.find((l) => l['msg'] === 'run --once done');
    expect(done).toMatchObject({ messages: 1, level: 30 });
    const inbox = await stack.waitFor('reporter', (items) =>
      items.some((m) => header(m, 'in-reply-to').includes(reportId)),
    );
    expect(inbox.length).toBeGreaterThanOrEqual(1);
    expect(await stack.read('bot')).toEqual([]);
  });

  it('exits 0 on SIGTERM after closing its connections', async () => {
    const bot = botConfig(stack);
    sandboxes.push(bot);
    const p = cli(bot.config, 'run');
    await eventually(() => p.lines.some((l) => l['msg'] === 'imap: connected'), 'the daemon connected');
    p.child.kill('SIGTERM');
    const t0 = Date.now();
    const { code, signal } = await p.exit;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(p.lines.map((l) => l['msg'])).toContain('vultron-mail daemon stopped');
    expect(p.lines.every((l) => typeof l['time'] === 'string')).toBe(true);
  });

  it('SIGKILL at 10 random moments during 200 messages across 20 cases changes nothing', async () => {
    const bot = botConfig(stack, { mailbox: 'Crash' });
    sandboxes.push(bot);
    withConfig(bot, (c) => {
      (c['bot'] as Json[string]).caseIdPrefix = 'CR';
      (c['security'] as Json[string]).rateCaps = {
        perSenderPerHour: 10_000,
        perSenderPerCasePerHour: 10_000,
      };
    });
    // 20 reports, then 9 follow-ups per case, interleaved; case n is CR-<year>-000n.
    const base = Date.now() - 600_000;
    const year = new Date(base).getUTCFullYear();
    const follow = [
      'Any update?',
      '/embargo +30d',
      'Some more details on the crash.',
      '/status',
      'A second reproducer is attached inline.',
      '/embargo +20d',
      'Thanks.',
      '/public https://advisories.example/1',
      'Closing the loop.',
    ];
    const messages: Array<{ raw: Buffer; date: Date }> = [];
    for (let n = 1; n <= 20; n++) {
      messages.push({
        raw: mail({
          from: USERS.reporter.email,
          to: USERS.bot.email,
          subject: `Crash report ${n}`,
          body: `Report number ${n}.\n`,
          messageId: `<crash-report-${n}.${base}@finder.example>`,
        }),
        date: new Date(base + messages.length * 1000),
      });
    }
    for (let k = 0; k < follow.length; k++) {
      for (let n = 1; n <= 20; n++) {
        const id = `CR-${year}-${String(n).padStart(4, '0')}`;
        messages.push({
          raw: mail({
            from: USERS.reporter.email,
            to: USERS.bot.email,
            subject: `Re: [${id}] Crash report ${n}`,
            body: `${follow[k]}\n`,
            messageId: `<crash-${n}-${k}.${base}@finder.example>`,
          }),
          date: new Date(base + messages.length * 1000),
        });
      }
    }
    expect(messages).toHaveLength(200);
    const client = await stack.imap('bot');
    await client.mailboxCreate('Crash');
    for (const m of messages) await client.append('Crash', m.raw, [], m.date);
    await client.logout();

    // Ten runs, each killed with SIGKILL at a random moment after it started handling mail.
    const kills: string[] = [];
    for (let i = 0; i < 10; i++) {
      const p = cli(bot.config, 'run');
      const handled = () => p.lines.filter((l) => String(l['msg']).startsWith('message ')).length;
      const ended = await Promise.race([
        eventually(() => p.lines.some((l) => l['msg'] === 'imap: connected'), 'connected', 30_000).then(
          () => false,
        ),
        p.exit.then(() => true),
      ]);
      expect(ended, JSON.stringify(p.lines.slice(-5))).toBe(false);
      await sleep(50 + Math.floor(Math.random() * 700));
      p.child.kill('SIGKILL');
      const { signal } = await p.exit;
      expect(signal).toBe('SIGKILL');
      kills.push(`${handled()} handled, last: ${String(p.lines[p.lines.length - 1]?.['msg'])}`);
    }
    // Then an uninterrupted `run --once` finishes the mailbox and the outbox.
    const last = cli(bot.config, 'run', '--once');
    expect((await last.exit).code, JSON.stringify(last.lines.slice(-5))).toBe(0);
    console.log(`kills: ${kills.join(' | ')}`);

    // The reference: the same messages, in the same order, with the same arrival times, in one
    // uninterrupted run of the pipeline (no IMAP, no SMTP).
    const reference = botConfig(stack);
    sandboxes.push(reference);
    withConfig(reference, (c) => {
      (c['bot'] as Json[string]).caseIdPrefix = 'CR';
      (c['security'] as Json[string]).rateCaps = {
        perSenderPerHour: 10_000,
        perSenderPerCasePerHour: 10_000,
      };
      delete c['smtp'];
      delete c['imap'];
      (c['outbox'] as Json[string]).directory = './outbox';
    });
    const refApp = openApp(reference.config, {});
    try {
      for (const [i, m] of messages.entries()) {
        const r = await ingestMessages(refApp, [{ name: `m${i}`, raw: m.raw }], isoSecond(m.date));
        expect(r.exitCode).toBe(0);
      }
    } finally {
      await refApp.close();
    }
    const cases = (path: string): CaseSnapshot[] => {
      const store = openSqliteStore(path);
      try {
        return store.listCases().map((c) => store.getCase(c.id) as CaseSnapshot);
      } finally {
        store.close();
      }
    };
    const crashed = cases(bot.db);
    const expected = cases(reference.db);
    expect(crashed).toHaveLength(20);
    expect(crashed).toEqual(expected);
    for (const c of crashed) {
      expect(c.log.filter((e) => e.kind === 'inbound')).toHaveLength(10);
    }

    // Every committed mail went out; what arrived more than once has the same Message-ID.
    const store = openSqliteStore(bot.db);
    const outbox = store.listOutbox();
    const ledger = store.db.prepare('SELECT count(*) AS n FROM inbound_ledger').get() as { n: number };
    store.close();
    expect(ledger.n).toBe(200);
    expect(outbox.filter((r) => r.status !== 'sent')).toEqual([]);
    const ours = new Set(outbox.map((r) => r.messageId));
    const arrived = new Map<string, number>();
    for (const user of ['reporter', 'coordinator'] as const) {
      for (const m of await stack.read(user)) {
        const id = m.parsed.messageId ?? '';
        if (!/^<CR-|^<reply/.test(id) && !ours.has(id)) continue;
        expect(ours.has(id), id).toBe(true);
        arrived.set(`${user}:${id}`, (arrived.get(`${user}:${id}`) ?? 0) + 1);
      }
    }
    for (const r of outbox) {
      const user = r.to[0] === USERS.reporter.email ? 'reporter' : 'coordinator';
      expect(
        arrived.get(`${user}:${r.messageId}`) ?? 0,
        `${r.messageId} to ${r.to[0]}`,
      ).toBeGreaterThanOrEqual(1);
    }
    const repeats = [...arrived.values()].filter((n) => n > 1).length;
    console.log(`${outbox.length} mails committed, ${repeats} delivered more than once (same Message-ID)`);
    // Nothing left in the watched mailbox.
    expect(await stack.read('bot', 'Crash')).toEqual([]);
  });
});
