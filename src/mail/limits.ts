/**
 * Every cap on inbound mail, in one place (DESIGN.md §1 "All limits live in one module").
 * The values come from config `limits` (defaults: DEFAULT_LIMITS in src/config/schema.ts).
 *
 * - before parsing: the raw size, then one walk over the MIME tree (src/mail/mime.ts) for
 *   the depth, the number of parts and the header bytes;
 * - after parsing: the largest attachment, the text length, each calendar part (lines,
 *   components) and the recipients (To and Cc).
 *
 * A mail over a cap is quarantined: `too-large` for the caps on size (message bytes,
 * attachment bytes, text length), `malformed` for the caps on structure; the detail names
 * the cap, the value and the limit. A cap is inclusive: a mail exactly at it passes.
 *
 * The calendar caps (lines, components) are the exception: a calendar part over them is
 * dropped, not interpreted, with the stable code `calendar-too-large`
 * (`checkCalendarParts`), and the rest of the mail is processed as usual.
 */
import type { AddressObject, ParsedMail } from 'mailparser';
import { DEFAULT_LIMITS } from '../config/schema.js';
import type { MimeScan, ScanBounds } from './mime.js';

export type Limits = { -readonly [K in keyof typeof DEFAULT_LIMITS]: number };
export type LimitName = keyof Limits;

export interface LimitIssue {
  reason: 'too-large' | 'malformed';
  cap: LimitName;
  value: number;
  limit: number;
  detail: string;
}

/** The caps a `too-large` quarantine release skips (an admin accepted the size). */
export const SIZE_CAPS: ReadonlySet<LimitName> = new Set<LimitName>([
  'maxMessageBytes',
  'maxAttachmentBytes',
  'maxTextChars',
]);

const WHAT: Readonly<Record<LimitName, string>> = {
  maxMessageBytes: 'message size (bytes)',
  maxMimeDepth: 'MIME nesting depth',
  maxHeaderBytes: 'header bytes, all parts',
  maxParts: 'MIME parts',
  maxAttachmentBytes: 'bytes of one attachment, decoded',
  maxTextChars: 'text length (characters)',
  maxIcsLines: 'calendar lines',
  maxIcsComponents: 'calendar components',
  maxRecipients: 'recipients (To and Cc)',
};

/** The configured limits, with the defaults for any not given. */
export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  const out = { ...DEFAULT_LIMITS } as Limits;
  for (const key of Object.keys(DEFAULT_LIMITS) as LimitName[]) {
    const v = partial[key];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) out[key] = v;
  }
  return out;
}

function over(cap: LimitName, value: number, limits: Limits, note = ''): LimitIssue | null {
  const limit = limits[cap];
  if (value <= limit) return null;
  return {
    reason: SIZE_CAPS.has(cap) ? 'too-large' : 'malformed',
    cap,
    value,
    limit,
    detail: `${WHAT[cap]}: ${value} > limits.${cap} ${limit}${note}`,
  };
}

/** How far the MIME walk needs to look: one past each cap it checks. */
export function scanBounds(limits: Limits): ScanBounds {
  return {
    maxNodes: limits.maxParts,
    maxDepth: limits.maxMimeDepth,
    maxTextBytes: Math.min(limits.maxTextChars * 4, limits.maxMessageBytes),
  };
}

/** Before anything else: the size of the raw message. */
export function checkSize(bytes: number, limits: Limits): LimitIssue | null {
  return over('maxMessageBytes', bytes, limits);
}

/** Before parsing: depth, parts and header bytes, from the MIME walk. */
export function checkStructure(scan: MimeScan, limits: Limits): LimitIssue | null {
  const stopped = scan.stopped ? ' (the walk stopped there)' : '';
  return (
    over('maxParts', scan.nodes, limits, scan.stopped === 'nodes' ? stopped : '') ??
    over('maxMimeDepth', scan.depth, limits, scan.stopped === 'depth' ? stopped : '') ??
    over('maxHeaderBytes', scan.headerBytes, limits)
  );
}

function addressCount(obj: AddressObject | AddressObject[] | undefined): number {
  const list = obj === undefined ? [] : Array.isArray(obj) ? obj : [obj];
  let n = 0;
  for (const a of list) for (const v of a.value) n += v.group ? v.group.length : 1;
  return n;
}

/** A calendar part: text/calendar, application/ics, or a `.ics` file. */
export function isCalendarPart(a: { contentType: string; filename?: string | undefined }): boolean {
  return /^(text\/calendar|application\/ics)$/i.test(a.contentType) || /\.ics$/i.test(a.filename ?? '');
}

/** The lines and components (BEGIN: lines) of an iCalendar text, counted without parsing it. */
export function icsCounts(content: Buffer): { lines: number; components: number } {
  let lines = content.length > 0 ? 1 : 0;
  let components = 0;
  let lineStart = 0;
  for (let i = 0; i < content.length; i += 1) {
    if (content[i] !== 0x0a) continue;
    if (i + 1 < content.length) lines += 1;
    if (
      content
        .subarray(lineStart, lineStart + 6)
        .toString('latin1')
        .toUpperCase() === 'BEGIN:'
    )
      components += 1;
    lineStart = i + 1;
  }
  if (
    content
      .subarray(lineStart, lineStart + 6)
      .toString('latin1')
      .toUpperCase() === 'BEGIN:'
  )
    components += 1;
  return { lines, components };
}

/** After parsing: attachments, text, recipients (calendar parts: `checkCalendarParts`). */
export function checkContent(
  parsed: ParsedMail,
  limits: Limits,
  opts: { skipSize?: boolean } = {},
): LimitIssue | null {
  const sized = (issue: LimitIssue | null) => (opts.skipSize ? null : issue);
  const largest = parsed.attachments.reduce((n, a) => Math.max(n, a.content.length), 0);
  const textChars = (parsed.text ?? '').length;
  return (
    sized(over('maxAttachmentBytes', largest, limits)) ??
    sized(over('maxTextChars', textChars, limits)) ??
    over('maxRecipients', addressCount(parsed.to) + addressCount(parsed.cc), limits)
  );
}

/** The stable code of a calendar part dropped for its size. */
export const CALENDAR_TOO_LARGE = 'calendar-too-large';

export interface CalendarLimitIssue {
  code: typeof CALENDAR_TOO_LARGE;
  cap: 'maxIcsLines' | 'maxIcsComponents';
  value: number;
  limit: number;
  /** `calendar-too-large: calendar lines: 31 > limits.maxIcsLines 30 (invite.ics)` */
  detail: string;
  /** The part, as in `parsed.attachments`. */
  attachment: ParsedMail['attachments'][number];
}

/** Each calendar part over the line or component cap: these are dropped, not interpreted. */
export function checkCalendarParts(parsed: ParsedMail, limits: Limits): CalendarLimitIssue[] {
  const out: CalendarLimitIssue[] = [];
  for (const a of parsed.attachments) {
    if (!isCalendarPart(a)) continue;
    const { lines, components } = icsCounts(a.content);
    const name = a.filename ? ` (${a.filename})` : '';
    const issue =
      over('maxIcsLines', lines, limits, name) ?? over('maxIcsComponents', components, limits, name);
    if (!issue) continue;
    out.push({
      code: CALENDAR_TOO_LARGE,
      cap: issue.cap as CalendarLimitIssue['cap'],
      value: issue.value,
      limit: issue.limit,
      detail: `${CALENDAR_TOO_LARGE}: ${issue.detail}`,
      attachment: a,
    });
  }
  return out;
}
