/**
 * Where outbox rows go: a directory of .eml files (the embedded default, also what tests read)
 * or SMTP through nodemailer. A transport sends one row's raw bytes as they are; it never
 * re-renders a message, so every retry is the same message with the same Message-ID.
 *
 * Failures are TransportErrors that say whether a retry can help (`temporary`); the outbox
 * sender (sender.ts) turns that into a retry time or a give-up.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { SMTPTransportOptions } from 'nodemailer/lib/smtp-transport';
import type { OutboxRow } from '../store/port.js';

export interface Transport {
  send(row: OutboxRow): Promise<void>;
  close(): Promise<void>;
}

/** Stable error codes of the transports (ANCHORS.md B.4 rule 8). */
export type TransportErrorCode =
  /** SMTP: a retry may succeed (4xx reply, connection trouble, our own credentials or sender). */
  | 'ESMTP_TEMP'
  /** SMTP: the server refused this message or recipient for good (5xx). */
  | 'ESMTP_PERM'
  /** Directory: the file could not be written (disk full, permissions): retried. */
  | 'EOUTBOX_WRITE';

export class TransportError extends Error {
  override readonly name = 'TransportError';
  readonly code: TransportErrorCode;
  readonly temporary: boolean;
  /** The SMTP reply code, when the server gave one. */
  readonly responseCode: number | null;

  constructor(
    message: string,
    opts: { code: TransportErrorCode; temporary: boolean; responseCode?: number | null; cause?: unknown },
  ) {
    super(message, { cause: opts.cause });
    this.code = opts.code;
    this.temporary = opts.temporary;
    this.responseCode = opts.responseCode ?? null;
  }
}

/** A file name for a Message-ID: `<VM-2026-0001.ab12@bot.example>` → `VM-2026-0001.ab12@bot.example`. */
export function messageIdFileName(messageId: string): string {
  const name = messageId
    .trim()
    .replace(/^<|>$/g, '')
    .replace(/[^A-Za-z0-9._@+=-]/g, '_')
    .replace(/^\.+/, '_');
  return (name || '_').slice(0, 200);
}

/**
 * Writes each message to `<dir>/<message-id>.eml`. The write is atomic (a temporary file in the
 * same directory, flushed, then renamed), and the name comes from the pre-assigned Message-ID:
 * a re-send after a crash replaces the same file instead of adding a second message.
 */
export class DirectoryTransport implements Transport {
  constructor(readonly dir: string) {}

  fileFor(row: Pick<OutboxRow, 'messageId'>): string {
    return join(this.dir, `${messageIdFileName(row.messageId)}.eml`);
  }

  async send(row: OutboxRow): Promise<void> {
    const target = this.fileFor(row);
    const temp = join(this.dir, `.${messageIdFileName(row.messageId)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(this.dir, { recursive: true });
      const file = await open(temp, 'wx');
      try {
        await file.writeFile(row.raw);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, target);
    } catch (cause) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw new TransportError(`cannot write ${target}: ${(cause as Error).message}`, {
        code: 'EOUTBOX_WRITE',
        temporary: true,
        cause,
      });
    }
  }

  async close(): Promise<void> {}
}

/** The fields of a nodemailer error that classification reads (nodemailer's NodemailerError). */
export interface SmtpErrorLike {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  command?: string;
  message?: string;
  rejectedErrors?: SmtpErrorLike[];
}

/**
 * Our own side of the session: the server refused our login or our sender, not the recipient.
 * A retry after the admin fixes the config succeeds, so these stay temporary even on a 5xx;
 * giving up at once would drop every queued mail because of one wrong password.
 */
const OWN_SIDE_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2', 'ECONFIG', 'ETLS', 'EREQUIRETLS']);
function ownSide(err: SmtpErrorLike): boolean {
  const command = (err.command ?? '').toUpperCase();
  return OWN_SIDE_CODES.has(err.code ?? '') || command === 'MAIL FROM' || command.startsWith('AUTH');
}
/** Errors that say nothing about the message: the message never reached a server that judged it. */
const CONNECTION_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'EPROXY',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Temporary or permanent (RFC 5321 §4.2.1): a 4yz reply and every connection failure are
 * temporary; a 5yz reply to the recipient or the message is permanent, except 503 (bad
 * sequence: the session, not the message; nodemailer's isPermanentResponseCode agrees).
 * A rejected recipient is judged by its own reply (one recipient per row). Anything unknown
 * is temporary: the sender retries it until it gives up, which loses nothing.
 */
export function classifySmtpError(err: SmtpErrorLike): { temporary: boolean; responseCode: number | null } {
  const recipient = err.rejectedErrors?.[0];
  const judged = recipient?.responseCode !== undefined ? recipient : err;
  const responseCode = typeof judged.responseCode === 'number' ? judged.responseCode : null;
  if (ownSide(err) || ownSide(judged)) return { temporary: true, responseCode };
  if (responseCode !== null) {
    return { temporary: !(responseCode >= 500 && responseCode < 600 && responseCode !== 503), responseCode };
  }
  if (CONNECTION_CODES.has(err.code ?? '') || CONNECTION_CODES.has(err.originalCode ?? '')) {
    return { temporary: true, responseCode: null };
  }
  // Refused before any server saw it: no valid recipient, too many recipients.
  if (err.code === 'EENVELOPE' || err.code === 'EMAXRECIPIENTS')
    return { temporary: false, responseCode: null };
  return { temporary: true, responseCode: null };
}

function toSmtpError(err: unknown): TransportError {
  const e: SmtpErrorLike =
    typeof err === 'object' && err !== null ? (err as SmtpErrorLike) : { message: String(err) };
  const { temporary, responseCode } = classifySmtpError(e);
  const code = e.originalCode ?? e.code;
  const message = `${code ? `${code}: ` : ''}${e.message ?? 'SMTP error'}`.replace(/\s+/g, ' ').trim();
  return new TransportError(message, {
    code: temporary ? 'ESMTP_TEMP' : 'ESMTP_PERM',
    temporary,
    responseCode,
    cause: err,
  });
}

/** The part of a nodemailer transporter this class uses (a seam for tests). */
export interface SmtpMailer {
  sendMail(mail: { envelope: { from: string; to: string[] }; raw: Buffer }): Promise<{
    rejected?: unknown[];
    rejectedErrors?: SmtpErrorLike[];
  }>;
  close(): void;
}

/**
 * Sends the row's raw bytes with the row's envelope: the VERP sender and the one recipient.
 * The headers of the message are not read for the envelope (no Bcc, no Cc to widen it).
 */
export class SmtpTransport implements Transport {
  private readonly mailer: SmtpMailer;

  constructor(options: SMTPTransportOptions, mailer?: SmtpMailer) {
    this.mailer = mailer ?? nodemailer.createTransport(options);
  }

  async send(row: OutboxRow): Promise<void> {
    let info: Awaited<ReturnType<SmtpMailer['sendMail']>>;
    try {
      info = await this.mailer.sendMail({ envelope: { from: row.envelopeFrom, to: row.to }, raw: row.raw });
    } catch (err) {
      throw toSmtpError(err);
    }
    // With several recipients nodemailer resolves when at least one was accepted; a row has one,
    // but a rejection must never pass for a delivery.
    if (info.rejected && info.rejected.length > 0) {
      const first = info.rejectedErrors?.[0];
      throw toSmtpError(
        first ?? { code: 'EENVELOPE', message: `recipient rejected: ${String(info.rejected[0])}` },
      );
    }
  }

  async close(): Promise<void> {
    this.mailer.close();
  }
}
