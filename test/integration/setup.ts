/** A bot configured against a test mail stack: config file, daemon in-process, log capture. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { Logger } from 'pino';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { Daemon } from '../../src/daemon/run.js';
import type { DaemonOptions } from '../../src/daemon/run.js';
import { USERS, startMailStack } from '../helpers/mailstack.js';
import type { MailStack } from '../helpers/mailstack.js';

/**
 * One mail stack for the test file: started before its tests (then `ready` runs, e.g. to write
 * the bot's config), destroyed after them, after the file's own afterAll hooks (vitest runs
 * them in reverse order). A stack that cannot start fails every test of the file: a failed
 * beforeAll would only skip them.
 */
export function useMailStack(ready: (stack: MailStack) => void | Promise<void>): void {
  let stack: MailStack | undefined;
  let setupError: unknown = null;
  beforeAll(async () => {
    try {
      stack = await startMailStack();
      await ready(stack);
    } catch (err) {
      setupError = err;
    }
  }, 300_000);
  beforeEach(() => {
    if (setupError) throw setupError;
  });
  afterAll(async () => {
    await stack?.destroy();
  });
}

export interface BotSandbox {
  dir: string;
  config: string;
  db: string;
  cleanup(): void;
}

/**
 * config.json for the bot of the mail stack: IMAPS and SMTP STARTTLS, both verified against the
 * stack's own certificate; the store in a temporary folder.
 */
export function botConfig(
  stack: MailStack,
  over: { mailbox?: string; healthPort?: number; giveUpHours?: number } = {},
): BotSandbox {
  const dir = mkdtempSync(join(tmpdir(), 'vultron-bot-'));
  const config = join(dir, 'config.json');
  const tls = { ca: stack.ca, servername: 'localhost' };
  writeFileSync(
    config,
    JSON.stringify(
      {
        bot: { address: USERS.bot.email, name: 'CVD Bot', caseIdPrefix: 'VM' },
        store: { path: './vultron-mail.sqlite' },
        outbox: { giveUpHours: over.giveUpHours ?? 72 },
        smtp: { host: '127.0.0.1', port: stack.ports.smtp, requireTLS: true, tls },
        imap: {
          host: '127.0.0.1',
          port: stack.ports.imaps,
          secure: true,
          tls,
          auth: { user: USERS.bot.email, pass: USERS.bot.pass },
          mailbox: over.mailbox ?? 'INBOX',
          processedMailbox: 'Processed',
        },
        coordinators: [USERS.coordinator.email],
        security: { requireAuthenticatedSender: false },
        health: { host: '127.0.0.1', ...(over.healthPort !== undefined ? { port: over.healthPort } : {}) },
      },
      null,
      2,
    ),
  );
  return {
    dir,
    config,
    db: join(dir, 'vultron-mail.sqlite'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Log lines kept in memory (and printed with VULTRON_TEST_LOG=1). */
export function memoryLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(s: string) {
        lines.push(JSON.parse(s) as Record<string, unknown>);
        if (process.env['VULTRON_TEST_LOG']) process.stderr.write(s);
      },
    },
  );
  return { logger, lines };
}

/** Fast timing for tests: poll each second (SELECT again every 3 s), a command deadline of 2 s, backoff 0.2-1 s. */
export const FAST: Pick<DaemonOptions, 'sendIntervalMs' | 'tickIntervalMs' | 'watcherTiming'> = {
  sendIntervalMs: 500,
  tickIntervalMs: 1_000,
  watcherTiming: {
    pollMs: 1_000,
    reselectMs: 3_000,
    commandTimeoutMs: 2_000,
    backoffMinMs: 200,
    backoffMaxMs: 1_000,
  },
};

export function openDaemon(bot: BotSandbox, opts: Partial<DaemonOptions> & { logger: Logger }): Daemon {
  return Daemon.open(bot.config, {}, { ...FAST, ...opts });
}
