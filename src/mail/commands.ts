/**
 * The email command language (DESIGN.md §3, §2 "Precise rules"): slash-command lines in the
 * new text of a mail (see newtext.ts), and the `X-Vultron-Message-Types` /
 * `X-Vultron-Embargo-End` headers of machine clients, turned into one flag set of protocol
 * codes and its payload.
 *
 * Pure: no I/O and no clock (the mail's arrival instant is an argument, so a re-run after a
 * crash gives the same `+Nd` date).
 *
 * What is a command line (the precise rule): after optional leading whitespace, the line's
 * first whitespace-separated token matches `/` + a letter + letters or hyphens, optionally
 * followed by trailing punctuation (`.,;:!?`), and nothing else. So `/valid`, `/VALID`,
 * `/embargoo 2027-03-01`, `/tmp is world-writable` and `/valid.` are command lines (the last
 * three are errors: unknown command, unknown command, punctuation), while
 * `/usr/lib/libfoo.so is affected`, `/tmp/` and `/x86` (another `/`, a dot followed by text,
 * or a digit in the token) and `// comment` are plain text. A typo must never be read as text
 * (a mistyped `/embargo` would silently propose nothing), so a word that is not a known
 * command is an error rather than text; a path that starts a line only needs a second `/`.
 *
 * Which limits are checked here: the syntax of each line, that dates exist, that a time has
 * a UTC offset, and that the lines of one mail agree. Whether an end is in the past or outside
 * the policy limits, who may use a command, and which proposal `/embargo accept` answers when
 * none is named are decided by the protocol core, which knows the case and the clock.
 */
import type { Payload } from '../protocol/types.js';
import { EM_IN_FORCE, ROLES, isMessageCode, isRole, uniqueCodes } from '../protocol/vocabulary.js';
import type { EMState, MessageCode, Role } from '../protocol/vocabulary.js';

export interface ParseOptions {
  /** When the mail arrived (IMAP INTERNALDATE; for `ingest`, `--now`), RFC 3339. */
  arrivedAt: string;
  policy: { embargo: { defaultDays: number } };
  /** The machine-client headers, as found in the mail (absent: not sent). */
  headers?: { messageTypes?: string; embargoEnd?: string };
}

export type ParseResult =
  | {
      ok: true;
      /** The mail's flag set, each code once, in the order the lines gave them. */
      codes: MessageCode[];
      payload: Payload;
      /**
       * The lines that carried codes, trimmed, in order: the machine headers first (written as
       * `X-Vultron-Message-Types: …`), then the command lines.
       */
      lines: string[];
    }
  | {
      ok: false;
      /** The offending line, trimmed (a header is written as `Name: value`). */
      line: string;
      /** What is wrong with it, for the error reply (which adds COMMAND_HELP). */
      error: string;
    };

export const MESSAGE_TYPES_HEADER = 'X-Vultron-Message-Types';
export const EMBARGO_END_HEADER = 'X-Vultron-Embargo-End';

/** The command list shown in error replies and in the answer to `/help`. */
export const COMMAND_HELP = `Commands go on lines of their own in the text you write (not in quoted text or your
signature); case does not matter. All commands of one mail count together; if one line is
wrong, nothing of the mail is applied and you get an error that quotes the line.

Report
  /valid                       the report is valid (RV)
  /invalid                     the report is not valid (RI)
  /accept                      you will work on the report (RA)
  /defer                       you will not work on it now (RD)
  /close [adhere|no-adhere]    you close the report; while an embargo is in force, say
                               whether you keep to it (RC)
Embargo
  /embargo <end>               propose an embargo ending at <end> (EP; a revision, EV, while
                               an embargo is in force)
  /embargo                     the same with the default length
  /embargo accept [E2]         accept the pending proposal, or the one named (EA)
  /embargo reject [E2]         reject it (ER)
  /embargo terminate [reason]  end the embargo for everyone (ET)
  <end> is a date, 2027-03-01 (the end of that day, 23:59:59 UTC); a time with a UTC
  offset, 2027-03-01T16:00:00Z or 2027-03-01T16:00:00+02:00; or a number of days, +30d
  (the end of the 30th day, UTC, after your mail arrived).
Case
  /aware                       you (a vendor) know of the report (CV)
  /fix-ready [vendor-email]    a fix is ready (CF); coordinators name the vendor
  /deployed [email]            the fix is deployed (CD); coordinators name the participant
  /public <url or note>        the vulnerability is public (CP)
  /exploit-public <url>        an exploit is public (CX)
  /attacks <note>              attacks were observed (CA)
Participants
  /invite <email> <role>       coordinators: add a participant; role is finder, reporter,
                               vendor, deployer, coordinator or other
  /remove <email>              coordinators: remove a participant
  /leave [adhere|no-adhere]    stop taking part; say whether you keep to the embargo
Other
  /status                      reply with the state of the case
  /help                        reply with this list
Text without commands is relayed to the other participants.`;

/** The command words, in the order of COMMAND_HELP. */
const COMMAND_NAMES = [
  'valid',
  'invalid',
  'accept',
  'defer',
  'close',
  'embargo',
  'aware',
  'fix-ready',
  'deployed',
  'public',
  'exploit-public',
  'attacks',
  'invite',
  'remove',
  'leave',
  'status',
  'help',
] as const;
type CommandName = (typeof COMMAND_NAMES)[number];

/** First token of a command line: the word, then optional trailing punctuation. */
const COMMAND_TOKEN = /^\/([a-z][a-z-]*)([.,;:!?]*)$/i;

/** Codes that cannot stand in one flag set, each pair with the reason. */
const CONTRADICTIONS: readonly [MessageCode, MessageCode, string][] = [
  ['RI', 'RV', 'a report cannot be invalid and valid at once'],
  ['RD', 'RA', 'a report cannot be deferred and accepted at once'],
  ['EA', 'ER', 'one mail cannot accept and reject an embargo proposal'],
  ['ET', 'EP', 'terminating the embargo and proposing one belong in separate mails'],
  ['ET', 'EV', 'terminating the embargo and proposing one belong in separate mails'],
  ['ET', 'EA', 'terminating the embargo and answering a proposal belong in separate mails'],
  ['ET', 'ER', 'terminating the embargo and answering a proposal belong in separate mails'],
];

const DAY_MS = 86_400_000;
const MAX_RELATIVE_DAYS = 9999;

type Outcome = string | null;

/** The flag set and payload being built from the lines of one mail. */
class FlagSet {
  readonly codes: MessageCode[] = [];
  readonly payload: Payload = {};
  readonly lines: string[] = [];
  private readonly codeLine = new Map<MessageCode, string>();
  private readonly fieldLine = new Map<keyof Payload, string>();
  private readonly reasons: string[] = [];

  constructor(private readonly line: () => string) {}

  code(code: MessageCode): Outcome {
    for (const [a, b, why] of CONTRADICTIONS) {
      const other = code === a ? b : code === b ? a : null;
      const earlier = other === null ? undefined : this.codeLine.get(other);
      if (earlier === this.line()) return `${other as string} and ${code} cannot go together: ${why}.`;
      if (earlier !== undefined) return `It contradicts "${earlier}" earlier in this mail: ${why}.`;
    }
    if (!this.codeLine.has(code)) this.codeLine.set(code, this.line());
    this.codes.push(code);
    return null;
  }

  /** Sets a single-valued payload field; a different value from an earlier line is an error. */
  field<K extends 'embargoEnd' | 'proposal' | 'vendor' | 'adherence' | 'invite' | 'remove'>(
    key: K,
    value: NonNullable<Payload[K]>,
    what: string,
  ): Outcome {
    const before = this.payload[key];
    if (before !== undefined && JSON.stringify(before) !== JSON.stringify(value)) {
      return `It conflicts with "${this.fieldLine.get(key) ?? ''}" earlier in this mail: ${what}.`;
    }
    if (before === undefined) {
      this.payload[key] = value;
      this.fieldLine.set(key, this.line());
    }
    return null;
  }

  flag(key: 'leave' | 'status' | 'help'): Outcome {
    this.payload[key] = true;
    return null;
  }

  /** ET/CP/CX/CA share one `reason`: the texts of several lines are kept, one per line. */
  reason(text: string): Outcome {
    if (text !== '' && !this.reasons.includes(text)) {
      this.reasons.push(text);
      this.payload.reason = this.reasons.join('\n');
    }
    return null;
  }
}

export function parseCommands(newText: string, opts: ParseOptions): ParseResult {
  const arrivalDay = utcDayStart(opts.arrivedAt);
  let current = '';
  const set = new FlagSet(() => current);
  const fail = (error: string): ParseResult => ({ ok: false, line: current, error });

  // The header channel (machine clients) comes first, as the headers come first in the mail.
  const types = opts.headers?.messageTypes;
  const endHeader = opts.headers?.embargoEnd;
  const typesLine = types === undefined ? null : `${MESSAGE_TYPES_HEADER}: ${types.trim()}`.trimEnd();
  const endLine = endHeader === undefined ? null : `${EMBARGO_END_HEADER}: ${endHeader.trim()}`.trimEnd();
  if (typesLine !== null && types !== undefined) {
    current = typesLine;
    const names = types.split(/[\s,]+/).filter((t) => t !== '');
    if (names.length === 0) return fail(`${MESSAGE_TYPES_HEADER} is empty: name at least one message type.`);
    for (const name of names) {
      const code = name.toUpperCase();
      if (!isMessageCode(code)) {
        return fail(`"${name}" in ${MESSAGE_TYPES_HEADER} is not a Vultron message type.`);
      }
      const error = set.code(code);
      if (error !== null) return fail(error);
    }
    set.lines.push(typesLine);
  }
  if (endLine !== null && endHeader !== undefined) {
    current = endLine;
    const end = resolveEnd(endHeader.trim(), arrivalDay);
    if (!end.ok) return fail(end.error);
    const error = set.field('embargoEnd', end.end, 'one mail can propose only one embargo end');
    if (error !== null) return fail(error);
    set.lines.push(endLine);
  }

  const text: string[] = [];
  for (const raw of newText.replace(/\r\n?/g, '\n').split('\n')) {
    const line = raw.trim();
    const [token = '', ...rest] = line.split(/\s+/);
    const match = COMMAND_TOKEN.exec(token);
    if (!match) {
      text.push(raw);
      continue;
    }
    current = line;
    const word = (match[1] as string).toLowerCase();
    const punctuation = match[2] as string;
    if (!isCommandName(word)) return fail(unknownCommand(word));
    if (punctuation !== '') {
      return fail(
        `"${token}" has "${punctuation}" after the command word: write "/${word}" without punctuation.`,
      );
    }
    const error = apply(set, word, rest.join(' '), arrivalDay, opts.policy.embargo.defaultDays);
    if (error !== null) return fail(error);
    set.lines.push(line);
  }

  const hasEnd = set.payload.embargoEnd !== undefined;
  const proposes = set.codes.includes('EP') || set.codes.includes('EV');
  if (typesLine !== null && proposes && !hasEnd) {
    current = typesLine;
    return fail(
      `${MESSAGE_TYPES_HEADER} names ${set.codes.includes('EP') ? 'EP' : 'EV'} but no end: add ${EMBARGO_END_HEADER} (or an "/embargo <end>" line).`,
    );
  }
  if (endLine !== null && !proposes) {
    current = endLine;
    return fail(
      `${EMBARGO_END_HEADER} is given but nothing is proposed: add EP (or EV) to ${MESSAGE_TYPES_HEADER}.`,
    );
  }

  const codes = uniqueCodes(set.codes);
  const note = text
    .join('\n')
    .replace(/\n(?:[^\S\n]*\n)+/g, '\n\n')
    .trim();
  const payload: Payload = { ...set.payload };
  if (note !== '') payload.text = note;
  return { ok: true, codes: codes.length > 0 ? codes : ['GI'], payload, lines: set.lines };
}

/** EP becomes EV while an embargo is in force (ACTIVE, REVISE); everything else is kept. */
export function mapEmbargoCodes(codes: readonly MessageCode[], em: EMState): MessageCode[] {
  const inForce = EM_IN_FORCE.includes(em);
  return uniqueCodes(codes.map((c): MessageCode => (c === 'EP' && inForce ? 'EV' : c)));
}

function isCommandName(word: string): word is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(word);
}

/** One command line (its word known, its arguments in `args`) into the flag set. */
function apply(
  set: FlagSet,
  word: CommandName,
  args: string,
  arrivalDay: number,
  defaultDays: number,
): Outcome {
  switch (word) {
    case 'valid':
      return noArgs(word, args) ?? set.code('RV');
    case 'invalid':
      return noArgs(word, args) ?? set.code('RI');
    case 'accept':
      return noArgs(word, args, ' To accept an embargo proposal, write "/embargo accept".') ?? set.code('RA');
    case 'defer':
      return noArgs(word, args) ?? set.code('RD');
    case 'close':
      return adherence(set, word, args) ?? set.code('RC');
    case 'embargo':
      return embargo(set, args, arrivalDay, defaultDays);
    case 'aware':
      return optionalEmail(set, word, args) ?? set.code('CV');
    case 'fix-ready':
      return optionalEmail(set, word, args) ?? set.code('CF');
    case 'deployed':
      return optionalEmail(set, word, args) ?? set.code('CD');
    case 'public':
      return (
        required(word, args, 'a URL or a note', 'https://example.com/advisory') ??
        set.reason(args) ??
        set.code('CP')
      );
    case 'exploit-public':
      return (
        required(word, args, 'a URL', 'https://example.com/exploit') ?? set.reason(args) ?? set.code('CX')
      );
    case 'attacks':
      return (
        required(word, args, 'a note', 'seen in the wild by our SOC') ?? set.reason(args) ?? set.code('CA')
      );
    case 'invite':
      return invite(set, args) ?? set.code('GI');
    case 'remove': {
      const emails = emailArgs(args);
      if (emails.length !== 1) return `/remove needs one email address, e.g. "/remove alice@vendor.example".`;
      const email = parseEmail(emails[0] as string);
      if (email === null) return notAnEmail(emails[0] as string);
      return (
        set.field('remove', email, 'one mail can remove only one participant; send one mail per removal') ??
        set.code('GI')
      );
    }
    case 'leave':
      return adherence(set, word, args) ?? set.flag('leave') ?? set.code('GI');
    case 'status':
      return noArgs(word, args) ?? set.flag('status') ?? set.code('GI');
    case 'help':
      return noArgs(word, args) ?? set.flag('help') ?? set.code('GI');
  }
}

function noArgs(word: string, args: string, hint = ''): Outcome {
  if (args === '') return null;
  return `/${word} takes nothing after it, but the line goes on with "${args}": put other text on a line of its own.${hint}`;
}

function required(word: string, args: string, what: string, example: string): Outcome {
  return args === '' ? `/${word} needs ${what}, e.g. "/${word} ${example}".` : null;
}

function adherence(set: FlagSet, word: 'close' | 'leave', args: string): Outcome {
  if (args === '') return null;
  const value = args.toLowerCase();
  if (value !== 'adhere' && value !== 'no-adhere') {
    return `/${word} takes "adhere", "no-adhere" or nothing after it, not "${args}".`;
  }
  return set.field('adherence', value, 'one mail can state only one embargo adherence');
}

function optionalEmail(set: FlagSet, word: string, args: string): Outcome {
  if (args === '') return null;
  const emails = emailArgs(args);
  if (emails.length !== 1) {
    return `/${word} takes at most one email address after it, e.g. "/${word} alice@vendor.example".`;
  }
  const email = parseEmail(emails[0] as string);
  if (email === null) return notAnEmail(emails[0] as string);
  return set.field('vendor', email, 'one mail can name only one vendor or deployer');
}

function invite(set: FlagSet, args: string): Outcome {
  const parts = emailArgs(args);
  const usage = `/invite needs an email address and a role, e.g. "/invite alice@vendor.example vendor".`;
  if (parts.length !== 2) return usage;
  const email = parseEmail(parts[0] as string);
  if (email === null) return parseEmail(parts[1] as string) === null ? notAnEmail(parts[0] as string) : usage;
  const role = (parts[1] as string).toLowerCase();
  if (!isRole(role)) return `"${parts[1] as string}" is not a role: use ${listOr(ROLES)}.`;
  const value: { email: string; role: Role } = { email, role };
  return set.field('invite', value, 'one mail can invite only one participant; send one mail per invitation');
}

function embargo(set: FlagSet, args: string, arrivalDay: number, defaultDays: number): Outcome {
  const [sub = '', ...rest] = args === '' ? [] : args.split(/\s+/);
  switch (sub.toLowerCase()) {
    case 'accept':
    case 'reject': {
      const code = sub.toLowerCase() === 'accept' ? 'EA' : 'ER';
      if (rest.length > 1) return `/embargo ${sub.toLowerCase()} takes at most one proposal id, e.g. "E2".`;
      if (rest.length === 1) {
        const id = parseProposalId(rest[0] as string);
        if (id === null) {
          return `"${rest[0] as string}" is not an embargo proposal id: use the id from the proposal, e.g. "E2".`;
        }
        const error = set.field('proposal', id, 'one mail can answer only one embargo proposal');
        if (error !== null) return error;
      }
      return set.code(code);
    }
    case 'terminate':
      return set.reason(rest.join(' ')) ?? set.code('ET');
    default: {
      const end =
        args === ''
          ? { ok: true as const, end: endOfDay(arrivalDay, defaultDays) }
          : resolveEnd(args, arrivalDay);
      if (!end.ok) return end.error;
      return set.field('embargoEnd', end.end, 'one mail can propose only one embargo end') ?? set.code('EP');
    }
  }
}

/** `E2`, `e2` or `2` → `E2`. */
function parseProposalId(token: string): string | null {
  const m = /^e?([1-9]\d{0,8})$/i.exec(token);
  return m ? `E${m[1] as string}` : null;
}

// ---------------------------------------------------------------------------------------
// Embargo ends

export type EndResult = { ok: true; end: string } | { ok: false; error: string };

/**
 * An embargo end written in any of the `/embargo` forms (also for `X-Vultron-Embargo-End`,
 * and for the CLI's `case propose --end`), relative forms counted from `arrivedAt`.
 */
export function resolveEmbargoEnd(spec: string, arrivedAt: string): EndResult {
  return resolveEnd(spec, utcDayStart(arrivedAt));
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
/** RFC 3339 date-time; the seconds may be left out, and the offset is checked separately. */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:([Zz])|([+-])(\d{2}):(\d{2}))?$/;
const RELATIVE = /^\+(\d+)([a-z]*)$/i;

/**
 * An embargo end in one of the forms of DESIGN.md §2 "/embargo forms", as RFC 3339 UTC
 * without fractional seconds (they are cut off, not rounded).
 */
function resolveEnd(spec: string, arrivalDay: number): EndResult {
  const s = spec.trim();
  const forms =
    'write a date (2027-03-01, meaning 23:59:59 UTC that day), a time with a UTC offset (2027-03-01T16:00:00Z or 2027-03-01T16:00:00+02:00) or a number of days (+30d)';

  const rel = RELATIVE.exec(s);
  if (rel) {
    const unit = (rel[2] as string).toLowerCase();
    if (unit !== 'd') {
      return { ok: false, error: `"${s}": only a number of days is accepted, e.g. "+30d".` };
    }
    const days = Number(rel[1]);
    if (days < 1 || days > MAX_RELATIVE_DAYS) {
      return { ok: false, error: `"${s}": the number of days must be from 1 to ${MAX_RELATIVE_DAYS}.` };
    }
    return { ok: true, end: endOfDay(arrivalDay, days) };
  }

  const date = DATE_ONLY.exec(s);
  if (date) {
    const day = calendarDay(Number(date[1]), Number(date[2]), Number(date[3]));
    if (day === null) return { ok: false, error: `"${s}" is not a date in the calendar.` };
    return { ok: true, end: endOfDay(day, 0) };
  }

  const dt = DATE_TIME.exec(s);
  if (dt) {
    const [, y, mo, d, h, mi, sec = '00', z, sign, oh, om] = dt as unknown as (string | undefined)[];
    const day = calendarDay(Number(y), Number(mo), Number(d));
    const datePart = s.slice(0, 10);
    if (day === null) return { ok: false, error: `"${s}": ${datePart} is not a date in the calendar.` };
    if (z === undefined && sign === undefined) {
      const example = `${datePart}T${h as string}:${mi as string}:${sec}Z`;
      return {
        ok: false,
        error: `"${s}" has no UTC offset: add "Z" for UTC or an offset such as "+02:00", e.g. "${example}".`,
      };
    }
    if (Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) {
      return { ok: false, error: `"${s}" is not a valid time of day.` };
    }
    let offsetMin = 0;
    if (sign !== undefined) {
      if (Number(oh) > 23 || Number(om) > 59) {
        return {
          ok: false,
          error: `"${s}" has an invalid UTC offset "${sign}${oh as string}:${om as string}".`,
        };
      }
      offsetMin = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
    }
    const instant = day + ((Number(h) * 60 + Number(mi) - offsetMin) * 60 + Number(sec)) * 1000;
    return { ok: true, end: isoSeconds(instant) };
  }

  if (/^\d{4}-\d{2}-\d{2}[Tt ]\d/.test(s)) {
    return { ok: false, error: `"${s}" is not an RFC 3339 time: ${forms}.` };
  }
  return { ok: false, error: `"${s}" is not an embargo end: ${forms}.` };
}

/** Midnight UTC of the day `arrivedAt` falls on, in ms since the epoch. */
function utcDayStart(arrivedAt: string): number {
  const t = Date.parse(arrivedAt);
  if (Number.isNaN(t)) throw new RangeError(`arrivedAt is not an RFC 3339 instant: ${arrivedAt}`);
  return t - (((t % DAY_MS) + DAY_MS) % DAY_MS);
}

/** 23:59:59Z of the UTC day `days` days after the day starting at `dayStart`. */
function endOfDay(dayStart: number, days: number): string {
  return isoSeconds(dayStart + days * DAY_MS + DAY_MS - 1000);
}

/** Midnight UTC of a calendar date, or null when the date does not exist (2027-02-30). */
function calendarDay(year: number, month: number, day: number): number | null {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  return d.getTime();
}

function isoSeconds(msSinceEpoch: number): string {
  return new Date(msSinceEpoch).toISOString().slice(0, 19) + 'Z';
}

// ---------------------------------------------------------------------------------------
// Emails and names

/**
 * The arguments of a command that takes addresses, with the link annotations that plain text
 * made from HTML adds after an address removed: Outlook's `bob@x.example<mailto:bob@x.example>`
 * and `[mailto:bob@x.example]`, mailparser's (html-to-text) `bob@x.example [bob@x.example]`.
 */
function emailArgs(args: string): string[] {
  return args
    .replace(/\s*<mailto:[^>\s]*>/gi, '')
    .replace(/\s*\[(?:mailto:)?[^\]\s@]+@[^\]\s]+\]/gi, '')
    .split(/\s+/)
    .filter((t) => t !== '');
}

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:".]+(?:\.[^\s@<>()[\]\\,;:".]+)+$/;

/** An address as written (`bob@x.example`, `<bob@x.example>`, `mailto:bob@x.example`), lower-cased. */
function parseEmail(token: string): string | null {
  let t = token;
  if (t.startsWith('<') && t.endsWith('>')) t = t.slice(1, -1);
  t = t.replace(/^mailto:/i, '');
  return EMAIL.test(t) ? t.toLowerCase() : null;
}

function notAnEmail(token: string): string {
  return `"${token}" is not an email address.`;
}

function listOr(values: readonly string[]): string {
  return `${values.slice(0, -1).join(', ')} or ${values.at(-1) ?? ''}`;
}

function unknownCommand(word: string): string {
  const suggestion = closestCommand(word);
  const hint =
    suggestion === null
      ? ' A line that starts with "/" and a word is read as a command; to start a line with a path, write it with a second "/" (e.g. "/tmp/").'
      : ` Did you mean "/${suggestion}"?`;
  return `Unknown command "/${word}".${hint}`;
}

/** A known command the word is probably a typo of: prefix either way, or at most 2 edits. */
function closestCommand(word: string): CommandName | null {
  const prefix = COMMAND_NAMES.find(
    (name) => word.startsWith(name) || (word.length >= 3 && name.startsWith(word)),
  );
  if (prefix !== undefined) return prefix;
  let best: CommandName | null = null;
  let bestDistance = 3;
  for (const name of COMMAND_NAMES) {
    const d = editDistance(word, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost));
    }
    prev = row;
  }
  return prev[b.length] as number;
}
