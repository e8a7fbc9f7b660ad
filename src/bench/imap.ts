/**
 * The benchmark figures that need the real mail servers (docs/performance.md, issue 7 §2-4):
 * IMAP end to end through Dovecot and Postfix, the cost of an idle poll with 10 and 10,000
 * messages in the mailbox, and the latency from SMTP delivery to the notification's acceptance.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import pino from 'pino';
import { Daemon } from '../daemon/run.js';
import { ImapWatcher } from '../mail/imap.js';
import { SmtpTransport } from '../outbound/transports.js';
import type { ImapCursor } from '../store/port.js';
import { BOT_DOMAIN, BOT_LOCAL, COORDINATOR, corpus } from './corpus.js';
import { pairedRatio, stats } from './figures.js';
import type { Figure } from './figures.js';
import { BOT_LOGIN } from './mailstack.js';
import type { BenchStack } from './mailstack.js';

const silentLogger = pino({ level: 'silent' });

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function seconds(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/** config.json of the bot against the stack: IMAPS + SMTP STARTTLS verified with its certificate. */
function botSandbox(stack: BenchStack, mailbox = 'INBOX'): { dir: string; config: string; db: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vultron-bench-bot-'));
  const tls = { ca: stack.ca, servername: 'localhost' };
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      bot: { address: `${BOT_LOCAL}@${BOT_DOMAIN}`, name: 'CVD Bot', caseIdPrefix: 'VM' },
      store: { path: './vultron-mail.sqlite' },
      outbox: { giveUpHours: 72 },
      smtp: { host: '127.0.0.1', port: stack.ports.smtp, requireTLS: true, tls },
      imap: {
        host: '127.0.0.1',
        port: stack.ports.imaps,
        secure: true,
        tls,
        auth: BOT_LOGIN,
        mailbox,
        processedMailbox: 'Processed',
      },
      coordinators: [COORDINATOR],
      security: { requireAuthenticatedSender: false },
      health: { host: '127.0.0.1' },
    }),
  );
  return { dir, config, db: join(dir, 'vultron-mail.sqlite') };
}

function smtpClient(stack: BenchStack): ReturnType<typeof nodemailer.createTransport> {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: stack.ports.smtp,
    requireTLS: true,
    tls: { ca: stack.ca, servername: 'localhost' },
    pool: true,
    maxConnections: 1,
  });
}

/** 2. 1,000 messages in the bot's INBOX → `run --once` → all processed and notified. */
export async function imapEndToEnd(stack: BenchStack, runs: number, cases: number): Promise<Figure> {
  const messages = corpus({ cases });
  const n = messages.length;
  const client = await stack.imap();
  const t = performance.now();
  for (const m of messages) await client.append('INBOX', m.raw, [], new Date(m.now));
  log(`  appended ${n} messages to INBOX in ${seconds(t).toFixed(1)} s`);
  // The corpus spans about a day from 2026-03-02; the clock runs from two days later (no
  // embargo of the corpus ends then, so only the messages' own notifications go out).
  const base = Date.parse('2026-03-05T00:00:00Z');
  const ours: number[] = [];
  const bare: number[] = [];
  const notes: string[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      // Baseline part 1: bare imapflow fetch + mailparser parse of the same mailbox.
      let t0 = performance.now();
      await client.mailboxOpen('INBOX', { readOnly: true });
      let parsed = 0;
      for await (const m of client.fetch('1:*', { uid: true, source: true })) {
        if (m.source) await simpleParser(m.source);
        parsed += 1;
      }
      const fetchParse = seconds(t0);
      await client.mailboxClose();
      if (parsed !== n) throw new Error(`INBOX holds ${parsed} messages, expected ${n}`);

      // The gateway: `run --once` (connect, every message through the pipeline, MOVE, sends).
      const bot = botSandbox(stack);
      const started = Date.now();
      t0 = performance.now();
      const daemon = Daemon.open(
        bot.config,
        {},
        {
          logger: silentLogger,
          clock: () => new Date(base + (Date.now() - started)),
          sendIntervalMs: 3_600_000,
          tickIntervalMs: 3_600_000,
        },
      );
      const report = await daemon.once();
      const oursSeconds = seconds(t0);
      if (report.messages !== n || report.failed !== 0) {
        throw new Error(`run --once handled ${report.messages}/${n}, ${report.failed} sends failed`);
      }
      const db = new Database(bot.db, { readonly: true });
      const rows = db
        .prepare("SELECT raw, envelope_from AS envelopeFrom, recipients FROM outbox WHERE status = 'sent'")
        .all() as Array<{ raw: Buffer; envelopeFrom: string; recipients: string }>;
      const pending = (
        db.prepare("SELECT count(*) AS c FROM outbox WHERE status != 'sent'").get() as {
          c: number;
        }
      ).c;
      db.close();
      if (pending !== 0) throw new Error(`${pending} outbox rows not sent after run --once`);

      // Baseline part 2: bare nodemailer sends of as many mails (the same bytes) to the same Postfix.
      const smtp = smtpClient(stack);
      t0 = performance.now();
      for (const row of rows) {
        await smtp.sendMail({
          envelope: { from: row.envelopeFrom, to: JSON.parse(row.recipients) as string[] },
          raw: row.raw,
        });
      }
      const sends = seconds(t0);
      smtp.close();
      ours.push(n / oursSeconds);
      bare.push(n / (fetchParse + sends));
      notes.push(`run ${r + 1}: ${rows.length} notifications`);
      log(
        `  e2e run ${r + 1}: ${oursSeconds.toFixed(1)} s (${(n / oursSeconds).toFixed(0)} msg/s, ${rows.length} mails sent) vs bare fetch+parse ${fetchParse.toFixed(1)} s + ${rows.length} sends ${sends.toFixed(1)} s`,
      );
      rmSync(bot.dir, { recursive: true, force: true });

      // Put the messages back for the next run (MOVE keeps the INTERNALDATE and the order).
      if (r + 1 < runs) {
        await client.mailboxOpen('Processed');
        await client.messageMove('1:*', 'INBOX');
        await client.mailboxClose();
      }
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
  const ratio = pairedRatio(ours, bare);
  return {
    name: `IMAP end to end (${n} messages, ${cases} cases, appended to Dovecot → \`run --once\` → notifications accepted by Postfix)`,
    unit: 'msg/s',
    better: 'higher',
    ...stats(ours),
    baseline: {
      name: 'bare imapflow fetch + mailparser of the same mailbox, plus bare nodemailer sends of the same notifications',
      ...stats(bare),
    },
    ratio,
    target: 'ratio ≥ 0.7',
    met: ratio >= 0.7,
    note: `${runs} run(s); ${notes.join(', ')}`,
  };
}

/** A mailbox of the bot filled with `count` messages by writing its Maildir directly. */
async function fillMailbox(
  stack: BenchStack,
  name: string,
  count: number,
): Promise<{ uidValidity: string; lastUid: number }> {
  // By APPEND, as delivered mail is indexed by Dovecot. (Files written into the Maildir behind
  // Dovecot's back leave an index that it re-syncs on every SELECT: ~300 ms at 10,000 messages,
  // a cost of that filling method that delivered mail does not have.) Four sessions at once.
  const raws = corpus({ cases: 5 }).map((m) => m.raw);
  const setup = await stack.imap();
  await setup.mailboxCreate(name).catch(() => undefined);
  const lanes = 4;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      const client = await stack.imap();
      try {
        for (let i = lane; i < count; i += lanes) await client.append(name, raws[i % raws.length] as Buffer);
      } finally {
        await client.logout().catch(() => client.close());
      }
    }),
  );
  try {
    const box = await setup.mailboxOpen(name);
    if (box.exists !== count) throw new Error(`${name} holds ${box.exists}, expected ${count}`);
    return { uidValidity: String(box.uidValidity), lastUid: Number(box.uidNext) - 1 };
  } finally {
    await setup.logout().catch(() => setup.close());
  }
}

/**
 * 3. One poll with no new mail, 10 vs 10,000 messages, cursor at the end. Two layouts: the
 * messages kept in the watched mailbox (processed mail flagged, not moved), and the watched
 * mailbox empty with the messages in the processed mailbox (the default: processed mail is
 * moved). Measured on the watcher itself: in session (pollMs 0: the interval between two
 * passes, NOOP + UID FETCH of `last+1:*`), the same with a SELECT again on every poll (what
 * the session does every `reselectMs`), and as `run --once` does it (connect, log in, STATUS,
 * log out).
 */
export async function idlePoll(stack: BenchStack, runs: number): Promise<Figure[]> {
  const sizes = [10, 10_000] as const;
  const boxes = new Map<number, { uidValidity: string; lastUid: number }>();
  for (const size of sizes) boxes.set(size, await fillMailbox(stack, `Poll${size}`, size));
  // The watched mailbox of the "moved" layout: empty (its own UIDVALIDITY, cursor at 0).
  const watched = new Map<number, string>();
  for (const size of sizes) {
    const c = await stack.imap();
    await c.mailboxCreate(`Watch${size}`).catch(() => undefined);
    watched.set(size, String((await c.mailboxOpen(`Watch${size}`)).uidValidity));
    await c.logout();
  }
  const modes = ['session', 'reselect', 'once', 'movedSession', 'movedOnce'] as const;
  const times = new Map(modes.map((m) => [m, new Map<number, number[]>(sizes.map((s) => [s, []]))]));
  const record = (mode: (typeof modes)[number], size: number, ms: number) =>
    times.get(mode)?.get(size)?.push(ms);
  const tls = { ca: stack.ca, servername: 'localhost' };
  for (let r = 0; r < runs; r++) {
    for (const size of sizes) {
      const box = boxes.get(size) as { uidValidity: string; lastUid: number };
      const passes: number[] = [];
      const cursor: ImapCursor = {
        mailbox: `Poll${size}`,
        uidValidity: box.uidValidity,
        lastUid: box.lastUid,
        updatedAt: '2026-03-02T00:00:00Z',
      };
      const moved: ImapCursor = {
        ...cursor,
        mailbox: `Watch${size}`,
        uidValidity: watched.get(size) as string,
        lastUid: 0,
      };
      const mk = (timing: { pollMs: number; reselectMs?: number }, layout: 'kept' | 'moved' = 'kept') =>
        new ImapWatcher({
          settings: {
            host: '127.0.0.1',
            port: stack.ports.imaps,
            secure: true,
            tls,
            auth: BOT_LOGIN,
            mailbox: layout === 'kept' ? `Poll${size}` : `Watch${size}`,
            processedMailbox: layout === 'kept' ? 'Processed' : `Poll${size}`,
          },
          store: {
            getImapCursor: () => {
              passes.push(performance.now());
              return layout === 'kept' ? cursor : moved;
            },
            setImapCursor: () => {
              throw new Error('the cursor moved: a poll found mail');
            },
          },
          handle: () => Promise.reject(new Error('a poll found mail')),
          logger: silentLogger,
          timing,
        });
      // In session: 30 polls back to back, NOOP (the default) and SELECT each time.
      for (const [mode, reselectMs, layout] of [
        ['session', undefined, 'kept'],
        ['reselect', 0, 'kept'],
        ['movedSession', undefined, 'moved'],
      ] as const) {
        passes.length = 0;
        const w = mk({ pollMs: 0, ...(reselectMs === undefined ? {} : { reselectMs }) }, layout);
        w.start();
        const until = Date.now() + 20_000;
        while (passes.length < 31 && Date.now() < until) await sleep(20);
        await w.stop();
        if (w.status().fetched !== 0) throw new Error('a poll fetched mail');
        // A pass that failed would have made the watcher reconnect: that is not a poll.
        if (w.status().connects !== 1) throw new Error(`${mode}: the watcher reconnected while polling`);
        const gaps = passes.slice(1, 31).map((p, i) => p - (passes[i] as number));
        record(mode, size, stats(gaps).median);
      }
      // As `run --once`: a whole session for one poll.
      for (const [mode, layout] of [
        ['once', 'kept'],
        ['movedOnce', 'moved'],
      ] as const) {
        const t0 = performance.now();
        const got = await mk({ pollMs: 60_000 }, layout).drainOnce();
        if (got !== 0) throw new Error('drainOnce found mail');
        record(mode, size, performance.now() - t0);
      }
    }
    const line = (mode: (typeof modes)[number], digits: number) =>
      sizes.map((s) => `${s}: ${times.get(mode)?.get(s)?.at(-1)?.toFixed(digits)} ms`).join(', ');
    log(
      `  idle poll run ${r + 1}: in session ${line('session', 2)}; SELECT each poll ${line('reselect', 2)}; run --once ${line('once', 0)}; moved: in session ${line('movedSession', 2)}; run --once ${line('movedOnce', 0)}`,
    );
  }
  const labels = {
    session:
      'kept in the watched mailbox; in session (NOOP + UID FETCH last+1:*; median of 30 polls per run)',
    reselect:
      'kept in the watched mailbox; in session with a SELECT again (done every reselectMs, 10 min by default: SELECT + UID FETCH)',
    once: 'kept in the watched mailbox; as `run --once` (TLS connect, login, STATUS, logout)',
    movedSession: 'moved to the processed mailbox (the default), the watched one empty; in session',
    movedOnce: 'moved to the processed mailbox (the default), the watched one empty; as `run --once`',
  };
  return modes.map((mode) => {
    const m = times.get(mode) as Map<number, number[]>;
    const big = stats(m.get(10_000) as number[]);
    const small = stats(m.get(10) as number[]);
    const ratio = big.median / small.median;
    const figure: Figure = {
      name: `idle poll, no new mail, 10,000 messages ${labels[mode]}`,
      unit: 'ms',
      better: 'lower',
      ...big,
      baseline: { name: 'the same poll with 10 messages', ...small },
      ratio,
    };
    if (mode === 'reselect') {
      figure.note = 'no target: not a poll of its own; it replaces one poll in every 10 minutes';
    } else {
      figure.target = 'within 20% (ratio ≤ 1.2)';
      figure.met = ratio <= 1.2;
    }
    return figure;
  });
}

/**
 * 4. Latency: a new report sent over SMTP to Postfix (→ LMTP → Dovecot → IDLE → the daemon) →
 * its acknowledgement accepted by Postfix, for 200 messages sent at a steady rate.
 */
export async function latency(
  stack: BenchStack,
  runs: number,
  count: number,
  perSecond: number,
): Promise<Figure[]> {
  // When Postfix accepted each of the daemon's mails, by recipient.
  const accepted: Array<{ at: number; to: string[] }> = [];
  const proto = SmtpTransport.prototype as { send: SmtpTransport['send'] };
  const original = proto.send;
  proto.send = async function (this: SmtpTransport, row) {
    await original.call(this, row);
    accepted.push({ at: performance.now(), to: row.to });
  };
  const p50: number[] = [];
  const p99: number[] = [];
  const maxes: number[] = [];
  const inject = nodemailer.createTransport({
    host: '127.0.0.1',
    port: stack.ports.smtp,
    ignoreTLS: true,
    pool: true,
  });
  try {
    for (let r = 0; r < runs; r++) {
      accepted.length = 0;
      const bot = botSandbox(stack);
      const daemon = Daemon.open(
        bot.config,
        {},
        {
          logger: silentLogger,
          sendIntervalMs: 3_600_000,
          tickIntervalMs: 3_600_000,
        },
      );
      await daemon.start();
      const until = Date.now() + 20_000;
      while (!daemon.health().imap.connected && Date.now() < until) await sleep(50);
      await sleep(500);
      // New reports only (message 0 of each case): each is acknowledged to its reporter.
      const firstCase = 10_000 + r * 1_000;
      const reports = corpus({ cases: count, firstCase }).filter((m) =>
        /Message-ID: <bench-\d+-0@/.test(m.raw.toString()),
      );
      const sentAt = new Map<string, number>();
      const t0 = performance.now();
      for (const [i, m] of reports.entries()) {
        const wait = t0 + (i * 1000) / perSecond - performance.now();
        if (wait > 0) await sleep(wait);
        const reporter = `finder${firstCase + i}@research.example`;
        sentAt.set(reporter, performance.now());
        await inject.sendMail({ envelope: { from: reporter, to: [BOT_LOGIN.user] }, raw: m.raw });
      }
      const deadline = Date.now() + 60_000;
      const latencies = (): number[] =>
        [...sentAt].flatMap(([who, at]) => {
          const a = accepted.find((x) => x.to.includes(who));
          return a ? [a.at - at] : [];
        });
      while (latencies().length < reports.length && Date.now() < deadline) await sleep(100);
      await daemon.stop();
      rmSync(bot.dir, { recursive: true, force: true });
      const l = latencies().sort((a, b) => a - b);
      if (l.length < reports.length)
        throw new Error(`only ${l.length}/${reports.length} acknowledgements within 60 s`);
      const q = (p: number) => l[Math.min(l.length - 1, Math.ceil(p * l.length) - 1)] as number;
      p50.push(q(0.5));
      p99.push(q(0.99));
      maxes.push(l.at(-1) as number);
      log(
        `  latency run ${r + 1}: p50 ${q(0.5).toFixed(0)} ms, p99 ${q(0.99).toFixed(0)} ms, max ${l.at(-1)?.toFixed(0)} ms`,
      );
    }
  } finally {
    proto.send = original;
    inject.close();
  }
  const note = `${runs} run(s) of ${count} new reports sent at ${perSecond}/s over SMTP; from the SMTP acceptance of the report by Postfix (so Postfix's queue and LMTP delivery are included) to the acceptance of its acknowledgement; max per run ${maxes.map((x) => x.toFixed(0)).join(', ')} ms`;
  const p99s = stats(p99);
  return [
    {
      name: `latency p50, delivery → acknowledgement accepted by SMTP, IDLE (${count} messages)`,
      unit: 'ms',
      better: 'lower',
      ...stats(p50),
      note,
    },
    {
      name: `latency p99, delivery → acknowledgement accepted by SMTP, IDLE (${count} messages)`,
      unit: 'ms',
      better: 'lower',
      ...p99s,
      target: '< 2000 ms',
      met: p99s.median < 2000,
    },
  ];
}
