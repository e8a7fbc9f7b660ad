/**
 * Time zones of inbound calendar objects: which TZIDs node-ical reads right, and the instant of a
 * local time from the VTIMEZONE a file carries when node-ical does not (docs/calendar.md).
 *
 * node-ical 0.26 maps IANA names and the standard Windows names (its windowsZones.json) to the
 * right zone. Any other TZID it reads as UTC or as a fixed offset while ignoring the VTIMEZONE
 * given with it: the old Exchange CDO name `(GMT+01.00) Sarajevo/Warsaw/Zagreb` (imip/07), the
 * Evolution path `/freeassociation.sourceforge.net/Tzfile/America/Toronto` (imip/26), an unknown
 * abbreviation such as `BRT` (imip/19). For those this module computes the UTC offsets from the
 * STANDARD/DAYLIGHT observances of the VTIMEZONE (TZOFFSETFROM/TZOFFSETTO, DTSTART, RDATE and a
 * yearly RRULE with BYMONTH/BYDAY/BYMONTHDAY).
 *
 * Never a guess: a local time that falls in a gap (spring forward) or an overlap (fall back), a
 * TZID with neither a known zone nor a usable VTIMEZONE, is reported as not resolvable.
 */
import { createRequire } from 'node:module';
import type { IcsComponent, IcsDateTime } from './ics.js';
import { daysInMonth, parseIcsDateTime, parseUtcOffset, prop, props, wallMs } from './ics.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** The Windows zone names node-ical maps, and the IANA zone of each (node-ical's own table). */
const WINDOWS_ZONES = createRequire(import.meta.url)('node-ical/windowsZones.json') as Record<
  string,
  { iana?: string[] }
>;

export type Resolution =
  { ok: true; ms: number } | { ok: false; reason: 'gap' | 'overlap' | 'no-zone' | 'bad-vtimezone' };

/** A TZID without the quotes some writers put around it (`"W. Europe Standard Time"`). */
export function cleanTzid(tzid: string): string {
  return tzid
    .trim()
    .replace(/^"(.*)"$/, '$1')
    .trim();
}

const ianaCache = new Map<string, boolean>();

/** Whether the runtime (ICU) knows the name as an IANA zone. */
export function isIanaZone(name: string): boolean {
  const known = ianaCache.get(name);
  if (known !== undefined) return known;
  let ok = false;
  // Intl also accepts offsets such as "+01:00"; those are not zone names.
  if (/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(name)) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: name });
      ok = true;
    } catch {
      ok = false;
    }
  }
  ianaCache.set(name, ok);
  return ok;
}

/**
 * The IANA zone node-ical reads a TZID as, when it reads it right: the IANA name itself, or the
 * zone of a standard Windows name. Null for anything else (node-ical would read it wrong).
 */
export function knownZone(tzid: string): string | null {
  const name = cleanTzid(tzid);
  if (isIanaZone(name)) return name;
  const iana = Object.prototype.hasOwnProperty.call(WINDOWS_ZONES, name)
    ? WINDOWS_ZONES[name]?.iana?.[0]
    : null;
  return iana && isIanaZone(iana) ? iana : null;
}

/**
 * The one instant a local wall time (as epoch ms of the same fields in UTC) has, given the zone's
 * offset (minutes east of UTC) at any instant. Candidates are the offsets around it; a candidate is
 * valid when the zone really has that offset then. None: a gap; two: an overlap.
 */
export function resolveLocal(local: number, offsetAt: (ms: number) => number | null): Resolution {
  const offsets = new Set<number>();
  for (const probe of [local - 36 * HOUR_MS, local, local + 36 * HOUR_MS]) {
    const o = offsetAt(probe);
    if (o === null) return { ok: false, reason: 'bad-vtimezone' };
    offsets.add(o);
  }
  const instants = new Set<number>();
  for (const o of offsets) {
    const candidate = local - o * MINUTE_MS;
    if (offsetAt(candidate) === o) instants.add(candidate);
  }
  if (instants.size === 0) return { ok: false, reason: 'gap' };
  if (instants.size > 1) return { ok: false, reason: 'overlap' };
  return { ok: true, ms: [...instants][0] as number };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The UTC offset of an IANA zone at an instant, in minutes. */
export function ianaOffsetAt(zone: string, ms: number): number {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(zone, f);
  }
  const whole = Math.floor(ms / 1000) * 1000;
  const parts = Object.fromEntries(f.formatToParts(new Date(whole)).map((p) => [p.type, p.value]));
  const year = Number(parts['year']);
  const wall = wallMs({
    year: parts['era'] === 'BC' ? 1 - year : year,
    month: Number(parts['month']),
    day: Number(parts['day']),
    hour: Number(parts['hour']),
    minute: Number(parts['minute']),
    second: Number(parts['second']),
  });
  return Math.round((wall - whole) / MINUTE_MS);
}

/** A local time in an IANA zone. */
export function resolveInZone(local: IcsDateTime, zone: string): Resolution {
  return resolveLocal(wallMs(local), (ms) => ianaOffsetAt(zone, ms));
}

// ---------------------------------------------------------------------------------------
// VTIMEZONE

interface Observance {
  start: IcsDateTime;
  from: number;
  to: number;
  rdates: IcsDateTime[];
  rule: YearlyRule | null;
}

interface YearlyRule {
  interval: number;
  months: number[] | null;
  /** [ordinal or 0 for every, weekday 0=SU..6=SA] */
  days: Array<[number, number]>;
  monthDays: number[];
  until: IcsDateTime | null;
  count: number | null;
  time: { hour: number; minute: number; second: number } | null;
}

interface Transition {
  at: number;
  from: number;
  to: number;
}

const WEEKDAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'];

function parseRule(value: string): YearlyRule | null | 'unsupported' {
  const parts = new Map<string, string>();
  for (const kv of value.split(';')) {
    const [k, v] = kv.split('=');
    if (k && v !== undefined) parts.set(k.trim().toUpperCase(), v.trim().toUpperCase());
  }
  if (parts.get('FREQ') !== 'YEARLY') return 'unsupported';
  const list = (k: string) => (parts.get(k) ?? '').split(',').filter((x) => x !== '');
  const numbers = (k: string) => list(k).map(Number);
  const days: Array<[number, number]> = [];
  for (const d of list('BYDAY')) {
    const m = /^([+-]?\d{1,2})?(SU|MO|TU|WE|TH|FR|SA)$/.exec(d);
    if (!m) return 'unsupported';
    days.push([m[1] ? Number(m[1]) : 0, WEEKDAYS.indexOf(m[2] as string)]);
  }
  const months = numbers('BYMONTH');
  const monthDays = numbers('BYMONTHDAY');
  const interval = Number(parts.get('INTERVAL') ?? '1');
  const count = parts.has('COUNT') ? Number(parts.get('COUNT')) : null;
  const until = parts.has('UNTIL') ? parseIcsDateTime(parts.get('UNTIL') as string) : null;
  const hours = numbers('BYHOUR');
  const minutes = numbers('BYMINUTE');
  const seconds = numbers('BYSECOND');
  if (
    [...months, ...monthDays, ...hours, ...minutes, ...seconds, interval].some((n) => !Number.isInteger(n)) ||
    interval < 1 ||
    (count !== null && !(count >= 1)) ||
    (parts.has('UNTIL') && until === null) ||
    hours.length > 1 ||
    minutes.length > 1 ||
    seconds.length > 1
  ) {
    return 'unsupported';
  }
  const time =
    hours.length === 1
      ? { hour: hours[0] as number, minute: minutes[0] ?? 0, second: seconds[0] ?? 0 }
      : null;
  return { interval, months: months.length > 0 ? months : null, days, monthDays, until, count, time };
}

/** The days of one month a yearly rule selects. */
function ruleDays(rule: YearlyRule, year: number, month: number, startDay: number): number[] {
  const last = daysInMonth(year, month);
  const weekdayOf = (day: number) => new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  let days: number[];
  if (rule.days.length > 0) {
    const set = new Set<number>();
    for (const [n, wd] of rule.days) {
      const all: number[] = [];
      for (let d = 1; d <= last; d++) if (weekdayOf(d) === wd) all.push(d);
      if (n === 0) all.forEach((d) => set.add(d));
      else {
        const pick = n > 0 ? all[n - 1] : all[all.length + n];
        if (pick !== undefined) set.add(pick);
      }
    }
    days = [...set];
  } else if (rule.monthDays.length > 0) {
    days = rule.monthDays.map((d) => (d < 0 ? last + d + 1 : d));
  } else {
    days = [startDay];
  }
  if (rule.days.length > 0 && rule.monthDays.length > 0) {
    const wanted = new Set(rule.monthDays.map((d) => (d < 0 ? last + d + 1 : d)));
    days = days.filter((d) => wanted.has(d));
  }
  return days.filter((d) => d >= 1 && d <= last).sort((a, b) => a - b);
}

/** Onsets (local wall times) of an observance within [fromYear, toYear]. */
function onsets(o: Observance, fromYear: number, toYear: number): IcsDateTime[] {
  const out: IcsDateTime[] = [o.start, ...o.rdates];
  const rule = o.rule;
  if (!rule) return out;
  const startWall = wallMs(o.start);
  const time = rule.time ?? { hour: o.start.hour, minute: o.start.minute, second: o.start.second };
  // COUNT needs every occurrence from the first; a bounded walk either way.
  const first = rule.count !== null ? o.start.year : Math.max(o.start.year, fromYear);
  let counted = 0;
  for (let year = first; year <= toYear && year - o.start.year <= 5000; year++) {
    if ((year - o.start.year) % rule.interval !== 0) continue;
    for (const month of rule.months ?? [o.start.month]) {
      if (month < 1 || month > 12) continue;
      for (const day of ruleDays(rule, year, month, o.start.day)) {
        const t: IcsDateTime = { year, month, day, ...time, utc: false, dateOnly: false };
        const wall = wallMs(t);
        if (wall < startWall) continue;
        if (rule.until) {
          const untilMs = wallMs(rule.until);
          const onsetUtc = wall - o.from * MINUTE_MS;
          if ((rule.until.utc ? onsetUtc : wall) > untilMs) return out;
        }
        counted += 1;
        if (rule.count !== null && counted > rule.count) return out;
        if (year >= fromYear) out.push(t);
      }
    }
  }
  return out;
}

function observances(vtz: IcsComponent): Observance[] | null {
  const list: Observance[] = [];
  for (const c of vtz.components) {
    if (c.name !== 'STANDARD' && c.name !== 'DAYLIGHT') continue;
    const start = parseIcsDateTime(prop(c, 'DTSTART')?.value ?? '');
    const from = parseUtcOffset(prop(c, 'TZOFFSETFROM')?.value ?? '');
    const to = parseUtcOffset(prop(c, 'TZOFFSETTO')?.value ?? '');
    if (!start || from === null || to === null) return null;
    const rdates: IcsDateTime[] = [];
    for (const r of props(c, 'RDATE')) {
      for (const v of r.value.split(',')) {
        const t = parseIcsDateTime(v);
        if (!t) return null;
        rdates.push(t);
      }
    }
    const rrules = props(c, 'RRULE');
    if (rrules.length > 1) return null;
    const rule = rrules[0] ? parseRule(rrules[0].value) : null;
    if (rule === 'unsupported') return null;
    list.push({ start, from, to, rdates, rule });
  }
  return list.length > 0 ? list : null;
}

/** The offset function of a VTIMEZONE around a year, or null if the definition is unusable. */
export function vtimezoneOffsets(vtz: IcsComponent, year: number): ((ms: number) => number | null) | null {
  const list = observances(vtz);
  if (!list) return null;
  const transitions: Transition[] = [];
  for (const o of list) {
    for (const t of onsets(o, year - 2, year + 2)) {
      // An onset is written in the local time in force before it (TZOFFSETFROM).
      transitions.push({ at: wallMs(t) - o.from * MINUTE_MS, from: o.from, to: o.to });
    }
  }
  transitions.sort((a, b) => a.at - b.at);
  const earliest = transitions[0];
  if (!earliest) return null;
  return (ms) => {
    let current: Transition | undefined;
    for (const t of transitions) {
      if (t.at <= ms) current = t;
      else break;
    }
    return current ? current.to : earliest.from;
  };
}

/** A local time in the zone a VTIMEZONE defines. */
export function resolveInVtimezone(local: IcsDateTime, vtz: IcsComponent): Resolution {
  const offsetAt = vtimezoneOffsets(vtz, local.year);
  if (!offsetAt) return { ok: false, reason: 'bad-vtimezone' };
  return resolveLocal(wallMs(local), offsetAt);
}
