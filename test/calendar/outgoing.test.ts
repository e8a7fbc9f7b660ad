/**
 * Outgoing embargo events (DESIGN.md §4, PROTOCOL.md §6.3), read back with node-ical, the
 * project's reader. Invariants: one VEVENT, one ATTENDEE (the recipient), DTSTART = the embargo
 * end in UTC with no DTEND/DURATION, no RRULE/VALARM, no vulnerability details.
 */
import ical from 'node-ical';
import type { VEvent } from 'node-ical';
import { describe, expect, it } from 'vitest';
import { buildCalendar, defaultDescription, describeAction } from '../../src/calendar/outgoing.js';
import type { CalendarAction } from '../../src/protocol/index.js';

const organizer = { email: 'vultron@bot.example', name: 'Vultron CVD bot' };
const opts = { caseId: 'VM-2026-0001', organizer, now: '2026-05-04T10:20:30Z' };

function action(over: Partial<CalendarAction> = {}): CalendarAction {
  return {
    method: 'REQUEST',
    proposal: 'E1',
    uid: 'VM-2026-0001-embargo-1@bot.example',
    sequence: 0,
    status: 'TENTATIVE',
    end: '2027-03-01T23:59:59Z',
    attendee: 'psirt@vendor.example',
    partstat: 'NEEDS-ACTION',
    proposer: 'finder@example.org',
    code: 'EP',
    ...over,
  };
}

function parse(ics: string): { method: unknown; event: VEvent; events: VEvent[] } {
  const data = ical.sync.parseICS(ics);
  const events = Object.values(data).filter((c): c is VEvent => (c as { type?: string })?.type === 'VEVENT');
  const event = events[0];
  if (!event) throw new Error('no VEVENT');
  return { method: data.vcalendar?.method, event, events };
}

function unfolded(ics: string): string[] {
  return ics.replace(/\r\n[ \t]/g, '').split('\r\n');
}

describe('buildCalendar', () => {
  it('writes a proposal as REQUEST with exactly the values of the action', () => {
    const ics = buildCalendar(action(), opts);
    const { method, event, events } = parse(ics);

    expect(method).toBe('REQUEST');
    expect(events).toHaveLength(1);
    expect(event.uid).toBe('VM-2026-0001-embargo-1@bot.example');
    expect(event.sequence).toBe(0);
    expect(event.dtstamp.toISOString()).toBe('2026-05-04T10:20:30.000Z');
    expect(event.start.toISOString()).toBe('2027-03-01T23:59:59.000Z');
    expect(event.datetype).toBe('date-time');
    expect(event.summary).toBe('VM-2026-0001 embargo expiration');
    expect(event.categories).toEqual(['EMBARGO']);
    expect(event.status).toBe('TENTATIVE');
    expect(event.organizer).toEqual({ params: { CN: 'Vultron CVD bot' }, val: 'mailto:vultron@bot.example' });
    // ical-generator writes the ATTENDEE scheme in upper case; URI schemes are case-insensitive.
    expect(event.attendee).toEqual({
      params: { ROLE: 'OPT-PARTICIPANT', PARTSTAT: 'NEEDS-ACTION', RSVP: true },
      val: 'MAILTO:psirt@vendor.example',
    });
    expect(event['VULTRON-PROPOSER']).toBe('mailto:finder@example.org');
    expect(event['VULTRON-MSG']).toBe('EP');
    expect(event.description).toBe(defaultDescription(action(), 'VM-2026-0001'));
  });

  it('writes DTSTART in UTC and nothing that gives the event a length, a repeat or an alarm', () => {
    const ics = buildCalendar(action({ end: '2027-03-01T18:00:00+02:00' }), opts);
    const lines = unfolded(ics);
    expect(lines).toContain('DTSTART:20270301T160000Z');
    expect(lines).toContain('DTSTAMP:20260504T102030Z');
    for (const name of ['DTEND', 'DURATION', 'RRULE', 'RDATE', 'BEGIN:VALARM', 'TZID', 'VTIMEZONE']) {
      expect(ics).not.toContain(name);
    }
    expect(lines.filter((l) => l.startsWith('ATTENDEE'))).toHaveLength(1);
    expect(lines.filter((l) => l === 'BEGIN:VEVENT')).toHaveLength(1);
  });

  it('uses CRLF line ends and folds lines at 75 octets', () => {
    const ics = buildCalendar(action({ proposer: `${'a'.repeat(90)}@example.org` }), opts);
    expect(ics.endsWith('\r\n')).toBe(true);
    expect(ics.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    for (const line of ics.split('\r\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(75);
  });

  it.each([
    ['CANCEL', 'CANCELLED', 'DECLINED', 'ER', 2],
    ['DECLINECOUNTER', 'TENTATIVE', 'NEEDS-ACTION', 'ER', 0],
    ['REQUEST', 'CONFIRMED', 'ACCEPTED', 'EA', 0],
  ] as const)(
    'writes METHOD:%s with STATUS:%s and PARTSTAT=%s',
    (method, status, partstat, code, sequence) => {
      const ics = buildCalendar(action({ method, status, partstat, code, sequence }), opts);
      const { method: parsedMethod, event } = parse(ics);
      expect(parsedMethod).toBe(method);
      expect(unfolded(ics)).toContain(`METHOD:${method}`);
      expect(event.status).toBe(status);
      expect(event.sequence).toBe(sequence);
      expect(event['VULTRON-MSG']).toBe(code);
      expect(event.attendee).toMatchObject({ params: { PARTSTAT: partstat, RSVP: true } });
    },
  );

  it('describes the event by the case id, the proposer and how to answer', () => {
    const text = defaultDescription(action(), 'VM-2026-0001');
    expect(text).toBe(
      [
        'Case VM-2026-0001: Embargo E1 proposed, ending 2027-03-01 23:59:59 UTC.',
        'Proposed by finder@example.org.',
        'The time of this event is the moment the embargo ends.',
        'To answer, accept or decline this invitation in your calendar, or reply to the mail with ' +
          '"/embargo accept E1" or "/embargo reject E1" on a line of its own.',
      ].join('\n'),
    );
    expect(defaultDescription(action({ method: 'CANCEL', status: 'CANCELLED' }), 'VM-2026-0001')).toBe(
      'Case VM-2026-0001: Embargo E1 cancelled.\nProposed by finder@example.org.\nNothing to answer.',
    );
    expect(describeAction(action({ code: 'EV', proposal: 'E2', status: 'CONFIRMED' }))).toBe(
      'Embargo revision E2 in force until 2027-03-01 23:59:59 UTC',
    );
    expect(describeAction(action({ method: 'DECLINECOUNTER' }))).toBe(
      'Counter-proposal to embargo E1 declined',
    );
  });

  it('lets ical-generator escape a given description, which round-trips exactly', () => {
    const description = 'Terminated: published; see https://example.org/a,b\nLine two \\ end';
    const { event } = parse(
      buildCalendar(action({ method: 'CANCEL', status: 'CANCELLED' }), { ...opts, description }),
    );
    expect(event.description).toBe(description);
  });

  it('keeps a DQUOTE of the bot name out of the CN parameter (RFC 5545 forbids it there)', () => {
    const ics = buildCalendar(action(), { ...opts, organizer: { ...organizer, name: 'The "CVD" bot' } });
    expect(unfolded(ics)).toContain(`ORGANIZER;CN="The 'CVD' bot":mailto:vultron@bot.example`);
  });

  it('refuses an end or a clock that is not an instant with an offset', () => {
    expect(() => buildCalendar(action({ end: '2027-03-01T23:59:59' }), opts)).toThrow(/RFC 3339/);
    expect(() => buildCalendar(action({ end: 'soon' }), opts)).toThrow(/action\.end/);
    expect(() => buildCalendar(action(), { ...opts, now: '2026-13-01T00:00:00Z' })).toThrow(/now/);
  });
});
