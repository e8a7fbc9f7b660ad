/**
 * The `vultron-mail` command line (DESIGN.md §5, docs/cli.md). `main(argv, io)` returns the
 * exit code: 0 success, 1 a handled failure (one line `vultron-mail: <reason>` on stderr; a
 * config with problems lists each on the following lines), 2 bad usage; `ingest` also 75 on a
 * temporary failure (EX_TEMPFAIL, so that an MTA retries).
 *
 * Every command accepts the global `--config FILE` and `--now <RFC 3339>`; listings accept
 * `--json`. The JSON shapes of `cases`, `case show`, `outbox` and `quarantine` are contracts.
 */
import { constants, accessSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import nodemailer from 'nodemailer';
import { jsonSchemas } from '../case/schemas.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { mapEmbargoCodes, resolveEmbargoEnd } from '../mail/commands.js';
import { ROLES, canonical, findParticipant, normEmail } from '../protocol/index.js';
import type { CaseSnapshot, Input, MailEffect, Role } from '../protocol/index.js';
import type { Outcome } from '../case/service.js';
import type { OutboxRow, OutboxStatus, QuarantineEntry } from '../store/port.js';
import { openSqliteStore } from '../store/sqlite.js';
import { CliError, configPath, openApp } from './app.js';
import type { App } from './app.js';
import { EXIT_TEMPFAIL, ingestMessages, releaseQuarantined } from './ingest.js';
import { renderCase, renderCases, renderOutbox, renderQuarantine } from './show.js';
import { renderTables } from './tables.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** The environment (VULTRON_MAIL_CONFIG, secrets); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** All of standard input (`ingest` without files); default: process.stdin. */
  stdin?: () => Promise<Buffer>;
}

const processIo: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

/** The package root: two levels above this file (src/cli in tests, dist/cli when built). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

// ---------------------------------------------------------------------------------------
// Argument parsers (a bad value is a usage error, exit 2)

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** `--now`: an RFC 3339 instant with a UTC offset, returned in UTC (`2026-03-02T10:00:00Z`). */
export function parseNow(value: string): string {
  const m = RFC3339.exec(value.trim());
  const bad = new InvalidArgumentError(
    'expected an RFC 3339 instant with a UTC offset, e.g. 2026-03-02T10:00:00Z or 2026-03-02T12:00:00+02:00',
  );
  if (!m) throw bad;
  const n = (i: number): number => Number(m[i] ?? 0);
  const [y, mo, d] = [n(1), n(2), n(3)];
  const day = new Date(Date.UTC(y, mo - 1, d));
  const realDay = day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
  if (!realDay || n(4) > 23 || n(5) > 59 || n(6) > 59 || n(9) > 23 || n(10) > 59) throw bad;
  return canonical(value.trim());
}

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:".]+(?:\.[^\s@<>()[\]\\,;:".]+)+$/;

function parseEmail(value: string): string {
  const v = value.trim().replace(/^<(.*)>$/, '$1');
  if (!EMAIL.test(v)) throw new InvalidArgumentError(`"${value}" is not an email address.`);
  return normEmail(v);
}

function parseRole(value: string): Role {
  const v = value.trim().toLowerCase();
  if (!(ROLES as readonly string[]).includes(v)) {
    throw new InvalidArgumentError(`"${value}" is not a role: use one of ${ROLES.join(', ')}.`);
  }
  return v as Role;
}

/** `--end`: checked for its form here (usage error); resolved against `--now` when run. */
function parseEnd(value: string): string {
  const r = resolveEmbargoEnd(value, '2000-01-01T00:00:00Z');
  if (!r.ok) throw new InvalidArgumentError(r.error);
  return value;
}

function parseId(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(`"${value}" is not an entry id (a positive number).`);
  }
  return Number(value);
}

function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty.');
  return value.trim();
}

// ---------------------------------------------------------------------------------------
// Shared helpers

interface Globals {
  config: string;
  now: string;
  env: NodeJS.ProcessEnv;
}

function globalsOf(cmd: Command, env: NodeJS.ProcessEnv): Globals {
  const g = cmd.optsWithGlobals<{ config?: string; now?: string }>();
  return {
    config: configPath(g.config, env),
    // The real clock, to the second (as every instant of the case data).
    now: g.now ?? canonical(new Date(Math.floor(Date.now() / 1000) * 1000).toISOString()),
    env,
  };
}

/**
 * The validated config, or a CliError: a file that cannot be read or parsed is one line;
 * problems of the content are listed one per line after a summary.
 */
function validConfig(path: string, env: NodeJS.ProcessEnv): Config {
  const result = loadConfig(path, env);
  if (result.ok) return result.config;
  const [first] = result.issues;
  if (result.issues.length === 1 && first !== undefined && first.startsWith(path)) throw new CliError(first);
  const n = result.issues.length;
  throw new CliError(`${path}: ${n} problem${n === 1 ? '' : 's'}\n  ${result.issues.join('\n  ')}`);
}

async function withApp<T>(g: Globals, fn: (app: App) => Promise<T>): Promise<T> {
  validConfig(g.config, g.env);
  const app = openApp(g.config, g.env);
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Delivers the due outbox rows (those the command just created among them) unless `--no-send`.
 * A failed delivery is not a failure of the command: the row stays in the outbox and is retried
 * by `send`/`tick`/the daemon; a warning says so.
 */
async function deliver(app: App, now: string, send: boolean, io: Io): Promise<void> {
  if (!send) return;
  const result = await app.send(now);
  if (result.failed > 0) {
    io.stderr(
      `vultron-mail: warning: ${plural(result.failed, 'mail')} could not be delivered yet; ` +
        'they stay in the outbox and are retried (see `vultron-mail outbox`)\n',
    );
  }
}

function requireCase(app: App, id: string): CaseSnapshot {
  const snapshot = app.store.getCase(id);
  if (!snapshot) throw new CliError(`no case ${id}`);
  return snapshot;
}

/** The acting participant: `--as`, or the first configured coordinator; must be engaged in the case. */
function actorFor(app: App, snapshot: CaseSnapshot, as: string | undefined): string {
  const actor = normEmail(as ?? (app.config.coordinators[0] as string));
  const p = findParticipant(snapshot, actor);
  if (!p) throw new CliError(`${actor} is not a participant of ${snapshot.id}`);
  if (!p.engaged) throw new CliError(`${actor} has left ${snapshot.id}`);
  return actor;
}

/** The error a decision answered the actor with, if any (the case did not change as asked). */
function errorTo(outcome: Outcome, actor: string): string | null {
  const mail = outcome.decision.effects.find(
    (e): e is MailEffect => e.type === 'mail' && e.kind === 'error' && normEmail(e.to) === actor,
  );
  if (!mail) return null;
  return oneLine(mail.data.error?.message ?? `refused (${mail.types.join(', ')})`);
}

/** Applies a coordinator action; delivers its mails; a refusal becomes a CliError after delivery. */
async function act(
  app: App,
  snapshot: CaseSnapshot,
  actor: string,
  input: Input,
  now: string,
  send: boolean,
  io: Io,
): Promise<Outcome> {
  const outcome = await app.service.apply(snapshot.id, input, { now, inbound: null });
  await deliver(app, now, send, io);
  if (!outcome.applied) {
    const last = outcome.decision.log[outcome.decision.log.length - 1];
    throw new CliError(`${snapshot.id}: not applied: ${oneLine(last?.detail ?? 'refused')}`);
  }
  const error = errorTo(outcome, actor);
  if (error !== null) throw new CliError(`${snapshot.id}: ${error}`);
  return outcome;
}

function outboxJson(r: OutboxRow) {
  return {
    id: r.id,
    caseId: r.caseId,
    to: r.to,
    subject: r.subject,
    types: r.types,
    status: r.status,
    attempts: r.attempts,
    messageId: r.messageId,
    calendarMethod: r.calendarMethod,
  };
}

function quarantineJson(q: QuarantineEntry) {
  return { id: q.id, messageId: q.messageId, from: q.from, reason: q.reason, at: q.at };
}

const TEMPORARY_CODES = new Set([
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_FULL',
  'ENOSPC',
  'EAGAIN',
  'EMFILE',
]);

function isTemporary(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && TEMPORARY_CODES.has(code);
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------
// Commands

/** `init`: config.json from config.example.json, the database and the outbox folder. */
function init(target: string, force: boolean, env: NodeJS.ProcessEnv, io: Io): void {
  const examplePath = join(PACKAGE_ROOT, 'config.example.json');
  let example: Record<string, unknown>;
  try {
    example = JSON.parse(readFileSync(examplePath, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`cannot read ${examplePath}: ${oneLine((err as Error).message)}`);
  }
  if (!force && existsSync(target)) {
    throw new CliError(`${target} already exists (use --force to overwrite it)`);
  }
  // Sender authentication stays off until an admin names the MTA's authserv-id.
  const security = { ...((example['security'] as Record<string, unknown> | undefined) ?? {}) };
  delete security['trustedAuthservId'];
  security['requireAuthenticatedSender'] = false;
  example['security'] = security;

  mkdirSync(dirname(target), { recursive: true });
  try {
    writeFileSync(target, json(example), { flag: force ? 'w' : 'wx', mode: 0o600 });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EEXIST') throw new CliError(`${target} already exists (use --force to overwrite it)`);
    throw new CliError(`cannot write ${target}: ${oneLine((err as Error).message)}`);
  }
  io.stdout(`wrote ${target}\n`);

  const config = validConfig(target, env);
  const dbExisted = existsSync(config.store.path);
  openSqliteStore(config.store.path).close();
  io.stdout(`${dbExisted ? 'database (existing, up to date)' : 'created database'} ${config.store.path}\n`);
  if (config.outbox.directory !== undefined) {
    const existed = existsSync(config.outbox.directory);
    mkdirSync(config.outbox.directory, { recursive: true });
    io.stdout(
      `${existed ? 'outbox directory (existing)' : 'created outbox directory'} ${config.outbox.directory}\n`,
    );
  }
  io.stdout(
    `sender authentication is off; edit bot, coordinators and imap in ${target}, ` +
      'then run `vultron-mail check-config`\n',
  );
}

/** `check-config --connect`: what can be tested from here, said honestly. */
async function testConnections(config: Config, io: Io): Promise<string[]> {
  const failures: string[] = [];
  if (config.smtp !== undefined) {
    const where = `${config.smtp.host ?? 'localhost'}:${config.smtp.port ?? (config.smtp.secure ? 465 : 587)}`;
    const transport = nodemailer.createTransport({
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 30_000,
      ...(config.smtp as Record<string, unknown>),
    });
    try {
      await transport.verify();
      io.stdout(
        config.smtp.auth
          ? `smtp: login ok (${where})\n`
          : `smtp: connection ok, no login configured (${where})\n`,
      );
    } catch (err) {
      failures.push(`smtp: ${where}: ${oneLine((err as Error).message)}`);
    } finally {
      transport.close();
    }
  }
  if (config.outbox.directory !== undefined) {
    const dir = config.outbox.directory;
    if (existsSync(dir)) {
      try {
        accessSync(dir, constants.W_OK);
        io.stdout(`outbox: .eml files are written to ${dir} (writable; no SMTP to test)\n`);
      } catch {
        failures.push(`outbox: ${dir} is not writable`);
      }
    } else {
      io.stdout(`outbox: .eml files will be written to ${dir} (created on first use; no SMTP to test)\n`);
    }
  }
  if (config.imap !== undefined) {
    const imap = config.imap;
    const where = `${imap.host}:${imap.port}`;
    const { ImapFlow } = await import('imapflow');
    const client = new ImapFlow({
      host: imap.host,
      port: imap.port,
      secure: imap.secure,
      auth: { user: imap.auth.user, pass: imap.auth.pass },
      ...(imap.tls ? { tls: imap.tls } : {}),
      logger: false,
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const status = await client.status(imap.mailbox, { messages: true });
      io.stdout(
        `imap: login ok (${where}), ${imap.mailbox} holds ${status ? (status.messages ?? 0) : '?'} messages\n`,
      );
    } catch (err) {
      failures.push(`imap: ${where}: ${oneLine((err as Error).message)}`);
    } finally {
      await client.logout().catch(() => client.close());
    }
  }
  return failures;
}

function describeProposal(s: CaseSnapshot, before: CaseSnapshot): string {
  const known = new Set(before.embargo.proposals.map((p) => p.id));
  const fresh = s.embargo.proposals.filter((p) => !known.has(p.id));
  if (fresh.length === 0) return `${s.id}: nothing proposed (EM ${s.em})`;
  return fresh
    .map((p) => {
      const what = `${s.id}: ${p.id} ${p.kind}, embargo until ${p.end}`;
      if (p.status === 'pending') return `${what}: pending, RSVP by ${p.rsvpDeadline}`;
      if (p.status === 'accepted') return `${what}: accepted, EM ${s.em}`;
      return `${what}: ${p.status}`;
    })
    .join('\n');
}

export function buildProgram(io: Io, state: { exitCode: number } = { exitCode: EXIT_OK }): Command {
  const env = io.env ?? process.env;
  const program = new Command('vultron-mail')
    .description('Email/iCalendar gateway for multi-party coordinated vulnerability disclosure (Vultron)')
    .version(packageVersion(), '-V, --version')
    .option('--config <file>', 'configuration file (default ./config.json or $VULTRON_MAIL_CONFIG)')
    .option('--now <instant>', 'the clock for this run, RFC 3339 (default: the real clock)', parseNow)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command('init')
    .description('write config.json from config.example.json, create the database and the outbox folder')
    .option('--dir <dir>', 'write D/config.json (default: the --config path, ./config.json)')
    .option('--force', 'overwrite an existing config.json')
    .action((opts: { dir?: string; force?: boolean }, cmd: Command) => {
      const g = globalsOf(cmd, env);
      const target = opts.dir !== undefined ? join(resolve(opts.dir), 'config.json') : resolve(g.config);
      init(target, opts.force === true, env, io);
    });

  program
    .command('check-config')
    .description('validate the configuration and print every problem at once')
    .option('--connect', 'also test the SMTP login')
    .action(async (opts: { connect?: boolean }, cmd: Command) => {
      const g = globalsOf(cmd, env);
      const config = validConfig(g.config, env);
      io.stdout('ok\n');
      if (!opts.connect) return;
      const failures = await testConnections(config, io);
      if (failures.length > 0) throw new CliError(failures.join('; '));
    });

  program
    .command('ingest')
    .description('process RFC 822 messages from files, or one from standard input (MTA pipe)')
    .argument('[file...]', '.eml files (default: one message on stdin)')
    .option('--no-send', 'leave the mails it causes in the outbox')
    .action(async (files: string[], opts: { send: boolean }, cmd: Command) => {
      const g = globalsOf(cmd, env);
      const inputs: Array<{ name: string; raw: Buffer }> = [];
      if (files.length === 0) {
        if (io.stdin === undefined && process.stdin.isTTY) {
          throw new CliError('ingest: give .eml files, or pipe one message on standard input', EXIT_USAGE);
        }
        inputs.push({ name: 'stdin', raw: await (io.stdin ?? readStdin)() });
      } else {
        for (const file of files) {
          try {
            inputs.push({ name: file, raw: await readFile(file) });
          } catch (err) {
            throw new CliError(`cannot read ${file}: ${oneLine((err as Error).message)}`);
          }
        }
      }
      try {
        await withApp(g, async (app) => {
          const report = await ingestMessages(app, inputs, g.now);
          for (const line of report.lines) io.stdout(`${line}\n`);
          state.exitCode = report.exitCode;
          if (opts.send) {
            try {
              await deliver(app, g.now, true, io);
            } catch (err) {
              // The mails are committed; delivery is retried later. Not the MTA's problem.
              io.stderr(`vultron-mail: warning: delivery failed: ${oneLine((err as Error).message)}\n`);
            }
          }
        });
      } catch (err) {
        if (err instanceof CliError) throw err;
        if (isTemporary(err)) throw new CliError(oneLine((err as Error).message), EXIT_TEMPFAIL);
        throw err;
      }
    });

  program
    .command('run')
    .description(
      'the daemon: IMAP watcher, outbox sender, scheduler and health endpoint (JSON logs on stdout)',
    )
    .option('--once', 'handle what is pending in the mailbox, run due timers, flush the outbox, exit')
    .action(async (opts: { once?: boolean }, cmd: Command) => {
      const g = globalsOf(cmd, env);
      validConfig(g.config, env);
      // Loaded here: the daemon brings imapflow (~150 ms), which `ingest` from an MTA pipe,
      // started once per mail, never needs.
      const { runCommand } = await import('../daemon/run.js');
      state.exitCode = await runCommand({
        configPath: g.config,
        env,
        once: opts.once === true,
        now: cmd.optsWithGlobals<{ now?: string }>().now,
        write: io.stdout,
      });
    });

  program
    .command('tick')
    .description('run the due timers once (embargo expiry, reminders, RSVP deadlines), then deliver')
    .option('--no-send', 'leave the mails it causes in the outbox')
    .action(async (opts: { send: boolean }, cmd: Command) => {
      const g = globalsOf(cmd, env);
      await withApp(g, async (app) => {
        const fired = await app.service.runDueTimers(g.now);
        io.stdout(`fired ${plural(fired, 'timer')}\n`);
        if (opts.send) {
          const r = await app.send(g.now);
          io.stdout(`sent ${r.sent}, failed ${r.failed}\n`);
        }
      });
    });

  program
    .command('send')
    .description('deliver the due outbox rows once')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globalsOf(cmd, env);
      await withApp(g, async (app) => {
        const r = await app.send(g.now);
        io.stdout(`sent ${r.sent}, failed ${r.failed}\n`);
        if (r.gaveUp.length > 0) io.stdout(`gave up on ${r.gaveUp.length}; the coordinators were told\n`);
      });
    });

  program
    .command('cases')
    .description('one line per case: id, EM, pxa, participants, embargo end')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const g = globalsOf(cmd, env);
      await withApp(g, async (app) => {
        const cases = app.store.listCases();
        io.stdout(
          opts.json
            ? json(
                cases.map((c) => ({
                  id: c.id,
                  title: c.title,
                  em: c.em,
                  pxa: c.pxa,
                  embargoEnd: c.embargoEnd,
                  participants: c.participants,
                })),
              )
            : renderCases(cases),
        );
      });
    });

  const kase = program.command('case').description('show a case, or act on it as a coordinator');

  kase
    .command('show')
    .description('the whole case: states, proposals, participants, log')
    .argument('<id>', 'case id, e.g. VM-2026-0001')
    .option('--json', 'the case snapshot as stored')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const g = globalsOf(cmd, env);
      await withApp(g, async (app) => {
        const snapshot = requireCase(app, id);
        io.stdout(opts.json ? json(snapshot) : renderCase(snapshot));
      });
    });

  kase
    .command('new')
    .description('open a case for a report received another way; prints the new case id')
    .requiredOption('--from <email>', 'the reporter (gets the acknowledgement)', parseEmail)
    .requiredOption('--title <title>', 'the case title', nonEmpty)
    .option('--text <text>', 'the report text', '')
    .option('--no-send', 'leave the mails in the outbox')
    .action(async (opts: { from: string; title: string; text: string; send: boolean }, cmd: Command) => {
      const g = globalsOf(cmd, env);
      await withApp(g, async (app) => {
        const outcome = await app.service.openCase(
          { kind: 'report', from: { email: opts.from }, codes: ['RS'], payload: {} },
          {
            now: g.now,
            title: opts.title,
            inbound: null,
            report: { from: opts.from, subject: opts.title, text: opts.text, attachments: [] },
          },
        );
        io.stdout(`${outcome.caseId}\n`);
        await deliver(app, g.now, opts.send, io);
      });
    });

  kase
    .command('invite')
    .description('add a participant (as a coordinator)')
    .argument('<id>', 'case id')
    .argument('<email>', 'the new participant', parseEmail)
    .addOption(
      new Option('--role <role>', `one of ${ROLES.join(', ')}`).argParser(parseRole).makeOptionMandatory(),
    )
    .option('--name <name>', 'display name')
    .option('--as <email>', 'acting participant (default: the first coordinator)', parseEmail)
    .option('--no-send', 'leave the mails in the outbox')
    .action(
      async (
        id: string,
        email: string,
        opts: { role: Role; name?: string; as?: string; send: boolean },
        cmd: Command,
      ) => {
        const g = globalsOf(cmd, env);
        await withApp(g, async (app) => {
          const snapshot = requireCase(app, id);
          const actor = actorFor(app, snapshot, opts.as);
          const outcome = await act(
            app,
            snapshot,
            actor,
            {
              kind: 'message',
              from: actor,
              codes: ['GI'],
              payload: { invite: { email, role: opts.role, name: opts.name ?? null } },
            },
            g.now,
            opts.send,
            io,
          );
          const p = findParticipant(outcome.decision.snapshot, email);
          const withheld =
            p?.consent === 'INVITED'
              ? '; the active embargo goes first, the report is withheld until they accept it'
              : '';
          io.stdout(`${snapshot.id}: invited ${email} as ${opts.role}${withheld}\n`);
        });
      },
    );

  kase
    .command('propose')
    .description('propose an embargo end (a revision while one is in force)')
    .argument('<id>', 'case id')
    .option(
      '--end <end>',
      'YYYY-MM-DD, an RFC 3339 instant or +Nd (default: +policy.embargo.defaultDays)',
      parseEnd,
    )
    .option('--as <email>', 'proposer (default: the first coordinator)', parseEmail)
    .option('--no-send', 'leave the mails in the outbox')
    .action(async (id: string, opts: { end?: string; as?: string; send: boolean }, cmd: Command) => {
      const g = globalsOf(cmd, env);
      await withApp(g, async (app) => {
        const snapshot = requireCase(app, id);
        const actor = actorFor(app, snapshot, opts.as);
        const end = resolveEmbargoEnd(opts.end ?? `+${app.policy.embargo.defaultDays}d`, g.now);
        if (!end.ok) throw new CliError(end.error);
        const outcome = await act(
          app,
          snapshot,
          actor,
          {
            kind: 'message',
            from: actor,
            codes: mapEmbargoCodes(['EP'], snapshot.em),
            payload: { embargoEnd: end.end },
          },
          g.now,
          opts.send,
          io,
        );
        io.stdout(`${describeProposal(outcome.decision.snapshot, snapshot)}\n`);
      });
    });

  program
    .command('outbox')
    .description('outgoing mail, oldest first')
    .option('--json', 'machine-readable output')
    .addOption(new Option('--status <status>', 'only this status').choices(['pending', 'sent', 'failed']))
    .action(async (opts: { json?: boolean; status?: OutboxStatus }, cmd: Command) => {
      const g = globalsOf(cmd, env);
      await withApp(g, async (app) => {
        const rows = app.store.listOutbox(opts.status ? { status: opts.status } : {});
        io.stdout(opts.json ? json(rows.map(outboxJson)) : renderOutbox(rows));
      });
    });

  const quarantine = program
    .command('quarantine')
    .description('inbound mail held with a reason code; release or drop it')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const g = globalsOf(cmd, env);
      await withApp(g, async (app) => {
        const entries = app.store.listQuarantine();
        io.stdout(opts.json ? json(entries.map(quarantineJson)) : renderQuarantine(entries));
      });
    });

  quarantine
    .command('release')
    .description('re-process a held message, skipping the check that held it')
    .argument('<id>', 'quarantine entry id', parseId)
    .option('--no-send', 'leave the mails it causes in the outbox')
    .action(async (id: number, opts: { send: boolean }, cmd: Command) => {
      const g = globalsOf(cmd, env);
      await withApp(g, async (app) => {
        if (!app.store.getQuarantine(id)) throw new CliError(`no quarantine entry ${id}`);
        const result = await releaseQuarantined(app, id, g.now);
        io.stdout(`${result}\n`);
        await deliver(app, g.now, opts.send, io);
      });
    });

  quarantine
    .command('drop')
    .description('discard a held message (the raw message stays in the database for audit)')
    .argument('<id>', 'quarantine entry id', parseId)
    .action(async (id: number, _opts: unknown, cmd: Command) => {
      const g = globalsOf(cmd, env);
      await withApp(g, async (app) => {
        const entry = app.store.getQuarantine(id);
        if (!entry) throw new CliError(`no quarantine entry ${id}`);
        app.store.deleteQuarantine(id);
        io.stdout(`dropped quarantine entry ${id} (${entry.reason}, from ${entry.from ?? 'unknown'})\n`);
      });
    });

  program
    .command('schema')
    .description('JSON Schema of the case snapshot and of the message (protocol input) format')
    .action(() => {
      io.stdout(json(jsonSchemas()));
    });

  program
    .command('demo')
    .description('play a whole disclosure case on the embedded default (fixtures/demo), printing each step')
    .option('--dir <dir>', 'working directory (default: a new temporary directory)')
    .action(async (opts: { dir?: string }) => {
      const { runDemo } = await import('../demo/demo.js');
      state.exitCode = await runDemo({
        ...(opts.dir !== undefined ? { dir: opts.dir } : {}),
        fixtures: join(PACKAGE_ROOT, 'fixtures', 'demo'),
        cli: (argv, demoIo) => main(argv, { ...io, ...demoIo }),
        io,
      });
    });

  program
    .command('tables')
    .description("print the protocol's message types and state machines")
    .action(() => {
      io.stdout(renderTables());
    });
  return program;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const state = { exitCode: EXIT_OK };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT_OK; // --help, --version
      return EXIT_USAGE;
    }
    if (err instanceof CliError) {
      // The first line is the reason; a config's problems follow, one per line.
      io.stderr(`vultron-mail: ${err.message.trimEnd()}\n`);
      return err.exitCode;
    }
    io.stderr(`vultron-mail: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
    return EXIT_FAILURE;
  }
}
