/**
 * Turns one MailEffect of the protocol core into one outbox row: template → plain text →
 * RFC 822 bytes (nodemailer's MailComposer; no hand-written MIME) with the headers of
 * DESIGN.md §2–3: threading on the case, loop and auto-reply markers, the protocol codes.
 *
 * The row carries its pre-assigned Message-ID (kept across retries, so a re-send after a
 * crash is recognisable) and a VERP envelope sender (so a bounce names the message it is
 * about, DESIGN.md §3 "Loops and machine mail").
 */
import { randomBytes } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { MailComposerOptions } from 'nodemailer/lib/mail-composer';
import { sliced } from '../bytes.js';
import { buildCalendar, describeAction, utcText } from '../calendar/outgoing.js';
import { MESSAGE_NAMES, findParticipant, normEmail } from '../protocol/index.js';
import type { CaseSnapshot, MailEffect, MailKind } from '../protocol/index.js';
import type { Attachment, NewOutboxRow } from '../store/port.js';
import { loadTemplates } from './templates.js';
import type { TemplateData } from './templates.js';

export interface Bot {
  address: string;
  name: string;
  domain: string;
}

/** The inbound mail a reply answers. */
export interface InboundRef {
  messageId: string;
  references: string[];
  subject: string;
}

export interface ReportContent {
  subject: string;
  text: string;
  attachments: Attachment[];
}

export interface ComposeContext {
  /** The case after the decision that produced the effect. */
  snapshot: CaseSnapshot;
  bot: Bot;
  /** Pre-assigned Message-ID, from newMessageId(). */
  messageId: string;
  /** The inbound mail being answered, if any (used when effect.replyToInbound). */
  inbound: InboundRef | null;
  /** Kind `report` only: what is forwarded. */
  report?: ReportContent | null;
  /** The clock: Date header, DTSTAMP, createdAt. */
  now: string;
  /** Admin templates that override the defaults (src/outbound/templates.ts). */
  templatesDir?: string | null;
  /** The fixed part of the MIME boundaries (random when absent); golden files fix it. */
  baseBoundary?: string;
}

/** Acknowledgements and answers are replies (RFC 3834 `auto-replied`); the rest is `auto-generated`. */
const AUTO_REPLIED: ReadonlySet<MailKind> = new Set<MailKind>(['ack', 'error', 'status', 'help']);

/** How many References of an inbound mail are carried on (besides the thread root and the parent). */
const MAX_INHERITED_REFERENCES = 20;
const MAX_TITLE_IN_SUBJECT = 80;
const MAX_SUBJECT = 200;

/** `<VM-2026-0001.1f2e3d4c5b6a7988@bot.example>`: the case id embedded, 64 random bits. */
export function newMessageId(caseId: string, domain: string): string {
  return `<${caseId}.${randomBytes(8).toString('hex')}@${domain}>`;
}

/** `<VM-2026-0001@bot.example>`: never sent itself; every mail of the case references it. */
export function threadRootId(caseId: string, domain: string): string {
  return `<${caseId}@${domain}>`;
}

function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1)
    throw new Error(`not an email address: ${JSON.stringify(address)}`);
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** The case's plus-address, `local+<case-id>@domain` (DESIGN.md §3 "Case identification"). */
export function caseAddress(botAddress: string, caseId: string): string {
  const { local, domain } = splitAddress(botAddress);
  return `${local}+${caseId}@${domain}`;
}

const VERP_TAG = '+bounce-';

/** `local+bounce-<local part of the Message-ID>@domain`: the envelope sender of one message. */
export function verpAddress(botAddress: string, messageId: string): string {
  const { local, domain } = splitAddress(botAddress);
  const id = /^<([^<>@\s]+)@[^<>\s]+>$/.exec(messageId.trim());
  if (!id) throw new Error(`not a Message-ID of ours: ${JSON.stringify(messageId)}`);
  return `${local}${VERP_TAG}${id[1]}@${domain}`;
}

/**
 * The reverse of verpAddress: the bot's plain address and the local part of the Message-ID.
 * Our Message-IDs all end in `@<bot.domain>`, so the full id is `<messageIdLocalPart@bot.domain>`.
 * Null when the address is not a VERP address. Matching is case-insensitive on the tag.
 */
export function parseVerp(address: string): { botAddress: string; messageIdLocalPart: string } | null {
  let parts: { local: string; domain: string };
  try {
    parts = splitAddress(address.trim().replace(/^<|>$/g, ''));
  } catch {
    return null;
  }
  const at = parts.local.toLowerCase().lastIndexOf(VERP_TAG);
  if (at <= 0) return null;
  const messageIdLocalPart = parts.local.slice(at + VERP_TAG.length);
  if (!messageIdLocalPart) return null;
  return { botAddress: `${parts.local.slice(0, at)}@${parts.domain}`, messageIdLocalPart };
}

/** A header value of ours: no CR/LF (header injection) nor other control characters. */
export function headerSafe(value: string): string {
  return value
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A subject without reply/forward prefixes and without our tag, wherever it stood. */
export function bareSubject(subject: string, caseId: string): string {
  const tag = new RegExp(`\\[\\s*${escapeRegExp(caseId)}\\s*\\]`, 'gi');
  const prefix = /^\s*(re|aw|sv|vs|antw|fw|fwd|wg|tr)\s*(\[\d+\])?\s*:\s*/i;
  let s = headerSafe(subject).replace(tag, ' ');
  for (let prev = ''; prev !== s;) {
    prev = s;
    s = s.replace(prefix, '').trim();
  }
  return s.replace(/ {2,}/g, ' ');
}

/** Message-ID tokens only (`<...>`), so nothing else of an inbound header reaches ours. */
function messageIds(values: readonly string[]): string[] {
  return values.map((v) => v.trim()).filter((v) => /^<[^<>\s]+>$/.test(v));
}

/**
 * Whether the recipient may see case data (the title, the state): coordinators, the reporter
 * and finder, and those the report was sent to. An invited participant gets only the
 * invitation until it accepts (DESIGN.md §2 "Confidentiality").
 */
function mayReadCase(snapshot: CaseSnapshot, email: string): boolean {
  const p = findParticipant(snapshot, email);
  if (!p) return false;
  return p.reportSent || p.roles.some((r) => r === 'coordinator' || r === 'reporter' || r === 'finder');
}

function subjectPhrase(effect: MailEffect, report: ReportContent | null | undefined, caseId: string): string {
  const names = effect.types.map((code) => MESSAGE_NAMES[code]).join(', ');
  const event = effect.calendar ? describeAction(effect.calendar) : null;
  switch (effect.kind) {
    case 'ack':
      return `Received: ${names}`;
    case 'notification':
      return `Update: ${names}`;
    case 'error':
      return `Not applied: ${effect.data.error?.code ?? names}`;
    case 'report':
      return `Report: ${bareSubject(report?.subject ?? '', caseId) || 'vulnerability report'}`;
    case 'invitation':
      return event ?? `Embargo: ${names}`;
    case 'expiry':
      return 'Embargo ended';
    case 'reminder':
      return event ? `Reminder: ${event}` : 'Reminder';
    case 'alert':
      return `Alert: ${effect.data.lines?.[0] ?? names}`;
    case 'status':
      return 'Case status';
    case 'help':
      return 'Commands';
  }
}

function subjectFor(effect: MailEffect, ctx: ComposeContext, title: string | null): string {
  const caseId = ctx.snapshot.id;
  const tag = `[${caseId}]`;
  if (effect.replyToInbound && ctx.inbound) {
    const original = bareSubject(ctx.inbound.subject, caseId) || subjectPhrase(effect, ctx.report, caseId);
    return truncate(headerSafe(`Re: ${tag} ${original}`), MAX_SUBJECT);
  }
  let subject = `${tag} ${subjectPhrase(effect, ctx.report, caseId)}`;
  if (title && effect.kind !== 'report') subject += ` - ${truncate(title, MAX_TITLE_IN_SUBJECT)}`;
  return truncate(headerSafe(subject), MAX_SUBJECT);
}

/** In-Reply-To and References: the inbound mail when answering it, else the thread root. */
function threading(effect: MailEffect, ctx: ComposeContext): { inReplyTo: string; references: string[] } {
  const root = threadRootId(ctx.snapshot.id, ctx.bot.domain);
  const parent = effect.replyToInbound && ctx.inbound ? messageIds([ctx.inbound.messageId])[0] : undefined;
  if (!parent || !ctx.inbound) return { inReplyTo: root, references: [root] };
  const inherited = messageIds(ctx.inbound.references).slice(-MAX_INHERITED_REFERENCES);
  return { inReplyTo: parent, references: [...new Set([root, ...inherited, parent])] };
}

/** Only a plain `type/subtype` from an inbound attachment; anything else is octet-stream. */
function safeContentType(contentType: string): string {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(type)
    ? type
    : 'application/octet-stream';
}

/** What the template of one effect sees (src/outbound/templates.ts TemplateData). */
export function templateData(effect: MailEffect, ctx: ComposeContext): TemplateData {
  const { snapshot, bot } = ctx;
  const recipient = findParticipant(snapshot, effect.to);
  const mayRead = mayReadCase(snapshot, effect.to);
  const report = effect.kind === 'report' ? ctx.report : null;
  return {
    kind: effect.kind,
    caseId: snapshot.id,
    title: mayRead || effect.kind === 'report' ? headerSafe(snapshot.title) : null,
    recipient: { email: effect.to, name: recipient?.name ?? null },
    bot: {
      name: headerSafe(bot.name),
      address: bot.address,
      caseAddress: caseAddress(bot.address, snapshot.id),
    },
    types: [...effect.types],
    typeNames: effect.types.map((code) => `${code} (${MESSAGE_NAMES[code]})`),
    transitions: effect.data.transitions.map((t) => ({ ...t, by: t.actor ?? 'the case' })),
    note: effect.data.note ?? null,
    error: effect.data.error ?? null,
    date: effect.data.date ?? null,
    lines: effect.data.lines ?? [],
    calendar: effect.calendar ? { ...effect.calendar, summary: describeAction(effect.calendar) } : null,
    report: report
      ? {
          subject: report.subject,
          text: report.text,
          attachments: report.attachments.map((a) => ({ filename: a.filename, size: a.content.length })),
        }
      : null,
    status: mayRead
      ? {
          em: snapshot.em,
          pxa: snapshot.pxa,
          embargoEnd: snapshot.embargo.end,
          proposals: snapshot.embargo.proposals.map((p) => ({
            id: p.id,
            end: p.end,
            kind: p.kind,
            status: p.status,
          })),
          participants: snapshot.participants.filter((p) => p.engaged).length,
          you: recipient ? { roles: recipient.roles, rm: recipient.rm, consent: recipient.consent } : null,
        }
      : null,
    utc: utcText,
  };
}

/** One outbox row for one MailEffect. */
export async function composeMail(effect: MailEffect, ctx: ComposeContext): Promise<{ row: NewOutboxRow }> {
  const { snapshot, bot } = ctx;
  const to = headerSafe(effect.to);
  if (effect.kind === 'report' && !ctx.report) throw new Error('composeMail: kind "report" needs ctx.report');
  if (effect.calendar && normEmail(effect.calendar.attendee) !== normEmail(to)) {
    // Each calendar object lists only its recipient (DESIGN.md §2 "Confidentiality").
    throw new Error('composeMail: the calendar attendee is not the recipient of the mail');
  }

  const data = templateData(effect, ctx);
  const body = loadTemplates(ctx.templatesDir).render(effect.kind, data);
  const subject = subjectFor(effect, ctx, data.title);
  const { inReplyTo, references } = threading(effect, ctx);
  const recipientName = findParticipant(snapshot, to)?.name;

  const mail: MailComposerOptions = {
    messageId: ctx.messageId,
    ...(ctx.baseBoundary !== undefined ? { baseBoundary: ctx.baseBoundary } : {}),
    date: new Date(ctx.now),
    from: { name: headerSafe(bot.name), address: bot.address },
    to: recipientName ? { name: headerSafe(recipientName), address: to } : to,
    replyTo: caseAddress(bot.address, snapshot.id),
    subject,
    inReplyTo,
    references,
    headers: {
      'Auto-Submitted': AUTO_REPLIED.has(effect.kind) ? 'auto-replied' : 'auto-generated',
      'X-Vultron-Loop': headerSafe(bot.address),
      'X-Auto-Response-Suppress': 'All',
      Precedence: 'bulk',
      'X-Vultron-Message-Types': effect.types.join(', '),
      'X-Vultron-Case': headerSafe(snapshot.id),
    },
    text: body,
    newline: 'win',
    // Content is always given as data here; never let a value be read as a file path or URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  if (effect.calendar) {
    // One value for both: the Content-Type `method=` parameter and the METHOD line of the body.
    const action = effect.calendar;
    const ics = buildCalendar(action, {
      caseId: snapshot.id,
      organizer: { email: bot.address, name: bot.name },
      now: ctx.now,
    });
    mail.icalEvent = { method: action.method, filename: 'invite.ics', content: ics };
  }
  if (effect.kind === 'report' && ctx.report) {
    mail.attachments = ctx.report.attachments.map((a) => ({
      filename: headerSafe(a.filename) || 'attachment',
      contentType: safeContentType(a.contentType),
      // In slices: the base64 encoder then holds a few slices, not the whole attachment twice.
      content: sliced(a.content),
      // base64 for every attachment: the bytes arrive exactly as they were sent to us.
      contentTransferEncoding: 'base64',
    }));
  }

  const raw = await new MailComposer(mail).compile().build();
  return {
    row: {
      caseId: snapshot.id,
      to: [to],
      subject,
      types: [...effect.types],
      messageId: ctx.messageId,
      calendarMethod: effect.calendar?.method ?? null,
      raw,
      envelopeFrom: verpAddress(bot.address, ctx.messageId),
      createdAt: ctx.now,
      nextAttemptAt: ctx.now,
    },
  };
}

/**
 * A reply that belongs to no case: a command error in a mail that would have opened one.
 * Same headers as every mail of ours (loop header, Auto-Submitted, threading to the mail
 * answered); plain text only; nothing about any case.
 */
export async function composeCaselessError(
  effect: MailEffect,
  ctx: { bot: Bot; messageId: string; inbound: InboundRef | null; now: string },
): Promise<{ row: NewOutboxRow }> {
  const error = effect.data.error;
  const original = ctx.inbound ? bareSubject(ctx.inbound.subject, '') : '';
  return composeNotice({
    bot: ctx.bot,
    messageId: ctx.messageId,
    to: effect.to,
    subject: original ? `Re: ${original}` : 'Your mail was not applied',
    lines: [
      'Your mail was not applied: no case was opened and nothing changed.',
      '',
      ...(error ? [`${error.message} (${error.code})`] : []),
      ...(error?.line ? ['', 'The line in question:', `  ${error.line}`] : []),
      '',
      'Correct the mail and send it again.',
    ],
    types: effect.types,
    inbound: ctx.inbound,
    now: ctx.now,
  });
}

/** A short notice of the bot that belongs to no case (quarantine: the sender, the coordinators). */
export interface NoticeRequest {
  bot: Bot;
  messageId: string;
  to: string;
  subject: string;
  /** The body, line by line; the signature is added. */
  lines: readonly string[];
  types: MailEffect['types'];
  /** The mail this answers (the sender's notice), threaded to it; null for an alert. */
  inbound: InboundRef | null;
  now: string;
}

/**
 * A plain-text notice with the headers of every mail of ours (loop header, Auto-Submitted:
 * `auto-replied` when it answers a mail, else `auto-generated`, Precedence: bulk). Its text is
 * the caller's; it carries nothing of any case unless the caller puts it there.
 */
export async function composeNotice(req: NoticeRequest): Promise<{ row: NewOutboxRow }> {
  const { bot } = req;
  const to = headerSafe(req.to);
  const parent = req.inbound ? messageIds([req.inbound.messageId])[0] : undefined;
  const subject = truncate(headerSafe(req.subject), MAX_SUBJECT);
  const text = [
    ...req.lines,
    '',
    '-- ',
    `${bot.name}`,
    'This mail was sent automatically; it is not read by a person.',
  ].join('\n');
  const mail: MailComposerOptions = {
    messageId: req.messageId,
    date: new Date(req.now),
    from: { name: headerSafe(bot.name), address: bot.address },
    to,
    subject,
    ...(parent ? { inReplyTo: parent, references: [parent] } : {}),
    headers: {
      'Auto-Submitted': req.inbound ? 'auto-replied' : 'auto-generated',
      'X-Vultron-Loop': headerSafe(bot.address),
      'X-Auto-Response-Suppress': 'All',
      Precedence: 'bulk',
      'X-Vultron-Message-Types': req.types.join(', '),
    },
    text: `${text}\n`,
    newline: 'win',
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  const raw = await new MailComposer(mail).compile().build();
  return {
    row: {
      caseId: null,
      to: [to],
      subject,
      types: [...req.types],
      messageId: req.messageId,
      calendarMethod: null,
      raw,
      envelopeFrom: verpAddress(bot.address, req.messageId),
      createdAt: req.now,
      nextAttemptAt: req.now,
    },
  };
}
