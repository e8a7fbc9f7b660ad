/**
 * The daemon without mail servers: the embedded default (directory outbox, no IMAP), its health
 * endpoint and metrics, `run --once` and the `run` command's SIGTERM handling in-process; the
 * watcher's pure helpers.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Daemon, runCommand } from '../../src/daemon/run.js';
import { Metrics } from '../../src/daemon/metrics.js';
import { batches, isoSecond, reconnectDelayMs, sameMailbox } from '../../src/mail/imap.js';
import type { FetchedMessage, HandleResult } from '../../src/mail/imap.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { COORDINATOR, NOW, sandbox } from '../cli/helpers.js';
import type { Sandbox } from '../cli/helpers.js';

const quiet = pino({ level: 'silent' });
let box: Sandbox | null = null;

afterEach(() => {
  box?.cleanup();
  box = null;
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      server.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** A sandbox made by `init` (directory outbox), without imap, with a health port. */
async function embedded(): Promise<{ box: Sandbox; port: number }> {
  const b = await sandbox();
  box = b;
  const port = await freePort();
  const config = JSON.parse(readFileSync(b.config, 'utf8')) as Record<string, unknown>;
  delete config['imap'];
  config['health'] = { host: '127.0.0.1', port };
  writeFileSync(b.config, JSON.stringify(config));
  return { box: b, port };
}

describe('Daemon on the embedded default (no IMAP)', () => {
  it('serves /healthz and /metrics, sends what is due and stops cleanly', async () => {
    const { box: b, port } = await embedded();
    expect(
      (await b.cli('--now', NOW, 'case', 'new', '--from', 'finder@example.net', '--title', 'T', '--no-send'))
        .code,
    ).toBe(0);
    const d = Daemon.open(b.config, {}, { logger: quiet, clock: () => new Date(NOW), sendIntervalMs: 50 });
    await d.start();
    try {
      const healthz = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(healthz.status).toBe(200);
      const body = (await healthz.json()) as Record<string, Record<string, unknown>>;
      expect(body['imap']).toMatchObject({ enabled: false, connected: false });
      // Everything due goes out within a send interval.
      await expect.poll(() => d.health().outbox.backlog, { timeout: 5_000 }).toBe(0);
      expect(readdirSync(b.outbox).filter((f) => f.endsWith('.eml')).length).toBeGreaterThanOrEqual(2);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^# HELP vultron_mail_messages_total /m);
      expect(metrics).toMatch(/^vultron_mail_outbox_sent_total [1-9]/m);
      expect(metrics).toMatch(/^vultron_mail_outbox_backlog 0$/m);
      expect(metrics).toMatch(/^vultron_mail_imap_connected 0$/m);
      expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`, { method: 'POST' })).status).toBe(405);
    } finally {
      await d.stop();
    }
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('reports a backlog and its age while a row waits for a retry', async () => {
    const { box: b } = await embedded();
    expect(
      (await b.cli('--now', NOW, 'case', 'new', '--from', 'finder@example.net', '--title', 'T', '--no-send'))
        .code,
    ).toBe(0);
    // The clock one hour later, nothing sent yet.
    const d = Daemon.open(b.config, {}, { logger: quiet, clock: () => new Date('2026-03-02T11:00:00Z') });
    const h = d.health();
    expect(h.status).toBe('ok');
    expect(h.outbox.backlog).toBeGreaterThanOrEqual(2);
    expect(h.outbox.oldestPendingAt).toBe(NOW);
    expect(h.outbox.oldestPendingAgeSeconds).toBe(3600);
    await d.stop();
  });

  it('once: runs the due timers and flushes the outbox', async () => {
    const { box: b } = await embedded();
    expect(
      (await b.cli('--now', NOW, 'case', 'new', '--from', 'finder@example.net', '--title', 'T', '--no-send'))
        .code,
    ).toBe(0);
    const d = Daemon.open(b.config, {}, { logger: quiet, clock: () => new Date(NOW) });
    const r = await d.once();
    expect(r).toMatchObject({ messages: 0, failed: 0 });
    expect(r.sent).toBeGreaterThanOrEqual(2);
    const store = openSqliteStore(b.db);
    expect(store.outboxStats().pending).toBe(0);
    store.close();
  });

  it('processes the next message while a sender run waits on the mail server (two lanes)', async () => {
    const { box: b } = await embedded();
    expect(
      (await b.cli('--now', NOW, 'case', 'new', '--from', 'finder@example.net', '--title', 'T', '--no-send'))
        .code,
    ).toBe(0);
    const d = Daemon.open(b.config, {}, { logger: quiet, clock: () => new Date(NOW) });
    // The real sender behind a gate: the run starts and waits, as on a slow SMTP server.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let waiting = false;
    const send = d.app.send.bind(d.app);
    d.app.send = async (now, opts) => {
      waiting = true;
      await gate;
      return send(now, opts);
    };
    const sending = d.requestSend();
    await expect.poll(() => waiting).toBe(true);
    const raw = readFileSync(new URL('../../fixtures/demo/01-report-no-embargo.eml', import.meta.url));
    const handle = (d as unknown as { handle: (m: FetchedMessage) => Promise<HandleResult> }).handle.bind(d);
    expect(await handle({ uid: 1, raw, arrivedAt: NOW })).toBe('done');
    expect(d.app.store.listCases()).toHaveLength(2);
    expect(d.metrics.get('vultron_mail_outbox_sent_total')).toBe(0);
    release();
    await sending;
    await expect.poll(() => d.app.store.outboxStats().pending).toBe(0);
    expect(d.metrics.get('vultron_mail_outbox_sent_total')).toBeGreaterThanOrEqual(3);
    await d.stop();
  });

  it('counts transitions by code from the decisions it commits', async () => {
    const { box: b } = await embedded();
    const d = Daemon.open(b.config, {}, { logger: quiet, clock: () => new Date(NOW) });
    await d.app.service.openCase(
      { kind: 'report', from: { email: 'finder@example.net' }, codes: ['RS'], payload: {} },
      {
        now: NOW,
        title: 'T',
        inbound: null,
        report: { from: 'finder@example.net', subject: 'T', text: 'x', attachments: [] },
      },
    );
    expect(d.metrics.get('vultron_mail_transitions_total', { code: 'RS' })).toBe(1);
    await d.stop();
  });
});

describe('vultron-mail run (the command)', () => {
  it('--once exits 0 and logs JSON lines', async () => {
    const { box: b } = await embedded();
    const r = await b.cli('run', '--once');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['msg'])).toContain('run --once done');
    expect(lines.every((l) => typeof l['time'] === 'string' && typeof l['level'] === 'number')).toBe(true);
  });

  it('runs until SIGTERM, then stops and returns 0', async () => {
    const { box: b } = await embedded();
    let out = '';
    const code = runCommand({ configPath: b.config, env: {}, once: false, write: (s) => (out += s) });
    await expect.poll(() => out.includes('daemon started'), { timeout: 5_000 }).toBe(true);
    process.emit('SIGTERM', 'SIGTERM');
    await expect(code).resolves.toBe(0);
    expect(out).toContain('vultron-mail daemon stopped');
    expect(process.listenerCount('SIGTERM')).toBe(0);
  });

  it('fails with exit 1 when the health port is taken', async () => {
    const { box: b, port } = await embedded();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', () => resolve()));
    try {
      const r = await b.cli('run');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });

  it('--once fails with exit 1 and the reason when the IMAP server cannot be reached', async () => {
    const { box: b } = await embedded();
    const config = JSON.parse(readFileSync(b.config, 'utf8')) as Record<string, unknown>;
    config['imap'] = {
      host: '127.0.0.1',
      port: await freePort(),
      secure: false,
      auth: { user: 'bot@example.org', pass: 'x' },
    };
    writeFileSync(b.config, JSON.stringify(config));
    const r = await b.cli('run', '--once');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^vultron-mail: .*ECONNREFUSED|^vultron-mail: .*connect/m);
  });

  it('refuses an invalid config before starting (exit 1, every problem listed)', async () => {
    const b = await sandbox();
    box = b;
    writeFileSync(b.config, JSON.stringify({ bot: { address: 'nope' }, coordinators: [COORDINATOR] }));
    const r = await b.cli('run', '--once');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bot\.address/);
  });
});

describe('watcher helpers', () => {
  it('reconnect delays double from the minimum and stop at the cap', () => {
    const t = { backoffMinMs: 1_000, backoffMaxMs: 60_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 100].map((n) => reconnectDelayMs(n, t))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('batches messages in UID order by count and by bytes (a big message alone)', () => {
    const metas = [
      { uid: 5, size: 10 },
      { uid: 1, size: 10 },
      { uid: 2, size: 10 },
      { uid: 3, size: 1_000 },
      { uid: 4, size: 10 },
    ];
    expect(batches(metas, { batchMessages: 2, batchBytes: 10_000 })).toEqual([[1, 2], [3, 4], [5]]);
    expect(batches(metas, { batchMessages: 10, batchBytes: 500 })).toEqual([[1, 2], [3], [4, 5]]);
    expect(batches([], { batchMessages: 10, batchBytes: 500 })).toEqual([]);
  });

  it('INBOX is the same mailbox in any case; other names compare exactly', () => {
    expect(sameMailbox('INBOX', 'inbox')).toBe(true);
    expect(sameMailbox('Processed', 'processed')).toBe(false);
    expect(sameMailbox('Processed', 'Processed')).toBe(true);
  });

  it('isoSecond gives RFC 3339 UTC to the second', () => {
    expect(isoSecond(new Date('2026-03-02T10:00:00.789Z'))).toBe('2026-03-02T10:00:00Z');
  });
});

describe('Metrics', () => {
  it('renders the Prometheus text format with HELP, TYPE, sorted and escaped labels', () => {
    const m = new Metrics();
    m.inc('vultron_mail_messages_total', { outcome: 'opened' });
    m.inc('vultron_mail_messages_total', { outcome: 'applied' }, 2);
    m.inc('vultron_mail_quarantined_total', { reason: 'a"b\\c' });
    const text = m.render([{ name: 'vultron_mail_outbox_backlog', help: 'Outbox rows pending.', value: 3 }]);
    expect(text).toContain(
      [
        '# HELP vultron_mail_messages_total Inbound messages handled, by outcome.',
        '# TYPE vultron_mail_messages_total counter',
        'vultron_mail_messages_total{outcome="applied"} 2',
        'vultron_mail_messages_total{outcome="opened"} 1',
      ].join('\n'),
    );
    expect(text).toContain('vultron_mail_quarantined_total{reason="a\\"b\\\\c"} 1');
    expect(text).toContain('# TYPE vultron_mail_outbox_backlog gauge\nvultron_mail_outbox_backlog 3');
    expect(text.endsWith('\n')).toBe(true);
    expect(() => m.inc('nope')).toThrow(/unknown metric/);
  });
});
