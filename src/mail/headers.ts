/** Reading raw header fields of a parsed mail: unfolded, undecoded, in the order they appear. */
import type { AddressObject, ParsedMail } from 'mailparser';
import { normEmail } from '../protocol/index.js';

type WithHeaders = Pick<ParsedMail, 'headerLines'>;

function valueOf(line: string): string {
  return line
    .slice(line.indexOf(':') + 1)
    .replace(/\r?\n[ \t]+/g, ' ')
    .trim();
}

/** The first (topmost) field of that name, unfolded; undefined when absent. */
export function headerText(parsed: WithHeaders, name: string): string | undefined {
  const key = name.toLowerCase();
  const line = parsed.headerLines.find((h) => h.key === key);
  return line ? valueOf(line.line) : undefined;
}

/** Every field of that name, topmost first, unfolded. */
export function allHeaderTexts(parsed: WithHeaders, name: string): string[] {
  const key = name.toLowerCase();
  return parsed.headerLines.filter((h) => h.key === key).map((h) => valueOf(h.line));
}

/** The addresses of an address header (group members included), normalised. */
export function addressList(obj: AddressObject | AddressObject[] | undefined): string[] {
  const list = obj === undefined ? [] : Array.isArray(obj) ? obj : [obj];
  const out: string[] = [];
  for (const a of list) {
    for (const v of a.value) {
      if (v.address) out.push(normEmail(v.address));
      for (const g of v.group ?? []) if (g.address) out.push(normEmail(g.address));
    }
  }
  return out;
}

/** The `<…>` Message-ID tokens of In-Reply-To / References style values. */
export function messageIdTokens(value: string | string[] | undefined): string[] {
  const all = Array.isArray(value) ? value.join(' ') : (value ?? '');
  return all.match(/<[^<>\s]+>/g) ?? [];
}

/** The header block of a raw message (up to the first empty line, at most `max` bytes). */
export function headerBlock(raw: Buffer, max: number): Buffer {
  const head = raw.subarray(0, Math.min(raw.length, max));
  const text = head.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  return m ? head.subarray(0, m.index) : head;
}
