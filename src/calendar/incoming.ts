/**
 * Inbound calendar answers (iMIP, RFC 6047 / iTIP, RFC 5546): find the calendar parts of a mail,
 * read them without ever throwing, and interpret the REPLY / COUNTER / REFRESH objects about our
 * own embargo events as protocol codes (DESIGN.md §4, PROTOCOL.md §6.3; docs/calendar.md).
 *
 * - findCalendarParts: every text/calendar or application/ics part at any depth, also inside an
 *   attached message/rfc822; identical copies (the inline part and its invite.ics) count once.
 * - parseItip: METHOD and the VEVENTs. node-ical reads each VEVENT; our own reader
 *   (src/calendar/ics.ts) gives the structure, the raw DTSTART/TZID and the VTIMEZONEs, and every
 *   field node-ical cannot give (it throws on a CANCEL without DTSTART, imip/04). Start instants
 *   come from node-ical only for zones it reads right; otherwise from the file's VTIMEZONE
 *   (src/calendar/zones.ts); anything that would be a guess is flagged `startAmbiguous`.
 * - interpretCalendar: the codes and payload the protocol core understands, an error for the
 *   sender, or null when the mail holds no answer to an event of the case.
 *
 * Pure apart from mailparser re-reading an attached message and node-ical (no I/O, no clock).
 */
import type { Attachment, ParsedMail } from 'mailparser';
import { simpleParser } from 'mailparser';
import { createRequire } from 'node:module';
import type NodeIcal from 'node-ical';
import { PROTOCOL_ERRORS } from '../protocol/errors.js';
import type { CaseSnapshot, Proposal } from '../protocol/snapshot.js';
import { normEmail } from '../protocol/snapshot.js';
import type { Payload } from '../protocol/types.js';
import { uniqueCodes } from '../protocol/vocabulary.js';
import type { MessageCode } from '../protocol/vocabulary.js';
import type { IcsComponent, IcsProperty } from './ics.js';
import {
  calAddress,
  componentsNamed,
  parseIcsDateTime,
  prop,
  props,
  readIcs,
  serialize,
  textValue,
  wallMs,
} from './ics.js';
import { cleanTzid, knownZone, resolveInVtimezone, resolveInZone } from './zones.js';

// ---------------------------------------------------------------------------------------
// Finding the calendar parts of a mail

export interface CalendarPart {
  /** The media type in lower case: `text/calendar` or `application/ics`. */
  contentType: string;
  /** The Content-Type `method` parameter in upper case (iMIP), or null. */
  method: string | null;
  filename: string | null;
  /** The decoded iCalendar text. */
  text: string;
}

const CALENDAR_TYPES = new Set(['text/calendar', 'application/ics']);
const MESSAGE_TYPES = new Set(['message/rfc822', 'message/global']);
/** How deep attached messages are opened, and how many calendar parts one mail may give. */
const MAX_MESSAGE_DEPTH = 3;
const MAX_PARTS = 20;

interface ContentTypeHeader {
  value?: string;
  params?: Record<string, string>;
}

function decode(content: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset?.trim() || 'utf-8').decode(content);
  } catch {
    return new TextDecoder('utf-8').decode(content);
  }
}

/** Same content, however it was wrapped: line ends and surrounding whitespace do not count. */
function sameContentKey(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}

/**
 * Every text/calendar or application/ics part of a parsed mail (mailparser lists them among its
 * attachments whatever their disposition), the media type matched in any casing, also inside
 * attached messages (message/rfc822, parsed again). Identical copies are listed once.
 */
export async function findCalendarParts(parsed: ParsedMail): Promise<CalendarPart[]> {
  const parts: CalendarPart[] = [];
  const seen = new Set<string>();
  await collectParts(parsed.attachments, 0, parts, seen);
  return parts;
}

async function collectParts(
  attachments: readonly Attachment[],
  depth: number,
  parts: CalendarPart[],
  seen: Set<string>,
): Promise<void> {
  for (const a of attachments) {
    if (parts.length >= MAX_PARTS) return;
    const type = a.contentType.trim().toLowerCase();
    if (CALENDAR_TYPES.has(type)) {
      const header = a.headers.get('content-type') as ContentTypeHeader | undefined;
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(header?.params ?? {})) params[k.toLowerCase()] = v;
      const text = decode(a.content, params['charset']);
      const key = sameContentKey(text);
      if (seen.has(key)) continue;
      seen.add(key);
      parts.push({
        contentType: type,
        method: params['method']?.trim().toUpperCase() || null,
        filename: a.filename ?? null,
        text,
      });
    } else if (MESSAGE_TYPES.has(type) && depth < MAX_MESSAGE_DEPTH) {
      let inner: ParsedMail;
      try {
        inner = await simpleParser(a.content, { skipImageLinks: true, skipHtmlToText: true });
      } catch {
        continue;
      }
      await collectParts(inner.attachments, depth + 1, parts, seen);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Reading one calendar object

export interface ItipAttendee {
  /** Lower case, without `mailto:` (any case). */
  email: string;
  /** Upper case; null when the ATTENDEE carries no PARTSTAT. */
  partstat: string | null;
}

export interface ItipEvent {
  /** Trimmed (a `UID: x` line gives `x`). */
  uid: string;
  /** 0 when absent (RFC 5546 §2.1.4). */
  sequence: number;
  /** RFC 3339 UTC; a DTSTAMP written without `Z` is read as UTC (RFC 5545 requires UTC). */
  dtstamp: string | null;
  /** The DTSTART instant, RFC 3339 UTC; null when absent or ambiguous. */
  start: string | null;
  /** DTSTART is present but has no one instant (see zones.ts); it is never guessed. */
  startAmbiguous: boolean;
  /** DTSTART as written (`TZID=BRT:20190205T150000`), for messages; null when absent. */
  startRaw: string | null;
  /** RECURRENCE-ID as an RFC 3339 UTC instant, or as written when it has none. */
  recurrenceId: string | null;
  status: string | null;
  organizer: string | null;
  attendees: ItipAttendee[];
  comment: string | null;
}

export interface Itip {
  /** The VCALENDAR METHOD in upper case; null when the object has none (not iTIP). */
  method: string | null;
  events: ItipEvent[];
}

/** A bound on the VEVENTs read from one object (a reply to us has one). */
export const MAX_EVENTS = 100;

/** An RFC 3339 UTC instant without fractions of a second. */
function isoUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

type NodeIcalValue = string | { val?: unknown; params?: Record<string, unknown> } | undefined;

interface NodeIcalEvent {
  type?: unknown;
  uid?: unknown;
  sequence?: unknown;
  status?: unknown;
  start?: unknown;
  organizer?: NodeIcalValue;
  attendee?: NodeIcalValue | NodeIcalValue[];
  comment?: unknown;
}

/**
 * node-ical, loaded on first use: it takes about 100 ms to load, and most mail has no calendar
 * part (this matters for `ingest` run once per mail from an MTA pipe).
 */
let nodeIcal: typeof NodeIcal | undefined;
function ical(): typeof NodeIcal {
  nodeIcal ??= createRequire(import.meta.url)('node-ical') as typeof NodeIcal;
  return nodeIcal;
}

/** node-ical warns on stderr about zones it cannot read; we judge those zones ourselves. */
function quietly<T>(fn: () => T): T {
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    return fn();
  } finally {
    console.warn = warn;
  }
}

/** node-ical's reading of one VEVENT (with the calendar's METHOD and VTIMEZONEs), or null. */
function nodeIcalEvent(
  calendar: IcsComponent,
  vtimezones: IcsComponent[],
  vevent: IcsComponent,
): NodeIcalEvent | null {
  const method = prop(calendar, 'METHOD');
  const text = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    ...(method ? [method.line] : []),
    ...vtimezones.flatMap(serialize),
    ...serialize(vevent),
    'END:VCALENDAR',
    '',
  ].join('\r\n');
  try {
    const parsed = quietly(() => ical().sync.parseICS(text)) as Record<string, unknown>;
    const found = Object.values(parsed).find(
      (v): v is NodeIcalEvent =>
        typeof v === 'object' && v !== null && (v as NodeIcalEvent).type === 'VEVENT',
    );
    return found ?? null;
  } catch {
    return null;
  }
}

function nodeValue(v: NodeIcalValue): { val: string; params: Record<string, string> } | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return { val: v, params: {} };
  if (typeof v.val !== 'string') return null;
  const params: Record<string, string> = {};
  for (const [k, p] of Object.entries(v.params ?? {})) params[k.toUpperCase()] = String(p);
  return { val: v.val, params };
}

function attendeesOf(list: Array<{ val: string; params: Record<string, string> }>): ItipAttendee[] {
  const out: ItipAttendee[] = [];
  for (const a of list) {
    const email = calAddress(a.val, a.params);
    if (email === null) continue;
    const partstat = a.params['PARTSTAT']?.trim().toUpperCase() || null;
    out.push({ email, partstat });
  }
  return out;
}

interface Instant {
  ms: number | null;
  ambiguous: boolean;
}

/**
 * The instant of a DATE-TIME property. UTC values are exact; a TZID node-ical reads right uses
 * node-ical's instant (`converted`, when it has one: never converted a second time) unless the
 * local time is in a gap or an overlap; any other TZID is resolved from the file's VTIMEZONE.
 * Floating times, DATE values, unreadable values and unknown zones are ambiguous.
 */
function instantOf(p: IcsProperty, zones: Map<string, IcsComponent>, converted?: unknown): Instant {
  const ambiguous = { ms: null, ambiguous: true };
  const t = parseIcsDateTime(p.value);
  if (!t || t.dateOnly || p.params['VALUE']?.toUpperCase() === 'DATE') return ambiguous;
  if (t.utc) return { ms: wallMs(t), ambiguous: false };
  const tzid = p.params['TZID'];
  if (tzid === undefined || cleanTzid(tzid) === '') return ambiguous;
  const zone = knownZone(tzid);
  if (zone !== null) {
    const mine = resolveInZone(t, zone);
    if (!mine.ok) return ambiguous;
    const theirs = converted instanceof Date ? converted.getTime() : Number.NaN;
    return { ms: Number.isFinite(theirs) ? theirs : mine.ms, ambiguous: false };
  }
  const vtz = zones.get(cleanTzid(tzid));
  if (!vtz) return ambiguous;
  const r = resolveInVtimezone(t, vtz);
  return r.ok ? { ms: r.ms, ambiguous: false } : ambiguous;
}

function rawDateTime(p: IcsProperty): string {
  const tzid = p.params['TZID'];
  return `${tzid !== undefined ? `TZID=${cleanTzid(tzid)}:` : ''}${p.value.trim()}`;
}

function readEvent(
  calendar: IcsComponent,
  vtimezones: IcsComponent[],
  zones: Map<string, IcsComponent>,
  vevent: IcsComponent,
): ItipEvent {
  const ni = nodeIcalEvent(calendar, vtimezones, vevent);
  const rawText = (name: string) => {
    const p = prop(vevent, name);
    return p ? textValue(p.value).trim() : undefined;
  };

  const uid = (typeof ni?.uid === 'string' ? ni.uid : (rawText('UID') ?? '')).trim();

  let sequence = Number(ni?.sequence);
  if (!Number.isInteger(sequence)) sequence = Number.parseInt(rawText('SEQUENCE') ?? '', 10);
  if (!Number.isInteger(sequence) || sequence < 0) sequence = 0;

  const stampProp = prop(vevent, 'DTSTAMP');
  const stamp = stampProp ? parseIcsDateTime(stampProp.value) : null;
  const dtstamp = stamp && !stamp.dateOnly ? isoUtc(wallMs(stamp)) : null;

  const startProp = prop(vevent, 'DTSTART');
  const start = startProp ? instantOf(startProp, zones, ni?.start) : { ms: null, ambiguous: false };

  const ridProp = prop(vevent, 'RECURRENCE-ID');
  let recurrenceId: string | null = null;
  if (ridProp) {
    const rid = instantOf(ridProp, zones);
    recurrenceId = rid.ms !== null ? isoUtc(rid.ms) : rawDateTime(ridProp);
  }

  const status =
    (typeof ni?.status === 'string' ? ni.status : rawText('STATUS'))?.trim().toUpperCase() || null;

  const niOrganizer = nodeValue(ni?.organizer);
  const rawOrganizer = prop(vevent, 'ORGANIZER');
  const organizer = niOrganizer
    ? calAddress(niOrganizer.val, niOrganizer.params)
    : rawOrganizer
      ? calAddress(rawOrganizer.value, rawOrganizer.params)
      : null;

  const niAttendees =
    ni?.attendee === undefined ? [] : Array.isArray(ni.attendee) ? ni.attendee : [ni.attendee];
  const fromNodeIcal = niAttendees.map(nodeValue).filter((a) => a !== null);
  const attendees = attendeesOf(
    fromNodeIcal.length > 0
      ? fromNodeIcal
      : props(vevent, 'ATTENDEE').map((p) => ({ val: p.value, params: p.params })),
  );

  const comments = props(vevent, 'COMMENT').map((p) => textValue(p.value));
  const comment = comments.length > 0 ? comments.join('\n') : null;

  return {
    uid,
    sequence,
    dtstamp,
    start: start.ms !== null ? isoUtc(start.ms) : null,
    startAmbiguous: start.ambiguous,
    startRaw: startProp ? rawDateTime(startProp) : null,
    recurrenceId,
    status,
    organizer,
    attendees,
    comment,
  };
}

/** METHOD and VEVENTs of one calendar object. Never throws; an unreadable text gives no events. */
export function parseItip(text: string): Itip {
  try {
    const roots = readIcs(text);
    const calendar =
      roots.find((c) => c.name === 'VCALENDAR') ??
      ({ name: 'VCALENDAR', properties: [], components: roots } as IcsComponent);
    const method = prop(calendar, 'METHOD')?.value.trim().toUpperCase() || null;
    const vtimezones = componentsNamed(roots, 'VTIMEZONE');
    const zones = new Map<string, IcsComponent>();
    for (const z of vtimezones) {
      const id = prop(z, 'TZID');
      if (id && !zones.has(cleanTzid(id.value))) zones.set(cleanTzid(id.value), z);
    }
    const vevents = componentsNamed(roots, 'VEVENT').slice(0, MAX_EVENTS);
    return { method, events: vevents.map((v) => readEvent(calendar, vtimezones, zones, v)) };
  } catch {
    return { method: null, events: [] };
  }
}

const parsedParts = new WeakMap<CalendarPart, Itip>();

/** parseItip of a part, once per part; the body's METHOD, else the Content-Type method. */
function itipOf(part: CalendarPart): Itip {
  let itip = parsedParts.get(part);
  if (!itip) {
    const parsed = parseItip(part.text);
    itip = { ...parsed, method: parsed.method ?? part.method };
    parsedParts.set(part, itip);
  }
  return itip;
}

// ---------------------------------------------------------------------------------------
// Interpreting the answers to our events

/** iTIP methods an attendee sends to the organizer (the bot). */
const ANSWER_METHODS = ['REPLY', 'COUNTER', 'REFRESH'] as const;
type AnswerMethod = (typeof ANSWER_METHODS)[number];

function isAnswerMethod(m: string | null): m is AnswerMethod {
  return (ANSWER_METHODS as readonly string[]).includes(m ?? '');
}

/**
 * The UIDs of the REPLY, COUNTER and REFRESH objects of a mail, so the pipeline can find the
 * case by an embargo UID (DESIGN.md §3). REQUESTs, PUBLISHes and CANCELs are not answers and
 * name no case.
 */
export function caseUidFromCalendar(parts: readonly CalendarPart[]): string[] {
  const uids: string[] = [];
  for (const part of parts) {
    const itip = itipOf(part);
    if (!isAnswerMethod(itip.method)) continue;
    for (const e of itip.events) if (e.uid !== '' && !uids.includes(e.uid)) uids.push(e.uid);
  }
  return uids;
}

export type CalendarInterpretation =
  | {
      ok: true;
      codes: MessageCode[];
      payload: Payload;
      /** The calendar answer in one line (logs, and the line quoted in a conflict error). */
      line: string;
    }
  | {
      ok: false;
      /** For the error reply. */
      error: string;
      /** A stable code: `embargo-delegated` (the core's catalogue) or `calendar-*`. */
      code: string;
      line: string;
    };

interface Item {
  method: AnswerMethod;
  event: ItipEvent;
  proposal: Proposal;
  /** The part carried an iMIP `method=` parameter (trusted over a bare attachment on a tie). */
  imip: boolean;
  order: number;
}

function proposalByUid(snapshot: CaseSnapshot, uid: string): Proposal | undefined {
  const needle = uid.trim().toLowerCase();
  if (needle === '') return undefined;
  return snapshot.embargo.proposals.find((p) => p.uid.toLowerCase() === needle);
}

/** Ascending by SEQUENCE, then DTSTAMP, then the iMIP part, then document order: the last wins. */
function byRecency(a: Item, b: Item): number {
  return (
    a.event.sequence - b.event.sequence ||
    (a.event.dtstamp ?? '').localeCompare(b.event.dtstamp ?? '') ||
    Number(a.imip) - Number(b.imip) ||
    a.order - b.order
  );
}

function fail(code: string, error: string, line: string): CalendarInterpretation {
  return { ok: false, code, error, line };
}

/**
 * What the calendar objects of a mail from `sender` say to the case: null when none is an
 * answer (REPLY/COUNTER/REFRESH) to one of its embargo events from the sender (PUBLISH, foreign
 * REQUESTs, unknown UIDs, a REPLY for another attendee); else the codes and payload for the core,
 * or an error to send back.
 */
export function interpretCalendar(
  parts: readonly CalendarPart[],
  ctx: { sender: string; snapshot: CaseSnapshot },
): CalendarInterpretation | null {
  const sender = normEmail(ctx.sender).replace(/^mailto:/i, '');
  const items: Item[] = [];
  let order = 0;
  for (const part of parts) {
    const itip = itipOf(part);
    const method = itip.method;
    if (!isAnswerMethod(method)) continue;
    for (const event of itip.events) {
      const proposal = proposalByUid(ctx.snapshot, event.uid);
      if (!proposal) continue;
      // A REPLY speaks for its attendees: only the sender's own answer counts.
      if (method === 'REPLY' && !event.attendees.some((a) => a.email === sender)) continue;
      items.push({ method, event, proposal, imip: part.method !== null, order: order++ });
    }
  }
  if (items.length === 0) return null;

  const methods = new Set(items.map((i) => i.method));
  const proposals = new Set(items.map((i) => i.proposal.id));
  if (methods.size > 1 || proposals.size > 1) {
    const what = [...new Set(items.map((i) => `${i.method} for ${i.proposal.id}`))].join(', ');
    return fail(
      'calendar-several-answers',
      `This mail carries several different calendar answers (${what}). Send one answer per mail.`,
      what,
    );
  }
  const winner = [...items].sort(byRecency).at(-1) as Item;
  const { proposal, event } = winner;
  const calendar = { method: winner.method, uid: proposal.uid };

  switch (winner.method) {
    case 'REPLY': {
      const partstat = event.attendees.find((a) => a.email === sender)?.partstat ?? null;
      const line = `METHOD:REPLY UID:${proposal.uid} ATTENDEE;PARTSTAT=${partstat ?? '(none)'}:mailto:${sender}`;
      const revision = proposal.kind === 'revision' && proposal.status === 'pending';
      const payload: Payload = { calendar, proposal: proposal.id };
      switch (partstat) {
        case 'ACCEPTED':
          return { ok: true, codes: [revision ? 'EC' : 'EA'], payload, line };
        case 'DECLINED':
          return { ok: true, codes: [revision ? 'EJ' : 'ER'], payload, line };
        case 'TENTATIVE':
          // A receipt, never consent (PROTOCOL.md §6.1, §6.5).
          return { ok: true, codes: ['EK'], payload, line };
        case 'DELEGATED':
          return fail('embargo-delegated', PROTOCOL_ERRORS['embargo-delegated'].text, line);
        default:
          return fail(
            'calendar-no-answer',
            `Your calendar answered embargo ${proposal.id} with PARTSTAT ${partstat ?? '(none)'}, which is neither an acceptance nor a refusal. Accept or decline the invitation, or reply with "/embargo accept ${proposal.id}" or "/embargo reject ${proposal.id}".`,
            line,
          );
      }
    }
    case 'COUNTER': {
      const line = `METHOD:COUNTER UID:${proposal.uid} DTSTART${event.startRaw === null ? ' (none)' : `;${event.startRaw}`}`;
      if (event.start === null) {
        const why = event.startAmbiguous
          ? `its time (${event.startRaw}) is not one definite instant: a floating or all-day time, a time zone we cannot resolve, or a local time that a clock change skips or repeats`
          : 'it names no time';
        return fail(
          event.startAmbiguous ? 'calendar-ambiguous-time' : 'calendar-no-time',
          `Your calendar proposed a new end for embargo ${proposal.id}, but ${why}. Please propose the end as a UTC date instead: reply with a line such as "/embargo 2027-03-01T16:00:00Z".`,
          line,
        );
      }
      // EP; the pipeline reads it as EV while an embargo is in force (mapEmbargoCodes).
      return { ok: true, codes: ['EP'], payload: { calendar, embargoEnd: event.start }, line };
    }
    case 'REFRESH':
      return { ok: true, codes: ['GI'], payload: { calendar }, line: `METHOD:REFRESH UID:${proposal.uid}` };
  }
}

// ---------------------------------------------------------------------------------------
// The two channels of one mail: calendar answer and command lines

/**
 * The command channel of a mail, as src/mail/commands.ts `parseCommands` returns it (its
 * `ParseResult`, written out here so that src/calendar depends on the protocol types only).
 */
export type CommandChannel =
  | { ok: true; codes: MessageCode[]; payload: Payload; lines: string[] }
  | { ok: false; line: string; error: string };

/** EM codes that answer the same question the same way are one answer given twice. */
const ANSWER_CLASS: Partial<Record<MessageCode, string>> = {
  EA: 'accept',
  EC: 'accept',
  ER: 'reject',
  EJ: 'reject',
  EP: 'propose',
  EV: 'propose',
  ET: 'terminate',
};

/**
 * One flag set from a mail's calendar answer and its commands (DESIGN.md §3: one mail, one flag
 * set). The calendar codes come first; a command that repeats the calendar's answer adds nothing;
 * a command that contradicts it (ACCEPTED with `/embargo reject`, a COUNTER with another
 * `/embargo <end>`, answers about different proposals) voids the mail like a bad command line.
 * The implicit GI of a mail without commands is dropped: a calendar answer is not a discussion.
 */
export function mergeCalendarAnswer(
  calendar: CalendarInterpretation,
  commands: CommandChannel,
): CommandChannel {
  if (!calendar.ok) return { ok: false, line: calendar.line, error: calendar.error };
  if (!commands.ok) return commands;
  const explicit = commands.lines.length > 0 ? commands.codes : [];
  const conflict = (why: string): CommandChannel => ({
    ok: false,
    line: commands.lines.join(' | '),
    error: `Your calendar answered "${calendar.line}", and the command lines of the same mail say otherwise (${why}). Send one answer: the calendar answer alone, or commands alone.`,
  });

  const calendarClasses = new Set(calendar.codes.map((c) => ANSWER_CLASS[c]).filter((c) => c !== undefined));
  const kept: MessageCode[] = [];
  for (const code of explicit) {
    const cls = ANSWER_CLASS[code];
    if (cls === undefined) {
      kept.push(code);
      continue;
    }
    if (calendarClasses.has(cls)) continue;
    if (calendarClasses.size > 0) return conflict(`${code} against ${calendar.codes.join('+')}`);
    kept.push(code);
  }

  const payload: Payload = { ...commands.payload };
  for (const [key, value] of Object.entries(calendar.payload) as Array<[keyof Payload, unknown]>) {
    const mine = commands.payload[key];
    if (mine !== undefined && JSON.stringify(mine) !== JSON.stringify(value)) {
      return conflict(`${key} ${JSON.stringify(mine)} against ${JSON.stringify(value)}`);
    }
    (payload as Record<string, unknown>)[key] = value;
  }
  return {
    ok: true,
    codes: uniqueCodes([...calendar.codes, ...kept]),
    payload,
    lines: [calendar.line, ...commands.lines],
  };
}
