/**
 * Outgoing embargo events (iMIP, RFC 6047 / iTIP, RFC 5546) built from a CalendarAction that
 * the protocol core returned as data (DESIGN.md §4, PROTOCOL.md §6.3).
 *
 * One VCALENDAR, one VEVENT, one ATTENDEE: each calendar object is addressed to one recipient
 * and reveals no other participant (DESIGN.md §2 "Confidentiality"). The bot is always the
 * ORGANIZER; the human proposer is recorded in X-VULTRON-PROPOSER and in DESCRIPTION.
 *
 * DTSTART is the embargo END instant, in UTC, with neither DTEND nor DURATION: a zero-length
 * event (RFC 5545 §3.6.1: a DATE-TIME DTSTART alone ends at its start). No RRULE and no VALARM:
 * they mean nothing for an embargo (PROTOCOL.md §6.5).
 *
 * Vulnerability details MUST NOT appear in the calendar data (PROTOCOL.md §6.1): this module is
 * never given the case title or the report, only the case id and the action.
 */
import ical, {
  ICalAttendeeRole,
  ICalAttendeeStatus,
  ICalCalendarMethod,
  ICalEventStatus,
} from 'ical-generator';
import type { CalendarAction } from '../protocol/index.js';

export interface CalendarOptions {
  caseId: string;
  /** The bot (always the ORGANIZER). */
  organizer: { email: string; name: string };
  /** DTSTAMP, RFC 3339. */
  now: string;
  /**
   * Replaces the default DESCRIPTION. It goes to the recipient's calendar verbatim, so it must
   * carry no vulnerability details (PROTOCOL.md §6.1).
   */
  description?: string;
}

const METHOD: Readonly<Record<CalendarAction['method'], ICalCalendarMethod>> = {
  REQUEST: ICalCalendarMethod.REQUEST,
  CANCEL: ICalCalendarMethod.CANCEL,
  DECLINECOUNTER: ICalCalendarMethod.DECLINECOUNTER,
};

const STATUS: Readonly<Record<CalendarAction['status'], ICalEventStatus>> = {
  TENTATIVE: ICalEventStatus.TENTATIVE,
  CONFIRMED: ICalEventStatus.CONFIRMED,
  CANCELLED: ICalEventStatus.CANCELLED,
};

const PARTSTAT: Readonly<Record<CalendarAction['partstat'], ICalAttendeeStatus>> = {
  'NEEDS-ACTION': ICalAttendeeStatus.NEEDSACTION,
  ACCEPTED: ICalAttendeeStatus.ACCEPTED,
  DECLINED: ICalAttendeeStatus.DECLINED,
};

/** An RFC 3339 instant with a zone designator (Z or ±hh:mm); a floating time is refused. */
const RFC3339_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function instant(value: string, what: string): Date {
  const date = new Date(value);
  if (!RFC3339_INSTANT.test(value) || Number.isNaN(date.getTime())) {
    throw new Error(
      `buildCalendar: ${what} is not an RFC 3339 instant with an offset: ${JSON.stringify(value)}`,
    );
  }
  return date;
}

/**
 * One line saying what the event is (`Embargo E1 proposed, ending 2027-03-01 23:59:59 UTC`),
 * shared by DESCRIPTION and the subject of the mail that carries it, so the two never disagree.
 */
export function describeAction(action: CalendarAction): string {
  const what = action.code === 'EV' ? 'Embargo revision' : 'Embargo';
  switch (action.method) {
    case 'CANCEL':
      return `${what} ${action.proposal} cancelled`;
    case 'DECLINECOUNTER':
      return `Counter-proposal to embargo ${action.proposal} declined`;
    case 'REQUEST':
      return action.status === 'CONFIRMED'
        ? `${what} ${action.proposal} in force until ${utcText(action.end)}`
        : `${what} ${action.proposal} proposed, ending ${utcText(action.end)}`;
  }
}

/** `2027-03-01 23:59:59 UTC`: how instants are shown to people in mail and calendar text. */
export function utcText(value: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The default DESCRIPTION: the case id, the proposer, and how to answer; nothing else. */
export function defaultDescription(action: CalendarAction, caseId: string): string {
  const lines = [`Case ${caseId}: ${describeAction(action)}.`, `Proposed by ${action.proposer}.`];
  if (action.method === 'REQUEST') lines.push('The time of this event is the moment the embargo ends.');
  if (action.method === 'REQUEST' && action.partstat === 'NEEDS-ACTION') {
    lines.push(
      'To answer, accept or decline this invitation in your calendar, or reply to the mail with ' +
        `"/embargo accept ${action.proposal}" or "/embargo reject ${action.proposal}" on a line of its own.`,
    );
  } else {
    lines.push('Nothing to answer.');
  }
  return lines.join('\n');
}

/**
 * ical-generator writes a CN parameter as a quoted string and escapes an inner DQUOTE with a
 * backslash, which RFC 5545 §3.1 does not allow (DQUOTE may not appear in a param value at all).
 */
function paramSafe(text: string): string {
  return text.replace(/["\p{Cc}]/gu, (c) => (c === '"' ? "'" : ' ')).trim();
}

/** The iCalendar text (CRLF line ends, folded and escaped by ical-generator) for one action. */
export function buildCalendar(action: CalendarAction, opts: CalendarOptions): string {
  const end = instant(action.end, 'action.end');
  const stamp = instant(opts.now, 'now');
  const calendar = ical({
    prodId: { company: 'vultron-mail', product: 'vultron-mail', language: 'EN' },
    method: METHOD[action.method],
  });
  calendar.createEvent({
    id: action.uid,
    sequence: action.sequence,
    stamp,
    // A Date (not a string) so ical-generator writes UTC with a trailing Z, never a floating time.
    start: end,
    summary: `${opts.caseId} embargo expiration`,
    categories: [{ name: 'EMBARGO' }],
    status: STATUS[action.status],
    organizer: { name: paramSafe(opts.organizer.name), email: opts.organizer.email },
    attendees: [
      { email: action.attendee, role: ICalAttendeeRole.OPT, status: PARTSTAT[action.partstat], rsvp: true },
    ],
    description: opts.description ?? defaultDescription(action, opts.caseId),
    x: [
      ['X-VULTRON-PROPOSER', `mailto:${action.proposer}`],
      ['X-VULTRON-MSG', action.code],
    ],
  });
  // RFC 5545 §3.1: every content line ends with CRLF, the last one too (ical-generator omits it).
  const text = calendar.toString();
  return text.endsWith('\r\n') ? text : `${text}\r\n`;
}
