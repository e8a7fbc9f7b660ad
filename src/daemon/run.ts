/**
 * `vultron-mail run [--once]` (DESIGN.md §5): the IMAP watcher, the outbox sender and the
 * scheduler in one process, JSON logs (pino), a health endpoint, graceful shutdown.
 *
 * Work that changes cases goes through one lane, one job at a time: a message through the
 * inbound pipeline, a run of the due timers, the delivery failures of rows given up on. The
 * pipeline's case service checks that a case did not change while a message was being
 * rendered; the lane makes sure nothing else of this process changes it meanwhile.
 * The outbox sender has a lane of its own (no two sender runs pick the same row): the SMTP
 * round trips of one message's mails overlap the processing of the next message. It only
 * marks rows sent or failed (each one atomic write); the case changes its give-ups cause are
 * queued in the case lane.
 *
 * - After each handled message, and every `sendIntervalMs` (30 s), the outbox is flushed.
 * - Every `tickIntervalMs` (60 s) the due timers run (`tick`).
 * - SIGTERM/SIGINT: the message in hand is finished (committed, moved, cursor advanced), the
 *   job in the lane completes, connections are closed, exit 0.
 * - `--once`: connect, handle everything pending in the mailbox, run the due timers, flush the
 *   outbox, exit.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ImapFlowOptions } from 'imapflow';
import pino from 'pino';
import type { Logger } from 'pino';
import type { Outcome } from '../case/service.js';
import { openApp } from '../cli/app.js';
import type { App } from '../cli/app.js';
import { ingestOne, pipelineFor } from '../cli/ingest.js';
import { ImapWatcher, isoSecond } from '../mail/imap.js';
import type { FetchedMessage, HandleResult, WatcherTiming } from '../mail/imap.js';
import type { InboundPipeline } from '../mail/inbound.js';
import { Metrics } from './metrics.js';

export interface DaemonOptions {
  logger: Logger;
  /** The clock; default the real one. */
  clock?: () => Date;
  /** Flush the outbox this often (also after each message). Default 30 s. */
  sendIntervalMs?: number;
  /** Run the due timers this often. Default 60 s. */
  tickIntervalMs?: number;
  /** The IMAP watcher's poll, deadlines and backoff (defaults in src/mail/imap.ts). */
  watcherTiming?: Partial<WatcherTiming>;
  /** Extra imapflow options, merged last (tests). */
  imapClientOptions?: Partial<ImapFlowOptions>;
}

export interface OnceReport {
  messages: number;
  timers: number;
  sent: number;
  failed: number;
}

export interface Health {
  status: 'ok' | 'degraded';
  uptimeSeconds: number;
  imap: {
    enabled: boolean;
    connected: boolean;
    mailbox: string | null;
    lastPollAt: string | null;
    lastError: string | null;
    uidValidity: string | null;
    lastUid: number | null;
  };
  outbox: {
    backlog: number;
    /** Pending rows waiting for a retry after a failed attempt, and the latest such error. */
    retrying: number;
    lastError: string | null;
    failed: number;
    oldestPendingAt: string | null;
    oldestPendingAgeSeconds: number | null;
    lastRun: { at: string; sent: number; failed: number } | null;
  };
  timers: { lastRunAt: string | null };
}

/** Transitions of a committed decision, counted by their protocol code. */
function countTransitions(metrics: Metrics, outcome: Outcome): void {
  if (!outcome.applied) return;
  for (const entry of outcome.decision.log) {
    if (entry.kind !== 'transition') continue;
    for (const code of entry.types) metrics.inc('vultron_mail_transitions_total', { code });
  }
}

export class Daemon {
  readonly metrics: Metrics;
  readonly app: App;
  private readonly logger: Logger;
  private readonly clock: () => Date;
  private readonly started = Date.now();
  private readonly watcher: ImapWatcher | null;
  private readonly pipeline: InboundPipeline;
  private lane: Promise<unknown> = Promise.resolve();
  private senderLane: Promise<unknown> = Promise.resolve();
  private sendQueued: Promise<void> | null = null;
  private sendNotBefore = 0;
  private timers: NodeJS.Timeout[] = [];
  private server: Server | null = null;
  private stopping: Promise<void> | null = null;
  private lastSend: Health['outbox']['lastRun'] = null;
  private lastTickAt: string | null = null;
  private readonly options: DaemonOptions;

  /** Opens the config's store and transport; `metrics` counts the transitions of every decision. */
  static open(configPath: string, env: NodeJS.ProcessEnv, opts: DaemonOptions): Daemon {
    const metrics = new Metrics();
    const app = openApp(configPath, env, { observe: (o) => countTransitions(metrics, o) });
    return new Daemon(app, metrics, opts);
  }

  constructor(app: App, metrics: Metrics, opts: DaemonOptions) {
    this.app = app;
    this.metrics = metrics;
    this.logger = opts.logger;
    this.clock = opts.clock ?? (() => new Date());
    this.pipeline = pipelineFor(app);
    this.options = opts;
    const imap = app.config.imap;
    this.watcher = imap
      ? new ImapWatcher({
          settings: imap,
          store: app.store,
          handle: (m) => this.handle(m),
          logger: this.logger.child({ component: 'imap' }),
          clock: this.clock,
          ...(opts.watcherTiming ? { timing: opts.watcherTiming } : {}),
          ...(opts.imapClientOptions ? { clientOptions: opts.imapClientOptions } : {}),
        })
      : null;
  }

  private now(): string {
    return isoSecond(this.clock());
  }

  /** Runs `fn` when every job queued before it is done. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lane.then(fn, fn);
    this.lane = run.catch(() => undefined);
    return run;
  }

  /** One message from the mailbox, through the same pipeline as `ingest`. */
  private handle(message: FetchedMessage): Promise<HandleResult> {
    return this.exclusive(async () => {
      const one = await ingestOne(this.app, this.pipeline, message.raw, message.arrivedAt);
      const log = this.logger.child({ uid: message.uid, arrivedAt: message.arrivedAt });
      switch (one.kind) {
        case 'handled': {
          const r = one.result;
          this.metrics.inc('vultron_mail_messages_total', { outcome: r.outcome });
          if (r.outcome === 'quarantined') {
            this.metrics.inc('vultron_mail_quarantined_total', { reason: r.reason ?? 'unknown' });
          }
          log.info(
            { outcome: r.outcome, reason: r.reason, caseId: r.caseId, detail: r.detail },
            `message ${r.outcome}`,
          );
          break;
        }
        case 'quarantined-failure':
          this.metrics.inc('vultron_mail_messages_total', { outcome: 'quarantined' });
          this.metrics.inc('vultron_mail_quarantined_total', { reason: 'malformed' });
          log.warn({ entry: one.entry, err: one.error }, 'message quarantined: processing failed');
          break;
        case 'temporary':
          log.warn({ err: one.error }, 'temporary failure; the message is tried again later');
          return 'retry';
        case 'failed':
          log.error({ err: one.error }, 'processing failed and the message could not be quarantined');
          return 'retry';
      }
      // Its acknowledgement and notifications go out next (the clock may trail the server's).
      this.sendNotBefore = Math.max(
        this.sendNotBefore,
        Math.min(Date.parse(message.arrivedAt), this.clock().getTime() + 300_000),
      );
      void this.requestSend();
      return 'done';
    });
  }

  /** Queues one run of the outbox sender (runs already queued and not started absorb it). */
  requestSend(): Promise<void> {
    if (this.sendQueued) return this.sendQueued;
    const queued = this.senderLane.then(async () => {
      this.sendQueued = null;
      await this.sendNow();
    });
    this.sendQueued = queued;
    this.senderLane = queued.catch(() => undefined);
    return queued;
  }

  /** Resolves when both lanes are idle (a sender run can still queue a case job). */
  private async settled(): Promise<void> {
    for (;;) {
      const [lane, sender] = [this.lane, this.senderLane];
      await lane;
      await sender;
      if (lane === this.lane && sender === this.senderLane) return;
    }
  }

  private async sendNow(): Promise<{ sent: number; failed: number }> {
    const now = isoSecond(new Date(Math.max(this.clock().getTime(), this.sendNotBefore)));
    try {
      const r = await this.app.send(now, { caseLane: (job) => this.exclusive(job) });
      this.metrics.inc('vultron_mail_outbox_sent_total', {}, r.sent);
      this.metrics.inc('vultron_mail_outbox_failed_total', {}, r.failed);
      this.metrics.inc('vultron_mail_outbox_gave_up_total', {}, r.gaveUp.length);
      this.lastSend = { at: now, sent: r.sent, failed: r.failed };
      if (r.sent > 0 || r.failed > 0) {
        const level = r.failed > 0 ? 'warn' : 'info';
        this.logger[level]({ sent: r.sent, failed: r.failed, gaveUp: r.gaveUp.length }, 'outbox flushed');
      }
      for (const row of r.gaveUp) {
        this.logger.error(
          { outboxId: row.id, caseId: row.caseId, to: row.to, err: row.lastError },
          'gave up delivering a mail; the coordinators were told',
        );
      }
      return r;
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'outbox sender failed');
      return { sent: 0, failed: 0 };
    }
  }

  private tick(): Promise<number> {
    return this.exclusive(async () => {
      const now = this.now();
      try {
        const fired = await this.app.service.runDueTimers(now);
        this.lastTickAt = now;
        this.metrics.inc('vultron_mail_timers_fired_total', {}, fired);
        if (fired > 0) this.logger.info({ fired }, 'timers fired');
        return fired;
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'scheduler failed');
        return 0;
      }
    });
  }

  /** Starts the watcher, the sender and scheduler intervals, and the health endpoint. */
  async start(): Promise<void> {
    const { health } = this.app.config;
    if (health.port !== undefined) await this.listen(health.host, health.port);
    if (this.watcher) this.watcher.start();
    else {
      this.logger.warn(
        'no imap configured: only the outbox sender and the scheduler run (mail comes in by `ingest`)',
      );
    }
    const every = (ms: number, fn: () => unknown) => this.timers.push(setInterval(fn, ms));
    every(this.options.sendIntervalMs ?? 30_000, () => void this.requestSend());
    every(this.options.tickIntervalMs ?? 60_000, () => void this.tick().then(() => this.requestSend()));
    // At start: what became due while the daemon was down.
    void this.tick().then(() => this.requestSend());
    this.logger.info(
      {
        mailbox: this.app.config.imap?.mailbox ?? null,
        transport: this.app.config.smtp ? 'smtp' : 'directory',
        health: health.port !== undefined ? `${health.host}:${health.port}` : null,
      },
      'vultron-mail daemon started',
    );
  }

  /** Graceful stop: idempotent; resolves when everything is closed. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const t of this.timers) clearInterval(t);
      this.timers = [];
      if (this.watcher) await this.watcher.stop();
      await this.settled();
      await this.closeServer();
      await this.app.close();
      this.logger.info('vultron-mail daemon stopped');
    })();
    return this.stopping;
  }

  /** `run --once`. Throws when the mailbox cannot be read; the store is closed either way. */
  async once(): Promise<OnceReport> {
    try {
      const messages = this.watcher ? await this.watcher.drainOnce() : 0;
      await this.lane;
      const timers = await this.tick();
      await this.requestSend();
      await this.settled();
      if (this.watcher?.status().retryPending) {
        throw new Error(
          'a message could not be handled for now (a temporary failure, see the log); it stays in the mailbox for the next run',
        );
      }
      return {
        messages,
        timers,
        sent: this.metrics.get('vultron_mail_outbox_sent_total'),
        failed: this.metrics.get('vultron_mail_outbox_failed_total'),
      };
    } finally {
      await this.settled();
      await this.app.close();
    }
  }

  health(): Health {
    const w = this.watcher?.status();
    const stats = this.app.store.outboxStats();
    const nowMs = this.clock().getTime();
    const oldestAge =
      stats.oldestPendingAt === null
        ? null
        : Math.max(0, Math.round((nowMs - Date.parse(stats.oldestPendingAt)) / 1000));
    return {
      status: w && !w.connected ? 'degraded' : 'ok',
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      imap: {
        enabled: this.watcher !== null,
        connected: w?.connected ?? false,
        mailbox: this.app.config.imap?.mailbox ?? null,
        lastPollAt: w?.lastPollAt ?? null,
        lastError: w?.lastError ?? null,
        uidValidity: w?.uidValidity ?? null,
        lastUid: w?.lastUid ?? null,
      },
      outbox: {
        backlog: stats.pending,
        retrying: stats.retrying,
        lastError: stats.lastError,
        failed: stats.failed,
        oldestPendingAt: stats.oldestPendingAt,
        oldestPendingAgeSeconds: oldestAge,
        lastRun: this.lastSend,
      },
      timers: { lastRunAt: this.lastTickAt },
    };
  }

  metricsText(): string {
    const h = this.health();
    const w = this.watcher?.status();
    return this.metrics.render([
      {
        name: 'vultron_mail_imap_connected',
        help: 'IMAP session up (1) or not (0).',
        value: h.imap.connected ? 1 : 0,
      },
      {
        name: 'vultron_mail_imap_connections_lost',
        help: 'IMAP connections lost or failed since the start.',
        value: w?.lost ?? 0,
      },
      {
        name: 'vultron_mail_imap_last_poll_timestamp_seconds',
        help: 'When the mailbox was last read completely (Unix time).',
        value: h.imap.lastPollAt ? Date.parse(h.imap.lastPollAt) / 1000 : 0,
      },
      { name: 'vultron_mail_outbox_backlog', help: 'Outbox rows pending.', value: h.outbox.backlog },
      { name: 'vultron_mail_outbox_failed_rows', help: 'Outbox rows given up on.', value: h.outbox.failed },
      {
        name: 'vultron_mail_outbox_oldest_pending_age_seconds',
        help: 'Age of the oldest pending outbox row.',
        value: h.outbox.oldestPendingAgeSeconds ?? 0,
      },
    ]);
  }

  /** The address the health endpoint listens on (tests). */
  healthAddress(): AddressInfo | null {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a : null;
  }

  private listen(host: string, port: number): Promise<void> {
    const server = createServer((req, res) => this.serve(req, res));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
      } else if (path === '/healthz') {
        const h = this.health();
        res.writeHead(h.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify(h)}\n`);
      } else if (path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(this.metricsText());
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
    }
  }

  private closeServer(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

export interface RunCommandOptions {
  configPath: string;
  env: NodeJS.ProcessEnv;
  once: boolean;
  /** `--now`: the clock at the start; it runs on from there. */
  now?: string | undefined;
  /** Where the JSON log lines go (the process's stdout). */
  write: (line: string) => void;
}

export function createLogger(write: (line: string) => void, env: NodeJS.ProcessEnv): Logger {
  return pino(
    {
      name: 'vultron-mail',
      level: env['VULTRON_MAIL_LOG_LEVEL'] ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      base: { pid: process.pid },
    },
    { write },
  );
}

/** The `run` command: returns the exit code (0, or 1 when it could not start or drain). */
export async function runCommand(opts: RunCommandOptions): Promise<number> {
  const logger = createLogger(opts.write, opts.env);
  const offset = opts.now === undefined ? 0 : Date.parse(opts.now) - Date.now();
  const clock = () => new Date(Date.now() + offset);
  const daemon = Daemon.open(opts.configPath, opts.env, { logger, clock });
  if (opts.once) {
    try {
      const r = await daemon.once();
      logger.info(r, 'run --once done');
      return 0;
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'run --once failed');
      throw err;
    }
  }
  let stopped: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const handler = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'shutting down');
    void daemon.stop().then(stopped);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  try {
    await daemon.start();
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  try {
    await done;
  } finally {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  }
  return 0;
}
