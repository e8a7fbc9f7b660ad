/**
 * A minimal iCalendar (RFC 5545) content-line reader that never throws: unfolding, property
 * names, parameters (quoted or not) and values, and the BEGIN/END component tree.
 *
 * It is the structural layer under src/calendar/incoming.ts: it lists the VEVENTs of an object
 * in file order, keeps each DTSTART's TZID and local value as written (so a time zone can be
 * judged before node-ical converts it), holds the VTIMEZONE definitions for src/calendar/zones.ts,
 * and is the fallback for UID, SEQUENCE, ORGANIZER and ATTENDEE when node-ical gives up on a file
 * (e.g. fixtures/imip/04, a CANCEL without DTSTART).
 *
 * Leniency (real clients): LF or CRLF or CR line ends; folds with a space or a TAB, also inside a
 * quoted parameter value or a date; blank lines; an END that closes a component not open (ignored)
 * and components left open at the end (closed). A line without a colon outside quotes is skipped.
 */

export interface IcsProperty {
  /** Upper case, e.g. `DTSTART`. */
  name: string;
  /** Parameter names in upper case; values without their quotes (a list stays comma-joined). */
  params: Record<string, string>;
  /** The raw value, not unescaped (see `textValue`). */
  value: string;
  /** The unfolded content line as written, for re-serialisation. */
  line: string;
}

export interface IcsComponent {
  /** Upper case, e.g. `VEVENT`. */
  name: string;
  properties: IcsProperty[];
  components: IcsComponent[];
}

/** A bound on the work done for one calendar object (a hostile file cannot make us loop). */
export const MAX_ICS_LINES = 200_000;

/** Unfolds (RFC 5545 §3.1) and splits into content lines; blank lines are dropped. */
export function unfoldLines(text: string): string[] {
  const physical = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const lines: string[] = [];
  for (const line of physical) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && lines.length > 0) {
      lines[lines.length - 1] += line.slice(1);
    } else if (line.trim() !== '') {
      if (lines.length >= MAX_ICS_LINES) break;
      lines.push(line);
    }
  }
  return lines;
}

/** One content line: `NAME;P1=v;P2="a:b":value`. Null when it has no name or no colon. */
export function parseContentLine(line: string): IcsProperty | null {
  const nameMatch = /^([A-Za-z0-9-]+)/.exec(line);
  if (!nameMatch) return null;
  const name = (nameMatch[1] as string).toUpperCase();
  const params: Record<string, string> = {};
  let i = name.length;
  while (i < line.length && line[i] === ';') {
    i += 1;
    const eq = line.indexOf('=', i);
    const stop = firstOf(line, i, [';', ':']);
    if (eq < 0 || (stop >= 0 && stop < eq)) {
      // A parameter without a value (`;RSVP;`): skip it.
      if (stop < 0) return null;
      i = stop;
      continue;
    }
    const pname = line.slice(i, eq).trim().toUpperCase();
    i = eq + 1;
    const values: string[] = [];
    for (;;) {
      if (line[i] === '"') {
        const close = line.indexOf('"', i + 1);
        if (close < 0) return null;
        values.push(line.slice(i + 1, close));
        i = close + 1;
      } else {
        const end = firstOf(line, i, [',', ';', ':']);
        values.push(line.slice(i, end < 0 ? line.length : end));
        i = end < 0 ? line.length : end;
      }
      if (line[i] === ',') {
        i += 1;
        continue;
      }
      break;
    }
    // An unquoted remainder up to the next separator (e.g. `CN="a"b`): keep what we have.
    const next = firstOf(line, i, [';', ':']);
    if (next < 0) return null;
    i = next;
    if (pname !== '') params[pname] = values.join(',');
  }
  if (line[i] !== ':') return null;
  return { name, params, value: line.slice(i + 1), line };
}

/** The first index >= from of any of the characters outside double quotes, or -1. */
function firstOf(s: string, from: number, chars: string[]): number {
  let quoted = false;
  for (let i = from; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '"') quoted = !quoted;
    else if (!quoted && chars.includes(c)) return i;
  }
  return -1;
}

/** The component tree of a calendar text (normally one VCALENDAR). Never throws. */
export function readIcs(text: string): IcsComponent[] {
  const roots: IcsComponent[] = [];
  const stack: IcsComponent[] = [];
  for (const line of unfoldLines(text)) {
    const prop = parseContentLine(line);
    if (!prop) continue;
    if (prop.name === 'BEGIN') {
      const c: IcsComponent = { name: prop.value.trim().toUpperCase(), properties: [], components: [] };
      const parent = stack.at(-1);
      if (parent) parent.components.push(c);
      else roots.push(c);
      stack.push(c);
    } else if (prop.name === 'END') {
      const name = prop.value.trim().toUpperCase();
      const at = stack.map((c) => c.name).lastIndexOf(name);
      if (at >= 0) stack.length = at;
    } else {
      stack.at(-1)?.properties.push(prop);
    }
  }
  return roots;
}

/** Every component of that name at any depth, in document order. */
export function componentsNamed(roots: readonly IcsComponent[], name: string): IcsComponent[] {
  const out: IcsComponent[] = [];
  const walk = (c: IcsComponent) => {
    if (c.name === name) out.push(c);
    for (const child of c.components) walk(child);
  };
  for (const r of roots) walk(r);
  return out;
}

export function prop(c: IcsComponent, name: string): IcsProperty | undefined {
  return c.properties.find((p) => p.name === name);
}

export function props(c: IcsComponent, name: string): IcsProperty[] {
  return c.properties.filter((p) => p.name === name);
}

/** A TEXT value unescaped (RFC 5545 §3.3.11). */
export function textValue(value: string): string {
  return value.replace(/\\([\\;,nN])/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

/** Writes a component back as content lines (unfolded; node-ical reads long lines). */
export function serialize(c: IcsComponent): string[] {
  return [
    `BEGIN:${c.name}`,
    ...c.properties.map((p) => p.line),
    ...c.components.flatMap(serialize),
    `END:${c.name}`,
  ];
}

export interface IcsDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Ends in `Z`. */
  utc: boolean;
  /** A DATE value (no time part). */
  dateOnly: boolean;
}

/** `20270301T160000Z`, `20270301T160000`, `20270301` (a second of 60 is read as 59). Null if invalid. */
export function parseIcsDateTime(value: string): IcsDateTime | null {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/i.exec(value.trim());
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dateOnly = m[4] === undefined;
  const [hour, minute, second] = dateOnly ? [0, 0, 0] : [Number(m[4]), Number(m[5]), Number(m[6])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 60) return null;
  return { year, month, day, hour, minute, second: Math.min(second, 59), utc: m[7] !== undefined, dateOnly };
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The wall-clock fields as if they were UTC, in epoch milliseconds. */
export function wallMs(
  t: Pick<IcsDateTime, 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second'>,
): number {
  const d = new Date(0);
  d.setUTCFullYear(t.year, t.month - 1, t.day);
  d.setUTCHours(t.hour, t.minute, t.second, 0);
  return d.getTime();
}

/** `+0100`, `-0430`, `+013000` → minutes east of UTC; null if malformed. */
export function parseUtcOffset(value: string): number | null {
  const m = /^([+-])(\d{2})(\d{2})(\d{2})?$/.exec(value.trim());
  if (!m) return null;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  if (minutes > 24 * 60) return null;
  return m[1] === '-' ? -minutes : minutes;
}

/**
 * A CAL-ADDRESS as a bare lower-case email: `mailto:` (any case) removed; a value without `@`
 * (a URN, an empty value) falls back to the EMAIL parameter (RFC 7986). Null if neither works.
 */
export function calAddress(value: string | undefined, params: Record<string, string> = {}): string | null {
  const bare = (value ?? '')
    .trim()
    .replace(/^mailto:/i, '')
    .trim()
    .toLowerCase();
  if (bare.includes('@') && !/\s/.test(bare)) return bare;
  const email = (params['EMAIL'] ?? '')
    .trim()
    .replace(/^mailto:/i, '')
    .toLowerCase();
  return email.includes('@') ? email : null;
}
