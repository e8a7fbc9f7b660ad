/** Wiring for the CLI commands: config → store, case service, transport. */
import { mkdirSync } from 'node:fs';
import { loadConfig, toPolicy } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { CaseService } from '../case/service.js';
import type { Outcome } from '../case/service.js';
import { composeCaselessError, composeMail, newMessageId } from '../outbound/compose.js';
import { sendDue } from '../outbound/sender.js';
import type { SendResult } from '../outbound/sender.js';
import { DirectoryTransport, SmtpTransport } from '../outbound/transports.js';
import type { Transport } from '../outbound/transports.js';
import type { Policy } from '../protocol/index.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { SqliteStore } from '../store/sqlite.js';

/** A handled failure: the CLI prints the message on one line and exits 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Runs a job that changes cases, after the ones already queued (see `Daemon`). */
export type CaseLane = (job: () => Promise<void>) => Promise<void>;

export interface App {
  config: Config;
  policy: Policy;
  store: SqliteStore;
  service: CaseService;
  transport: Transport;
  bot: { address: string; name: string; domain: string; caseIdPrefix: string };
  /**
   * Delivers due outbox rows; rows given up on become delivery failures told to the coordinators.
   * `caseLane` runs those case changes (the daemon's lane, so that they do not interleave with a
   * message being processed); by default they run at once.
   */
  send(now: string, opts?: { caseLane?: CaseLane }): Promise<SendResult>;
  close(): Promise<void>;
}

export function configPath(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return option ?? env['VULTRON_MAIL_CONFIG'] ?? './config.json';
}

export function readConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  const result = loadConfig(path, env);
  if (!result.ok) throw new CliError(`${path}: invalid configuration\n  ${result.issues.join('\n  ')}`);
  return result.config;
}

export interface AppOptions {
  /** Told of every committed case decision (the daemon counts transitions). */
  observe?: (outcome: Outcome) => void;
}

/**
 * SMTP options for nodemailer: a pooled connection (the daemon sends one row at a time, all
 * day) and bounded waits, so that a dead server fails an attempt instead of hanging the sender.
 * Anything set in the config's `smtp` wins.
 */
export function smtpOptions(smtp: NonNullable<Config['smtp']>): Record<string, unknown> {
  return {
    pool: true,
    maxConnections: 1,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
    ...smtp,
  };
}

export function openApp(path: string, env: NodeJS.ProcessEnv = process.env, opts: AppOptions = {}): App {
  const config = readConfig(path, env);
  const policy = toPolicy(config);
  const store = openSqliteStore(config.store.path);
  const bot = {
    address: config.bot.address,
    name: config.bot.name,
    domain: config.bot.domain,
    caseIdPrefix: config.bot.caseIdPrefix,
  };
  const templatesDir = config.templates.directory ?? null;
  const contacts = new Map(config.contacts.map((c) => [c.email.toLowerCase(), c]));
  for (const c of config.contacts) {
    store.upsertContact({
      email: c.email,
      name: c.name ?? null,
      maxEmbargoDays: c.maxEmbargoDays ?? null,
      pgpKey: c.pgpKey ?? null,
    });
  }
  const service = new CaseService({
    store,
    policy,
    bot,
    coordinators: config.coordinators.map((email) => ({
      email,
      name: contacts.get(email.toLowerCase())?.name ?? null,
    })),
    contactMaxDays: (email) => contacts.get(email.toLowerCase())?.maxEmbargoDays ?? null,
    rateCaps: config.security.rateCaps,
    compose: async (req) =>
      (
        await composeMail(req.effect, {
          snapshot: req.snapshot,
          bot,
          messageId: newMessageId(req.snapshot.id, bot.domain),
          inbound: req.inbound,
          report: req.report,
          now: req.now,
          templatesDir,
        })
      ).row,
    composeCaseless: async (req) =>
      (
        await composeCaselessError(req.effect, {
          bot,
          messageId: newMessageId('reply', bot.domain),
          inbound: req.inbound,
          now: req.now,
        })
      ).row,
    ...(opts.observe ? { observe: opts.observe } : {}),
  });
  let transport: Transport;
  if (config.outbox.directory !== undefined) {
    mkdirSync(config.outbox.directory, { recursive: true });
    transport = new DirectoryTransport(config.outbox.directory);
  } else {
    transport = new SmtpTransport(
      smtpOptions(config.smtp ?? {}) as ConstructorParameters<typeof SmtpTransport>[0],
    );
  }
  const app: App = {
    config,
    policy,
    store,
    service,
    transport,
    bot,
    async send(now, opts = {}) {
      const result = await sendDue(store, transport, { now, giveUpHours: config.outbox.giveUpHours });
      const lane: CaseLane = opts.caseLane ?? ((job) => job());
      if (result.gaveUp.length > 0) {
        await lane(async () => {
          for (const row of result.gaveUp) {
            if (row.caseId === null || !store.getCase(row.caseId)) continue;
            for (const to of row.to) {
              await service.apply(
                row.caseId,
                {
                  kind: 'delivery-failure',
                  to,
                  permanent: true,
                  types: row.types,
                  detail: `gave up after ${row.attempts} attempts: ${row.lastError ?? 'unknown error'}`,
                },
                { now, inbound: null },
              );
            }
          }
        });
      }
      // The alerts those failures produced go out in the same run.
      if (result.gaveUp.length > 0) {
        const more = await sendDue(store, transport, { now, giveUpHours: config.outbox.giveUpHours });
        result.sent += more.sent;
        result.failed += more.failed;
      }
      return result;
    },
    async close() {
      await transport.close();
      store.close();
    },
  };
  return app;
}
