/**
 * The inbound pipeline: one raw RFC 822 message → exactly one handled outcome (DESIGN.md §3,
 * §6). Order: ledger (duplicates) → size limit → MIME walk and structure limits → parse
 * (with repaired charsets) → content limits → our own loop → bounce → machine mail → find the
 * case → authenticate and authorise the sender → encrypted mail → read the commands → the
 * case service (decide and persist in one transaction). Every failure of one message becomes
 * a quarantine entry (with the notices of src/mail/notices.ts); nothing here throws for bad
 * input. The reading rules for admins are in docs/mail.md.
 */
import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { sliced } from '../bytes.js';
import type { ParsedMail } from 'mailparser';
import {
  caseUidFromCalendar,
  findCalendarParts,
  interpretCalendar,
  mergeCalendarAnswer,
} from '../calendar/incoming.js';
import { alertAllowed, replyAllowed } from '../case/ratecaps.js';
import type { RateCapConfig } from '../case/ratecaps.js';
import type { CaseService, InboundMail, ReportContent } from '../case/service.js';
import { parseVerp } from '../outbound/compose.js';
import { findParticipant, normEmail } from '../protocol/index.js';
import type { CaseSnapshot, Input, Policy } from '../protocol/index.js';
import type { Attachment, NewOutboxRow, OutboxRow, Store } from '../store/port.js';
import { authVerdict } from './auth.js';
import { charsetRepairs } from './charset.js';
import { EMBARGO_END_HEADER, MESSAGE_TYPES_HEADER, mapEmbargoCodes, parseCommands } from './commands.js';
import {
  addressList as addresses,
  allHeaderTexts,
  headerBlock,
  headerText,
  messageIdTokens,
} from './headers.js';
import {
  checkCalendarParts,
  checkContent,
  checkSize,
  checkStructure,
  resolveLimits,
  scanBounds,
} from './limits.js';
import type { CalendarLimitIssue, Limits } from './limits.js';
import {
  autoAnswerAllowed,
  bounceAddresses,
  describeBounce,
  isBounce,
  machineReason,
  readBounce,
} from './machine.js';
import { editForParsing, scanMime } from './mime.js';
import type { MimeScan } from './mime.js';
import { extractNewText } from './newtext.js';
import { alertLines, alertWanted, senderLines } from './notices.js';
import type { NoticeComposer } from './notices.js';
import { inlineEncrypted, signedText } from './pgp.js';
import { subjectCaseTag } from './subject.js';

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
  security: {
    requireAuthenticatedSender: boolean;
    trustedAuthservId?: string | undefined;
    rateCaps?: RateCapConfig;
  };
  /** Config `limits`; caps not given take their defaults (src/mail/limits.ts). */
  limits: Partial<Limits>;
  /** Told of each quarantine entry (config `coordinators`). */
  coordinators?: readonly string[];
  /** Renders quarantine notices; without it, none are written. */
  composeNotice?: NoticeComposer;
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

/**
 * Where the header block of `raw` ends: the first blank line (`\n\n`, with or without CRs),
 * at the line break before it; the length of `raw` when there is none.
 */
function headerEndOf(raw: Buffer): number {
  for (let i = raw.indexOf(0x0a); i >= 0; i = raw.indexOf(0x0a, i + 1)) {
    const next = raw[i + 1];
    if (next === 0x0a || (next === 0x0d && raw[i + 2] === 0x0a))
      return i > 0 && raw[i - 1] === 0x0d ? i - 1 : i;
  }
  return raw.length;
}

/** SHA-256 of the message without its trace headers (the body is hashed as it is, not copied). */
export function contentHash(raw: Buffer): string {
  const headerEnd = headerEndOf(raw);
  const head = raw.subarray(0, headerEnd).toString('latin1');
  const fields: string[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1] += `\n${line}`;
    else fields.push(line);
  }
  const kept = fields.filter((f) => !TRACE_HEADERS.test(f.slice(0, f.indexOf(':')).trim()));
  return createHash('sha256')
    .update(Buffer.from(kept.join('\n'), 'latin1'))
    .update(raw.subarray(headerEnd))
    .digest('hex');
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
  return subjectCaseTag(subject, deps.bot.caseIdPrefix);
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
    const { store } = this.deps;
    const limits = resolveLimits(this.deps.limits);
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
    const sizeOk = overrides.includes('too-large');
    const size = sizeOk ? null : checkSize(raw.length, limits);
    if (size)
      return this.quarantine(raw, messageId, null, size.reason, now, size.detail, ledger, release, true);

    // One walk over the MIME tree before the parser: structure caps, charsets, PGP, forwards.
    const scan = await scanMime(raw, scanBounds(limits));
    const structure = checkStructure(scan, limits);
    if (structure) {
      return this.quarantine(
        raw,
        messageId,
        null,
        structure.reason,
        now,
        structure.detail,
        ledger,
        release,
        true,
      );
    }
    if (scan.error) {
      return this.quarantine(
        raw,
        messageId,
        null,
        'malformed',
        now,
        `cannot parse: ${scan.error}`,
        ledger,
        release,
      );
    }

    let parsed: ParsedMail;
    try {
      parsed = await simpleParser(sliced(await parseCopy(raw, scan)), {
        skipImageLinks: true,
        maxHtmlLengthToParse: 5_000_000,
      });
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
    const over = checkContent(parsed, limits, { skipSize: sizeOk });
    if (over) {
      const sender = addresses(parsed.from)[0] ?? null;
      return this.quarantine(raw, messageId, sender, over.reason, now, over.detail, ledger, release, true);
    }
    // A calendar part over its caps is dropped (not interpreted); the rest of the mail goes on.
    const oversized = checkCalendarParts(parsed, limits);
    const dropped = new Set(oversized.map((o) => o.attachment));
    const droppedNote = oversized.map((o) => ` (${o.detail}; that calendar part ignored)`).join('');
    const from = addresses(parsed.from)[0] ?? null;
    if (headerText(parsed, 'x-vultron-loop') !== undefined && !overrides.includes('loop')) {
      return this.quarantine(raw, messageId, from, 'loop', now, 'our own loop header', ledger, release);
    }
    if (isBounce(parsed)) return this.bounce(release, parsed, raw, messageId, from, now, ledger);
    const machine = machineReason(parsed);
    if (machine) return this.machineMail(parsed, raw, from, machine, now, ledger, release);
    if (from && (addresses(parsed.from).length > 1 || allHeaderTexts(parsed, 'from').length > 1)) {
      const detail = 'several From addresses: the sender is ambiguous';
      return this.quarantine(raw, messageId, from, 'malformed', now, detail, ledger, release);
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
      const verdict = sec.trustedAuthservId
        ? authVerdict(parsed, sec.trustedAuthservId, domain)
        : { ok: false, detail: 'no security.trustedAuthservId' };
      if (!verdict.ok) {
        return this.quarantine(raw, messageId, from, 'unauthenticated', now, verdict.detail, ledger, release);
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
          true,
        );
      }
    }

    const text = parsed.text ?? '';
    // Only what the sender signed is read when the mail is signed (a list footer is not).
    const ownText = scan.signedContent ? await textOf(scan.signedContent, text) : text;
    const newText = extractNewText(signedText(ownText));
    if (scan.encrypted || inlineEncrypted(newText)) {
      const detail = `encrypted (${scan.encrypted ?? 'inline PGP message'}); the bot holds no key`;
      return this.quarantine(raw, messageId, from, 'undecryptable', now, detail, ledger, release, true);
    }
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
    const calendarParts = await findCalendarParts({
      ...parsed,
      attachments: parsed.attachments.filter((a) => !dropped.has(a)),
    });
    if (calendarParts.length > 0) {
      if (!snapshot) {
        const byUid = caseUidFromCalendar(calendarParts)
          .map((uid) => store.caseByEmbargoUid(uid))
          .find((id) => id !== undefined);
        if (byUid !== undefined) {
          snapshot = store.getCase(byUid);
          if (!snapshot || !findParticipant(snapshot, from)) {
            const detail = `calendar answer to an event of ${byUid}`;
            return this.quarantine(
              raw,
              messageId,
              from,
              'not-a-participant',
              now,
              detail,
              ledger,
              release,
              true,
            );
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
      if (oversized.length > 0) this.logDropped(out.caseId, from, oversized, now);
      return { outcome: 'opened', caseId: out.caseId, detail: `new case ${out.caseId}${droppedNote}` };
    }

    const codes = mapEmbargoCodes(commands.codes, snapshot.em);
    const addsReport = codes.includes('RS');
    const input: Input = { kind: 'message', from, codes, payload: commands.payload, noReply };
    const out = await this.deps.service.apply(snapshot.id, input, {
      now,
      inbound,
      ...(addsReport ? { report } : {}),
    });
    if (oversized.length > 0) this.logDropped(snapshot.id, from, oversized, now);
    return {
      outcome: out.applied ? 'applied' : 'ignored',
      caseId: snapshot.id,
      detail: codes.join('+') + calendarNote + droppedNote,
    };
  }

  /** One case log entry per calendar part dropped for its size (`calendar-too-large: …`). */
  private logDropped(
    caseId: string,
    from: string,
    oversized: readonly CalendarLimitIssue[],
    now: string,
  ): void {
    const { store } = this.deps;
    store.transaction(() => {
      const snapshot = store.getCase(caseId);
      if (!snapshot) return;
      for (const o of oversized) {
        snapshot.log.push({ at: now, kind: 'calendar-ignored', from, types: [], detail: o.detail });
      }
      store.saveCase(snapshot);
    });
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
    const info = readBounce(parsed);
    const row = this.bouncedRow(parsed, info.messageIds);
    if (!row || row.caseId === null || !row.to[0]) {
      return this.quarantine(
        raw,
        messageId,
        from,
        'bounce-unmatched',
        now,
        describeBounce(info),
        ledger,
        release,
      );
    }
    const out = await this.deps.service.apply(
      row.caseId,
      {
        kind: 'delivery-failure',
        to: row.to[0],
        permanent: info.permanent,
        types: row.types,
        detail: `${describeBounce(info)} (for ${row.messageId})`,
      },
      {
        now,
        inbound: {
          messageId,
          raw,
          receivedAt: now,
          subject: parsed.subject ?? '',
          references: [],
          ledger,
          ...(release ? { releasing: true } : {}),
        },
      },
    );
    return { outcome: 'bounce', caseId: out.caseId, detail: `${describeBounce(info)} ${row.to[0]}` };
  }

  /**
   * The outgoing mail a bounce is about: by the VERP envelope sender it came back to, else by
   * a Message-ID of ours it names (its threading headers, the returned message's headers).
   */
  private bouncedRow(parsed: ParsedMail, messageIds: readonly string[]): OutboxRow | undefined {
    const { store, bot } = this.deps;
    for (const address of bounceAddresses(parsed)) {
      const verp = parseVerp(address);
      if (!verp || normEmail(verp.botAddress) !== normEmail(bot.address)) continue;
      const local = verp.messageIdLocalPart;
      // Some MTAs change the letter case of the local part: ours is `<case id>.<hex>`.
      const m = /^(.+)\.([0-9a-f]+)$/i.exec(local);
      const canonical = m
        ? `${store.getCase(m[1] as string)?.id ?? m[1]}.${(m[2] as string).toLowerCase()}`
        : local;
      const row =
        store.outboxByMessageId(`<${local}@${bot.domain}>`) ??
        store.outboxByMessageId(`<${canonical}@${bot.domain}>`);
      if (row) return row;
    }
    const ours = new RegExp(`@${escapeRe(bot.domain)}>$`, 'i');
    for (const id of messageIds) {
      if (!ours.test(id)) continue;
      const row = store.outboxByMessageId(id);
      if (row) return row;
    }
    return undefined;
  }

  /**
   * An auto-reply or other machine mail: never applied, never answered, never consent. When it
   * names a case its sender takes part in, the case log records it (so coordinators see why a
   * participant is silent, ANCHORS C.2 #5); nothing else changes.
   */
  private async machineMail(
    parsed: ParsedMail,
    raw: Buffer,
    from: string | null,
    reason: string,
    now: string,
    ledger: LedgerInfo,
    release: boolean,
  ): Promise<IngestResult> {
    const { store } = this.deps;
    const references = [...messageIdTokens(parsed.references), ...messageIdTokens(parsed.inReplyTo)];
    const recipients = [...addresses(parsed.to), ...addresses(parsed.cc)];
    const caseId = from
      ? (caseFromReferences(this.deps, references) ??
        caseFromPlusAddress(this.deps, recipients) ??
        caseFromSubject(this.deps, parsed.subject ?? ''))
      : undefined;
    const logged = store.transaction(() => {
      store.addRawMessage(ledger.messageId, raw, now);
      const snapshot = caseId === undefined ? undefined : store.getCase(caseId);
      const member = snapshot && from ? findParticipant(snapshot, from) : undefined;
      if (snapshot && member) {
        snapshot.log.push({ at: now, kind: 'auto-reply', from: member.email, types: [], detail: reason });
        store.saveCase(snapshot);
      }
      const entry = {
        ...ledger,
        caseId: member ? (snapshot?.id ?? null) : null,
        outcome: 'auto-reply',
        at: now,
      };
      if (release) store.replaceLedger(entry);
      else store.addLedger(entry);
      return member ? (snapshot?.id ?? null) : null;
    });
    return { outcome: 'auto-reply', caseId: logged, detail: reason };
  }

  /**
   * Holds a message: raw kept, a quarantine row with its reason, the ledger row, and in the
   * same transaction the notices (src/mail/notices.ts) within the rate caps. `tellSender`:
   * the reason is one the sender may be told of, when answering is safe.
   */
  private async quarantine(
    raw: Buffer,
    messageId: string,
    from: string | null,
    reason: string,
    now: string,
    detail: string,
    ledger: LedgerInfo | null,
    release = false,
    tellSender = false,
  ): Promise<IngestResult> {
    const { store } = this.deps;
    const notices = await this.quarantineNotices(raw, messageId, from, reason, now, detail, tellSender);
    const caps = this.deps.security.rateCaps;
    let held = detail;
    store.transaction(() => {
      const rows: NewOutboxRow[] = [];
      if (notices.sender) {
        const cap = replyAllowed(store, caps, { to: notices.sender.to[0] ?? '', caseId: null, now });
        if (cap.ok) rows.push(notices.sender);
        else held = `${detail}; sender not told: ${cap.detail}`;
      }
      for (const alert of notices.alerts) {
        if (alertAllowed(store, caps, { to: alert.to[0] ?? '', now }).ok) rows.push(alert);
      }
      const rawId = store.addRawMessage(messageId, raw, now);
      store.addQuarantine({ messageId, from: from ?? notices.from, reason, at: now, detail: held, rawId });
      if (ledger) {
        const entry = { ...ledger, caseId: null, outcome: 'quarantined', at: now };
        if (release) store.replaceLedger(entry);
        else store.addLedger(entry);
      }
      for (const row of rows) store.addOutbox(row);
    });
    return { outcome: 'quarantined', caseId: null, reason, detail: held };
  }

  /**
   * The sender's notice (when wanted and safe) and the coordinators' alerts of an entry, and
   * the From address read from the header when the caller had none (a mail over a cap).
   */
  private async quarantineNotices(
    raw: Buffer,
    messageId: string,
    from: string | null,
    reason: string,
    now: string,
    detail: string,
    tellSender: boolean,
  ): Promise<{ sender: NewOutboxRow | null; alerts: NewOutboxRow[]; from: string | null }> {
    const limits = resolveLimits(this.deps.limits);
    let head: ParsedMail | null = null;
    try {
      // The header alone: cheap even for a mail over the caps, and all a notice needs.
      head = await simpleParser(
        Buffer.concat([headerBlock(raw, limits.maxHeaderBytes), Buffer.from('\r\n\r\n')]),
      );
    } catch {
      head = null;
    }
    const sender = from ?? (head ? (addresses(head.from)[0] ?? null) : null);
    const compose = this.deps.composeNotice;
    if (!compose) return { sender: null, alerts: [], from: sender };
    const subject = head?.subject ?? null;
    let senderRow: NewOutboxRow | null = null;
    const lines = tellSender ? senderLines(reason, detail) : null;
    if (lines && sender && head && this.mayAnswer(head, sender)) {
      senderRow = await compose({
        kind: 'sender',
        to: sender,
        subject: 'Your mail was not processed',
        lines,
        types: ['GE', 'GI'],
        inReplyTo: /^<[^<>\s]+>$/.test(messageId) && !messageId.startsWith('<sha256.') ? messageId : null,
        now,
      });
    }
    const alerts: NewOutboxRow[] = [];
    if (alertWanted(reason)) {
      const held = this.deps.store.listQuarantine().length + 1;
      const told = senderRow ? `told (${sender})` : 'not told';
      for (const to of this.deps.coordinators ?? []) {
        alerts.push(
          await compose({
            kind: 'alert',
            to,
            subject: `Quarantined mail: ${reason}${sender ? ` from ${sender}` : ''}`,
            lines: alertLines({
              reason,
              detail,
              from: sender,
              messageId,
              subject,
              at: now,
              held,
              senderTold: told,
            }),
            types: ['GI'],
            inReplyTo: null,
            now,
          }),
        );
      }
    }
    return { sender: senderRow, alerts, from: sender };
  }

  /** An automatic answer to this sender is safe: not machine or list mail; authenticated if required. */
  private mayAnswer(head: ParsedMail, sender: string): boolean {
    if (!autoAnswerAllowed(head)) return false;
    const sec = this.deps.security;
    if (!sec.requireAuthenticatedSender) return true;
    if (!sec.trustedAuthservId) return false;
    return authVerdict(head, sec.trustedAuthservId, sender.split('@')[1] ?? '').ok;
  }
}

/**
 * The copy of `raw` the parser reads: text parts with a missing, unknown or wrong charset
 * re-declared (src/mail/charset.ts), and forwarded messages that the parser would read inline
 * turned into attachments (their text is the original sender's, not this sender's). The stored
 * raw message is never changed.
 */
async function parseCopy(raw: Buffer, scan: MimeScan): Promise<Buffer> {
  try {
    return await editForParsing(raw, {
      charsets: charsetRepairs(scan.leaves.filter((l) => !l.embedded)),
      asAttachment: new Set(scan.embedded),
    });
  } catch {
    return raw;
  }
}

/** The text of a signed MIME entity (the signed content of multipart/signed). */
async function textOf(entity: Buffer, fallback: string): Promise<string> {
  try {
    return (await simpleParser(entity, { skipImageLinks: true })).text ?? '';
  } catch {
    return fallback;
  }
}
