/**
 * Our outgoing calendar mail, read by two parsers independent of node-ical: Mozilla's ical.js
 * (Thunderbird's parser) and Debian's python3-icalendar. Both must read the same UID, METHOD,
 * STATUS, SEQUENCE, DTSTART (UTC) and attendee as we wrote. Golden files (fixtures/golden/) hold
 * one `.ics` and one `.eml` per kind of outgoing calendar mail, from a fixed action, clock,
 * Message-ID and MIME boundary; `UPDATE_GOLDEN=1` rewrites them.
 *
 * python3-icalendar comes from `bash scripts/mailstack.sh install` (apt-get, as root). When it is
 * missing this test fails, it is not skipped.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ICAL from 'ical.js';
import ical from 'node-ical';
import type { VEvent } from 'node-ical';
import { describe, expect, it } from 'vitest';
import { buildCalendar } from '../../src/calendar/outgoing.js';
import { composeMail } from '../../src/outbound/compose.js';
import type { CalendarAction, MailEffect } from '../../src/protocol/index.js';
import { EFFECTS, INVITEE, NOW, REPORTER, VENDOR, bot, calendar, context } from '../outbound/fixtures.js';

const GOLDEN = join(import.meta.dirname, '../../fixtures/golden');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';
/** Debian's interpreter: python3-icalendar installs into it, not into a pyenv or venv python. */
const PYTHON = '/usr/bin/python3';

interface Kind {
  name: string;
  effect: MailEffect;
  action: CalendarAction;
}

function kind(name: string, base: MailEffect, over: Partial<MailEffect>, action: CalendarAction): Kind {
  return { name, effect: { ...base, ...over, to: action.attendee, calendar: action }, action };
}

const KINDS: Kind[] = [
  kind(
    'request-tentative',
    EFFECTS.invitation,
    { types: ['EP'] },
    calendar({
      proposal: 'E2',
      uid: 'VM-2026-0001-embargo-2@bot.example',
      status: 'TENTATIVE',
      end: '2027-04-15T12:00:00Z',
      attendee: VENDOR,
      code: 'EP',
    }),
  ),
  kind('request-confirmed', EFFECTS.invitation, { types: ['EP'] }, calendar({ attendee: INVITEE })),
  kind(
    'cancel',
    EFFECTS.notification,
    {
      types: ['ET'],
      data: { transitions: [{ code: 'ET', actor: REPORTER, text: 'embargo E1 terminated' }] },
    },
    calendar({ method: 'CANCEL', status: 'CANCELLED', sequence: 1, attendee: VENDOR, code: 'ET' }),
  ),
  kind(
    'declinecounter',
    EFFECTS.error,
    { types: ['ER'] },
    calendar({
      method: 'DECLINECOUNTER',
      proposal: 'E2',
      uid: 'VM-2026-0001-embargo-2@bot.example',
      status: 'CANCELLED',
      end: '2027-09-01T00:00:00Z',
      attendee: VENDOR,
      code: 'ER',
    }),
  ),
];

interface Read {
  uid: string;
  method: string;
  status: string;
  sequence: number;
  dtstart: string;
  attendees: string[];
  events: number;
}

const bare = (address: string) => address.replace(/^mailto:/i, '').toLowerCase();
const utc = (iso: string) => `${new Date(iso).toISOString().slice(0, 19)}Z`;

function readIcalJs(text: string): Read {
  const vcalendar = new ICAL.Component(ICAL.parse(text));
  const events = vcalendar.getAllSubcomponents('vevent');
  const vevent = events[0];
  if (!vevent) throw new Error('ical.js: no VEVENT');
  const event = new ICAL.Event(vevent);
  const start = event.startDate;
  // A UTC time: ical.js gives the zone "UTC" (no TZID, a trailing Z).
  expect(start.zone?.tzid).toBe('UTC');
  return {
    uid: event.uid,
    method: String(vcalendar.getFirstPropertyValue('method')),
    status: String(vevent.getFirstPropertyValue('status')),
    sequence: event.sequence,
    dtstart: utc(start.toJSDate().toISOString()),
    attendees: event.attendees.map((a) => bare(String(a.getFirstValue()))),
    events: events.length,
  };
}

const PY = `
import datetime, json, sys
try:
    import icalendar
except ImportError:
    sys.stderr.write("MISSING python3-icalendar\\n")
    sys.exit(3)
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
events = cal.walk("VEVENT")
e = events[0]
start = e.decoded("DTSTART")
att = e.get("ATTENDEE")
att = att if isinstance(att, list) else [att]
print(json.dumps({
    "uid": str(e.get("UID")),
    "method": str(cal.get("METHOD")),
    "status": str(e.get("STATUS")),
    "sequence": int(e.get("SEQUENCE", 0)),
    "utc": start.tzinfo is not None and start.utcoffset() == datetime.timedelta(0),
    "dtstart": start.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "attendees": [str(a) for a in att if a is not None],
    "events": len(events),
}))
`;

function readPython(text: string): Read {
  let out: string;
  try {
    out = execFileSync(PYTHON, ['-c', PY], {
      input: text,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { status?: number; stderr?: string; code?: string };
    if (e.code === 'ENOENT' || e.status === 3) {
      throw new Error(
        `python3-icalendar is missing (${PYTHON} -c "import icalendar" failed): install it with ` +
          '`bash scripts/mailstack.sh install` as root (apt-get install python3-icalendar)',
      );
    }
    throw new Error(`python3-icalendar could not read our calendar: ${e.stderr ?? String(err)}`);
  }
  const r = JSON.parse(out) as Read & { utc: boolean };
  expect(r.utc).toBe(true);
  return {
    uid: r.uid,
    method: r.method,
    status: r.status,
    sequence: r.sequence,
    dtstart: r.dtstart,
    attendees: r.attendees.map(bare),
    events: r.events,
  };
}

function readNodeIcal(text: string): Read {
  const data = ical.sync.parseICS(text);
  const events = Object.values(data).filter((c): c is VEvent => (c as { type?: string })?.type === 'VEVENT');
  const e = events[0];
  if (!e) throw new Error('node-ical: no VEVENT');
  const attendee = e.attendee as unknown as { val: string };
  return {
    uid: e.uid,
    method: String(data.vcalendar?.method),
    status: String(e.status),
    sequence: Number(e.sequence),
    dtstart: utc(e.start.toISOString()),
    attendees: [bare(attendee.val)],
    events: events.length,
  };
}

async function generate(k: Kind): Promise<{ ics: string; eml: Buffer }> {
  const ics = buildCalendar(k.action, {
    caseId: 'VM-2026-0001',
    organizer: { email: bot.address, name: bot.name },
    now: NOW,
  });
  const { row } = await composeMail(
    k.effect,
    context({
      messageId: `<VM-2026-0001.golden-${k.name}@bot.example>`,
      inbound: null,
      report: null,
      baseBoundary: `golden-${k.name}`,
    }),
  );
  return { ics, eml: row.raw };
}

/** Compares with the golden file byte for byte (UPDATE_GOLDEN=1 writes it). */
function golden(file: string, bytes: Buffer): void {
  const path = join(GOLDEN, file);
  if (UPDATE || !existsSync(path)) {
    if (!UPDATE) throw new Error(`no golden file ${path}: run with UPDATE_GOLDEN=1`);
    writeFileSync(path, bytes);
  }
  const want = readFileSync(path);
  expect(bytes.equals(want), `${file} differs from the golden file (UPDATE_GOLDEN=1 rewrites it)`).toBe(true);
}

describe('outgoing calendar mail, read by ical.js and python3-icalendar', () => {
  it.each(KINDS)(
    '$name: the same UID, METHOD, STATUS, SEQUENCE, DTSTART and attendee in all three parsers',
    async (k) => {
      const { ics, eml } = await generate(k);
      const expected: Read = {
        uid: k.action.uid,
        method: k.action.method,
        status: k.action.status,
        sequence: k.action.sequence,
        dtstart: utc(k.action.end),
        attendees: [k.action.attendee],
        events: 1,
      };
      // The calendar inside the mail is the one we built (inline and invite.ics alike).
      const mailText = eml.toString('utf8');
      expect(mailText).toContain(`method=${k.action.method}`);
      for (const read of [readNodeIcal, readIcalJs, readPython]) {
        expect(read(ics), read.name).toEqual(expected);
      }
    },
  );

  it.each(KINDS)('$name: golden .ics and .eml, byte for byte', async (k) => {
    const { ics, eml } = await generate(k);
    // Generation is deterministic: a second run gives the same bytes.
    const again = await generate(k);
    expect(again.ics).toBe(ics);
    expect(again.eml.equals(eml)).toBe(true);
    golden(`${k.name}.ics`, Buffer.from(ics, 'utf8'));
    golden(`${k.name}.eml`, eml);
  });
});
