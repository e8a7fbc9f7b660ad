/**
 * Inbound calendar objects (src/calendar/incoming.ts, ics.ts, zones.ts).
 *
 * 1. Every file of fixtures/imip/ read exactly as ../shared/fixtures/SOURCES.md says it must be
 *    read (UID, METHOD, SEQUENCE, attendees and PARTSTATs, the start instant or "ambiguous").
 * 2. Time zones: what node-ical 0.26 gets wrong (imip/04, 07, 19, 26) and how our layer reads it;
 *    gaps, overlaps, floating and all-day times are never guessed.
 * 3. Interpretation of answers to OUR events in the shapes of real clients. The client files are
 *    rewritten to our UID and attendee in a copy built here (the fixtures stay byte-exact); the
 *    Outlook REPLY is DERIVED from the shape SOURCES.md describes (no public sample exists).
 * 4. The calendar answer merged with the command lines of the same mail.
 */
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import ical from 'node-ical';
import { describe, expect, it } from 'vitest';
import type { CalendarPart, ItipEvent } from '../../src/calendar/incoming.js';
import {
  caseUidFromCalendar,
  findCalendarParts,
  interpretCalendar,
  mergeCalendarAnswer,
  parseItip,
} from '../../src/calendar/incoming.js';
import { readIcs } from '../../src/calendar/ics.js';
import { knownZone, resolveInVtimezone } from '../../src/calendar/zones.js';
import { parseCommands } from '../../src/mail/commands.js';
import { DEFAULT_POLICY, decide, newCase } from '../../src/protocol/index.js';
import type { CaseSnapshot, Input, MessageCode, Payload } from '../../src/protocol/index.js';

const DIR = 'fixtures/imip/';
const fixture = (name: string) => readFileSync(`${DIR}${name}`);

/** The calendar parts of a fixture: an .eml through mailparser, an .ics as one part. */
async function partsOf(name: string, raw: Buffer = fixture(name)): Promise<CalendarPart[]> {
  if (name.endsWith('.eml')) return findCalendarParts(await simpleParser(raw));
  return [{ contentType: 'text/calendar', method: null, filename: name, text: raw.toString('utf8') }];
}

// ---------------------------------------------------------------------------------------
// 1. Every fixture, as SOURCES.md reads it

interface Expected {
  /** Calendar parts after de-duplication. */
  parts: number;
  method: string | null;
  uid: string;
  sequence: number;
  organizer: string | null;
  attendees: Array<[string, string | null]>;
  /** RFC 3339 UTC, 'ambiguous', or null (no DTSTART). */
  start: string | null;
  extra?: Partial<ItipEvent>;
}

const OUTLOOK_UID_01 =
  '030000008200E00074C5B7101A82E0080000000060B608D090DDD7010000000000000000100000004BE0CFFA54BCF64E956E34143362C3C0';

/** SOURCES.md "imip/ (31 files)", column "correct interpretation", one row per file. */
const EXPECTED: Record<string, Expected> = {
  '01-exchange2010-request-base64-windows-tz.eml': {
    parts: 1,
    method: 'REQUEST',
    uid: OUTLOOK_UID_01,
    sequence: 0,
    organizer: 'marge@example.org',
    attendees: [['homer@example.org', 'NEEDS-ACTION']],
    start: '2021-11-27T07:00:00Z',
  },
  '02-google-request-qp-meet.eml': {
    // The inline text/calendar and the application/ics copy are the same object: one part.
    parts: 1,
    method: 'REQUEST',
    uid: '65m17hsdolmotv3kvmrtg40ont@google.com',
    sequence: 0,
    organizer: 'example@gmail.com',
    attendees: [
      ['example@gmail.com', 'ACCEPTED'],
      ['homer@example.com', 'NEEDS-ACTION'],
    ],
    start: '2021-03-22T09:30:00Z',
  },
  '03-teams-request-base64.eml': {
    parts: 1,
    method: 'REQUEST',
    uid: '056000008200E00074C5B7101A82E008000000001AF84C64CBC8D601000000000000000010000000403B5AC10A0EB444A947D2B499A4B98C',
    sequence: 0,
    organizer: 'marge@example.com',
    attendees: [
      ['bart@example.com', 'NEEDS-ACTION'],
      ['homer@example.com', 'NEEDS-ACTION'],
    ],
    start: '2020-12-02T17:00:00Z',
  },
  '04-cancel-recurring-missing-dtstart.eml': {
    parts: 1,
    method: 'CANCEL',
    uid: '02e79b96',
    sequence: 1,
    organizer: 'sender@example.com',
    attendees: [
      ['sender@example.com', 'ACCEPTED'],
      ['receiver@example.com', 'NEEDS-ACTION'],
      ['other@example.com', 'NEEDS-ACTION'],
    ],
    start: null,
    extra: { recurrenceId: null, status: 'CANCELLED' },
  },
  '05-request-recurrence-id-exception.eml': {
    parts: 1,
    method: 'REQUEST',
    uid: '02e79b96',
    sequence: 2,
    organizer: 'sender@example.com',
    attendees: [
      ['sender@example.com', 'ACCEPTED'],
      ['receiver@example.com', 'NEEDS-ACTION'],
      ['other@example.com', 'NEEDS-ACTION'],
    ],
    start: '2022-03-17T05:00:00Z',
    extra: { recurrenceId: '2022-03-17T11:00:00Z' },
  },
  '06-publish-mixedcase-content-type.eml': {
    parts: 1,
    method: 'PUBLISH',
    uid: '20160824T204000Z-568860280@example.com',
    sequence: 0,
    organizer: 'someone@example.com',
    attendees: [],
    start: '2016-09-01T06:25:00Z',
  },
  '07-exchange-cdo-request-gmt-tzid.eml': {
    parts: 1,
    method: 'REQUEST',
    uid: '040000008200E00074C5B7101A82E00800000000F04200929A03CD01000000000000000010000000A9E90330A8A0F547903AAFDBDD6A0D26',
    sequence: 0,
    organizer: 'name@example.com',
    attendees: [['name@example.net', 'NEEDS-ACTION']],
    start: '2012-03-16T17:00:00Z',
  },
  '08-apple-mail-request-qp-encoded-crlf.eml': {
    parts: 1,
    method: 'REQUEST',
    uid: '48560E48-9DE3-41F1-8F03-7607C67F7A8F',
    sequence: 3,
    organizer: 'pwulf@tine20.org',
    attendees: [
      ['pwulf@tine20.org', 'ACCEPTED'],
      ['unittest@tine20.org', 'NEEDS-ACTION'],
    ],
    start: '2011-11-29T06:15:00Z',
  },
  '09-lightning-reply-declined.eml': {
    parts: 1,
    method: 'REPLY',
    uid: '4f0162146d61cb2c06cbe2abf94636f4526abe16',
    sequence: 0,
    organizer: 'alice@vendor.example',
    attendees: [['tine20admin@caldav.net', 'DECLINED']],
    start: '2011-11-21T12:00:00Z',
    extra: { dtstamp: '2011-11-21T12:11:54Z' },
  },
  '10-lightning-reply-accepted.eml': {
    parts: 1,
    method: 'REPLY',
    uid: '4f0162146d61cb2c06cbe2abf94636f4526abe16',
    sequence: 0,
    organizer: 'alice@vendor.example',
    attendees: [['tine20admin@caldav.net', 'ACCEPTED']],
    start: '2011-11-21T12:00:00Z',
    extra: { dtstamp: '2011-11-21T12:09:09Z' },
  },
  '11-google-reply-accepted-organizer-no-mailto.ics': {
    parts: 1,
    method: 'REPLY',
    uid: '62050f080e53ca8e00353ff0a89c6c6aa4af3dec',
    sequence: 1,
    organizer: 'unittest@tine20.org',
    attendees: [['carol@researcher.example', 'ACCEPTED']],
    start: '2017-11-16T10:30:00Z',
  },
  '12-apple-ical-reply-accepted.ics': {
    parts: 1,
    method: 'REPLY',
    uid: 'a8d10369e051094ae9322bd65e8afecac010bfc8',
    sequence: 1,
    organizer: 'unittest@tine20.org',
    attendees: [['carol@researcher.example', 'ACCEPTED']],
    start: '2011-11-30T14:00:00Z',
  },
  '13-lotus-notes-request.ics': {
    parts: 1,
    method: 'REQUEST',
    uid: 'A5C4058C8C5926C8C12579B100622D66-Lotus_Notes_Generated',
    sequence: 0,
    organizer: 'dave@vendor2.example',
    attendees: [
      ['dave@vendor2.example', 'ACCEPTED'],
      ['katrin@example.de', 'NEEDS-ACTION'],
      ['lars@example.com', 'NEEDS-ACTION'],
    ],
    start: '2012-03-02T06:00:00Z',
  },
  '14-zoom-calendar-no-method-param.eml': {
    parts: 1,
    method: null,
    uid: '0fa368d4-7747-4a50-960d-417cb23a9f71',
    sequence: 0,
    organizer: null,
    attendees: [],
    start: '2021-04-22T13:50:00Z',
  },
  '15-ios-request-encoded-subject.eml': {
    parts: 1,
    method: 'REQUEST',
    uid: 'cb2e1063da91d655e82f5287cbedb58e9676189d',
    sequence: 0,
    organizer: 'unittest@tine20.org',
    attendees: [['asdcsde@kabcded.de', 'NEEDS-ACTION']],
    start: '2013-09-08T08:00:00Z',
  },
  '16-exchange-request-single-occurrence.ics': {
    parts: 1,
    method: 'REQUEST',
    uid: '040000008200E00074C5B7101A82E0080000000060C9996DFC1BD301000000000000000010000000FFBCF26484A5714B9FAB976702B5075D',
    sequence: 68,
    organizer: 'alice@vendor.example',
    attendees: [['sclever@tine20.org', 'NEEDS-ACTION']],
    start: '2018-09-06T09:00:00Z',
    extra: { recurrenceId: '2018-09-06T09:00:00Z' },
  },
  '17-outlook-request-base64.eml': {
    parts: 1,
    method: 'REQUEST',
    uid: '040000008200E00074C5B7101A82E0080000000010B88C8F0FC4CD010000000000000000100000000CB70453D9CD1E4B909ABC9962002608',
    sequence: 0,
    organizer: 'erin@vendor3.example',
    attendees: [['erin@home.example', 'NEEDS-ACTION']],
    start: '2012-11-18T08:00:00Z',
  },
  '18-outlook2010-request-reschedule.ics': {
    parts: 1,
    method: 'REQUEST',
    uid: '040000008200E00074C5B7101A82E00800000000B02E5C95A5F1D20100000000000000001000000093544CFB75D75A42B698FD2C940B3285',
    sequence: 4,
    organizer: 'alice@vendor.example',
    attendees: [
      ['unittest@tine20.org', 'NEEDS-ACTION'],
      ['sclever@tine20.org', 'NEEDS-ACTION'],
      ['pwulf@tine20.org', 'ACCEPTED'],
    ],
    start: '2017-08-16T09:00:00Z',
  },
  '19-google-request-bad-tz.ics': {
    parts: 1,
    method: 'REQUEST',
    uid: '3evgs2i0jdkofmibc9u5cah0a9@google.com',
    sequence: 0,
    organizer: 'xxxxx@gmail.com',
    attendees: [
      ['unittest@tine20.org', 'NEEDS-ACTION'],
      ['xxxxx@gmail.com', 'ACCEPTED'],
    ],
    start: 'ambiguous',
    extra: { startRaw: 'TZID=BRT:20190205T150000' },
  },
  '20-request-sequence-before-organizer.ics': {
    parts: 1,
    method: 'REQUEST',
    uid: '2864ba74e41982d944256abe3b8c2efab8e3dac1',
    sequence: 2,
    organizer: 'alice@vendor.example',
    attendees: [
      ['unittest@tine20.org', 'NEEDS-ACTION'],
      ['sclever@tine20.org', 'NEEDS-ACTION'],
      ['pwulf@tine20.org', 'ACCEPTED'],
    ],
    start: '2018-11-23T16:30:00Z',
  },
  '21-google-request-mixed-alternative-folded-subject.eml': {
    parts: 1,
    method: 'REQUEST',
    uid: '69d4c40b4a274636bf23517938df9673@example.org',
    sequence: 0,
    organizer: 'alice@example.org',
    attendees: [
      ['john@example.org', 'NEEDS-ACTION'],
      ['alice@example.org', 'ACCEPTED'],
      ['bob@example.org', 'NEEDS-ACTION'],
    ],
    start: '2025-02-20T18:00:00Z',
  },
  '22-outlook-com-request-not-nested.eml': {
    parts: 1,
    method: 'REQUEST',
    uid: '1F0BD3F6FEFC421AAA5BE992D6992B6A',
    sequence: 0,
    organizer: 'alice@example.org',
    attendees: [['bob@example.org', 'NEEDS-ACTION']],
    start: '2025-02-26T07:00:00Z',
  },
  '23-google-request-group-calendar-organizer.eml': {
    // The inline part and invite.ics differ (one more attendee): two parts; the first is the
    // text/calendar; method=REQUEST part, asserted here.
    parts: 2,
    method: 'REQUEST',
    uid: '0BE2F640-5814-47C9-ABAE-E7E959204E76',
    sequence: 5,
    organizer: 'kepjllr6mcq7d0959u4cdc7000@group.calendar.google.com',
    attendees: [
      ['kepjllr6mcq7d0959u4cdc7000@group.calendar.google.com', 'ACCEPTED'],
      ['john.sample@example.org', 'NEEDS-ACTION'],
    ],
    start: '2014-02-24T11:00:00Z',
  },
  '24-roundcube-request-application-ics.eml': {
    parts: 1,
    method: 'REQUEST',
    uid: '626421779C777FBE9C9B85A80D04DDFA-A4BF5BBB9FEAA271',
    sequence: 0,
    organizer: 'john.doe@example.org',
    attendees: [['resource-collection-car@example.org', 'NEEDS-ACTION']],
    start: '2012-07-13T09:00:00Z',
    // DTSTAMP:20120713T1254140 is not a date-time.
    extra: { dtstamp: null },
  },
  '25-roundcube-request-qp-windows-tzid-mixed.eml': {
    parts: 1,
    method: 'REQUEST',
    uid: 'eea25142-fb1c-4831-a02d-ac9fb4c16b70',
    sequence: 0,
    organizer: 'john.doe@example.org',
    attendees: [
      ['resource-car-audia4@example.org', 'NEEDS-ACTION'],
      ['somebody@else.com', 'TENTATIVE'],
    ],
    start: '2014-07-13T08:00:00Z',
  },
  '26-evolution-event-freeassociation-tzid.ics': {
    parts: 1,
    method: null,
    uid: '20140813T153116Z-12176-1000-1065-6@johnny-lubuntu',
    sequence: 2,
    organizer: 'alice@vendor.example',
    attendees: [
      ['alice@vendor.example', 'ACCEPTED'],
      ['bob@vendor.example', 'NEEDS-ACTION'],
    ],
    start: '2014-08-15T15:00:00Z',
  },
  '27-rfc2446-counter-recurrence-instance.ics': {
    parts: 1,
    method: 'COUNTER',
    uid: 'guid-1@host1.com',
    sequence: 4,
    organizer: 'a@example.com',
    attendees: [
      ['a@example.com', null],
      ['b@example.com', null],
      ['c@example.com', null],
      ['d@example.com', null],
    ],
    start: '1997-07-15T22:00:00Z',
    extra: {
      recurrenceId: '1997-07-15T21:00:00Z',
      comment: 'May we bump this by an hour? I have a conflict',
    },
  },
  '28-rfc2446-counter-folded-comment.ics': {
    parts: 1,
    method: 'COUNTER',
    uid: 'calsrv.example.com-873970198738777a@example.com',
    sequence: 0,
    organizer: 'a@example.com',
    attendees: [
      ['a@example.com', 'ACCEPTED'],
      ['b@example.com', null],
      ['c@example.com', null],
    ],
    start: '1997-07-01T16:00:00Z',
    extra: {
      comment: 'This time works much better and I think the big conference room is too big',
    },
  },
  '29-rfc2446-refresh.ics': {
    parts: 1,
    method: 'REFRESH',
    uid: 'acme-12345@host1.com',
    sequence: 0,
    organizer: 'a@example.com',
    attendees: [['b@example.com', null]],
    start: null,
    // A DTSTAMP without Z: read as UTC (RFC 5545 requires UTC there).
    extra: { dtstamp: '1997-06-03T09:40:00Z' },
  },
  '30-rfc2446-refresh-uid-leading-space.ics': {
    parts: 1,
    method: 'REFRESH',
    uid: 'guid-1-12345@host1.com',
    sequence: 0,
    organizer: 'a@example.com',
    attendees: [['a@example.com', 'ACCEPTED']],
    start: null,
  },
  '31-google-request-emoji-subject-application-ics.eml': {
    parts: 1,
    method: 'REQUEST',
    uid: '1utaf3eftt1agbnisfcc3a5ps0@google.com',
    sequence: 0,
    organizer: 'alice@postalsys.com',
    attendees: [
      ['alice@postalsys.com', 'ACCEPTED'],
      ['alice@ethereal.email', 'NEEDS-ACTION'],
    ],
    start: '2024-04-11T08:00:00Z',
  },
};

describe('fixtures/imip: every file read as SOURCES.md says', () => {
  it('the table covers exactly the files of fixtures/imip', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(readdirSync(DIR).sort());
  });

  it.each(Object.entries(EXPECTED))('%s', async (name, want) => {
    const parts = await partsOf(name);
    expect(parts).toHaveLength(want.parts);
    const itip = parseItip((parts[0] as CalendarPart).text);
    expect(itip.method).toBe(want.method);
    expect(itip.events).toHaveLength(1);
    const e = itip.events[0] as ItipEvent;
    expect(e.uid).toBe(want.uid);
    expect(e.sequence).toBe(want.sequence);
    expect(e.organizer).toBe(want.organizer);
    expect(e.attendees.map((a) => [a.email, a.partstat])).toEqual(want.attendees);
    if (want.start === 'ambiguous') {
      expect(e).toMatchObject({ start: null, startAmbiguous: true });
    } else {
      expect(e).toMatchObject({ start: want.start, startAmbiguous: false });
    }
    if (want.extra) expect(e).toMatchObject(want.extra);
    // None of them is an answer to one of our events.
    expect(interpretCalendar(parts, { sender: 'psirt@vendor.example', snapshot: pendingCase() })).toBeNull();
  });

  it('06: the media type TeXt/CaLeNdAr is found; a PUBLISH has no attendee', async () => {
    const raw = fixture('06-publish-mixedcase-content-type.eml');
    expect(raw.toString('latin1')).toContain('Content-Type: TeXt/CaLeNdAr');
    const [part] = await partsOf('06-publish-mixedcase-content-type.eml');
    expect(part).toMatchObject({ contentType: 'text/calendar', method: 'PUBLISH', filename: 'booking.ics' });
  });

  it('24: application/ics with method=REQUEST is a calendar part', async () => {
    const [part] = await partsOf('24-roundcube-request-application-ics.eml');
    expect(part).toMatchObject({ contentType: 'application/ics', method: 'REQUEST' });
  });

  it('09, 31: an inline part and its identical attachment count once', async () => {
    for (const name of [
      '09-lightning-reply-declined.eml',
      '31-google-request-emoji-subject-application-ics.eml',
    ]) {
      const parsed = await simpleParser(fixture(name));
      const calendars = parsed.attachments.filter((a) =>
        /^(text\/calendar|application\/ics)$/i.test(a.contentType),
      );
      expect(calendars).toHaveLength(2);
      expect(await findCalendarParts(parsed)).toHaveLength(1);
    }
  });

  it('23: the two different copies are both kept; the second lists one more attendee', async () => {
    const parts = await partsOf('23-google-request-group-calendar-organizer.eml');
    expect(parts.map((p) => [p.contentType, p.method])).toEqual([
      ['text/calendar', 'REQUEST'],
      ['application/ics', null],
    ]);
    expect(parseItip((parts[1] as CalendarPart).text).events[0]?.attendees).toHaveLength(3);
  });

  it('a calendar part inside an attached message/rfc822 is found', async () => {
    const inner = fixture('10-lightning-reply-accepted.eml');
    const outer = Buffer.concat([
      Buffer.from(
        [
          'From: Forwarder <fwd@vendor.example>',
          'To: cvd@example.org',
          'Subject: Fwd: reply',
          'MIME-Version: 1.0',
          'Content-Type: multipart/mixed; boundary="outer"',
          '',
          '--outer',
          'Content-Type: text/plain',
          '',
          'See the attached reply.',
          '--outer',
          'Content-Type: message/rfc822',
          'Content-Disposition: attachment; filename="reply.eml"',
          '',
          '',
        ].join('\r\n'),
      ),
      inner,
      Buffer.from('\r\n--outer--\r\n'),
    ]);
    const parts = await findCalendarParts(await simpleParser(outer));
    expect(parts).toHaveLength(1);
    expect(parseItip((parts[0] as CalendarPart).text).events[0]?.attendees).toEqual([
      { email: 'tine20admin@caldav.net', partstat: 'ACCEPTED' },
    ]);
  });
});

// ---------------------------------------------------------------------------------------
// 2. Time zones

describe('node-ical 0.26 alone (the behaviour our layer corrects; SOURCES.md "observed")', () => {
  const nodeIcalStart = (text: string) => {
    const data = ical.sync.parseICS(text);
    const ev = Object.values(data).find((v) => (v as { type?: string })?.type === 'VEVENT') as {
      start: Date;
    };
    return ev.start.toISOString();
  };
  const calendarText = async (name: string) => ((await partsOf(name))[0] as CalendarPart).text;

  it('throws on imip/04 (a CANCEL without DTSTART); parseItip does not', async () => {
    const text = await calendarText('04-cancel-recurring-missing-dtstart.eml');
    expect(() => ical.sync.parseICS(text)).toThrow();
    expect(() => parseItip(text)).not.toThrow();
  });

  it('reads imip/07 as 18:00Z, imip/26 as 11:00Z, imip/19 as 15:00Z (UTC) — ignoring the VTIMEZONE', async () => {
    expect(nodeIcalStart(await calendarText('07-exchange-cdo-request-gmt-tzid.eml'))).toBe(
      '2012-03-16T18:00:00.000Z',
    );
    expect(nodeIcalStart(await calendarText('26-evolution-event-freeassociation-tzid.ics'))).toBe(
      '2014-08-15T11:00:00.000Z',
    );
    expect(nodeIcalStart(await calendarText('19-google-request-bad-tz.ics'))).toBe(
      '2019-02-05T15:00:00.000Z',
    );
  });
});

/** A minimal COUNTER (the only place an instant from a calendar matters) with a DTSTART line. */
function counterText(dtstart: string, vtimezone: string[] = []): string {
  return [
    'BEGIN:VCALENDAR',
    'METHOD:COUNTER',
    'VERSION:2.0',
    ...vtimezone,
    'BEGIN:VEVENT',
    'UID:VM-2026-0001-embargo-1@example.org',
    'DTSTAMP:20260302T120000Z',
    dtstart,
    'ATTENDEE:mailto:psirt@vendor.example',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

const startOf = (text: string) => {
  const e = parseItip(text).events[0] as ItipEvent;
  return { start: e.start, startAmbiguous: e.startAmbiguous };
};

/** imip/07's VTIMEZONE (EU rules since 1601 under a CDO name) under another TZID. */
const CDO_ZONE = (tzid: string) => [
  'BEGIN:VTIMEZONE',
  `TZID:${tzid}`,
  'BEGIN:STANDARD',
  'DTSTART:16010101T030000',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'RRULE:FREQ=YEARLY;WKST=MO;INTERVAL=1;BYMONTH=10;BYDAY=-1SU',
  'END:STANDARD',
  'BEGIN:DAYLIGHT',
  'DTSTART:16010101T020000',
  'TZOFFSETFROM:+0100',
  'TZOFFSETTO:+0200',
  'RRULE:FREQ=YEARLY;WKST=MO;INTERVAL=1;BYMONTH=3;BYDAY=-1SU',
  'END:DAYLIGHT',
  'END:VTIMEZONE',
];

describe('time zones of inbound objects', () => {
  it('knownZone: IANA names and standard Windows names only', () => {
    expect(knownZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(knownZone('"Europe/Madrid"')).toBe('Europe/Madrid');
    expect(knownZone('"W. Europe Standard Time"')).toBe('Europe/Berlin');
    expect(knownZone('FLE Standard Time')).not.toBeNull();
    expect(knownZone('(GMT+01.00) Sarajevo/Warsaw/Zagreb')).toBeNull();
    expect(knownZone('/freeassociation.sourceforge.net/Tzfile/America/Toronto')).toBeNull();
    expect(knownZone('BRT')).toBeNull();
    expect(knownZone('+01:00')).toBeNull();
    expect(knownZone('')).toBeNull();
  });

  it('UTC, IANA and Windows zones give one instant (node-ical, not converted twice)', () => {
    expect(startOf(counterText('DTSTART:20270301T160000Z'))).toEqual({
      start: '2027-03-01T16:00:00Z',
      startAmbiguous: false,
    });
    expect(startOf(counterText('DTSTART;TZID=Europe/Berlin:20270301T170000'))).toEqual({
      start: '2027-03-01T16:00:00Z',
      startAmbiguous: false,
    });
    expect(startOf(counterText('DTSTART;TZID="W. Europe Standard Time":20270701T180000'))).toEqual({
      start: '2027-07-01T16:00:00Z',
      startAmbiguous: false,
    });
    // A known zone wins over a VTIMEZONE of the same name with other rules (here a fixed +05:00).
    for (const tzid of ['Europe/Berlin', 'W. Europe Standard Time']) {
      const odd = [
        'BEGIN:VTIMEZONE',
        `TZID:${tzid}`,
        'BEGIN:STANDARD',
        'DTSTART:19700101T000000',
        'TZOFFSETFROM:+0500',
        'TZOFFSETTO:+0500',
        'END:STANDARD',
        'END:VTIMEZONE',
      ];
      expect(startOf(counterText(`DTSTART;TZID=${tzid}:20270701T180000`, odd))).toEqual({
        start: '2027-07-01T16:00:00Z',
        startAmbiguous: false,
      });
    }
  });

  it('an unknown TZID is resolved from the VTIMEZONE of the file, in winter and in summer', () => {
    const zone = CDO_ZONE('(GMT+01.00) Sarajevo/Warsaw/Zagreb');
    const at = (local: string) =>
      startOf(counterText(`DTSTART;TZID="(GMT+01.00) Sarajevo/Warsaw/Zagreb":${local}`, zone));
    expect(at('20270301T170000')).toEqual({ start: '2027-03-01T16:00:00Z', startAmbiguous: false });
    expect(at('20270701T180000')).toEqual({ start: '2027-07-01T16:00:00Z', startAmbiguous: false });
    // Around the 2027 changes (28 March, 31 October), just outside the gap and the overlap.
    expect(at('20270328T015959')).toEqual({ start: '2027-03-28T00:59:59Z', startAmbiguous: false });
    expect(at('20270328T030000')).toEqual({ start: '2027-03-28T01:00:00Z', startAmbiguous: false });
    expect(at('20271031T015959')).toEqual({ start: '2027-10-30T23:59:59Z', startAmbiguous: false });
    expect(at('20271031T030000')).toEqual({ start: '2027-10-31T02:00:00Z', startAmbiguous: false });
  });

  it('a local time in a gap or an overlap is ambiguous, from a VTIMEZONE, an IANA or a Windows zone', () => {
    const zone = CDO_ZONE('Custom');
    const ambiguous = { start: null, startAmbiguous: true };
    expect(startOf(counterText('DTSTART;TZID=Custom:20270328T023000', zone))).toEqual(ambiguous);
    expect(startOf(counterText('DTSTART;TZID=Custom:20271031T023000', zone))).toEqual(ambiguous);
    expect(startOf(counterText('DTSTART;TZID=Europe/Berlin:20270328T023000'))).toEqual(ambiguous);
    expect(startOf(counterText('DTSTART;TZID=Europe/Berlin:20271031T023000'))).toEqual(ambiguous);
    expect(startOf(counterText('DTSTART;TZID=W. Europe Standard Time:20270328T023000'))).toEqual(ambiguous);
    expect(startOf(counterText('DTSTART;TZID=America/Toronto:20271107T013000'))).toEqual(ambiguous);
  });

  it('floating times, DATE values, unknown zones without VTIMEZONE and unusable VTIMEZONEs are ambiguous', () => {
    const ambiguous = { start: null, startAmbiguous: true };
    expect(startOf(counterText('DTSTART:20270301T160000'))).toEqual(ambiguous);
    expect(startOf(counterText('DTSTART;VALUE=DATE:20270301'))).toEqual(ambiguous);
    expect(startOf(counterText('DTSTART:20270301'))).toEqual(ambiguous);
    expect(startOf(counterText('DTSTART;TZID=BRT:20270301T160000'))).toEqual(ambiguous);
    expect(startOf(counterText('DTSTART:2027-03-01'))).toEqual(ambiguous);
    const monthly = CDO_ZONE('Odd').map((l) => l.replace('FREQ=YEARLY', 'FREQ=MONTHLY'));
    expect(startOf(counterText('DTSTART;TZID=Odd:20270701T180000', monthly))).toEqual(ambiguous);
    expect(
      startOf(
        counterText('DTSTART;TZID=Odd:20270701T180000', ['BEGIN:VTIMEZONE', 'TZID:Odd', 'END:VTIMEZONE']),
      ),
    ).toEqual(ambiguous);
  });

  it('a VTIMEZONE with RDATEs and with a BYMONTHDAY rule (the old "Sunday on or after the 8th")', () => {
    const [vtz] = readIcs(
      [
        'BEGIN:VTIMEZONE',
        'TZID:Old US Eastern',
        'BEGIN:STANDARD',
        'DTSTART:20071104T020000',
        'TZOFFSETFROM:-0400',
        'TZOFFSETTO:-0500',
        'RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=SU;BYMONTHDAY=1,2,3,4,5,6,7',
        'END:STANDARD',
        'BEGIN:DAYLIGHT',
        'DTSTART:20070311T020000',
        'TZOFFSETFROM:-0500',
        'TZOFFSETTO:-0400',
        'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=SU;BYMONTHDAY=8,9,10,11,12,13,14',
        'END:DAYLIGHT',
        'END:VTIMEZONE',
      ].join('\n'),
    );
    const local = (year: number, month: number, day: number, hour: number) => ({
      year,
      month,
      day,
      hour,
      minute: 0,
      second: 0,
      utc: false,
      dateOnly: false,
    });
    // 2027: DST 14 March to 7 November.
    expect(resolveInVtimezone(local(2027, 3, 13, 12), vtz!)).toEqual({
      ok: true,
      ms: Date.UTC(2027, 2, 13, 17),
    });
    expect(resolveInVtimezone(local(2027, 3, 15, 12), vtz!)).toEqual({
      ok: true,
      ms: Date.UTC(2027, 2, 15, 16),
    });
    expect(resolveInVtimezone(local(2027, 3, 14, 2), vtz!)).toEqual({ ok: false, reason: 'gap' });
    expect(resolveInVtimezone(local(2027, 11, 7, 1), vtz!)).toEqual({ ok: false, reason: 'overlap' });

    const [listed] = readIcs(
      [
        'BEGIN:VTIMEZONE',
        'TZID:Listed',
        'BEGIN:DAYLIGHT',
        'DTSTART:20270328T020000',
        'RDATE:20280326T020000',
        'TZOFFSETFROM:+0100',
        'TZOFFSETTO:+0200',
        'END:DAYLIGHT',
        'BEGIN:STANDARD',
        'DTSTART:20271031T030000',
        'RDATE:20281029T030000',
        'TZOFFSETFROM:+0200',
        'TZOFFSETTO:+0100',
        'END:STANDARD',
        'END:VTIMEZONE',
      ].join('\n'),
    );
    expect(resolveInVtimezone(local(2028, 7, 1, 12), listed!)).toEqual({
      ok: true,
      ms: Date.UTC(2028, 6, 1, 10),
    });
    expect(resolveInVtimezone(local(2028, 1, 1, 12), listed!)).toEqual({
      ok: true,
      ms: Date.UTC(2028, 0, 1, 11),
    });
  });
});

describe('parseItip never throws', () => {
  const texts = readdirSync(DIR)
    .filter((f) => f.endsWith('.ics'))
    .map((f) => fixture(f).toString('utf8'));

  it('on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        const r = parseItip(s);
        expect(Array.isArray(r.events)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('on the fixtures with lines dropped, duplicated, cut or garbled', () => {
    const mutation = fc.record({
      file: fc.integer({ min: 0, max: texts.length - 1 }),
      edits: fc.array(
        fc.record({
          line: fc.nat(),
          kind: fc.constantFrom('drop', 'dup', 'cut', 'garble'),
          junk: fc.constantFrom(
            ';',
            ':',
            '"',
            'TZID=',
            'BEGIN:VEVENT',
            'END:VCALENDAR',
            '\u0000',
            'Z',
            '99999999T999999',
          ),
        }),
        { maxLength: 6 },
      ),
    });
    fc.assert(
      fc.property(mutation, ({ file, edits }) => {
        const lines = (texts[file] as string).split('\n');
        for (const e of edits) {
          const i = e.line % Math.max(lines.length, 1);
          const l = lines[i] ?? '';
          if (e.kind === 'drop') lines.splice(i, 1);
          else if (e.kind === 'dup') lines.splice(i, 0, l);
          else if (e.kind === 'cut') lines[i] = l.slice(0, Math.floor(l.length / 2));
          else lines[i] = l.slice(0, 8) + e.junk + l.slice(8);
        }
        const r = parseItip(lines.join('\n'));
        for (const ev of r.events) expect(typeof ev.uid).toBe('string');
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// 3. Answers to our events

const NOW = '2026-03-02T10:00:00Z';
const COORDINATOR = 'coordinator@example.org';
const REPORTER = 'finder@example.net';
const VENDOR = 'psirt@vendor.example';
const OTHER = 'security@vendor2.example';
const END = '2026-04-15T23:59:59Z';
const UID1 = 'VM-2026-0001-embargo-1@example.org';

function step(s: CaseSnapshot, from: string, codes: MessageCode[], payload: Payload = {}): CaseSnapshot {
  const input: Input = { kind: 'message', from, codes, payload };
  return decide(s, input, { now: NOW, policy: DEFAULT_POLICY }).snapshot;
}

/** VM-2026-0001: reporter, two vendors with the report, E1 (UID1) proposed by the reporter. */
function pendingCase(): CaseSnapshot {
  let s = newCase({
    id: 'VM-2026-0001',
    title: 'Heap overflow',
    now: NOW,
    domain: 'example.org',
    coordinators: [{ email: COORDINATOR }],
  });
  s = decide(
    s,
    { kind: 'report', from: { email: REPORTER }, codes: ['RS'], payload: {} },
    { now: NOW, policy: DEFAULT_POLICY },
  ).snapshot;
  s = step(s, COORDINATOR, ['GI'], { invite: { email: VENDOR, role: 'vendor' } });
  s = step(s, COORDINATOR, ['GI'], { invite: { email: OTHER, role: 'vendor' } });
  s = step(s, REPORTER, ['EP'], { embargoEnd: END });
  expect(s.embargo.proposals.map((p) => [p.id, p.uid, p.status])).toEqual([['E1', UID1, 'pending']]);
  return s;
}

/** Replaces each `from` (which must occur) by `to`, everywhere. */
function rewrite(text: string, pairs: Array<[string, string]>): string {
  let out = text;
  for (const [from, to] of pairs) {
    expect(out.includes(from), `"${from}" in the fixture`).toBe(true);
    out = out.split(from).join(to);
  }
  return out;
}

const textPart = (text: string, method: string | null = null): CalendarPart => ({
  contentType: 'text/calendar',
  method,
  filename: null,
  text,
});

function crlf(lines: string[]): string {
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * DERIVED (no public sample; SOURCES.md "Gaps"): an Outlook/Exchange REPLY: multipart/alternative
 * with a base64 `text/calendar; method=REPLY` (bare LF inside), Exchange 2010 PRODID, a Windows
 * zone VTIMEZONE, one ATTENDEE with `MAILTO:` in upper case, `SUMMARY:Accepted: …`,
 * X-MICROSOFT-CDO-* properties, and NO ORGANIZER.
 */
function outlookReply(o: {
  uid?: string;
  attendee?: string;
  from?: string;
  partstat?: string;
  sequence?: number;
  dtstamp?: string;
}): Buffer {
  const partstat = o.partstat ?? 'ACCEPTED';
  const verb = { ACCEPTED: 'Accepted', DECLINED: 'Declined', TENTATIVE: 'Tentative' }[partstat] ?? partstat;
  const ics = [
    'BEGIN:VCALENDAR',
    'METHOD:REPLY',
    'PRODID:Microsoft Exchange Server 2010',
    'VERSION:2.0',
    'BEGIN:VTIMEZONE',
    'TZID:W. Europe Standard Time',
    'BEGIN:STANDARD',
    'DTSTART:16010101T030000',
    'TZOFFSETFROM:+0200',
    'TZOFFSETTO:+0100',
    'RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10',
    'END:STANDARD',
    'BEGIN:DAYLIGHT',
    'DTSTART:16010101T020000',
    'TZOFFSETFROM:+0100',
    'TZOFFSETTO:+0200',
    'RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3',
    'END:DAYLIGHT',
    'END:VTIMEZONE',
    'BEGIN:VEVENT',
    `ATTENDEE;PARTSTAT=${partstat};CN=PSIRT:MAILTO:${(o.attendee ?? VENDOR).toUpperCase()}`,
    'COMMENT;LANGUAGE=en-US:\\n',
    `SUMMARY;LANGUAGE=en-US:${verb}: VM-2026-0001 embargo expiration`,
    'DTSTART;TZID=W. Europe Standard Time:20260416T015959',
    'DTEND;TZID=W. Europe Standard Time:20260416T015959',
    `UID:${o.uid ?? UID1}`,
    'CLASS:PUBLIC',
    'PRIORITY:5',
    `DTSTAMP:${o.dtstamp ?? '20260302T110000Z'}`,
    'TRANSP:OPAQUE',
    `SEQUENCE:${o.sequence ?? 0}`,
    'X-MICROSOFT-CDO-APPT-SEQUENCE:0',
    'X-MICROSOFT-CDO-OWNERAPPTID:-1118528617',
    'X-MICROSOFT-CDO-BUSYSTATUS:BUSY',
    'X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY',
    'X-MICROSOFT-CDO-ALLDAYEVENT:FALSE',
    'X-MICROSOFT-CDO-IMPORTANCE:1',
    'X-MICROSOFT-CDO-INSTTYPE:0',
    'X-MICROSOFT-DISALLOW-COUNTER:FALSE',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\n');
  const b64 = Buffer.from(ics).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    crlf([
      `From: PSIRT <${o.from ?? VENDOR}>`,
      'To: CVD Coordination <cvd@example.org>',
      `Subject: ${verb}: VM-2026-0001 embargo expiration`,
      'Thread-Topic: VM-2026-0001 embargo expiration',
      'Date: Mon, 2 Mar 2026 11:00:00 +0000',
      'Message-ID: <DB7PR01MB0001@vendor.example>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="_000_DB7PR01MB0001_"',
      '',
      '--_000_DB7PR01MB0001_',
      'Content-Type: text/plain; charset="us-ascii"',
      '',
      '',
      '--_000_DB7PR01MB0001_',
      'Content-Type: text/calendar; charset="utf-8"; method=REPLY',
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      '',
      '--_000_DB7PR01MB0001_--',
    ]),
  );
}

async function answer(raw: Buffer, sender = VENDOR, snapshot = pendingCase()) {
  const parts = await findCalendarParts(await simpleParser(raw));
  return interpretCalendar(parts, { sender, snapshot });
}

const replyPayload = { calendar: { method: 'REPLY', uid: UID1 }, proposal: 'E1' };

describe('interpretCalendar: REPLY in the shapes of real clients', () => {
  it('Outlook/Exchange (no ORGANIZER, Windows zone, base64, MAILTO: upper case): ACCEPTED → EA', async () => {
    const r = await answer(outlookReply({}));
    expect(r).toMatchObject({ ok: true, codes: ['EA'], payload: replyPayload });
  });

  it('Outlook: DECLINED → ER, TENTATIVE → EK only, DELEGATED → the core error embargo-delegated', async () => {
    expect(await answer(outlookReply({ partstat: 'DECLINED' }))).toMatchObject({
      ok: true,
      codes: ['ER'],
      payload: replyPayload,
    });
    expect(await answer(outlookReply({ partstat: 'TENTATIVE' }))).toMatchObject({
      ok: true,
      codes: ['EK'],
      payload: replyPayload,
    });
    const delegated = await answer(outlookReply({ partstat: 'DELEGATED' }));
    expect(delegated).toMatchObject({ ok: false, code: 'embargo-delegated' });
    expect(delegated?.ok === false && delegated.error).toMatch(/Delegating an embargo invitation/);
    expect(await answer(outlookReply({ partstat: 'NEEDS-ACTION' }))).toMatchObject({
      ok: false,
      code: 'calendar-no-answer',
    });
  });

  it('the sender address and the UID compare case-insensitively', async () => {
    expect(await answer(outlookReply({ uid: UID1.toUpperCase() }), 'PSIRT@Vendor.Example')).toMatchObject({
      ok: true,
      codes: ['EA'],
      payload: replyPayload,
    });
  });

  it('a reply for another attendee than the sender is ignored (null)', async () => {
    expect(await answer(outlookReply({ attendee: OTHER }))).toBeNull();
    expect(await answer(outlookReply({}), OTHER)).toBeNull();
  });

  it('an unknown UID is not an answer (null)', async () => {
    expect(await answer(outlookReply({ uid: 'VM-2026-0001-embargo-7@example.org' }))).toBeNull();
  });

  const lightning = (name: string) =>
    Buffer.from(
      rewrite(fixture(name).toString('latin1'), [
        ['4f0162146d61cb2c06cbe2abf94636f4526abe16', UID1],
        ['tine20admin@caldav.net', VENDOR],
      ]),
      'latin1',
    );

  it('Thunderbird/Lightning (imip/10 and 09 shapes, inline + application/ics): ACCEPTED → EA, DECLINED → ER', async () => {
    expect(await answer(lightning('10-lightning-reply-accepted.eml'))).toMatchObject({
      ok: true,
      codes: ['EA'],
      payload: replyPayload,
    });
    expect(await answer(lightning('09-lightning-reply-declined.eml'))).toMatchObject({
      ok: true,
      codes: ['ER'],
      payload: replyPayload,
    });
  });

  it('Google (imip/11 shape: organizer without mailto:) → EA', () => {
    const text = rewrite(fixture('11-google-reply-accepted-organizer-no-mailto.ics').toString('utf8'), [
      ['62050f080e53ca8e00353ff0a89c6c6aa4af3dec', UID1],
      ['carol@researcher.example', VENDOR],
    ]);
    expect(text).toContain('ROLE=CHAIR:unittest@tine20.org');
    expect(interpretCalendar([textPart(text)], { sender: VENDOR, snapshot: pendingCase() })).toMatchObject({
      ok: true,
      codes: ['EA'],
      payload: replyPayload,
    });
  });

  it('Apple iCal (imip/12 shape: the address folded inside EMAIL= and inside mailto:) → EA', () => {
    const text = rewrite(fixture('12-apple-ical-reply-accepted.ics').toString('utf8'), [
      ['a8d10369e051094ae9322bd65e8afecac010bfc8', UID1],
      ['EMAIL="carol@researcher.\n example"', 'EMAIL="psirt@vendor.\n example"'],
      ['mailto:carol@researcher.ex\n ample', 'mailto:psirt@vendor.ex\n ample'],
    ]);
    expect(interpretCalendar([textPart(text)], { sender: VENDOR, snapshot: pendingCase() })).toMatchObject({
      ok: true,
      codes: ['EA'],
      payload: replyPayload,
    });
  });

  it('Gmail: the inline text/calendar and its identical application/ics copy count once', async () => {
    const ics = rewrite(fixture('11-google-reply-accepted-organizer-no-mailto.ics').toString('utf8'), [
      ['62050f080e53ca8e00353ff0a89c6c6aa4af3dec', UID1],
      ['carol@researcher.example', VENDOR],
    ]);
    const raw = Buffer.from(
      crlf([
        `From: <${VENDOR}>`,
        'To: cvd@example.org',
        'Subject: Accepted: VM-2026-0001 embargo expiration',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="m"',
        '',
        '--m',
        'Content-Type: multipart/alternative; boundary="a"',
        '',
        '--a',
        'Content-Type: text/plain; charset="UTF-8"',
        '',
        'psirt@vendor.example has accepted this invitation.',
        '--a',
        'Content-Type: text/calendar; charset="UTF-8"; method=REPLY',
        'Content-Transfer-Encoding: 7bit',
        '',
        ics,
        '--a--',
        '--m',
        'Content-Type: application/ics; name="invite.ics"',
        'Content-Disposition: attachment; filename="invite.ics"',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from(ics).toString('base64').replace(/.{76}/g, '$&\r\n'),
        '--m--',
      ]),
    );
    const parts = await findCalendarParts(await simpleParser(raw));
    expect(parts).toHaveLength(1);
    expect(interpretCalendar(parts, { sender: VENDOR, snapshot: pendingCase() })).toMatchObject({
      ok: true,
      codes: ['EA'],
    });
  });

  it('competing replies in one mail: ordered by SEQUENCE, then DTSTAMP; the last wins', async () => {
    const part = async (o: Parameters<typeof outlookReply>[0]) =>
      (await findCalendarParts(await simpleParser(outlookReply(o))))[0] as CalendarPart;
    const ctx = { sender: VENDOR, snapshot: pendingCase() };
    const acceptedLate = await part({ partstat: 'ACCEPTED', dtstamp: '20260302T120000Z' });
    const declinedEarly = await part({ partstat: 'DECLINED', dtstamp: '20260302T110000Z' });
    expect(interpretCalendar([acceptedLate, declinedEarly], ctx)).toMatchObject({ codes: ['EA'] });
    expect(interpretCalendar([declinedEarly, acceptedLate], ctx)).toMatchObject({ codes: ['EA'] });
    // A higher SEQUENCE wins over a later DTSTAMP.
    const declinedSeq1 = await part({ partstat: 'DECLINED', sequence: 1, dtstamp: '20260302T100000Z' });
    expect(interpretCalendar([acceptedLate, declinedSeq1], ctx)).toMatchObject({ codes: ['ER'] });
  });

  it('imip/09 and 10 together: SEQUENCE 0 in both, so DTSTAMP decides: the later DECLINED wins', () => {
    const text = (name: string) =>
      rewrite(fixture(name).toString('latin1'), [
        ['4f0162146d61cb2c06cbe2abf94636f4526abe16', UID1],
        ['tine20admin@caldav.net', VENDOR],
      ]);
    const calendarOf = (eml: string) =>
      eml.slice(eml.indexOf('BEGIN:VCALENDAR'), eml.indexOf('END:VCALENDAR') + 13);
    const accepted = textPart(calendarOf(text('10-lightning-reply-accepted.eml')), 'REPLY');
    const declined = textPart(calendarOf(text('09-lightning-reply-declined.eml')), 'REPLY');
    const ctx = { sender: VENDOR, snapshot: pendingCase() };
    expect(interpretCalendar([declined, accepted], ctx)).toMatchObject({ codes: ['ER'] });
    expect(interpretCalendar([accepted, declined], ctx)).toMatchObject({ codes: ['ER'] });
  });

  it('an acceptance of superseded terms is passed on with its proposal id (the core judges it)', async () => {
    let s = pendingCase();
    s = step(s, VENDOR, ['EA'], { proposal: 'E1' });
    s = step(s, OTHER, ['EA'], { proposal: 'E1' });
    s = step(s, REPORTER, ['EV'], { embargoEnd: '2026-04-30T23:59:59Z' });
    s = step(s, VENDOR, ['EC'], { proposal: 'E2' });
    s = step(s, OTHER, ['EC'], { proposal: 'E2' });
    expect(s.embargo.proposals.map((p) => p.status)).toEqual(['superseded', 'accepted']);
    expect(await answer(outlookReply({ sequence: 0 }), VENDOR, s)).toMatchObject({
      ok: true,
      codes: ['EA'],
      payload: replyPayload,
    });
  });

  it('ACCEPTED / DECLINED of a pending revision → EC / EJ', async () => {
    let s = pendingCase();
    s = step(s, VENDOR, ['EA'], { proposal: 'E1' });
    s = step(s, OTHER, ['EA'], { proposal: 'E1' });
    s = step(s, REPORTER, ['EV'], { embargoEnd: '2026-04-30T23:59:59Z' });
    const uid2 = 'VM-2026-0001-embargo-2@example.org';
    const payload = { calendar: { method: 'REPLY', uid: uid2 }, proposal: 'E2' };
    expect(await answer(outlookReply({ uid: uid2 }), VENDOR, s)).toMatchObject({ codes: ['EC'], payload });
    expect(await answer(outlookReply({ uid: uid2, partstat: 'DECLINED' }), VENDOR, s)).toMatchObject({
      codes: ['EJ'],
      payload,
    });
  });

  it('answers about two different proposals in one mail are refused', async () => {
    let s = pendingCase();
    s = step(s, OTHER, ['EP'], { embargoEnd: '2026-04-20T23:59:59Z' });
    const parts = [
      ...(await findCalendarParts(await simpleParser(outlookReply({})))),
      ...(await findCalendarParts(
        await simpleParser(outlookReply({ uid: 'VM-2026-0001-embargo-2@example.org', partstat: 'DECLINED' })),
      )),
    ];
    expect(interpretCalendar(parts, { sender: VENDOR, snapshot: s })).toMatchObject({
      ok: false,
      code: 'calendar-several-answers',
    });
  });

  it('PUBLISH (imip/06), REQUEST and CANCEL objects, even with our UID, are not answers', async () => {
    expect(await answer(fixture('06-publish-mixedcase-content-type.eml'))).toBeNull();
    const request = (method: string) =>
      textPart(
        rewrite(counterText('DTSTART:20270301T160000Z'), [['METHOD:COUNTER', `METHOD:${method}`]]),
        method,
      );
    for (const m of ['REQUEST', 'PUBLISH', 'CANCEL', 'ADD', 'DECLINECOUNTER']) {
      expect(interpretCalendar([request(m)], { sender: VENDOR, snapshot: pendingCase() })).toBeNull();
      expect(caseUidFromCalendar([request(m)])).toEqual([]);
    }
  });
});

describe('interpretCalendar: COUNTER and REFRESH', () => {
  const counter27 = (dtstart = 'DTSTART:20260410T100000Z') =>
    rewrite(fixture('27-rfc2446-counter-recurrence-instance.ics').toString('utf8'), [
      ['guid-1@host1.com', UID1],
      ['DTSTART:19970715T220000Z', dtstart],
    ]);

  it('imip/27 shape (no PARTSTAT, Mailto: mixed case): EP with the proposed end in UTC', () => {
    const r = interpretCalendar([textPart(counter27())], { sender: VENDOR, snapshot: pendingCase() });
    expect(r).toEqual({
      ok: true,
      codes: ['EP'],
      payload: { calendar: { method: 'COUNTER', uid: UID1 }, embargoEnd: '2026-04-10T10:00:00Z' },
      line: `METHOD:COUNTER UID:${UID1} DTSTART;20260410T100000Z`,
    });
    expect(caseUidFromCalendar([textPart(counter27())])).toEqual([UID1]);
  });

  it('imip/28 shape (folded COMMENT): EP; its own, unknown UID: null', () => {
    const original = fixture('28-rfc2446-counter-folded-comment.ics').toString('utf8');
    expect(interpretCalendar([textPart(original)], { sender: VENDOR, snapshot: pendingCase() })).toBeNull();
    const ours = rewrite(original, [
      ['calsrv.example.com-873970198738777a@example.com', UID1],
      ['DTSTART:19970701T160000Z', 'DTSTART:20260420T160000Z'],
    ]);
    expect(interpretCalendar([textPart(ours)], { sender: VENDOR, snapshot: pendingCase() })).toMatchObject({
      ok: true,
      codes: ['EP'],
      payload: { embargoEnd: '2026-04-20T16:00:00Z' },
    });
  });

  it('a COUNTER in a zone the file defines (CDO name) is read from its VTIMEZONE', () => {
    const text = counterText(
      'DTSTART;TZID="(GMT+01.00) Sarajevo/Warsaw/Zagreb":20260410T120000',
      CDO_ZONE('(GMT+01.00) Sarajevo/Warsaw/Zagreb'),
    );
    expect(interpretCalendar([textPart(text)], { sender: VENDOR, snapshot: pendingCase() })).toMatchObject({
      ok: true,
      payload: { embargoEnd: '2026-04-10T10:00:00Z' },
    });
  });

  it('an ambiguous proposed time is refused with an error asking for a UTC date; a missing one too', () => {
    const ctx = { sender: VENDOR, snapshot: pendingCase() };
    for (const dtstart of [
      'DTSTART;TZID=BRT:20260410T120000',
      'DTSTART:20260410T120000',
      'DTSTART;VALUE=DATE:20260410',
      'DTSTART;TZID=Europe/Berlin:20260329T023000',
    ]) {
      const r = interpretCalendar([textPart(counter27(dtstart))], ctx);
      expect(r).toMatchObject({ ok: false, code: 'calendar-ambiguous-time' });
      expect(r?.ok === false && r.error).toMatch(/UTC date/);
    }
    const none = rewrite(counter27(), [['DTSTART:20260410T100000Z\n', '']]);
    expect(interpretCalendar([textPart(none)], ctx)).toMatchObject({ ok: false, code: 'calendar-no-time' });
  });

  it('REFRESH (imip/29 shape; imip/30 with a space after "UID:") → GI with calendar REFRESH', () => {
    const ctx = { sender: VENDOR, snapshot: pendingCase() };
    const r29 = rewrite(fixture('29-rfc2446-refresh.ics').toString('utf8'), [['acme-12345@host1.com', UID1]]);
    const r30 = rewrite(fixture('30-rfc2446-refresh-uid-leading-space.ics').toString('utf8'), [
      ['guid-1-12345@host1.com', UID1],
    ]);
    expect(r30).toContain(`UID: ${UID1}`);
    for (const text of [r29, r30]) {
      expect(interpretCalendar([textPart(text)], ctx)).toMatchObject({
        ok: true,
        codes: ['GI'],
        payload: { calendar: { method: 'REFRESH', uid: UID1 } },
      });
    }
    expect(caseUidFromCalendar([textPart(r30)])).toEqual([UID1]);
  });
});

// ---------------------------------------------------------------------------------------
// 4. One mail, two channels

describe('mergeCalendarAnswer', () => {
  const commands = (text: string) => parseCommands(text, { arrivedAt: NOW, policy: DEFAULT_POLICY });
  const accepted = interpretCalendar(
    [
      textPart(
        rewrite(counterText('DTSTART:20260416T000000Z'), [
          ['METHOD:COUNTER', 'METHOD:REPLY'],
          ['ATTENDEE:', 'ATTENDEE;PARTSTAT=ACCEPTED:'],
        ]),
      ),
    ],
    {
      sender: VENDOR,
      snapshot: pendingCase(),
    },
  );
  if (!accepted?.ok) throw new Error('setup');

  it('a calendar answer alone: its codes, not the implicit GI; the text stays the note', () => {
    expect(mergeCalendarAnswer(accepted, commands('Accepted, thanks.'))).toEqual({
      ok: true,
      codes: ['EA'],
      payload: { ...replyPayload, text: 'Accepted, thanks.' },
      lines: [accepted.line],
    });
  });

  it('calendar codes first; the same answer given twice counts once; other commands are kept', () => {
    expect(mergeCalendarAnswer(accepted, commands('/embargo accept\n/fix-ready'))).toMatchObject({
      ok: true,
      codes: ['EA', 'CF'],
      payload: replyPayload,
    });
    expect(mergeCalendarAnswer(accepted, commands('/embargo accept E1'))).toMatchObject({
      ok: true,
      codes: ['EA'],
    });
  });

  it('a contradiction between the channels voids the mail', () => {
    for (const text of [
      '/embargo reject',
      '/embargo accept E2',
      '/embargo terminate leaked',
      '/embargo 2026-04-20',
    ]) {
      const r = mergeCalendarAnswer(accepted, commands(text));
      expect(r.ok, text).toBe(false);
      expect(r.ok === false && r.error).toMatch(/say otherwise/);
    }
  });

  it('a calendar error or a command error takes the bad-command path', () => {
    const bad = {
      ok: false as const,
      code: 'calendar-ambiguous-time',
      error: 'Please use UTC.',
      line: 'METHOD:COUNTER',
    };
    expect(mergeCalendarAnswer(bad, commands('hello'))).toEqual({
      ok: false,
      line: 'METHOD:COUNTER',
      error: 'Please use UTC.',
    });
    expect(mergeCalendarAnswer(accepted, commands('/embargoo'))).toMatchObject({
      ok: false,
      line: '/embargoo',
    });
  });
});
