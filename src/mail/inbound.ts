/**
 * The inbound pipeline: one raw RFC 822 message → exactly one handled outcome (DESIGN.md §3,
 * §6). Order: size limit → ledger (duplicates) → parse → our own loop → bounce → machine mail
 * → find the case → authenticate and authorise the sender → read the commands → the case
 * service (decide and persist in one transaction). Every failure of one message becomes a
 * quarantine entry; nothing here throws for bad input.
 */
import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import type { AddressObject, ParsedMail } from 'mailparser';
import {
  caseUidFromCalendar,
  findCalendarParts,
  interpretCalendar,
  mergeCalendarAnswer,
} from '../calendar/incoming.js';
import type { CaseService, InboundMail, ReportContent } from '../case/service.js';
import { parseVerp } from '../outbound/compose.js';
import { findParticipant, normEmail } from '../protocol/index.js';
import type { CaseSnapshot, Input, Policy } from '../protocol/index.js';
import type { Attachment, Store } from '../store/port.js';
import { EMBARGO_END_HEADER, MESSAGE_TYPES_HEADER, mapEmbargoCodes, parseCommands } from './commands.js';
import { extractNewText } from './newtext.js';

export type Outcome =
  | 'applied'
  | 'opened'
  | 'ignored'
  | 'duplicate'
  | 'quarantined'
  | 'bounce'
  | 'rejected-command'
  | 'auto-reply';

export interface IngestResult {
  outcome: Outcome;
  caseId: string | null;
  /** Quarantine reason code, when quarantined. */
  reason?: string;
  detail: string;
}

export interface InboundDeps {
  store: Store;
  service: CaseService;
  policy: Policy;
  bot: { address: string; name: string; domain: string; caseIdPrefix: string };
  security: { requireAuthenticatedSender: boolean; trustedAuthservId?: string | undefined };
  limits: { maxMessageBytes: number };
}

export interface LedgerInfo {
  messageId: string;
  sha256: string;
  contentSha256: string;
}

/** Checks the pipeline skips when an admin releases a quarantined message. */
export type Override = 'too-large' | 'unauthenticated' | 'duplicate-message-id' | 'loop';

/** Trace headers: added in transit, not part of the content (DESIGN.md §2 "Duplicates"). */
const TRACE_HEADERS =
  /^(received|return-path|delivered-to|x-original-to|authentication-results|arc-[a-z-]+)$/i;

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of the message without its trace headers. */
export function contentHash(raw: Buffer): string {
  const text = raw.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  const headerEnd = m ? m.index : text.length;
  const head = text.slice(0, headerEnd);
  const body = text.slice(headerEnd);
  const fields: string[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1] += `\n${line}`;
    else fields.push(line);
  }
  const kept = fields.filter((f) => !TRACE_HEADERS.test(f.slice(0, f.indexOf(':')).trim()));
  return sha256(Buffer.from(`${kept.join('\n')}${body}`, 'latin1'));
}

function headerText(parsed: ParsedMail, name: string): string | undefined {
  const line = parsed.headerLines.find((h) => h.key === name.toLowerCase());
  if (!line) return undefined;
  const i = line.line.indexOf(':');
  return line.line
    .slice(i + 1)
    .replace(/\r?\n[ \t]+/g, ' ')
    .trim();
}

function allHeaderTexts(parsed: ParsedMail, name: string): string[] {
  return parsed.headerLines
    .filter((h) => h.key === name.toLowerCase())
    .map((h) =>
      h.line
        .slice(h.line.indexOf(':') + 1)
        .replace(/\r?\n[ \t]+/g, ' ')
        .trim(),
    );
}

function addresses(obj: AddressObject | AddressObject[] | undefined): string[] {
  const list = obj === undefined ? [] : Array.isArray(obj) ? obj : [obj];
  const out: string[] = [];
  for (const a of list) {
    for (const v of a.value) {
      if (v.address) out.push(normEmail(v.address));
      for (const g of v.group ?? []) if (g.address) out.push(normEmail(g.address));
    }
  }
  return out;
}

function messageIdTokens(value: string | string[] | undefined): string[] {
  const all = Array.isArray(value) ? value.join(' ') : (value ?? '');
  return all.match(/<[^<>\s]+>/g) ?? [];
}

/** Our Message-IDs embed the case id: `<VM-2026-0001.abcd@domain>` and the thread root `<VM-2026-0001@domain>`. */
function caseFromReferences(deps: InboundDeps, ids: string[]): string | undefined {
  for (const id of [...ids].reverse()) {
    const known = deps.store.caseByOutgoingMessageId(id);
    if (known) return known;
    const m = new RegExp(
      `^<(${caseIdPattern(deps)})(?:\\.[0-9a-f]+)?@${escapeRe(deps.bot.domain)}>$`,
      'i',
    ).exec(id);
    if (m && deps.store.getCase(m[1] as string)) return deps.store.getCase(m[1] as string)?.id;
  }
  return undefined;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function caseIdPattern(deps: InboundDeps): string {
  return `${escapeRe(deps.bot.caseIdPrefix)}-\\d{4}-\\d{4,}`;
}

/** `bot+VM-2026-0001@domain` among the recipients. */
function caseFromPlusAddress(deps: InboundDeps, recipients: string[]): string | undefined {
  const [local, domain] = normEmail(deps.bot.address).split('@') as [string, string];
  const re = new RegExp(`^${escapeRe(local)}\\+(${caseIdPattern(deps)})@${escapeRe(domain)}$`, 'i');
  for (const r of recipients) {
    const m = re.exec(r);
    if (m) return m[1];
  }
  return undefined;
}

function caseFromSubject(deps: InboundDeps, subject: string): string | undefined {
  const m = new RegExp(`\\[\\s*(${caseIdPattern(deps)})\\s*\\]`, 'i').exec(subject.replace(/\s+/g, ' '));
  return m?.[1];
}

/** Auto-replies and other robots (RFC 3834, Exchange, common vacation responders). */
function isMachineMail(parsed: ParsedMail): string | null {
  const auto = headerText(parsed, 'auto-submitted');
  if (auto && !/^no\b/i.test(auto)) return `Auto-Submitted: ${auto}`;
  if (headerText(parsed, 'x-autoreply') !== undefined) return 'X-Autoreply';
  if (headerText(parsed, 'x-autorespond') !== undefined) return 'X-Autorespond';
  const suppress = headerText(parsed, 'x-auto-response-suppress');
  const subject = parsed.subject ?? '';
  if (
    /^\s*(automatic reply|auto(matic)?[- ]?reply|out of (the )?office|abwesenheitsnotiz|réponse automatique)\b/i.test(
      subject,
    )
  ) {
    return `auto-reply subject "${subject}"`;
  }
  if (suppress && /^\s*(automatic reply|out of office)/i.test(subject)) return 'Exchange automatic reply';
  const returnPath = headerText(parsed, 'return-path');
  if (returnPath !== undefined && /^<\s*>$/.test(returnPath)) return 'null return path';
  return null;
}

function isBounce(parsed: ParsedMail): boolean {
  const ct = parsed.headers.get('content-type') as
    { value?: string; params?: Record<string, string> } | undefined;
  return (
    ct?.value?.toLowerCase() === 'multipart/report' &&
    (ct.params?.['report-type'] ?? '').toLowerCase() === 'delivery-status'
  );
}

/** The delivery-status fields of a DSN (RFC 3464). */
function dsnStatus(parsed: ParsedMail): { permanent: boolean; status: string; recipient: string | null } {
  const part = parsed.attachments.find((a) => /^message\/(global-)?delivery-status$/i.test(a.contentType));
  const text = part ? part.content.toString('utf8') : (parsed.text ?? '');
  const status = /^Status:\s*([245]\.\d{1,3}\.\d{1,3})/im.exec(text)?.[1] ?? '';
  const action = /^Action:\s*(\w+)/im.exec(text)?.[1]?.toLowerCase() ?? '';
  const recipient = /^Final-Recipient:\s*rfc822;\s*<?([^\s>]+)>?/im.exec(text)?.[1] ?? null;
  return { permanent: status.startsWith('5') || action === 'failed', status: status || action, recipient };
}

/** The topmost Authentication-Results of our MTA shows DMARC (or aligned DKIM) pass. */
export function senderAuthenticated(parsed: ParsedMail, authservId: string, fromDomain: string): boolean {
  for (const value of allHeaderTexts(parsed, 'authentication-results')) {
    const id = value.split(';')[0]?.trim().split(/\s+/)[0]?.toLowerCase();
    if (id !== authservId.toLowerCase()) continue;
    if (/\bdmarc=pass\b/i.test(value)) return true;
    const dkim = /\bdkim=pass\b[^;]*?header\.d=([^\s;]+)/i.exec(value);
    if (dkim) {
      const d = (dkim[1] as string).toLowerCase();
      return fromDomain === d || fromDomain.endsWith(`.${d}`);
    }
    return false;
  }
  return false;
}

export class InboundPipeline {
  constructor(private readonly deps: InboundDeps) {}

  /**
   * `release` (quarantine release): re-process a held message, skipping the checks named;
   * its ledger row is then replaced instead of added.
   */
  async ingest(
    raw: Buffer,
    now: string,
    opts: { release?: { skip: readonly Override[] } } = {},
  ): Promise<IngestResult> {
    const release = opts.release !== undefined;
    const overrides = opts.release?.skip ?? [];
    const { store, limits } = this.deps;
    const hash = sha256(raw);
    const content = contentHash(raw);
    const headerMessageId = /^message-id:\s*(<[^<>\s]+>)/im.exec(
      raw.subarray(0, 65536).toString('latin1'),
    )?.[1];
    const messageId = headerMessageId ?? `<sha256.${hash}@${this.deps.bot.domain}>`;
    const ledger: LedgerInfo = { messageId, sha256: hash, contentSha256: content };

    const known = store.getLedger(messageId);
    if (known && !(release && known.outcome === 'quarantined')) {
      if (known.contentSha256 === content || known.sha256 === hash) {
        return { outcome: 'duplicate', caseId: known.caseId, detail: `already ${known.outcome}` };
      }
      if (!overrides.includes('duplicate-message-id')) {
        return this.quarantine(
          raw,
          messageId,
          null,
          'duplicate-message-id',
          now,
          'same Message-ID, different content',
          null,
          release,
        );
      }
    }
    if (raw.length > limits.maxMessageBytes && !overrides.includes('too-large')) {
      return this.quarantine(
        raw,
        messageId,
        null,
        'too-large',
        now,
        `${raw.length} bytes > ${limits.maxMessageBytes}`,
        ledger,
        release,
      );
    }

    let parsed: ParsedMail;
    try {
      parsed = await simpleParser(raw, { skipImageLinks: true, maxHtmlLengthToParse: 5_000_000 });
    } catch (err) {
      return this.quarantine(
        raw,
        messageId,
        null,
        'malformed',
        now,
        `cannot parse: ${(err as Error).message}`,
        ledger,
        release,
      );
    }
    const from = addresses(parsed.from)[0] ?? null;
    if (headerText(parsed, 'x-vultron-loop') !== undefined && !overrides.includes('loop')) {
      return this.quarantine(raw, messageId, from, 'loop', now, 'our own loop header', ledger, release);
    }
    if (isBounce(parsed)) return this.bounce(release, parsed, raw, messageId, from, now, ledger);
    const machine = isMachineMail(parsed);
    if (machine) {
      store.transaction(() => {
        store.addRawMessage(messageId, raw, now);
        store.addLedger({ ...ledger, caseId: null, outcome: 'auto-reply', at: now });
      });
      return { outcome: 'auto-reply', caseId: null, detail: machine };
    }
    if (!from)
      return this.quarantine(raw, messageId, null, 'malformed', now, 'no From address', ledger, release);

    const recipients = [
      ...addresses(parsed.to),
      ...addresses(parsed.cc),
      ...allHeaderTexts(parsed, 'delivered-to').map(normEmail),
      ...allHeaderTexts(parsed, 'x-original-to').map(normEmail),
    ];
    const subject = parsed.subject ?? '';
    const references = [...messageIdTokens(parsed.references), ...messageIdTokens(parsed.inReplyTo)];
    const referenced =
      caseFromReferences(this.deps, references) ??
      caseFromPlusAddress(this.deps, recipients) ??
      caseFromSubject(this.deps, subject);

    const sec = this.deps.security;
    if (sec.requireAuthenticatedSender && !overrides.includes('unauthenticated')) {
      const domain = from.split('@')[1] ?? '';
      if (!sec.trustedAuthservId || !senderAuthenticated(parsed, sec.trustedAuthservId, domain)) {
        return this.quarantine(
          raw,
          messageId,
          from,
          'unauthenticated',
          now,
          'no DMARC/DKIM pass from our MTA',
          ledger,
          release,
        );
      }
    }

    let snapshot: CaseSnapshot | undefined;
    if (referenced !== undefined) {
      snapshot = store.getCase(referenced);
      const member = snapshot ? findParticipant(snapshot, from) : undefined;
      if (!snapshot || !member) {
        return this.quarantine(
          raw,
          messageId,
          from,
          'not-a-participant',
          now,
          `case reference ${referenced}`,
          ledger,
          release,
        );
      }
    }

    const text = parsed.text ?? '';
    const newText = extractNewText(text);
    const typesHeader = headerText(parsed, MESSAGE_TYPES_HEADER);
    const endHeader = headerText(parsed, EMBARGO_END_HEADER);
    let commands = parseCommands(newText, {
      arrivedAt: now,
      policy: this.deps.policy,
      headers: {
        ...(typesHeader !== undefined ? { messageTypes: typesHeader } : {}),
        ...(endHeader !== undefined ? { embargoEnd: endHeader } : {}),
      },
    });
    const precedence = headerText(parsed, 'precedence')?.toLowerCase();
    const noReply = precedence === 'bulk' || precedence === 'list' || precedence === 'junk';
    const inbound: InboundMail = {
      messageId,
      raw,
      receivedAt: now,
      subject,
      references,
      ledger,
      ...(release ? { releasing: true } : {}),
    };

    // ---- Calendar answers (iMIP; src/calendar/incoming.ts, docs/calendar.md) ---------------
    // A REPLY/COUNTER/REFRESH names its case by the embargo UID when nothing above did; its
    // codes go first into the mail's flag set, a conflict with the commands or a calendar
    // error takes the bad-command path below. Other calendar objects are noted, not answers.
    let calendarNote = '';
    const calendarParts = await findCalendarParts(parsed);
    if (calendarParts.length > 0) {
      if (!snapshot) {
        const byUid = caseUidFromCalendar(calendarParts)
          .map((uid) => store.caseByEmbargoUid(uid))
          .find((id) => id !== undefined);
        if (byUid !== undefined) {
          snapshot = store.getCase(byUid);
          if (!snapshot || !findParticipant(snapshot, from)) {
            const detail = `calendar answer to an event of ${byUid}`;
            return this.quarantine(raw, messageId, from, 'not-a-participant', now, detail, ledger, release);
          }
        }
      }
      const answer = snapshot ? interpretCalendar(calendarParts, { sender: from, snapshot }) : null;
      if (answer) commands = mergeCalendarAnswer(answer, commands);
      else
        calendarNote = ` (${calendarParts.length} calendar object(s) ignored: no answer to an embargo event of this case)`;
    }
    // ---- end of calendar answers -------------------------------------------------------------

    if (!commands.ok) {
      if (noReply) {
        store.transaction(() => {
          store.addRawMessage(messageId, raw, now);
          const entry = { ...ledger, caseId: snapshot?.id ?? null, outcome: 'rejected-command', at: now };
          if (release) store.replaceLedger(entry);
          else store.addLedger(entry);
        });
      } else {
        await this.deps.service.replyCommandError({
          caseId: snapshot?.id ?? null,
          to: from,
          types: ['GE', 'GI'],
          error: { code: 'command-invalid', message: commands.error, line: commands.line },
          inbound,
          now,
        });
      }
      return {
        outcome: 'rejected-command',
        caseId: snapshot?.id ?? null,
        detail: `${commands.line}: ${commands.error}`,
      };
    }

    const attachments: Attachment[] = parsed.attachments
      .filter((a) => a.contentDisposition === 'attachment' || !/^text\/calendar$/i.test(a.contentType))
      .map((a) => ({ filename: a.filename ?? 'attachment', contentType: a.contentType, content: a.content }));
    const report: ReportContent = { from, subject, text, attachments };
    const name = (Array.isArray(parsed.from) ? parsed.from[0] : parsed.from)?.value[0]?.name || null;

    if (!snapshot) {
      // No case reference at all: a new report (DESIGN.md §3).
      const codes = commands.codes.filter(
        (c) => c !== 'GI' || commands.payload.status || commands.payload.help,
      );
      const input: Extract<Input, { kind: 'report' }> = {
        kind: 'report',
        from: { email: from, name },
        codes: codes.includes('RS') ? codes : ['RS', ...codes],
        payload: commands.payload,
        noReply,
      };
      const title = subject.trim() || '(no subject)';
      const out = await this.deps.service.openCase(input, { now, title, inbound, report });
      return { outcome: 'opened', caseId: out.caseId, detail: `new case ${out.caseId}` };
    }

    const codes = mapEmbargoCodes(commands.codes, snapshot.em);
    const addsReport = codes.includes('RS');
    const input: Input = { kind: 'message', from, codes, payload: commands.payload, noReply };
    const out = await this.deps.service.apply(snapshot.id, input, {
      now,
      inbound,
      ...(addsReport ? { report } : {}),
    });
    return {
      outcome: out.applied ? 'applied' : 'ignored',
      caseId: snapshot.id,
      detail: codes.join('+') + calendarNote,
    };
  }

  private async bounce(
    release: boolean,
    parsed: ParsedMail,
    raw: Buffer,
    messageId: string,
    from: string | null,
    now: string,
    ledger: LedgerInfo,
  ): Promise<IngestResult> {
    const { store } = this.deps;
    const status = dsnStatus(parsed);
    const candidates = [
      ...addresses(parsed.to),
      ...allHeaderTexts(parsed, 'delivered-to').map(normEmail),
      ...allHeaderTexts(parsed, 'x-original-to').map(normEmail),
    ];
    let row;
    for (const address of candidates) {
      const verp = parseVerp(address);
      if (!verp || normEmail(verp.botAddress) !== normEmail(this.deps.bot.address)) continue;
      row = store.outboxByMessageId(`<${verp.messageIdLocalPart}@${this.deps.bot.domain}>`);
      if (row) break;
    }
    if (!row || row.caseId === null || !row.to[0]) {
      return this.quarantine(
        raw,
        messageId,
        from,
        'bounce-unmatched',
        now,
        `DSN ${status.status}`,
        ledger,
        release,
      );
    }
    const policyRejection = /^5\.7\./.test(status.status);
    const out = await this.deps.service.apply(
      row.caseId,
      {
        kind: 'delivery-failure',
        to: row.to[0],
        permanent: status.permanent,
        types: row.types,
        detail: `${status.status || 'failed'}${policyRejection ? ' (rejected by policy, not an unknown address)' : ''} for ${row.messageId}`,
      },
      {
        now,
        inbound: { messageId, raw, receivedAt: now, subject: parsed.subject ?? '', references: [], ledger },
      },
    );
    return { outcome: 'bounce', caseId: out.caseId, detail: `${status.status} ${row.to[0]}` };
  }

  private quarantine(
    raw: Buffer,
    messageId: string,
    from: string | null,
    reason: string,
    now: string,
    detail: string,
    ledger: LedgerInfo | null,
    release = false,
  ): IngestResult {
    const { store } = this.deps;
    store.transaction(() => {
      const rawId = store.addRawMessage(messageId, raw, now);
      store.addQuarantine({ messageId, from, reason, at: now, detail, rawId });
      if (ledger) {
        const entry = { ...ledger, caseId: null, outcome: 'quarantined', at: now };
        if (release) store.replaceLedger(entry);
        else store.addLedger(entry);
      }
    });
    return { outcome: 'quarantined', caseId: null, reason, detail };
  }
}
