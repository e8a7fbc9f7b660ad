/**
 * Test helpers for whole-mail tests: RFC 822 messages written as files (CRLF, as an MTA hands
 * them over), and the bot's outgoing mail read back from `outbox --json` and from the .eml
 * files the directory transport wrote (parsed with mailparser).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { messageIdFileName } from '../../src/outbound/transports.js';
import type { Sandbox } from '../cli/helpers.js';
import { jsonOf } from '../cli/helpers.js';

/** The bot of config.example.json (what `init` writes). */
export const BOT = 'cvd@example.org';

export interface MailSpec {
  from: string;
  /** Display name of the sender. */
  name?: string;
  to?: string;
  subject: string;
  messageId: string;
  /** RFC 3339; written as an RFC 5322 date. */
  date: string;
  inReplyTo?: string;
  references?: string[];
  /** Extra header lines, in order, e.g. `['Precedence: bulk']`. */
  headers?: string[];
  body: string;
}

/** An RFC 822 message with CRLF line ends. */
export function eml(spec: MailSpec): string {
  const lines = [
    `Return-Path: <${spec.from}>`,
    `Received: from mx.sender.example by mx.example.org; ${new Date(spec.date).toUTCString().replace('GMT', '+0000')}`,
    spec.name ? `From: ${spec.name} <${spec.from}>` : `From: ${spec.from}`,
    `To: ${spec.to ?? BOT}`,
    `Subject: ${spec.subject}`,
    `Date: ${new Date(spec.date).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${spec.messageId}`,
    ...(spec.inReplyTo ? [`In-Reply-To: ${spec.inReplyTo}`] : []),
    ...(spec.references ? [`References: ${spec.references.join(' ')}`] : []),
    ...(spec.headers ?? []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    ...spec.body.replace(/\n$/, '').split('\n'),
    '',
  ];
  return lines.join('\r\n');
}

/** Writes a message into the sandbox folder and returns its path. */
export function writeMail(s: Sandbox, name: string, content: string | Buffer): string {
  const path = join(s.dir, name);
  writeFileSync(path, content);
  return path;
}

/** The row shape of `outbox --json` (DESIGN.md §5). */
export interface OutboxJson {
  id: number;
  caseId: string | null;
  to: string[];
  subject: string;
  types: string[];
  status: string;
  attempts: number;
  messageId: string;
  calendarMethod: 'REQUEST' | 'CANCEL' | 'DECLINECOUNTER' | null;
}

export async function outboxRows(s: Sandbox): Promise<OutboxJson[]> {
  return jsonOf<OutboxJson[]>(await s.cli('outbox', '--json'));
}

/** The threading and marker headers of one .eml file the directory transport wrote. */
export interface SentMail {
  messageId: string;
  inReplyTo: string | null;
  references: string[];
  to: string;
  subject: string;
  autoSubmitted: string | null;
  types: string | null;
  calendar: { method: string; ics: string } | null;
}

export function emlPath(s: Sandbox, messageId: string): string {
  return join(s.outbox, `${messageIdFileName(messageId)}.eml`);
}

export async function readSent(s: Sandbox, messageId: string): Promise<SentMail> {
  const parsed = await simpleParser(readFileSync(emlPath(s, messageId)));
  const refs = parsed.references;
  const header = (name: string): string | null => {
    const v = parsed.headers.get(name);
    return typeof v === 'string' ? v : null;
  };
  const cal = parsed.attachments.find((a) => /^text\/calendar$/i.test(a.contentType));
  const method = /^METHOD:(\S+)/m.exec(cal?.content.toString('utf8') ?? '')?.[1];
  return {
    messageId: parsed.messageId ?? '',
    inReplyTo: parsed.inReplyTo ?? null,
    references: refs === undefined ? [] : Array.isArray(refs) ? refs : refs.split(/\s+/),
    to: parsed.to && !Array.isArray(parsed.to) ? (parsed.to.value[0]?.address ?? '') : '',
    subject: parsed.subject ?? '',
    autoSubmitted: header('auto-submitted'),
    types: header('x-vultron-message-types'),
    calendar: cal && method ? { method, ics: cal.content.toString('utf8') } : null,
  };
}
