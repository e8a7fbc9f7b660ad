/**
 * The real Dovecot + Postfix of scripts/mailstack.sh, started from a test file in a temporary
 * folder on a free port offset, with helpers to send over SMTP and read mailboxes over IMAP.
 *
 * If the stack cannot start (packages missing and no root to install them, a broken
 * configuration), `startMailStack()` throws with the reason and the command that fixes it:
 * integration tests fail, they are never skipped silently.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import type { ParsedMail } from 'mailparser';
import nodemailer from 'nodemailer';

const run = promisify(execFile);

export const ROOT = join(import.meta.dirname, '..', '..');
export const SCRIPT = join(ROOT, 'scripts', 'mailstack.sh');

/** The test mailboxes (scripts/mailstack.sh's MS_USERS). */
export const USERS = {
  bot: { email: 'bot@cvd.example', pass: 'botpass' },
  reporter: { email: 'reporter@finder.example', pass: 'reporterpass' },
  alice: { email: 'alice@vendor-a.example', pass: 'alicepass' },
  bob: { email: 'bob@vendor-b.example', pass: 'bobpass' },
  coordinator: { email: 'coord@cvd.example', pass: 'coordpass' },
} as const;
export type UserName = keyof typeof USERS;

export interface Ports {
  imap: number;
  imaps: number;
  smtp: number;
  submission: number;
}

export interface MailItem {
  uid: number;
  raw: Buffer;
  internalDate: Date;
  parsed: ParsedMail;
}

export interface MailStack {
  dir: string;
  offset: number;
  ports: Ports;
  /** The instance's self-signed certificate (PEM), for verified TLS. */
  ca: string;
  /** Stops (part of) the stack; `start(part)` starts it again. */
  stop(part?: 'dovecot' | 'postfix'): Promise<void>;
  start(part: 'dovecot' | 'postfix'): Promise<void>;
  /** Stops everything and removes the folder. */
  destroy(): Promise<void>;
  /** Sends raw RFC 822 bytes over SMTP (plain, loopback) with the given envelope. */
  send(from: string, to: string, raw: Buffer | string): Promise<void>;
  /** A logged-in IMAP client (plain, loopback); close it with logout(). */
  imap(user: UserName): Promise<ImapFlow>;
  /** Every message in a mailbox ([] when the mailbox does not exist). */
  read(user: UserName, mailbox?: string): Promise<MailItem[]>;
  /** Appends raw bytes to a mailbox (created if missing); returns the new UID. */
  append(user: UserName, raw: Buffer | string, mailbox?: string, date?: Date): Promise<number>;
  /** Waits until `read(user, mailbox)` satisfies `until`, and returns that read. */
  waitFor(
    user: UserName,
    until: (items: MailItem[]) => boolean,
    opts?: { mailbox?: string; timeoutMs?: number },
  ): Promise<MailItem[]>;
}

function portsFor(offset: number): Ports {
  return { imap: 1143 + offset, imaps: 1993 + offset, smtp: 2525 + offset, submission: 2587 + offset };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free TCP port on loopback (the health endpoint in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function bash(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    await run('bash', [SCRIPT, ...args], { env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`mailstack.sh ${args.join(' ')} failed: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
}

let installed: Promise<void> | null = null;

/** Installs dovecot/postfix when missing (root: apt-get), else fails with the fix. */
function ensureInstalled(): Promise<void> {
  installed ??= (async () => {
    if (existsSync('/usr/sbin/dovecot') && existsSync('/usr/sbin/postfix')) return;
    if (process.getuid?.() !== 0) {
      throw new Error(
        'the mail stack (Dovecot + Postfix) is not installed and the tests do not run as root: ' +
          'run `sudo bash scripts/mailstack.sh install` (or `npm test` as root) first',
      );
    }
    await bash(['install']);
  })();
  return installed;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value other than undefined/false. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await sleep(everyMs);
  }
}

/**
 * Starts a mail stack on the first offset (from a random start) whose four ports are free;
 * a port taken meanwhile by another test file makes it try the next offset.
 */
export async function startMailStack(): Promise<MailStack> {
  await ensureInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'vultron-mailstack-'));
  chmodSync(dir, 0o755);
  const first = Math.floor(Math.random() * 62);
  let lastError: unknown = null;
  for (let i = 0; i < 62; i++) {
    const offset = (first + i) % 62;
    const ports = portsFor(offset);
    const free = await Promise.all(Object.values(ports).map(portFree));
    if (free.includes(false)) continue;
    try {
      await bash(['start', dir, String(offset)]);
      return stackAt(dir, offset);
    } catch (err) {
      lastError = err;
      await bash(['stop', dir]).catch(() => undefined);
      if (
        !/not listening|Failed to start listeners|address already in use|did not start/i.test(String(err))
      ) {
        break;
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(
    `the test mail stack (Dovecot + Postfix on loopback) could not start: ${String(lastError ?? 'no free port offset')}`,
  );
}

function stackAt(dir: string, offset: number): MailStack {
  const ports = portsFor(offset);
  const ca = readFileSync(join(dir, 'tls', 'cert.pem'), 'utf8');
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: ports.smtp, ignoreTLS: true });

  async function imap(user: UserName): Promise<ImapFlow> {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: ports.imap,
      secure: false,
      doSTARTTLS: false,
      auth: { user: USERS[user].email, pass: USERS[user].pass },
      logger: false,
    });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  async function read(user: UserName, mailbox = 'INBOX'): Promise<MailItem[]> {
    const client = await imap(user);
    try {
      try {
        await client.mailboxOpen(mailbox, { readOnly: true });
      } catch {
        return [];
      }
      if (!client.mailbox || client.mailbox.exists === 0) return [];
      const messages = await client.fetchAll(
        '1:*',
        { uid: true, source: true, internalDate: true },
        { uid: true },
      );
      const out: MailItem[] = [];
      for (const m of messages) {
        const raw = m.source as Buffer;
        out.push({
          uid: m.uid,
          raw,
          internalDate: new Date(m.internalDate as Date | string),
          parsed: await simpleParser(raw),
        });
      }
      return out.sort((a, b) => a.uid - b.uid);
    } finally {
      await client.logout().catch(() => client.close());
    }
  }

  return {
    dir,
    offset,
    ports,
    ca,
    async stop(part) {
      await bash(['stop', dir, ...(part ? [part] : [])]);
    },
    async start(part) {
      await bash(['start', dir, String(offset), part]);
    },
    async destroy() {
      transport.close();
      await bash(['stop', dir]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
    async send(from, to, raw) {
      await transport.sendMail({
        envelope: { from, to: [to] },
        raw: Buffer.isBuffer(raw) ? raw : Buffer.from(raw),
      });
    },
    imap,
    read,
    async append(user, raw, mailbox = 'INBOX', date) {
      const client = await imap(user);
      try {
        await client.mailboxCreate(mailbox).catch(() => undefined);
        const r = await client.append(mailbox, Buffer.isBuffer(raw) ? raw : Buffer.from(raw), [], date);
        if (!r || typeof r.uid !== 'number') throw new Error(`APPEND to ${mailbox} gave no UID`);
        return r.uid;
      } finally {
        await client.logout().catch(() => client.close());
      }
    },
    async waitFor(user, until, opts = {}) {
      let last: MailItem[] = [];
      return eventually(
        async () => {
          last = await read(user, opts.mailbox);
          return until(last) ? last : undefined;
        },
        `mail in ${user}'s ${opts.mailbox ?? 'INBOX'} (has ${last.length})`,
        opts.timeoutMs ?? 15_000,
        200,
      );
    },
  };
}

/** A plain-text mail as a participant's client would send it. */
export function mail(opts: {
  from: string;
  to: string;
  subject: string;
  body: string;
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  date?: Date;
  headers?: Record<string, string>;
}): Buffer {
  const id =
    opts.messageId ?? `<${Math.random().toString(36).slice(2)}.${Date.now()}@${opts.from.split('@')[1]}>`;
  const lines = [
    `From: ${opts.from}`,
    `To: ${opts.to}`,
    `Subject: ${opts.subject}`,
    `Message-ID: ${id}`,
    `Date: ${(opts.date ?? new Date()).toUTCString().replace('GMT', '+0000')}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ];
  if (opts.inReplyTo) lines.push(`In-Reply-To: ${opts.inReplyTo}`);
  if (opts.references?.length) lines.push(`References: ${opts.references.join(' ')}`);
  for (const [k, v] of Object.entries(opts.headers ?? {})) lines.push(`${k}: ${v}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${opts.body.replace(/\r?\n/g, '\r\n')}\r\n`);
}

/** The header value of a parsed mail, as text. */
export function header(m: MailItem, name: string): string {
  const v = m.parsed.headers.get(name.toLowerCase());
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.join(' ');
  if (typeof v === 'object' && v !== null && 'value' in v) return String((v as { value: unknown }).value);
  return String(v);
}
